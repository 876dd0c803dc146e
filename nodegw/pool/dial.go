//go:build linux

package pool

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// dialSocket connects to the unix socket name in dir without trusting
// anything the container can change: dir is the node's own directory
// (bind-mounted into the container), name is opened with O_PATH|O_NOFOLLOW
// (a symlink is opened as itself, never followed), the inode must be a
// socket owned by uid, and the connection goes to that very inode through
// /proc/self/fd, so no rename or swap between the check and the connect
// can redirect it (to the host's dockerd, say).
func dialSocket(ctx context.Context, dir, name string, uid uint32) (net.Conn, error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s/%s: %w", dir, name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s/%s: %w", dir, name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, fmt.Errorf("%s/%s is %s: %w", dir, name, fileType(st.Mode), ErrNotSessiond)
	}
	if st.Uid != uid {
		return nil, fmt.Errorf("%s/%s is owned by uid %d, not %d: %w", dir, name, st.Uid, uid, ErrNotSessiond)
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(fd))
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
