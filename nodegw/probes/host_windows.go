package probes

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// groupAttr starts a command in a process group of its own (no console
// signals from the gateway's own console reach it).
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// killGroup kills the command. Windows has no process groups to signal as
// a whole: what the command started on its own is not reached. (Go's
// Process keeps the handle, so this never hits a reused pid.)
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// diskSpace is GetDiskFreeSpaceEx of path: its size, its free bytes, and
// what of it the gateway's user may still use.
func diskSpace(path string) (size, free, avail uint64, err error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &size, &free); err != nil {
		return 0, 0, 0, err
	}
	return size, free, avail, nil
}
