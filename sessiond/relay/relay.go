// Package relay joins a byte stream to one of sessiond's unix sockets:
// `sessiond relay SOCKET` copies stdin to the socket and the socket to
// stdout. A node whose host cannot connect to a socket inside the
// container's bind-mounted run directory (Docker Desktop on Windows, whose
// containers live in a WSL 2 VM) reaches sessiond this way, through the
// engine's exec API, run as the container's root.
//
// The socket must be a socket owned by the relay's own uid: sessiond binds
// its sockets as root before it drops to the user, and the run directory
// only root can enter, so nothing the user made is ever relayed to.
package relay

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"gatewave.dev/shared/unixsock"
)

// ErrNotSessiond is wrapped when the path holds anything but a socket of
// the relay's own uid.
var ErrNotSessiond = unixsock.ErrWrongSocket

// Run connects to the socket at path and copies in to it and it to out
// until the socket's side ends (or ctx does). When in ends first, the
// socket's write side is closed and the rest of the answer still copied.
func Run(ctx context.Context, path string, in io.Reader, out io.Writer) error {
	// The inode checked is the one connected to (shared/unixsock), so
	// nothing renamed or swapped in between redirects the relay.
	sock, err := unixsock.Open(filepath.Dir(path), filepath.Base(path), uint32(os.Geteuid()))
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	defer sock.Close()
	beforeDial()
	conn, err := sock.Dial(ctx)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	uc := conn.(*net.UnixConn)
	stop := context.AfterFunc(ctx, func() { uc.Close() })
	defer stop()
	defer uc.Close()
	go func() {
		_, _ = io.Copy(uc, in)
		_ = uc.CloseWrite()
	}()
	if _, err := io.Copy(out, uc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("relay: %w", err)
	}
	return ctx.Err()
}

// beforeDial runs between the check and the connect; tests swap the path
// there.
var beforeDial = func() {}
