package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gatewave.dev/shared/fleetproto"
)

// ExecRefused begins the error a node started without --allow-exec answers
// every host.exec with; the cloud answers 403 on it.
const ExecRefused = "host.exec is not allowed on this node"

// ExecPath is the whole environment of a command host.exec runs: nothing
// of the gateway's (its NODEGW_TOKEN above all) reaches it.
const ExecPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Exec is the host.exec handler: HostExecArgs → HostProbeResult. It is
// refused unless Options.AllowExec.
func (p *Prober) Exec(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	if !p.opts.AllowExec {
		p.log.Warn("host exec refused: not allowed on this node")
		return nil, errors.New(ExecRefused + " (start nodegw with --allow-exec or NODEGW_ALLOW_EXEC=true)")
	}
	var args fleetproto.HostExecArgs
	if err := decodeStrict(cmd.Args, &args); err != nil {
		return nil, fmt.Errorf("host.exec: %w", err)
	}
	if err := args.Validate(); err != nil {
		return nil, err
	}
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	default:
		return nil, fmt.Errorf("host.exec: %d commands already running on this node; try again when one ends", cap(p.sem))
	}
	timeout := time.Duration(args.TimeoutMS) * time.Millisecond
	p.log.Info("host exec", "argv", args.Argv, "timeout", timeout)
	res, err := run(ctx, args.Argv, timeout, fleetproto.MaxProbeOutput)
	if err != nil {
		p.log.Warn("host exec failed", "argv0", args.Argv[0], "err", err)
		return nil, err
	}
	p.log.Info("host exec done", "argv0", args.Argv[0], "exit_code", res.ExitCode, "timed_out", res.TimedOut,
		"output_bytes", len(res.Output), "truncated", res.Truncated)
	return encodeResult(res)
}

// run runs argv without a shell in its own process group, with stdin from
// /dev/null, an environment of ExecPath only and "/" as its directory. It
// keeps the first maxOut bytes of stdout and stderr together. When timeout
// passes the whole group is killed (TimedOut, exit code 137); when the
// command ends, whatever it left running in its group is killed too, so
// nothing outlives the exec. A command that cannot be started answers exit
// code 127 (not found) or 126, as a shell would; only ctx ending is an
// error.
func run(ctx context.Context, argv []string, timeout time.Duration, maxOut int) (fleetproto.HostProbeResult, error) {
	path, code, err := lookPath(argv[0])
	if err != nil {
		return fleetproto.HostProbeResult{Output: "nodegw: " + err.Error() + "\n", ExitCode: code}, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fleetproto.HostProbeResult{}, fmt.Errorf("host.exec: pipe: %w", err)
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path: path, Args: argv, Dir: "/",
		Env:    []string{"PATH=" + ExecPath},
		Stdout: w, Stderr: w, // one pipe: the two streams interleave as written
		// Stdin nil is /dev/null.
		SysProcAttr: groupAttr(),
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fleetproto.HostProbeResult{Output: fmt.Sprintf("nodegw: start %s: %v\n", path, err), ExitCode: 126}, nil
	}
	w.Close()
	out := &capped{max: maxOut}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, r)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var werr error
	timedOut := false
	select {
	case werr = <-waited:
	case <-tctx.Done():
		timedOut = ctx.Err() == nil // our deadline, not the caller giving up
		killGroup(cmd)
		werr = <-waited
	}
	// The group's id stays taken while any member lives, so this reaches
	// only what the command started (ESRCH once they are all gone).
	killGroup(cmd)
	// The pipe closes once the group is gone; a process that left the
	// group (setsid) holding it is not waited for.
	_ = r.SetReadDeadline(time.Now().Add(time.Second))
	<-copied
	if !timedOut && ctx.Err() != nil {
		return fleetproto.HostProbeResult{}, fmt.Errorf("host.exec: %s: %w", argv[0], ctx.Err())
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return fleetproto.HostProbeResult{}, fmt.Errorf("host.exec: wait %s: %w", argv[0], werr)
	}
	res := fleetproto.HostProbeResult{Output: string(out.buf), Truncated: out.dropped > 0, TimedOut: timedOut}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.ExitCode = 128 + int(ws.Signal())
	} else {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	return res, nil
}

// lookPath finds argv[0] in ExecPath (never the gateway's PATH); a name
// with a slash must be an absolute path. On failure it returns the exit
// code a shell would.
func lookPath(name string) (string, int, error) {
	if name == "" {
		return "", 127, errors.New("argv[0] is empty")
	}
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return "", 127, fmt.Errorf("%s: a path must be absolute (the command runs in /)", name)
		}
		if err := executable(name); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", 127, fmt.Errorf("%s: no such file", name)
			}
			return "", 126, err
		}
		return name, 0, nil
	}
	for _, dir := range filepath.SplitList(ExecPath) {
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, 0, nil
		}
	}
	return "", 127, fmt.Errorf("%s: not found in %s", name, ExecPath)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: not an executable file", p)
	}
	return nil
}

// capped keeps the first max bytes written and counts the rest, reading
// everything so the command never blocks on a full pipe.
type capped struct {
	buf     []byte
	max     int
	dropped int64
}

func (c *capped) Write(p []byte) (int, error) {
	room := max(c.max-len(c.buf), 0)
	k := min(room, len(p))
	c.buf = append(c.buf, p[:k]...)
	c.dropped += int64(len(p) - k)
	return len(p), nil
}
