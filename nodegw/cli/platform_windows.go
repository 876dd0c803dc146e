package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"golang.org/x/sys/windows"

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
	// nixCacheForSessions: a unix socket on the Windows host cannot be
	// reached from a container in Docker Desktop's WSL 2 VM, so sessions
	// on a Windows node get no substituter from the cloud.
	nixCacheForSessions = false
)

// secureStateDir makes the node's state directory and gives it a
// protected ACL of its own: full control for SYSTEM, the Administrators
// and the account nodegw runs as, nothing for anyone else, inherited by
// everything in it. Unix modes mean nothing here, and ProgramData's own
// ACL lets every local user read what is created in it, while the state
// holds users' code (the git cache) and the pool's records.
func secureStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	tok := windows.GetCurrentProcessToken()
	u, err := tok.GetTokenUser()
	if err != nil {
		return fmt.Errorf("state dir: the gateway's account: %w", err)
	}
	sddl := "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + u.User.Sid.String() + ")"
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("state dir: ACL: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("state dir: ACL: %w", err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("state dir %s: set its ACL: %w", dir, err)
	}
	return nil
}

// errNoTasks: batch tasks confine their files with Linux calls (openat2,
// loop-mounted /out); a Windows node takes sessions only.
var errNoTasks = errors.New("batch tasks need a Linux node; this Windows node takes sessions only")

func newTaskRunner(dockerHost, dir string, gpus []string, log *slog.Logger, gp *atomic.Pointer[gateway.Gateway]) (taskRunner, error) {
	return nil, errNoTasks
}
