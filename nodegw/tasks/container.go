package tasks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"gatewave.dev/shared/fleetproto"
)

// ContainerName is the name of an attempt's container.
func (r *Runner) ContainerName(id int64, attempt int) string {
	return fmt.Sprintf("gatewave-task-%s-%d-%d", r.instance, id, attempt)
}

// runContainer runs the command in the environment image and returns its
// exit code; the container is gone when it returns.
func (r *Runner) runContainer(t *task, codeDir, inDir, outDir string, logw *logWriter) (*int, error) {
	a := &t.args
	dc := r.opts.Docker
	pids := r.opts.PidsLimit
	tmpSize := max(a.MemoryBytes/4, 64<<20)
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(t.network),
		Binds:       []string{codeDir + ":/code:ro", inDir + ":/in:ro", outDir + ":/out:rw"},
		Resources: container.Resources{
			NanoCPUs:   int64(a.CPUs * 1e9),
			Memory:     a.MemoryBytes,
			MemorySwap: a.MemoryBytes, // no swap beyond the limit
			PidsLimit:  &pids,         // a fork bomb stops here
		},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": fmt.Sprintf("rw,nosuid,nodev,size=%d,mode=1777", tmpSize)},
		LogConfig:      container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "2"}},
	}
	if len(t.gpus) > 0 {
		hc.DeviceRequests = []container.DeviceRequest{{DeviceIDs: t.gpus, Capabilities: [][]string{{"gpu"}}}}
	}
	cfg := &container.Config{
		Image:      t.image,
		User:       fmt.Sprintf("%d:%d", taskUID, taskUID),
		Cmd:        a.Command,
		Entrypoint: []string{}, // the command is the whole argv
		WorkingDir: "/code",
		Env:        []string{"HOME=/tmp", "OUT=/out", "IN=/in"},
		Hostname:   "task",
		Labels: map[string]string{LabelTask: strconv.FormatInt(a.ID, 10), LabelTaskAttempt: strconv.Itoa(a.Attempt),
			LabelRunner: r.instance},
	}
	// Docker calls that must finish even when the task is cancelled.
	bg := context.Background()
	name := r.ContainerName(a.ID, a.Attempt)
	resp, err := dc.ContainerCreate(t.ctx, cfg, hc, nil, nil, name)
	if err != nil {
		if t.ctx.Err() != nil {
			return nil, t.ctx.Err()
		}
		return nil, fmt.Errorf("create container: %w", err)
	}
	id := resp.ID
	defer func() {
		rctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		if err := dc.ContainerRemove(rctx, id, container.RemoveOptions{Force: true}); err != nil {
			r.log.Warn("remove task container", "container", name, "err", err)
		}
	}()
	waitc, werrc := dc.ContainerWait(bg, id, container.WaitConditionNextExit)
	if err := dc.ContainerStart(t.ctx, id, container.StartOptions{}); err != nil {
		if t.ctx.Err() != nil {
			return nil, t.ctx.Err()
		}
		return nil, failf("start the command: %v", err)
	}
	// Running means the command has started, not that it is about to.
	r.report(t, fleetproto.TaskRunning, "")
	var logsDone sync.WaitGroup
	logCtx, stopLogs := context.WithCancel(bg)
	defer stopLogs()
	logsDone.Go(func() {
		rc, err := dc.ContainerLogs(logCtx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			r.log.Warn("task logs", "container", name, "err", err)
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(logw, logw, rc)
	})
	timeout := time.Duration(a.TimeoutMS) * time.Millisecond
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	kill := func() {
		kctx, cancel := context.WithTimeout(bg, 30*time.Second)
		defer cancel()
		if err := dc.ContainerKill(kctx, id, "KILL"); err != nil && !isNotRunning(err) {
			r.log.Warn("kill task container", "container", name, "err", err)
		}
	}
	var stopErr error
	var res container.WaitResponse
	select {
	case res = <-waitc:
	case err := <-werrc:
		return nil, fmt.Errorf("wait for the command: %w", err)
	case <-timer.C:
		kill()
		stopErr = failf("timed out after %v", timeout)
	case <-t.ctx.Done():
		kill()
		stopErr = t.ctx.Err()
	}
	if stopErr != nil {
		select {
		case <-waitc:
		case <-werrc:
		case <-time.After(30 * time.Second):
		}
	}
	// The log stream ends with the container; bound the wait anyway.
	done := make(chan struct{})
	go func() { logsDone.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		stopLogs()
		<-done
	}
	if stopErr != nil {
		return nil, stopErr
	}
	if res.Error != nil && res.Error.Message != "" {
		return nil, fmt.Errorf("wait for the command: %s", res.Error.Message)
	}
	code := int(res.StatusCode)
	if ins, err := dc.ContainerInspect(bg, id); err == nil && ins.State != nil && ins.State.OOMKilled {
		return &code, &stepError{detail: fmt.Sprintf("killed: out of memory (limit %d bytes)", a.MemoryBytes), exitCode: &code}
	}
	return &code, nil
}

func isNotRunning(err error) bool {
	return cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "is not running")
}

// logWriter turns a task's output into TaskLog chunks of at most
// MaxTaskLogChunk bytes, sent when full and at least every flushEvery.
type logWriter struct {
	key  key
	send func(*fleetproto.TaskLog) error

	mu     sync.Mutex
	buf    []byte
	seq    int64
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

const flushEvery = 200 * time.Millisecond

func newLogWriter(k key, send func(*fleetproto.TaskLog) error) *logWriter {
	w := &logWriter{key: k, send: send, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tk := time.NewTicker(flushEvery)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				w.mu.Lock()
				w.flush(false)
				w.mu.Unlock()
			case <-w.stop:
				return
			}
		}
	}()
	return w
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= fleetproto.MaxTaskLogChunk {
		w.flush(true)
	}
	return len(p), nil
}

// flush sends the buffer in chunks; with fullOnly, a partial last chunk
// stays for later. Called with mu held.
func (w *logWriter) flush(fullOnly bool) {
	for len(w.buf) > 0 {
		n := min(len(w.buf), fleetproto.MaxTaskLogChunk)
		if fullOnly && n < fleetproto.MaxTaskLogChunk {
			return
		}
		w.seq++
		chunk := append([]byte(nil), w.buf[:n]...)
		w.buf = w.buf[n:]
		_ = w.send(&fleetproto.TaskLog{ID: w.key.id, Attempt: w.key.attempt, Seq: w.seq, Data: chunk})
	}
	w.buf = nil
}

// Close sends what is left and stops the flusher.
func (w *logWriter) Close() {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flush(false)
	w.closed = true
}
