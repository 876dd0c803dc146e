// Package tasks runs batch tasks on a compute node (issue 16): for a
// CommandTaskRun it fetches the code and environment commits into a local
// git cache, builds (or reuses) the environment image, downloads the
// inputs, runs the command in a hardened container with no network, and
// uploads the declared artifacts, reporting every step to the cloud.
//
// Everything the task produces is untrusted: the node reads it only
// through paths it resolves itself beneath the task's directories, never
// following a link the container made.
package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/docker/docker/client"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
)

// Options configure a Runner.
type Options struct {
	// Docker is the daemon tasks build and run on (required).
	Docker *client.Client
	// Git is the git binary; "" means "git" from $PATH.
	Git string
	// StateDir holds the git caches and the tasks' directories (required).
	StateDir string
	// Report sends a task's new state (gateway.ReportTask; required).
	Report func(*fleetproto.TaskUpdate)
	// Log sends a chunk of a task's output (gateway.Send; required). A
	// chunk it fails to send is dropped.
	Log func(*fleetproto.TaskLog) error
	// HTTP moves inputs and artifacts to and from their presigned URLs;
	// nil means a client with a 10-minute timeout per request.
	HTTP *http.Client
	// Logger gets the node's own logs; nil means slog.Default().
	Logger *slog.Logger
	// Network is the one Docker network, besides "none", that a task may
	// ask for (TaskRunArgs.Network, which the cloud sets only when the
	// operator allows it); "" means tasks get no network at all. A task
	// that asks for nothing runs with "none", and image builds always do.
	Network string
	// UserUID and UserGID are the node ids of the container's uid/gid
	// 1000 (the task's user), who owns the output directory; 0 means 1000
	// (no user-namespace remapping).
	UserUID, UserGID int
	// PidsLimit bounds a task's processes; 0 means 512.
	PidsLimit int64
	// OutBytes is the size of a task's /out, a file system of its own
	// (nodegw/loopdisk), so a task that writes without end fills it and
	// not the node's disk. Zero means 8 GiB; negative means a plain
	// directory on the node's disk (no loop devices).
	OutBytes int64
	// KeepImages is how many environment images the node keeps; the
	// least recently used beyond it are removed. Zero means
	// DefaultKeepImages.
	KeepImages int
	// GPUs are the node's GPU device ids (nvidia-smi's indexes), each
	// given to one task at a time.
	GPUs []string
	// BuildTimeout bounds an environment image's build; 0 means an hour.
	BuildTimeout time.Duration
	// MaxArtifactBytes bounds each artifact's size; 0 means 4 GiB.
	MaxArtifactBytes int64
	// MaxInputBytes bounds each input's size; 0 means 4 GiB.
	MaxInputBytes int64
}

// taskUID is the uid and gid a task's command runs as in its container.
const taskUID = 1000

// Container and image labels.
const (
	LabelTask        = "dev.gatewave.task"
	LabelTaskAttempt = "dev.gatewave.task.attempt"
	LabelRunner      = "dev.gatewave.task.runner"
	LabelEnvURL      = "dev.gatewave.env.url"
	LabelEnvCommit   = "dev.gatewave.env.commit"
	LabelEnvFile     = "dev.gatewave.env.dockerfile"
)

// keepDone is how long a finished attempt is remembered, so a resent
// CommandTaskRun for it is refused rather than run again.
const keepDone = time.Hour

type key struct {
	id      int64
	attempt int
}

func (k key) String() string { return fmt.Sprintf("%d-%d", k.id, k.attempt) }

var (
	errCancelled = errors.New("task cancelled")
	errShutdown  = errors.New("node shutting down")
	// errBuildTimeout ends a build that ran past Options.BuildTimeout.
	errBuildTimeout = errors.New("environment build timed out")
)

// task is one running attempt.
type task struct {
	key     key
	args    fleetproto.TaskRunArgs
	ctx     context.Context
	cancel  context.CancelCauseFunc
	dir     string // StateDir/tasks/<id>-<attempt>
	image   string
	cached  bool
	network string
	gpus    []string // the device ids it holds
}

// Runner runs tasks. Create it with New.
type Runner struct {
	opts Options
	log  *slog.Logger
	gpus *gpuSet // guarded by mu
	// instance tells this node's task containers from others' on the
	// same dockerd: a hash of its state directory, in their names and
	// LabelRunner.
	instance string

	mu      sync.Mutex
	running map[key]*task
	done    map[key]time.Time
	closed  bool
	wg      sync.WaitGroup
	locks   keyLocks
}

// New checks opts and prepares StateDir.
func New(opts Options) (*Runner, error) {
	if opts.Docker == nil || opts.StateDir == "" || opts.Report == nil || opts.Log == nil {
		return nil, errors.New("tasks: Docker, StateDir, Report and Log are required")
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 10 * time.Minute}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Network == "" {
		opts.Network = "none"
	}
	if opts.UserUID == 0 {
		opts.UserUID = taskUID
	}
	if opts.UserGID == 0 {
		opts.UserGID = taskUID
	}
	if opts.PidsLimit <= 0 {
		opts.PidsLimit = 512
	}
	if opts.KeepImages <= 0 {
		opts.KeepImages = DefaultKeepImages
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = time.Hour
	}
	if opts.MaxArtifactBytes <= 0 {
		opts.MaxArtifactBytes = 4 << 30
	}
	if opts.MaxInputBytes <= 0 {
		opts.MaxInputBytes = 4 << 30
	}
	abs, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("tasks: state dir %q: %w", opts.StateDir, err)
	}
	opts.StateDir = abs
	for _, d := range []string{abs, filepath.Join(abs, "git"), filepath.Join(abs, "tasks")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("tasks: state dir: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("tasks: state dir: %w", err)
		}
	}
	// Directories of attempts a crashed nodegw left behind are Recover's
	// to report and remove.
	abs, aerr := filepath.Abs(opts.StateDir)
	if aerr != nil {
		return nil, fmt.Errorf("tasks: state dir: %w", aerr)
	}
	sum := sha256.Sum256([]byte(abs))
	return &Runner{opts: opts, log: opts.Logger, running: map[key]*task{}, done: map[key]time.Time{},
		instance: hex.EncodeToString(sum[:5]), gpus: newGPUSet(opts.GPUs)}, nil
}

// ContainerLabel is the label=value that selects this runner's task
// containers on dockerd (and no other node's on the same dockerd).
func (r *Runner) ContainerLabel() string { return LabelRunner + "=" + r.instance }

// Commands returns the command handlers for gateway.Options.Commands.
func (r *Runner) Commands() map[string]gateway.CommandHandler {
	return map[string]gateway.CommandHandler{
		fleetproto.CommandTaskRun:    r.HandleRun,
		fleetproto.CommandTaskCancel: r.HandleCancel,
	}
}

// decodeStrict decodes a command's arguments, refusing fields the
// protocol does not have.
func decodeStrict(b []byte, v any) error {
	if err := fleetproto.DecodeStrict(b, v); err != nil {
		return fmt.Errorf("task args: %w", err)
	}
	return nil
}

var accepted, _ = json.Marshal(fleetproto.TaskAccepted{Accepted: true})

// HandleRun is the CommandTaskRun handler: it checks the arguments,
// answers at once and runs the task in the background.
func (r *Runner) HandleRun(_ context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.TaskRunArgs
	if err := decodeStrict(cmd.Args, &a); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	k := key{a.ID, a.Attempt}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("task %d attempt %d: the node is shutting down", a.ID, a.Attempt)
	}
	now := time.Now()
	for dk, at := range r.done {
		if now.Sub(at) > keepDone {
			delete(r.done, dk)
		}
	}
	if t, ok := r.running[k]; ok {
		// The cloud resends a dispatch whose answer it did not get: the
		// same one is already accepted.
		if reflect.DeepEqual(t.args, a) {
			return accepted, nil
		}
		return nil, fmt.Errorf("task %d attempt %d is already running here with other arguments", a.ID, a.Attempt)
	}
	if _, ok := r.done[k]; ok {
		return nil, fmt.Errorf("task %d attempt %d already ran here", a.ID, a.Attempt)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	t := &task{key: k, args: a, ctx: ctx, cancel: cancel, dir: filepath.Join(r.opts.StateDir, "tasks", k.String())}
	r.running[k] = t
	r.wg.Go(func() { r.run(t) })
	return accepted, nil
}

// HandleCancel is the CommandTaskCancel handler: it stops the attempt's
// container if it runs, or keeps it from starting; the task then reports
// cancelled.
func (r *Runner) HandleCancel(_ context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var ref fleetproto.TaskRef
	if err := decodeStrict(cmd.Args, &ref); err != nil {
		return nil, err
	}
	if ref.ID <= 0 || ref.Attempt <= 0 {
		return nil, errors.New("task: id and attempt must be positive")
	}
	r.mu.Lock()
	t, ok := r.running[key{ref.ID, ref.Attempt}]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("task %d attempt %d is not running here", ref.ID, ref.Attempt)
	}
	t.cancel(errCancelled)
	return accepted, nil
}

// Shutdown stops every running task (their containers are killed, they
// report lost, so the cloud runs them again) and waits for them to clean
// up, or for ctx.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	for _, t := range r.running {
		t.cancel(errShutdown)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tasks: shutdown: %w", ctx.Err())
	}
}

// stepError is a failure whose message is meant for the user.
type stepError struct {
	detail   string
	exitCode *int
}

func (e *stepError) Error() string { return e.detail }

func failf(format string, a ...any) error { return &stepError{detail: fmt.Sprintf(format, a...)} }

func (r *Runner) report(t *task, state, detail string) {
	r.opts.Report(&fleetproto.TaskUpdate{ID: t.key.id, Attempt: t.key.attempt, State: state,
		Detail: truncate(detail, fleetproto.MaxTaskDetail), Image: t.image, Cached: t.cached})
}

// run does the task's steps and reports its end.
func (r *Runner) run(t *task) {
	logw := newLogWriter(t.key, r.opts.Log)
	final := &fleetproto.TaskUpdate{ID: t.key.id, Attempt: t.key.attempt}
	var arts map[string]int64
	var code *int
	var err error
	if t.args.GPUs > 0 {
		r.mu.Lock()
		t.gpus, err = r.gpus.take(t.args.GPUs)
		r.mu.Unlock()
		defer func() { r.mu.Lock(); r.gpus.give(t.gpus); r.mu.Unlock() }()
		if err != nil {
			err = &stepError{detail: err.Error()}
		}
	}
	if err == nil {
		arts, code, err = r.steps(t, logw)
	}
	logw.Close()
	final.Image, final.Cached = t.image, t.cached
	// Steps that succeeded (the artifacts are uploaded) are a success,
	// whatever came after: a cancel or a shutdown too late to matter.
	switch cause := context.Cause(t.ctx); {
	case err == nil:
		final.State, final.Artifacts = fleetproto.TaskSucceeded, arts
	case errors.Is(cause, errCancelled):
		final.State, final.Detail = fleetproto.TaskCancelled, "cancelled"
	case errors.Is(cause, errShutdown):
		final.State, final.Detail = fleetproto.TaskLost, "the node shut down while the task ran"
	default:
		final.State = fleetproto.TaskFailed
		var se *stepError
		if errors.As(err, &se) {
			final.Detail, final.ExitCode = se.detail, se.exitCode
		} else {
			final.Detail = err.Error()
			r.log.Warn("task failed", "task", t.key.id, "attempt", t.key.attempt, "err", err)
		}
	}
	if final.ExitCode == nil && code != nil {
		final.ExitCode = code
	}
	final.Detail = truncate(final.Detail, fleetproto.MaxTaskDetail)
	t.cancel(nil)
	dropOut(filepath.Join(t.dir, "out"))
	removeTree(t.dir)
	r.mu.Lock()
	delete(r.running, t.key)
	r.done[t.key] = time.Now()
	r.mu.Unlock()
	r.opts.Report(final)
}

// steps runs the task and returns the artifacts' sizes and the command's
// exit code.
func (r *Runner) steps(t *task, logw *logWriter) (map[string]int64, *int, error) {
	a := &t.args
	r.report(t, fleetproto.TaskFetching, "")
	t.network = "none"
	if a.Network != "" && a.Network != "none" {
		if a.Network != r.opts.Network {
			return nil, nil, failf("network %q: this node gives tasks no network", a.Network)
		}
		t.network = a.Network
	}
	if err := os.Mkdir(t.dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("task dir: %w", err)
	}
	codeGit, err := r.fetch(t.ctx, a.Code)
	if err != nil {
		return nil, nil, err
	}
	envGit, err := r.fetch(t.ctx, a.Env)
	if err != nil {
		return nil, nil, err
	}
	codeDir := filepath.Join(t.dir, "code")
	if err := r.checkout(t.ctx, codeGit, a.Code.Commit, codeDir); err != nil {
		return nil, nil, err
	}

	t.image = EnvImageTag(a.Env.URL, a.Env.Commit, a.DockerfilePath)
	r.report(t, fleetproto.TaskBuilding, "")
	if err := r.ensureImage(t, envGit, logw); err != nil {
		return nil, nil, err
	}
	if t.cached {
		r.report(t, fleetproto.TaskBuilding, "environment image cached")
	}

	inDir := filepath.Join(t.dir, "in")
	if err := r.fetchInputs(t.ctx, a.Inputs, inDir); err != nil {
		return nil, nil, err
	}
	outDir := filepath.Join(t.dir, "out")
	if err := r.makeOut(t.ctx, outDir); err != nil {
		return nil, nil, err
	}

	code, err := r.runContainer(t, codeDir, inDir, outDir, logw)
	if err != nil {
		return nil, code, err
	}
	if *code != 0 {
		return nil, code, &stepError{detail: fmt.Sprintf("the command exited with code %d", *code), exitCode: code}
	}

	r.report(t, fleetproto.TaskUploading, "")
	arts, err := r.upload(t.ctx, a.Artifacts, outDir)
	return arts, code, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-3]
	for len(s) > 0 && s[len(s)-1]&0xc0 == 0x80 { // keep UTF-8 whole
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xc0 {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// keyLocks serialises work on one git cache or one image tag; waiting
// for one ends with the task's context.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (l *keyLocks) lock(ctx context.Context, k string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]chan struct{}{}
	}
	c := l.m[k]
	if c == nil {
		c = make(chan struct{}, 1)
		l.m[k] = c
	}
	l.mu.Unlock()
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
