package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/tasks"
	"gatewave.dev/shared/fleetproto"
)

// What differs on a Linux node.
const (
	// defaultDockerHost is dockerd's socket.
	defaultDockerHost = "unix:///var/run/docker.sock"
	defaultStateDir   = "/var/lib/gatewave-nodegw"
	defaultDiskPath   = "/"
	// defaultDiskMiB 0 is the pool's default quota: each workspace is a
	// loop-mounted disk of its own (nodegw/loopdisk).
	defaultDiskMiB = 0
	// nixCacheForSessions: containers reach the node's cache socket
	// through a bind mount (nodegw/nixproxy).
	nixCacheForSessions = true
)

// secureStateDir makes the node's state directory, the node's alone
// (pool.New and nixproxy keep what they make in it 0700 too).
func secureStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return nil
}

// errNoTasks would say a node cannot run batch tasks; a Linux node can.
var errNoTasks = errors.New("batch tasks need a Linux node")

// newTaskRunner runs batch tasks on the pool's dockerd, reporting through
// the gateway once it exists (no task arrives before it does).
func newTaskRunner(dockerHost, dir string, gpus []string, log *slog.Logger, gp *atomic.Pointer[gateway.Gateway]) (taskRunner, error) {
	dc, err := dockerClient(dockerHost)
	if err != nil {
		return nil, err
	}
	r, err := tasks.New(tasks.Options{
		Docker: dc, StateDir: dir, Logger: log, GPUs: gpus,
		Report: func(u *fleetproto.TaskUpdate) {
			if g := gp.Load(); g != nil {
				g.ReportTask(u)
			}
		},
		Log: func(l *fleetproto.TaskLog) error {
			if g := gp.Load(); g != nil {
				return g.Send(l)
			}
			return gateway.ErrOffline
		},
	})
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return r, nil
}
