package probes

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// groupAttr starts a command in a process group of its own.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills the command's whole process group. The group's id stays
// taken while any member lives, so this reaches only what the command
// started (ESRCH once they are all gone).
func killGroup(cmd *exec.Cmd) { _ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }

// diskSpace is statfs(2) of path: its size, its free bytes, and what of it
// an unprivileged user may still use.
func diskSpace(path string) (size, free, avail uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Blocks * bs, st.Bfree * bs, st.Bavail * bs, nil
}
