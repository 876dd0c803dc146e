//go:build linux

package pool

import (
	"context"
	"net"

	"gatewave.dev/shared/unixsock"
)

// dialSocket connects to the unix socket name in dir without trusting
// anything the container can change: dir is the node's own directory
// (bind-mounted into the container), and shared/unixsock connects to the
// very inode it checked to be a socket owned by uid, so no rename or swap
// between the check and the connect can redirect it (to the host's
// dockerd, say).
func dialSocket(ctx context.Context, dir, name string, uid uint32) (net.Conn, error) {
	return unixsock.Dial(ctx, dir, name, uid)
}
