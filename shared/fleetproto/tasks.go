package fleetproto

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Batch tasks on the fleet (issue 16). The cloud's scheduler assigns a
// queued task to a node and sends CommandTaskRun; the node acks at once
// (accepted) and then reports every state change with a TaskUpdate
// message and the task's output with TaskLog messages on the control
// stream. Commands carry metadata only (repo URLs, commit ids, paths,
// presigned URLs), never file content: the node fetches code from the
// git host and moves inputs and artifacts to and from the object store
// itself.
const (
	// CommandTaskRun starts a task (TaskRunArgs → TaskAccepted).
	CommandTaskRun = "task.run"
	// CommandTaskCancel stops a task's container if it runs, or keeps it
	// from starting (TaskRef → TaskAccepted). The node reports the end
	// with a TaskUpdate of state cancelled.
	CommandTaskCancel = "task.cancel"
)

// Task states, in the order a task goes through them. The node reports
// fetching … uploading and the final succeeded/failed/cancelled, and lost
// for an attempt it could not finish through no fault of the task (it
// shut down or restarted); the cloud sets queued and dispatched, and lost
// when the node goes offline. A lost attempt runs again while the task
// has attempts left.
const (
	TaskQueued     = "queued"
	TaskDispatched = "dispatched"
	TaskFetching   = "fetching"
	TaskBuilding   = "building"
	TaskRunning    = "running"
	TaskUploading  = "uploading"
	TaskSucceeded  = "succeeded"
	TaskFailed     = "failed"
	TaskCancelled  = "cancelled"
	TaskLost       = "lost"
)

// TaskTerminal reports whether state is an end state.
func TaskTerminal(state string) bool {
	switch state {
	case TaskSucceeded, TaskFailed, TaskCancelled, TaskLost:
		return true
	}
	return false
}

// nodeTaskStates are the states a node may report.
var nodeTaskStates = map[string]bool{TaskFetching: true, TaskBuilding: true, TaskRunning: true,
	TaskUploading: true, TaskSucceeded: true, TaskFailed: true, TaskCancelled: true, TaskLost: true}

// Limits on a task's description.
const (
	MaxTaskArgs      = 256
	MaxTaskArgBytes  = 16 << 10 // all of the command's arguments together
	MaxTaskObjects   = 64       // inputs, and artifacts, each
	MaxTaskLogChunk  = 16 << 10
	MaxTaskDetail    = 1024
	MaxTaskTimeoutMS = 24 * 3600 * 1000
)

// TaskRepo is a repository at a pinned commit, with a credential that can
// only read it, only while the task runs.
type TaskRepo struct {
	URL      string `json:"url"`
	Commit   string `json:"commit"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// TaskObject is one input or artifact: a path relative to the task's
// input (/in) or output (/out) directory, and the presigned URL to GET it
// from or PUT it to.
type TaskObject struct {
	Path string `json:"path"`
	URL  string `json:"url"`
}

// TaskRunArgs are CommandTaskRun's arguments.
type TaskRunArgs struct {
	ID      int64 `json:"id"`
	Attempt int   `json:"attempt"`
	// Code is checked out read-only at /code; Env's DockerfilePath is
	// built (Docker's layer cache, tagged by EnvImageTag) into the image
	// the task runs in.
	Code           TaskRepo `json:"code"`
	Env            TaskRepo `json:"env"`
	DockerfilePath string   `json:"dockerfile_path"`
	// Command is the argv run in the container (no shell unless it
	// names one).
	Command     []string `json:"command"`
	CPUs        float64  `json:"cpus"`
	MemoryBytes int64    `json:"memory_bytes"`
	GPUs        int      `json:"gpus,omitempty"`
	TimeoutMS   int64    `json:"timeout_ms"`
	// Network is "" (none: no network at all) unless the operator allows
	// more.
	Network   string       `json:"network,omitempty"`
	Inputs    []TaskObject `json:"inputs,omitempty"`
	Artifacts []TaskObject `json:"artifacts,omitempty"`
}

// TaskRef names one attempt of a task.
type TaskRef struct {
	ID      int64 `json:"id"`
	Attempt int   `json:"attempt"`
}

// TaskAccepted answers CommandTaskRun and CommandTaskCancel.
type TaskAccepted struct {
	Accepted bool `json:"accepted"`
}

// TaskUpdate is a node's report of a task's new state (gateway → cloud).
type TaskUpdate struct {
	ID      int64  `json:"id"`
	Attempt int    `json:"attempt"`
	State   string `json:"state"`
	// Detail says what happened, for the user (an error, "image cached").
	Detail string `json:"detail,omitempty"`
	// ExitCode is the command's exit status once it ended.
	ExitCode *int `json:"exit_code,omitempty"`
	// Image is the environment image's tag; Cached says it was not built.
	Image  string `json:"image,omitempty"`
	Cached bool   `json:"cached,omitempty"`
	// Artifacts lists what was uploaded (path → size in bytes).
	Artifacts map[string]int64 `json:"artifacts,omitempty"`
}

// TaskLog is a chunk of a task's output (gateway → cloud). Seq counts
// chunks of the attempt from 1; Data is at most MaxTaskLogChunk bytes.
type TaskLog struct {
	ID      int64  `json:"id"`
	Attempt int    `json:"attempt"`
	Seq     int64  `json:"seq"`
	Data    []byte `json:"data"`
}

// Control message types for tasks.
const (
	TypeTaskUpdate Type = "task_update"
	TypeTaskLog    Type = "task_log"
)

func (*TaskUpdate) messageType() Type { return TypeTaskUpdate }
func (*TaskLog) messageType() Type    { return TypeTaskLog }

func (m *TaskUpdate) validate() error {
	if m.ID <= 0 || m.Attempt <= 0 {
		return errors.New("task_update: id and attempt must be positive")
	}
	if !nodeTaskStates[m.State] {
		return fmt.Errorf("task_update: state %q is not one a node reports", m.State)
	}
	if len(m.Detail) > MaxTaskDetail || len(m.Image) > 256 || len(m.Artifacts) > MaxTaskObjects {
		return errors.New("task_update: field too long")
	}
	for p := range m.Artifacts {
		if err := ValidTaskPath(p); err != nil {
			return fmt.Errorf("task_update: artifact: %w", err)
		}
	}
	return nil
}

func (m *TaskLog) validate() error {
	if m.ID <= 0 || m.Attempt <= 0 || m.Seq <= 0 {
		return errors.New("task_log: id, attempt and seq must be positive")
	}
	if len(m.Data) > MaxTaskLogChunk {
		return fmt.Errorf("task_log: chunk of %d bytes, at most %d", len(m.Data), MaxTaskLogChunk)
	}
	return nil
}

var taskCommitRE = regexp.MustCompile(`^[a-f0-9]{40}$`)

// ValidCommitID reports whether s is a full SHA-1 commit id.
func ValidCommitID(s string) bool { return taskCommitRE.MatchString(s) }

// ValidTaskPath checks a path relative to a task's input or output
// directory, or a dockerfile_path relative to its repo: clean, relative,
// never leaving the directory, no control characters.
func ValidTaskPath(p string) error {
	if p == "" || len(p) > 512 || !utf8.ValidString(p) {
		return fmt.Errorf("path %q: must be 1 to 512 bytes of UTF-8", p)
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q: must be relative", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("path %q: control characters and backslashes are not allowed", p)
		}
	}
	for _, comp := range strings.Split(p, "/") {
		if comp == ".." {
			return fmt.Errorf("path %q: must stay inside its directory (no ..)", p)
		}
	}
	if path.Clean(p) != p || p == "." {
		return fmt.Errorf("path %q: must be clean (no ., empty or trailing components)", p)
	}
	return nil
}

// Validate checks a TaskRunArgs before a node acts on it.
func (a *TaskRunArgs) Validate() error {
	if a.ID <= 0 || a.Attempt <= 0 {
		return errors.New("task: id and attempt must be positive")
	}
	for _, r := range []struct {
		name string
		r    TaskRepo
	}{{"code", a.Code}, {"env", a.Env}} {
		if !strings.HasPrefix(r.r.URL, "http://") && !strings.HasPrefix(r.r.URL, "https://") {
			return fmt.Errorf("task: %s repo URL %q must be http(s)", r.name, r.r.URL)
		}
		if !ValidCommitID(r.r.Commit) {
			return fmt.Errorf("task: %s commit %q is not a full commit id", r.name, r.r.Commit)
		}
	}
	if err := ValidTaskPath(a.DockerfilePath); err != nil {
		return fmt.Errorf("task: dockerfile_path: %w", err)
	}
	if len(a.Command) == 0 || len(a.Command) > MaxTaskArgs {
		return fmt.Errorf("task: command needs 1 to %d arguments", MaxTaskArgs)
	}
	n := 0
	for _, s := range a.Command {
		n += len(s)
		if strings.ContainsRune(s, 0) {
			return errors.New("task: command arguments cannot hold NUL")
		}
	}
	if n > MaxTaskArgBytes {
		return fmt.Errorf("task: command is %d bytes, at most %d", n, MaxTaskArgBytes)
	}
	if a.CPUs <= 0 || a.MemoryBytes <= 0 || a.GPUs < 0 {
		return errors.New("task: cpus and memory must be positive")
	}
	if a.TimeoutMS <= 0 || a.TimeoutMS > MaxTaskTimeoutMS {
		return fmt.Errorf("task: timeout must be between 1 ms and %d ms", int64(MaxTaskTimeoutMS))
	}
	if len(a.Inputs) > MaxTaskObjects || len(a.Artifacts) > MaxTaskObjects {
		return fmt.Errorf("task: at most %d inputs and %d artifacts", MaxTaskObjects, MaxTaskObjects)
	}
	for _, o := range append(append([]TaskObject(nil), a.Inputs...), a.Artifacts...) {
		if err := ValidTaskPath(o.Path); err != nil {
			return fmt.Errorf("task: object: %w", err)
		}
		if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
			return fmt.Errorf("task: object %q: URL must be http(s)", o.Path)
		}
	}
	return nil
}

// Maintenance probes (host.ssh, issue 16): bounded, operator-only
// commands answered by the node about itself. They are never tasks: the
// scheduler refuses a task that asks for them, and they run nothing a
// user gave.
const (
	// CommandHostProbe runs one of the fixed probes (HostProbeArgs →
	// HostProbeResult).
	CommandHostProbe = "host.probe"
	// CommandHostExec runs an operator's command on the node with a time
	// and output limit, if the node allows it (HostExecArgs →
	// HostProbeResult).
	CommandHostExec = "host.exec"
)

// The fixed probes.
const (
	ProbeUptime = "uptime"
	ProbeDisk   = "disk"
	ProbeDocker = "docker"
	ProbeLogs   = "logs"
)

// Probes lists the fixed probes.
var Probes = []string{ProbeUptime, ProbeDisk, ProbeDocker, ProbeLogs}

// Limits of host.exec.
const (
	MaxExecTimeoutMS = 60_000
	MaxProbeOutput   = 32 << 10 // fits a control frame with room to spare
)

// HostProbeArgs are CommandHostProbe's arguments.
type HostProbeArgs struct {
	Probe string `json:"probe"`
}

// HostExecArgs are CommandHostExec's arguments.
type HostExecArgs struct {
	Argv      []string `json:"argv"`
	TimeoutMS int64    `json:"timeout_ms"`
}

// HostProbeResult answers CommandHostProbe and CommandHostExec. Output is
// at most MaxProbeOutput bytes; Truncated says more was cut.
type HostProbeResult struct {
	Output    string `json:"output"`
	Truncated bool   `json:"truncated,omitempty"`
	ExitCode  int    `json:"exit_code"`
	TimedOut  bool   `json:"timed_out,omitempty"`
}

// Validate checks a HostExecArgs.
func (a *HostExecArgs) Validate() error {
	if len(a.Argv) == 0 || len(a.Argv) > 64 {
		return errors.New("host.exec: argv needs 1 to 64 arguments")
	}
	for _, s := range a.Argv {
		if len(s) > 4096 || strings.ContainsRune(s, 0) {
			return errors.New("host.exec: an argument is too long or holds NUL")
		}
	}
	if a.TimeoutMS <= 0 || a.TimeoutMS > MaxExecTimeoutMS {
		return fmt.Errorf("host.exec: timeout must be between 1 and %d ms", MaxExecTimeoutMS)
	}
	return nil
}
