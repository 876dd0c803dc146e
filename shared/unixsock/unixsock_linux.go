package unixsock

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Socket is a checked socket, pinned by an O_PATH descriptor until Close.
type Socket struct {
	fd   int
	path string
}

// Open opens the socket name in dir without following a symlink at
// either (dir itself must not be one), and checks it is a socket owned by
// uid.
func Open(dir, name string, uid uint32) (*Socket, error) {
	path := filepath.Join(dir, name)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is %s: %w", path, fileType(st.Mode), ErrWrongSocket)
	}
	if st.Uid != uid {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is owned by uid %d, not %d: %w", path, st.Uid, uid, ErrWrongSocket)
	}
	return &Socket{fd: fd, path: path}, nil
}

// Dial connects to the very socket Open checked.
func (s *Socket) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(s.fd))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", s.path, err)
	}
	return c, nil
}

// Close lets go of the socket (a connection made stays up).
func (s *Socket) Close() error { return unix.Close(s.fd) }

// Dial is Open, Dial and Close.
func Dial(ctx context.Context, dir, name string, uid uint32) (net.Conn, error) {
	s, err := Open(dir, name, uid)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Dial(ctx)
}

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
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	}
	return "not a socket"
}
