package lint

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// result is what one tool run produced.
type result struct {
	out       []byte
	exitErr   error // non-nil when the tool exited non-zero or by a signal
	timedOut  bool
	truncated bool
}

// capWriter keeps at most max bytes and calls over (once) when more come.
type capWriter struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
	over      func()
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - len(w.buf); len(p) > room {
		w.buf = append(w.buf, p[:max(room, 0)]...)
		if !w.truncated {
			w.truncated = true
			w.over()
		}
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// execTool runs name with args in dir, in its own process group, killing
// the group when ctx is done, the timeout passes or the output exceeds
// maxOutput. Stdout and stderr are read together, in order.
func execTool(ctx context.Context, name string, args []string, dir string, env []string, timeout time.Duration) (result, error) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	w := &capWriter{max: maxOutput, over: cancel}
	cmd.Stdout = w
	cmd.Stderr = w
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	var res result
	w.mu.Lock()
	res.out, res.truncated = w.buf, w.truncated
	w.mu.Unlock()
	if err != nil {
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee), errors.Is(err, exec.ErrWaitDelay):
			res.exitErr = err
		case tctx.Err() != nil:
			// killed before or while starting
			res.exitErr = err
		default:
			return res, fmt.Errorf("run %s: %w", name, err)
		}
	}
	if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		res.timedOut = true
	}
	return res, nil
}
