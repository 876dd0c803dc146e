// Package git is the IDE's source control: it runs the git CLI in the
// workspace's own repository (status, diffs, staging of files and single
// hunks, commits, branches, log, blame, push, pull and merge) and answers
// the /api/v1/git routes (http.go).
//
// git runs without a shell, with the environment children get
// (childenv: no secrets), never prompting (GIT_TERMINAL_PROMPT=0, no
// controlling terminal, stdin empty), with literal pathspecs, paths
// passed after "--" and every value that could read as an option refused.
// The repository is the workspace root's own (.git in the root): git never
// looks above the workspace. In restricted mode (an untrusted folder on
// the desktop) git does not run at all, as in VS Code: a repository's
// config can name programs to run (fsmonitor, filters, hooks).
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gatewave.dev/sessiond/childenv"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// Options configure a Service. Workspace is required.
type Options struct {
	// Workspace is the confined workspace; its root is the repository.
	Workspace *workspace.Workspace
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Trusted reports whether the workspace may run programs its own
	// files choose (see server.Options.TrustWorkspaceConfig); nil means
	// trusted.
	Trusted func() bool
	// Git is the git binary; empty means "git" on PATH.
	Git string
	// Timeout bounds a local git command; 0 means 30 s.
	Timeout time.Duration
	// RemoteTimeout bounds push and pull; 0 means 2 minutes.
	RemoteTimeout time.Duration
}

// Service runs git for one workspace.
type Service struct {
	o   Options
	log *slog.Logger
	// mu serializes commands that change the repository; status and
	// other reads run beside them without taking git's optional locks.
	mu sync.Mutex
}

// New returns a Service for o.
func New(o Options) (*Service, error) {
	if o.Workspace == nil {
		return nil, errors.New("git: Options.Workspace is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Git == "" {
		o.Git = "git"
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.RemoteTimeout == 0 {
		o.RemoteTimeout = 2 * time.Minute
	}
	return &Service{o: o, log: o.Logger}, nil
}

// Close has nothing to stop: every git process ends with its request.
func (s *Service) Close() error { return nil }

// ErrNoRepo: the workspace root holds no repository.
var ErrNoRepo = apierr.New(409, "no_repo", "the workspace is not a git repository (no .git in its root)")

// CmdError is a git command that failed.
type CmdError struct {
	Args     []string
	ExitCode int
	Stderr   string
	Stdout   string
	Err      error
}

func (e *CmdError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = strings.TrimSpace(e.Stdout)
	}
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", e.Args[0], msg)
}

func (e *CmdError) Unwrap() error { return e.Err }

// Output is what the user sees of a failed command: git's own words.
func (e *CmdError) Output() string {
	return strings.TrimSpace(strings.TrimSpace(e.Stdout) + "\n" + strings.TrimSpace(e.Stderr))
}

// run is one git invocation.
type run struct {
	args    []string
	stdin   io.Reader
	timeout time.Duration
	// readOnly: no optional locks (status refreshes beside the user's git).
	readOnly bool
	// combined: stderr goes with stdout (push and pull talk on both).
	combined bool
}

// dropEnv are variables of sessiond's own environment that would point
// git somewhere else than the workspace, or make it wait for a person.
var dropEnv = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
	"GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_COMMON_DIR",
	"GIT_TERMINAL_PROMPT", "GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS",
	"GIT_OPTIONAL_LOCKS", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER", "GIT_MERGE_AUTOEDIT", "LC_ALL", "LANGUAGE",
	"GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_FLUSH", "GIT_TRACE", "GIT_EXTERNAL_DIFF",
}

// exec runs git and returns its stdout.
func (s *Service) exec(ctx context.Context, r run) ([]byte, error) {
	if s.o.Trusted != nil && !s.o.Trusted() {
		return nil, apierr.New(403, "restricted", "git is off while the folder is in restricted mode: trust the folder to use source control")
	}
	root := s.o.Workspace.Dir()
	if _, err := os.Lstat(filepath.Join(root, ".git")); err != nil {
		return nil, ErrNoRepo
	}
	timeout := r.timeout
	if timeout == 0 {
		timeout = s.o.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append([]string{"-c", "core.quotePath=false", "-c", "color.ui=false", "-c", "core.pager=cat"}, r.args...)
	cmd := exec.CommandContext(ctx, s.o.Git, args...)
	cmd.Dir = root
	env := append(childenv.Base(dropEnv...),
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_LITERAL_PATHSPECS=1", "GIT_PAGER=cat",
		"GIT_EDITOR=true", "GIT_SEQUENCE_EDITOR=true", "GIT_MERGE_AUTOEDIT=no",
		"GIT_CEILING_DIRECTORIES="+filepath.Dir(root))
	if r.readOnly {
		env = append(env, "GIT_OPTIONAL_LOCKS=0")
	}
	cmd.Env = env
	// A session of its own: no controlling terminal to prompt on, and the
	// whole group (ssh, remote helpers) ends on a timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if r.stdin != nil {
		cmd.Stdin = r.stdin
	}
	childenv.Limit(cmd)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if r.combined {
		cmd.Stderr = &out
	}
	err := cmd.Run()
	if err != nil {
		ce := &CmdError{Args: r.args, ExitCode: -1, Stderr: errb.String(), Stdout: out.String(), Err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ce.ExitCode = ee.ExitCode()
		}
		if ctx.Err() == context.DeadlineExceeded {
			return out.Bytes(), apierr.New(504, "timeout", "git %s did not finish within %s", r.args[0], timeout).WithDetails(map[string]string{"output": ce.Output()})
		}
		return out.Bytes(), ce
	}
	return out.Bytes(), nil
}

// git runs a read-only command.
func (s *Service) git(ctx context.Context, args ...string) ([]byte, error) {
	return s.exec(ctx, run{args: args, readOnly: true})
}

// gitErr turns a failed command into an API error: codes for the states
// a person can fix, git's message in every case.
func gitErr(err error) error {
	var ce *CmdError
	if !errors.As(err, &ce) {
		return err
	}
	out := ce.Output()
	switch {
	case strings.Contains(out, "would be overwritten by"):
		return apierr.New(409, "local_changes", "%s", out)
	case strings.Contains(out, "Please tell me who you are"), strings.Contains(out, "empty ident name"):
		return apierr.New(409, "no_identity", "%s", out)
	case strings.Contains(out, "unmerged files"), strings.Contains(out, "unresolved conflict"):
		return apierr.New(409, "unmerged", "%s", out)
	case strings.Contains(out, "index.lock"):
		return apierr.New(409, "locked", "%s", out)
	}
	return apierr.New(422, "git_failed", "git %s: %s", ce.Args[0], out)
}

// checkValue refuses a value that git could read as an option.
func checkValue(what, v string) error {
	if v == "" {
		return apierr.BadRequest("%s is empty", what)
	}
	if strings.HasPrefix(v, "-") {
		return apierr.BadRequest("%s %q starts with '-'", what, v)
	}
	if strings.ContainsAny(v, "\x00\n\r") {
		return apierr.BadRequest("%s %q holds a control character", what, v)
	}
	return nil
}

// cleanPath validates a client's path: inside the workspace, not in .git.
func cleanPath(p string) (string, error) {
	c, err := workspace.Clean(p)
	if err != nil {
		return "", err
	}
	if c == "." {
		return "", apierr.BadRequest("a file path is required")
	}
	first, _, _ := strings.Cut(c, "/")
	if strings.EqualFold(first, ".git") {
		return "", apierr.Forbidden("path %q is inside the repository's .git", p)
	}
	return c, nil
}

func cleanPaths(ps []string) ([]string, error) {
	if len(ps) == 0 {
		return nil, apierr.BadRequest("no paths given")
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		c, err := cleanPath(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// hasHead reports whether the current branch has a commit.
func (s *Service) hasHead(ctx context.Context) bool {
	_, err := s.git(ctx, "rev-parse", "-q", "--verify", "HEAD^{commit}")
	return err == nil
}

// gitDir is the repository's git directory (absolute).
func (s *Service) gitDir(ctx context.Context) (string, error) {
	out, err := s.git(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", gitErr(err)
	}
	return strings.TrimSpace(string(out)), nil
}

func isoUTC(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }
