package pool

import (
	"context"
	"errors"
	"net"
)

// A Windows node is always engine-only (rundir.go): these are never
// called there.

var errEngineOnly = errors.New("a Windows node reaches containers through the engine only")

func (p *Pool) prepareNodeRunDir(c Container) error { return errEngineOnly }

func dialSocket(ctx context.Context, dir, name string, uid uint32) (net.Conn, error) {
	return nil, errEngineOnly
}
