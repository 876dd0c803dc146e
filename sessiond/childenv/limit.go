package childenv

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// ShimArg, as sessiond's first argument, makes it the launcher of a child
// with a process limit (see Limit): `sessiond ShimArg N PATH ARGV...`.
const ShimArg = "__gatewave_limit_procs"

var procLimit atomic.Int64

// SetProcLimit caps how many processes and threads the user's processes
// may have together (RLIMIT_NPROC, counted per uid, sessiond's own threads
// included). sessiond in a container sets it a little under the
// container's pids limit: a fork bomb in the terminal then stops short of
// it, and sessiond, whose own limit stays unlimited, can still start the
// threads it needs and keep serving. 0 (the default, and the desktop
// app's) means no limit.
func SetProcLimit(n int) { procLimit.Store(int64(n)) }

// Limit makes cmd start through sessiond's launcher, which sets the
// process limit and then execs the real program in place (same pid, same
// process group), so no child ever runs a moment without the limit. It
// does nothing while no limit is set.
func Limit(cmd *exec.Cmd) {
	n := procLimit.Load()
	if n <= 0 || cmd.Err != nil {
		return
	}
	self, err := os.Executable()
	if err != nil {
		cmd.Err = fmt.Errorf("process limit: %w", err)
		return
	}
	cmd.Args = append([]string{self, ShimArg, strconv.FormatInt(n, 10), cmd.Path}, cmd.Args...)
	cmd.Path = self
}

// Shim is the launcher's side of Limit: args are N PATH ARGV.... It
// returns only on error.
func Shim(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("%s: want N PATH ARGV", ShimArg)
	}
	n, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("%s: bad limit %q", ShimArg, args[0])
	}
	if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: n, Max: n}); err != nil {
		return fmt.Errorf("%s: setrlimit: %w", ShimArg, err)
	}
	return syscall.Exec(args[1], args[2:], os.Environ())
}
