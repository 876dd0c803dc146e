package pool

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"

	"gatewave.dev/shared/unixsock"
)

// ErrNotSessiond is wrapped when the socket path holds anything but a
// socket made by the container's root (sessiond before it drops to the
// user): a symlink, a FIFO, a regular file or a socket of the user's.
var ErrNotSessiond = unixsock.ErrWrongSocket

// sessiondBin is sessiond in every pool image (images/build.sh).
const sessiondBin = "/usr/local/bin/sessiond"

// dialExec reaches one of the container's sockets through the Docker
// engine instead of the file system: it execs `sessiond relay
// /run/gatewave/SOCK` in the container as its root and speaks over the
// exec's attached stdin and stdout. A node whose host cannot connect to a
// unix socket inside the container's bind mount (Docker Desktop on
// Windows, whose containers live in a WSL 2 VM) dials this way. The relay
// is the image's own binary, run by root inside a directory only root can
// enter, and it refuses anything but a socket of root's (relay.Run), so
// the container's user can no more redirect it than dialSocket.
func (p *Pool) dialExec(ctx context.Context, c Container, sock string) (net.Conn, error) {
	if sock != path.Base(sock) || strings.HasPrefix(sock, ".") {
		return nil, fmt.Errorf("dial %s: bad socket name %q", c.Name, sock)
	}
	ex, err := p.docker.ContainerExecCreate(ctx, c.ID, container.ExecOptions{
		User:         "0:0",
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          []string{sessiondBin, "relay", "/run/gatewave/" + sock},
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s: exec create: %w", c.Name, err)
	}
	hj, err := p.docker.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("dial %s: exec attach: %w", c.Name, err)
	}
	return &execConn{Conn: hj.Conn, r: &demux{r: hj.Reader}, closeWrite: hj.CloseWrite}, nil
}

// execConn is an exec's attached streams as a net.Conn: writes go to the
// relay's stdin, reads come from its stdout.
type execConn struct {
	net.Conn
	r          *demux
	closeWrite func() error
	once       sync.Once
}

func (c *execConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// CloseWrite ends the relay's stdin: it half-closes the socket and goes on
// relaying the answer.
func (c *execConn) CloseWrite() error { return c.closeWrite() }

func (c *execConn) Close() error {
	var err error
	c.once.Do(func() { err = c.Conn.Close() })
	return err
}

// maxRelayStderr bounds what of the relay's stderr is kept for an error.
const maxRelayStderr = 4 << 10

// demux reads the engine's multiplexed stream (an 8-byte header before
// each frame: stream 1 stdout, 2 stderr, then a big-endian length) and
// yields stdout; stderr is kept, bounded, to say why a relay failed.
type demux struct {
	r      *bufio.Reader
	left   int // bytes of the current stdout frame still to read
	stderr []byte
}

func (d *demux) Read(b []byte) (int, error) {
	for d.left == 0 {
		var h [8]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			if errors.Is(err, io.EOF) && len(d.stderr) > 0 {
				return 0, fmt.Errorf("sessiond relay: %s", strings.TrimSpace(string(d.stderr)))
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, fmt.Errorf("exec stream: a frame header cut short: %w", err)
			}
			return 0, err
		}
		n := int(binary.BigEndian.Uint32(h[4:]))
		switch h[0] {
		case 1:
			d.left = n
		case 2:
			keep := min(n, max(maxRelayStderr-len(d.stderr), 0))
			buf := make([]byte, keep)
			if _, err := io.ReadFull(d.r, buf); err != nil {
				return 0, fmt.Errorf("exec stream: %w", err)
			}
			d.stderr = append(d.stderr, buf...)
			if _, err := d.r.Discard(n - keep); err != nil {
				return 0, fmt.Errorf("exec stream: %w", err)
			}
		default:
			return 0, fmt.Errorf("exec stream: frame of unknown stream %d", h[0])
		}
	}
	if len(b) > d.left {
		b = b[:d.left]
	}
	n, err := d.r.Read(b)
	d.left -= n
	if errors.Is(err, io.EOF) && d.left > 0 {
		err = fmt.Errorf("exec stream: a frame cut short: %w", io.ErrUnexpectedEOF)
	}
	return n, err
}
