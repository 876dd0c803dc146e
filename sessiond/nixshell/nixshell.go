// Package nixshell gives a workspace's shell.nix to the terminals and tasks
// sessiond starts: when nix-shell is installed and the workspace root has a
// shell.nix, the environment it defines is computed once per content of
// that file (`nix-shell shell.nix --run 'env -0'`, in the background from
// the start), cached by its hash, and added to children's environments.
// When evaluation fails (no <nixpkgs> offline, a typo) children get the
// plain environment and a notice saying why, and Status reports it.
package nixshell

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gatewave.dev/sessiond/childenv"
)

// File is the name looked for in the workspace root.
const File = "shell.nix"

// Options configures a Shell.
type Options struct {
	// Root is the workspace root, where shell.nix is read. Required.
	Root *os.Root
	// Dir is the workspace root's path, nix-shell's working directory. Required.
	Dir string
	// CacheDir keeps computed environments across restarts ("" means
	// memory only).
	CacheDir string
	// NixShell is the nix-shell program; "" looks it up in PATH.
	NixShell string
	// Timeout bounds one evaluation (0 means 20 minutes: it may fetch
	// from the binary cache or build).
	Timeout time.Duration
	// Wait is how long Env waits for an evaluation in progress before
	// giving the plain environment (0 means 30 s).
	Wait time.Duration
	// Trusted reports whether the workspace's files may choose programs
	// to run (shell.nix is code); nil means trusted. Asked on every use.
	Trusted func() bool
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// State is where the shell.nix environment is.
type State string

const (
	None       State = "none"       // no nix-shell or no shell.nix: the plain environment
	Evaluating State = "evaluating" // nix-shell is running
	Ready      State = "ready"      // children get its environment
	Failed     State = "failed"     // children get the plain environment; Error says why
)

// Status is what GET /api/v1/nix/shell answers.
type Status struct {
	State State  `json:"state"`
	Hash  string `json:"hash,omitempty"` // sha256 of the shell.nix evaluated
	Error string `json:"error,omitempty"`
	Vars  int    `json:"vars,omitempty"` // how many variables it sets
}

// Shell computes and caches the environment.
type Shell struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	results map[string]*result // by hash
}

type result struct {
	done chan struct{}
	env  []string
	err  error
}

// New returns a Shell; call Prepare to start evaluating early.
func New(opts Options) (*Shell, error) {
	if opts.Root == nil || opts.Dir == "" {
		return nil, errors.New("nixshell: Options.Root and Dir are required")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Minute
	}
	if opts.Wait == 0 {
		opts.Wait = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Shell{opts: opts, log: opts.Logger, results: map[string]*result{}}, nil
}

// maxFile bounds the shell.nix read.
const maxFile = 1 << 20

// current returns the hash of shell.nix and the result for it (started if
// new), or "" when Nix or the file is not there.
func (s *Shell) current() (string, *result, string) {
	if s.opts.Trusted != nil && !s.opts.Trusted() {
		return "", nil, "the workspace is not trusted, so its " + File + " is not used"
	}
	prog := s.opts.NixShell
	if prog == "" {
		p, err := exec.LookPath("nix-shell")
		if err != nil {
			return "", nil, "nix-shell is not installed"
		}
		prog = p
	}
	f, err := s.opts.Root.Open(File)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, "the workspace has no " + File
	}
	if err != nil {
		return "", nil, err.Error()
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxFile {
		return "", nil, File + " is not a regular file under 1 MiB"
	}
	h := sha256.New()
	if _, err := h.Write(readAll(f)); err != nil {
		return "", nil, err.Error()
	}
	hash := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[hash]
	if r == nil {
		r = &result{done: make(chan struct{})}
		s.results[hash] = r
		go s.evaluate(prog, hash, r)
	}
	return hash, r, ""
}

func readAll(f *os.File) []byte {
	var b bytes.Buffer
	_, _ = b.ReadFrom(f)
	return b.Bytes()
}

// Prepare starts evaluating the current shell.nix, if any, without waiting.
func (s *Shell) Prepare() { s.current() }

// Status reports the current shell.nix's state.
func (s *Shell) Status() Status {
	hash, r, why := s.current()
	if r == nil {
		return Status{State: None, Error: why}
	}
	select {
	case <-r.done:
	default:
		return Status{State: Evaluating, Hash: hash}
	}
	if r.err != nil {
		return Status{State: Failed, Hash: hash, Error: r.err.Error()}
	}
	return Status{State: Ready, Hash: hash, Vars: len(r.env)}
}

// Env returns the variables shell.nix adds for a child, waiting up to
// Options.Wait (or ctx) for an evaluation in progress, and a notice for
// the user when the child gets the plain environment instead ("" when
// there is nothing to say: no Nix, no shell.nix, or it worked).
func (s *Shell) Env(ctx context.Context) ([]string, string) {
	_, r, _ := s.current()
	if r == nil {
		return nil, ""
	}
	t := time.NewTimer(s.opts.Wait)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		return nil, "shell.nix is still being prepared (nix-shell); this has the plain environment, the next one will have it once it is ready"
	case <-ctx.Done():
		return nil, "shell.nix is still being prepared; this has the plain environment"
	}
	if r.err != nil {
		return nil, failedNotice(r.err)
	}
	return r.env, ""
}

// failedNotice is what a child's user reads when shell.nix failed. The
// usual case has its own words: a shell.nix of nixpkgs (every new repo's,
// cloud/githost/template) on a node with no nixpkgs channel, where the
// image's own tools are what the child gets.
func failedNotice(err error) string {
	if strings.Contains(err.Error(), "'nixpkgs' was not found in the Nix search path") {
		return "shell.nix imports <nixpkgs>, which this node does not have; this has the image's own tools (yosys, nextpnr, iverilog, ...) instead"
	}
	return "shell.nix failed, so this has the plain environment: " + err.Error()
}

// skipped are what nix-shell sets for its own run, not for the children.
var skipped = []string{"TMPDIR", "TMP", "TEMP", "TEMPDIR", "NIX_BUILD_TOP", "out", "SHLVL", "PWD", "OLDPWD", "_",
	"TERM", "COLORTERM", "HOME", "SHELL", "USER", "LOGNAME", outVar}

// runScript runs in nix-shell's bash. Without nixpkgs' stdenv nothing
// runs a derivation's shellHook (nix-shell calls it through stdenv's
// runHook), so it is run here then; and nix-shell leaves PATH unexported.
const runScript = `if [ "$(type -t runHook)" != function ]; then eval "${shellHook:-}"; fi; export PATH; env -0 >"$` + outVar + `"`

// outVar names the file nix-shell's `env -0` writes to.
const outVar = "GATEWAVE_NIX_ENV_OUT"

func (s *Shell) evaluate(prog, hash string, r *result) {
	defer close(r.done)
	if env, err := s.load(hash); err == nil {
		r.env = env
		return
	}
	start := time.Now()
	s.log.Info("nix-shell: evaluating shell.nix", "hash", hash[:12])
	r.env, r.err = s.run(prog)
	if r.err != nil {
		s.log.Warn("nix-shell failed; children get the plain environment", "hash", hash[:12], "err", r.err)
		return
	}
	s.log.Info("nix-shell: environment ready", "hash", hash[:12], "vars", len(r.env), "took", time.Since(start).Round(time.Millisecond))
	s.store(hash, r.env)
}

func (s *Shell) run(prog string) ([]string, error) {
	tmp, err := os.CreateTemp("", "gatewave-nix-env-")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	// The file is evaluated from the workspace's directory, as a user's
	// nix-shell would; the environment is sessiond's without its secrets.
	cmd := exec.CommandContext(ctx, prog, File, "--run", runScript)
	childenv.Limit(cmd)
	cmd.Dir = s.opts.Dir
	base := childenv.Base(outVar)
	cmd.Env = append(slices.Clone(base), outVar+"="+tmp.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if msg := nixError(out.String()); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, fmt.Errorf("nix-shell: %w", err)
	}
	b, err := os.ReadFile(tmp.Name())
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		have[k] = v
	}
	var env []string
	for _, kv := range strings.Split(string(b), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || slices.Contains(skipped, k) || strings.HasPrefix(k, "BASH_FUNC_") || strings.HasPrefix(k, "SESSIOND_") {
			continue
		}
		if k == "PATH" {
			v = cleanPath(v)
			kv = k + "=" + v
		}
		if old, ok := have[k]; ok && old == v {
			continue
		}
		env = append(env, kv)
	}
	slices.Sort(env)
	return env, nil
}

// cleanPath drops the "." and empty entries nix-shell puts in PATH (where
// bash came from when it is not Nix's): a name typed in a terminal must
// not run a file of the current directory.
func cleanPath(p string) string {
	return strings.Join(slices.DeleteFunc(filepath.SplitList(p), func(d string) bool { return d == "" || d == "." }), string(filepath.ListSeparator))
}

// nixError picks nix's "error: ..." line out of its output (the lines
// after it show where), or else the last lines.
func nixError(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := ""
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "error:") {
			out = strings.TrimSpace(l)
			break
		}
	}
	if out == "" {
		if len(lines) > 3 {
			lines = lines[len(lines)-3:]
		}
		out = strings.Join(lines, " / ")
	}
	if len(out) > 600 {
		out = out[len(out)-600:]
	}
	return out
}

func (s *Shell) cachePath(hash string) string {
	return filepath.Join(s.opts.CacheDir, hash+".json")
}

func (s *Shell) load(hash string) ([]string, error) {
	if s.opts.CacheDir == "" {
		return nil, fs.ErrNotExist
	}
	b, err := os.ReadFile(s.cachePath(hash))
	if err != nil {
		return nil, err
	}
	var env []string
	return env, json.Unmarshal(b, &env)
}

func (s *Shell) store(hash string, env []string) {
	if s.opts.CacheDir == "" {
		return
	}
	b, _ := json.Marshal(env)
	if err := os.MkdirAll(s.opts.CacheDir, 0o700); err == nil {
		tmp := s.cachePath(hash) + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, s.cachePath(hash))
		}
		if err != nil {
			s.log.Warn("nix-shell: cannot cache the environment", "err", err)
		}
	}
}
