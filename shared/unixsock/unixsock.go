// Package unixsock connects to a unix socket that someone else may be
// able to rename, replace or point a symlink at: the node dialling a
// container's sessiond through the container's run directory, and
// `sessiond relay` inside it. The socket is opened as itself (O_PATH,
// never following a symlink), checked to be a socket of the expected
// owner, and connected to through /proc/self/fd, so the inode checked is
// the inode connected to. Linux only (Open fails elsewhere).
package unixsock

import "errors"

// ErrWrongSocket is wrapped when the name holds anything but a socket of
// the expected owner: a symlink, a FIFO, a regular file, a directory, a
// device, or another user's socket.
var ErrWrongSocket = errors.New("not the expected socket")
