package cli

import (
	"errors"
	"log/slog"
	"sync/atomic"

	"gatewave.dev/nodegw/gateway"
)

// What differs on a Windows node.
const (
	// defaultDockerHost is Docker Desktop's engine (its WSL 2 backend
	// answers on this named pipe).
	defaultDockerHost = "npipe:////./pipe/docker_engine"
	defaultStateDir   = `C:\ProgramData\Gatewave\nodegw`
	defaultDiskPath   = `C:\`
	// defaultDiskMiB -1: no loop disks on Windows, so workspaces are
	// Docker volumes without a quota (they live in Docker Desktop's VM
	// disk, which bounds them all together).
	defaultDiskMiB = -1
)

// errNoTasks: batch tasks confine their files with Linux calls (openat2,
// loop-mounted /out); a Windows node takes sessions only.
var errNoTasks = errors.New("batch tasks need a Linux node; this Windows node takes sessions only")

func newTaskRunner(dockerHost, dir string, gpus []string, log *slog.Logger, gp *atomic.Pointer[gateway.Gateway]) (taskRunner, error) {
	return nil, errNoTasks
}
