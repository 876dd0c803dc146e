//go:build !unix

package lint

import "os/exec"

// setProcessGroup is a no-op where process groups do not exist; the
// default cancellation kills the tool itself.
func setProcessGroup(cmd *exec.Cmd) {}
