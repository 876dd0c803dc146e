// Package tasks runs builds and other commands in the workspace for sessiond:
// named tasks from .ide/tasks.toml (plus a default "build" that runs make when
// the workspace has a Makefile) or a client's argv, never through a shell.
// Each task runs in its own process group so cancelling it stops everything
// it started, and its combined output is kept (bounded) so a client that
// joins late still reads the log from the start.
//
// # Problems and the build report
//
// While a task runs its output goes through a problems.Collector: errors
// and warnings of yosys, nextpnr, icepack/icetime, iverilog, verilator,
// ghdl and make, with workspace-relative file, line and column. The task
// JSON (GET api/v1/tasks/:id) carries them, and the log WebSocket opened
// with ?problems=1 sends them as they are found, between the output frames
// (without it the stream is as before: output frames, then exit):
//
//	{"id":"…","name":"build",…,
//	 "problems":[{"source":"yosys","severity":"error","file":"blinky.v","line":11,
//	              "column":5,"message":"syntax error, unexpected TOK_REG","code":"…"}],
//	 "problems_dropped":0,
//	 "report":{…}}
//
//	{"type":"output","data":"…"}
//	{"type":"problems","problems":[{…},{…}]}   // new ones since the last frame
//	{"type":"exit","state":"failed","exit_code":2,"error":{…},"report":{…}}
//
// file, line, column and code are left out when the tool gave none;
// severity is "error", "warning" or "info". When a task starts, earlier
// tasks of the same name lose their problems (their JSON then has
// "problems":[] and "superseded_by":"<new id>"): a new run replaces the
// last one's problems.
//
// When a task ran nextpnr with --report FILE (seen in the command line make
// echoes, or the task's own argv), the task's "report" is a report.Report
// built once it ends: utilization per resource with deltas, Fmax per clock
// against its constraint, critical paths with source locations, and yosys'
// cell count when yosys wrote `stat -json` with `tee -o FILE`. The latest
// report is also at GET api/v1/build/report (404 before any build made one).
//
// # Progress
//
// A task started with Spec.Progress (a flash: sessiond/flash parses
// openFPGALoader's and dfu-util's progress bars) reports how far it has
// got. Its output is split into lines at '\n' and at '\r' (progress bars
// redraw themselves with '\r'), and the latest progress a line showed is
// the task JSON's "progress", absent until the first:
//
//	{"id":"…","name":"flash","state":"running",…,
//	 "progress":{"phase":"writing","done":14336,"total":32768}}
//
// done and total count bytes unless the phase says otherwise; total 0
// means not known (a phase such as "configuring" that has no size). The
// field stays after the task ends, so a failed or cancelled flash shows
// where it stopped. The log stream is unchanged: it carries the raw
// output, '\r' included.
package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"gatewave.dev/sessiond/childenv"
	"gatewave.dev/sessiond/problems"
	"gatewave.dev/sessiond/report"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/wsorigin"
)

// Options configure a Service. Workspace is required; every other zero value
// picks a default.
type Options struct {
	// Workspace is where tasks run and where .ide/tasks.toml is read.
	Workspace *workspace.Workspace
	// Logger is sessiond's logger; nil means slog.Default().
	Logger *slog.Logger
	// Origins guards the log WebSocket; the zero value allows same origin.
	Origins wsorigin.Policy
	// MaxLog caps the output kept per task, in bytes: the first half and
	// the most recent half are kept and the middle of a longer log is
	// dropped with a note (memory peaks at 1.5 × MaxLog). 0 means 8 MiB.
	MaxLog int
	// KeepFinished is how many finished tasks stay listed with their logs;
	// 0 means 50.
	KeepFinished int
	// KillGrace is how long a cancelled task's process group has between
	// SIGTERM and SIGKILL; 0 means 3 s.
	KillGrace time.Duration
	// Env is added to the environment every task inherits from sessiond.
	Env []string
	// ExtraEnv, when set, is asked for more variables before each task
	// starts (the workspace's shell.nix, sessiond/nixshell); programs are
	// looked up in the PATH they give, and a notice it returns is the
	// first line of the task's log.
	ExtraEnv func(ctx context.Context) (env []string, notice string)
	// Trusted reports whether the workspace's ConfigPath may define tasks;
	// nil means trusted. While it reports false only the default build task
	// exists (see Defs). It is asked on every use, so the answer may change.
	Trusted func() bool
}

// State is where a task is in its life.
type State string

// Task states.
const (
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Problem is a diagnosis attached to a finished task, such as a flash
// programmer's "no device found", in the API's error shape.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Info is a task as the API reports it.
type Info struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Argv      []string   `json:"argv"`
	Dir       string     `json:"dir"`
	State     State      `json:"state"`
	ExitCode  *int       `json:"exit_code"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	// LogBytes is how much output the task has written so far.
	LogBytes int64 `json:"log_bytes"`
	// Error explains a failure when the task's starter could diagnose it.
	Error *Problem `json:"error,omitempty"`
	// Result is what Spec.Result made of the finished task (a simulation's
	// pass/fail), absent otherwise.
	Result any `json:"result,omitempty"`
	// Problems are the errors and warnings matched in the output so far.
	Problems []problems.Problem `json:"problems"`
	// ProblemsDropped counts problems beyond the kept maximum.
	ProblemsDropped int `json:"problems_dropped,omitempty"`
	// SupersededBy is the later run of the same task that cleared Problems.
	SupersededBy string `json:"superseded_by,omitempty"`
	// Report is the build report, once a task that ran nextpnr with
	// --report has ended.
	Report *report.Report `json:"report,omitempty"`
	// Progress is the latest progress Spec.Progress found in the output,
	// absent before the first (and for tasks without Spec.Progress).
	Progress *Progress `json:"progress,omitempty"`
}

// Spec describes a task to start.
type Spec struct {
	// Name labels the task ("build", "flash", or "" for an ad-hoc command,
	// which is then named after argv[0]).
	Name string
	// Argv is the program and its arguments; the program is looked up in
	// PATH unless it contains a slash (then it is relative to Dir).
	Argv []string
	// Dir is the working directory relative to the workspace; "" is the root.
	Dir string
	// Env is added to the environment.
	Env []string
	// Diagnose, when set, runs once the process has exited and before
	// clients see the exit; it may return a Problem explaining a failure and
	// a line to append to the log.
	Diagnose func(exitCode int, output []byte) *Problem
	// Then are further commands run one after another once Argv has exited
	// 0 (compile, then simulate), in Dir with Env, into the same log, each
	// announced by a "$ argv" line; the first that fails ends the task, and
	// its exit code is the task's. A program not found fails Start.
	Then [][]string
	// Result, when set, runs once the last command has exited (after
	// Diagnose) with the index of that command (0 is Argv, 1 the first of
	// Then), its exit code and the whole log; it returns what Info.Result
	// reports and whether the task failed even though every command exited
	// 0 (a simulation that printed an assertion error).
	Result func(step, exitCode int, output []byte) (result any, failed bool)
	// Progress, when set, reads the output of Argv line by line (a line
	// ends at '\n' or '\r') and returns the progress a line reports, which
	// becomes Info.Progress. It is called from one goroutine at a time.
	Progress func(line []byte) (Progress, bool)
}

// Task is one started command.
type Task struct {
	id     string
	spec   Spec
	log    *outputLog
	probs  *problems.Collector
	out    *teeWriter      // probs, then log: every command's output
	prog   *progressWriter // Spec.Progress's line splitter in front of out, or nil
	cmd    *exec.Cmd
	done   chan struct{}
	cancel chan struct{}
	env    []string // the environment of its commands

	mu         sync.Mutex
	state      State
	exitCode   *int
	started    time.Time
	ended      *time.Time
	problem    *Problem
	result     any
	report     *report.Report
	superseded string
	progress   *Progress
	cancelled  bool
	stopOnce   sync.Once
}

// ID is the task's identifier.
func (t *Task) ID() string { return t.id }

// Done is closed when the task has exited and its output is complete.
func (t *Task) Done() <-chan struct{} { return t.done }

// Info reports the task's current state.
func (t *Task) Info() Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := Info{
		ID: t.id, Name: t.spec.Name, Argv: slices.Clone(t.spec.Argv), Dir: t.spec.Dir,
		State: t.state, ExitCode: t.exitCode, StartedAt: t.started, EndedAt: t.ended,
		LogBytes: t.log.size(), Error: t.problem, Result: t.result,
		Report: t.report, SupersededBy: t.superseded, Problems: []problems.Problem{},
	}
	if t.progress != nil {
		pr := *t.progress
		info.Progress = &pr
	}
	if t.superseded == "" {
		info.Problems, info.ProblemsDropped = t.probs.Problems()
	}
	return info
}

// Output returns the retained log (with a note where the middle was dropped).
func (t *Task) Output() []byte {
	var out []byte
	var off int64
	for {
		data, next, _, _ := t.log.readFrom(off)
		if next == off {
			return out
		}
		out = append(out, data...)
		off = next
	}
}

// Service runs and remembers tasks.
type Service struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	tasks  map[string]*Task
	order  []string // start order, for listing and eviction
	closed bool
	wg     sync.WaitGroup
	last   *report.Report // the latest build report
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Workspace == nil {
		return nil, errors.New("tasks: Options.Workspace is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxLog <= 0 {
		opts.MaxLog = 8 << 20
	}
	if opts.KeepFinished <= 0 {
		opts.KeepFinished = 50
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = 3 * time.Second
	}
	return &Service{opts: opts, log: opts.Logger, tasks: map[string]*Task{}}, nil
}

// Start launches spec and returns at once. A program that cannot be found
// or started is an *apierr.Error and no task is recorded.
func (s *Service) Start(spec Spec) (*Task, error) {
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return nil, apierr.BadRequest("a task needs a command: a non-empty argv")
	}
	for _, a := range spec.Argv {
		if containsNUL(a) {
			return nil, apierr.BadRequest("command arguments cannot contain NUL bytes")
		}
	}
	dir, err := workspace.Clean(spec.Dir)
	if err != nil {
		return nil, err
	}
	if e, err := s.opts.Workspace.Stat(dir); err != nil {
		return nil, err
	} else if e.Type != workspace.TypeDir {
		return nil, apierr.BadRequest("task directory %q is not a directory", dir)
	}
	spec.Dir = dir
	if spec.Name == "" {
		spec.Name = spec.Argv[0]
	}
	env := append(childenv.Base(), s.opts.Env...)
	var notice string
	if s.opts.ExtraEnv != nil {
		var extra []string
		extra, notice = s.opts.ExtraEnv(context.Background())
		env = append(env, extra...)
	}
	env = append(env, spec.Env...)
	for _, argv := range spec.Then {
		if len(argv) == 0 || argv[0] == "" || slices.ContainsFunc(argv, containsNUL) {
			return nil, apierr.BadRequest("every further command of a task needs a program and no NUL bytes")
		}
		if _, err := childenv.LookPath(env, argv[0]); err != nil {
			return nil, apierr.New(400, "command_not_found", "%s: not found in PATH on this machine", argv[0])
		}
	}

	prog, err := childenv.LookPath(env, spec.Argv[0])
	if err != nil {
		return nil, apierr.New(400, "command_not_found", "%s: not found in PATH on this machine", spec.Argv[0])
	}
	cmd := exec.Command(prog, spec.Argv[1:]...)
	cmd.Args[0] = spec.Argv[0]
	childenv.Limit(cmd)
	cmd.Dir = s.opts.Workspace.Abs(dir)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// If something the task started escapes the group and keeps the output
	// pipe open, stop waiting for it shortly after the task exits.
	cmd.WaitDelay = 2 * time.Second
	t := &Task{
		id: newID(), spec: spec, log: newOutputLog(s.opts.MaxLog), cmd: cmd,
		done: make(chan struct{}), cancel: make(chan struct{}), state: Running, env: env,
		probs: problems.NewCollector(problems.Options{Root: s.opts.Workspace.Abs("."), Dir: dir, Command: spec.Argv}),
	}
	// Problems are matched before the bytes reach the log, so a reader who
	// sees a line also finds its problem.
	t.out = &teeWriter{t.probs, t.log}
	var out io.Writer = t.out
	if spec.Progress != nil {
		t.prog = &progressWriter{next: t.out, t: t}
		out = t.prog
	}
	cmd.Stdout = out
	cmd.Stderr = out
	if notice != "" {
		fmt.Fprintf(t.out, "[gatewave] %s\n", notice)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, apierr.New(503, "shutting_down", "sessiond is shutting down")
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, apierr.New(400, "command_not_found", "%s: not found on this machine", spec.Argv[0])
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, apierr.New(400, "command_not_executable", "%s: permission denied", spec.Argv[0])
		}
		return nil, fmt.Errorf("start %q: %w", spec.Argv[0], err)
	}
	t.started = time.Now()
	for _, old := range s.tasks {
		if old.spec.Name == spec.Name {
			old.mu.Lock()
			old.superseded = t.id
			old.mu.Unlock()
		}
	}
	s.tasks[t.id] = t
	s.order = append(s.order, t.id)
	s.evictLocked()
	s.wg.Add(1)
	go s.run(t)
	s.log.Info("task started", "id", t.id, "name", spec.Name, "argv", spec.Argv, "pid", cmd.Process.Pid)
	return t, nil
}

func (s *Service) run(t *Task) {
	defer s.wg.Done()
	err := s.waitGroup(t.cmd, t.cancel)

	code := exitCode(t.cmd.ProcessState, err)
	if t.prog != nil {
		t.prog.flush()
	}
	step := 0
	for i, argv := range t.spec.Then {
		if code != 0 || t.isCancelled() {
			break
		}
		step = i + 1
		code = s.runThen(t, argv)
	}
	var (
		result any
		failed bool
	)
	t.probs.Flush()
	rep := s.buildReport(t)
	var problem *Problem
	if t.spec.Diagnose != nil {
		if problem = t.spec.Diagnose(code, t.Output()); problem != nil {
			fmt.Fprintf(t.log, "\n%s\n", problem.Message)
		}
	}
	if t.spec.Result != nil {
		result, failed = t.spec.Result(step, code, t.Output())
	}
	t.log.finish()
	now := time.Now()
	t.mu.Lock()
	t.exitCode = &code
	t.ended = &now
	t.problem = problem
	t.result = result
	t.report = rep
	switch {
	case t.cancelled:
		t.state = Cancelled
	case code == 0 && !failed:
		t.state = Succeeded
	default:
		t.state = Failed
	}
	state := t.state
	t.mu.Unlock()
	if rep != nil {
		s.mu.Lock()
		s.last = rep
		s.mu.Unlock()
	}
	close(t.done)
	s.log.Info("task ended", "id", t.id, "name", t.spec.Name, "state", state, "exit_code", code)
}

// runThen runs one of a task's further commands to its end (or the task's
// cancellation) and returns its exit code; one that cannot start is 127.
func (s *Service) runThen(t *Task, argv []string) int {
	fmt.Fprintf(t.out, "$ %s\n", strings.Join(argv, " "))
	prog, err := childenv.LookPath(t.env, argv[0])
	if err != nil {
		fmt.Fprintf(t.out, "%s: %v\n", argv[0], err)
		return 127
	}
	cmd := exec.Command(prog, argv[1:]...)
	cmd.Args[0] = argv[0]
	childenv.Limit(cmd)
	cmd.Dir = s.opts.Workspace.Abs(t.spec.Dir)
	cmd.Env = t.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdout = t.out
	cmd.Stderr = t.out
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(t.out, "%s: %v\n", argv[0], err)
		return 127
	}
	return exitCode(cmd.ProcessState, s.waitGroup(cmd, t.cancel))
}

// waitGroup waits for cmd, the leader of its own process group. A cancel
// sends the group SIGTERM, then SIGKILL after Options.KillGrace; whatever
// the command left running in its group is killed when it ends.
func (s *Service) waitGroup(cmd *exec.Cmd, cancel <-chan struct{}) error {
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-cancel:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case err = <-waited:
		case <-time.After(s.opts.KillGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-waited
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return err
}

func (t *Task) isCancelled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cancelled
}

// exitCode reports a shell-style status: the exit code, or 128+signal.
func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if c := ps.ExitCode(); c >= 0 {
		return c
	}
	return -1
}

// Cancel stops task id's process group: SIGTERM, then SIGKILL after the
// grace period. Cancelling a finished task changes nothing.
func (s *Service) Cancel(id string) (*Task, error) {
	t, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	t.stop()
	return t, nil
}

func (t *Task) stop() {
	t.mu.Lock()
	if t.state == Running {
		t.cancelled = true
	}
	t.mu.Unlock()
	t.stopOnce.Do(func() { close(t.cancel) })
}

// Get returns task id or a 404.
func (s *Service) Get(id string) (*Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return nil, apierr.NotFound("no task %q (finished tasks are forgotten after %d newer ones)", id, s.opts.KeepFinished)
	}
	return t, nil
}

// List returns every remembered task, oldest first.
func (s *Service) List() []Info {
	s.mu.Lock()
	ts := make([]*Task, 0, len(s.order))
	for _, id := range s.order {
		ts = append(ts, s.tasks[id])
	}
	s.mu.Unlock()
	out := make([]Info, len(ts))
	for i, t := range ts {
		out[i] = t.Info()
	}
	return out
}

// evictLocked forgets the oldest finished tasks beyond KeepFinished.
func (s *Service) evictLocked() {
	finished := 0
	for _, id := range s.order {
		if isDone(s.tasks[id]) {
			finished++
		}
	}
	for i := 0; i < len(s.order) && finished > s.opts.KeepFinished; {
		id := s.order[i]
		if isDone(s.tasks[id]) {
			delete(s.tasks, id)
			s.order = slices.Delete(s.order, i, i+1)
			finished--
			continue
		}
		i++
	}
}

func isDone(t *Task) bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Close cancels every running task and waits until all have exited.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	ts := make([]*Task, 0, len(s.tasks))
	for _, t := range s.tasks {
		ts = append(ts, t)
	}
	s.mu.Unlock()
	for _, t := range ts {
		t.stop()
	}
	s.wg.Wait()
	return nil
}

// Wait blocks until t ends or ctx is done.
func (t *Task) Wait(ctx context.Context) (Info, error) {
	select {
	case <-t.done:
		return t.Info(), nil
	case <-ctx.Done():
		return t.Info(), ctx.Err()
	}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
