//go:build unix

package lint

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the tool in its own process group and makes
// cancellation kill the whole group (verilator, for one, is a wrapper
// around verilator_bin).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
