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
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrNotSessiond is wrapped when the path holds anything but a socket of
// the relay's own uid.
var ErrNotSessiond = errors.New("not sessiond's socket")

// Run connects to the socket at path and copies in to it and it to out
// until the socket's side ends (or ctx does). When in ends first, the
// socket's write side is closed and the rest of the answer still copied.
func Run(ctx context.Context, path string, in io.Reader, out io.Writer) error {
	// The inode checked is the one connected to: opened as itself (a
	// symlink is not followed), checked, then dialled through
	// /proc/self/fd, so nothing renamed or swapped in between redirects
	// the relay (as nodegw/pool's dialSocket does on the node).
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("relay: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("relay: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("relay: %s is %s: %w", path, fileType(st.Mode), ErrNotSessiond)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("relay: %s is not owned by uid %d: %w", path, os.Geteuid(), ErrNotSessiond)
	}
	beforeDial()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(fd))
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

func fileType(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	}
	return "not a socket"
}
