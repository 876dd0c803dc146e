// Package gitcache is a compute node's local cache of users' git repos: a
// bare mirror per repo, fetched incrementally, from which workspaces are
// bundled into claimed containers (which restore them as the user), so a
// claim copies almost nothing over the wire.
package gitcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"gatewave.dev/shared/savefmt"
)

// Remote is a repository URL and the credentials to read or push it. The
// credentials travel in an HTTP header per command; they are never written
// to a repo's config.
type Remote struct {
	URL      string
	Username string
	Password string
}

// Key names the remote's mirror: a hash of the URL without credentials.
func (r Remote) Key() string {
	u := r.URL
	if p, err := url.Parse(u); err == nil {
		p.User = nil
		u = p.String()
	}
	h := sha256.Sum256([]byte(u))
	return hex.EncodeToString(h[:12])
}

// Args returns the git -c options carrying r's credentials.
func (r Remote) Args() []string {
	if r.Username == "" && r.Password == "" {
		return nil
	}
	auth := base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password))
	return []string{"-c", "http.extraHeader=Authorization: Basic " + auth}
}

// Git runs git with a scrubbed environment (no system or global config, no
// prompts) and returns its trimmed stdout; a failure is an *Error.
func Git(ctx context.Context, git, dir string, env []string, args ...string) (string, error) {
	var out bytes.Buffer
	if err := run(ctx, git, dir, env, &out, args...); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

func run(ctx context.Context, git, dir string, env []string, stdout io.Writer, args ...string) error {
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}, env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &errb
	if err := cmd.Run(); err != nil {
		return &Error{Args: redact(args), Err: err, Stderr: strings.TrimSpace(errb.String())}
	}
	return nil
}

// Error is a failed git command.
type Error struct {
	Args   string // the arguments, credentials redacted
	Err    error  // how it ended
	Stderr string // what git said
}

func (e *Error) Error() string { return fmt.Sprintf("git %s: %v: %s", e.Args, e.Err, e.Stderr) }
func (e *Error) Unwrap() error { return e.Err }

// Rejected reports whether a push was refused as not a fast-forward
// (someone else pushed first).
func (e *Error) Rejected() bool {
	return strings.Contains(e.Stderr, "[rejected]") || strings.Contains(e.Stderr, "non-fast-forward") ||
		strings.Contains(e.Stderr, "fetch first")
}

func redact(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "http.extraHeader=") {
			a = "http.extraHeader=<redacted>"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// Cache holds the mirrors under Dir. The zero value is not usable: Dir is
// required.
type Cache struct {
	// Dir holds one bare mirror per remote.
	Dir string
	// Git is the git binary; "" means "git" from $PATH.
	Git string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (c *Cache) lock(key string) func() {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[string]*sync.Mutex{}
	}
	l := c.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[key] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Mirror brings the remote's mirror up to date (cloning it the first time,
// fetching only what is new afterwards) and returns its path.
func (c *Cache) Mirror(ctx context.Context, r Remote) (string, error) {
	if c.Dir == "" {
		return "", errors.New("gitcache: Dir is required")
	}
	key := r.Key()
	defer c.lock(key)()
	dir := filepath.Join(c.Dir, key+".git")
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		args := append(r.Args(), "fetch", "--quiet", "--prune", r.URL, "+refs/heads/*:refs/heads/*")
		if _, err := Git(ctx, c.Git, dir, nil, args...); err != nil {
			return "", fmt.Errorf("update mirror: %w", err)
		}
		return dir, nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return "", fmt.Errorf("git cache %q: %w", c.Dir, err)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	args := append(r.Args(), "clone", "--quiet", "--bare", r.URL, tmp)
	if _, err := Git(ctx, c.Git, c.Dir, nil, args...); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("create mirror: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("create mirror: %w", err)
	}
	return dir, nil
}

// Heads returns the default branch of the mirror at dir and the tip of
// its ide/autosave branch ("" when there is none).
func (c *Cache) Heads(ctx context.Context, dir string) (defaultBranch, autosave string) {
	defaultBranch, _ = Git(ctx, c.Git, dir, nil, "symbolic-ref", "-q", "--short", "HEAD")
	autosave, _ = Git(ctx, c.Git, dir, nil, "rev-parse", "--verify", "-q", "refs/heads/"+savefmt.Branch+"^{commit}")
	return defaultBranch, autosave
}

// Bundle writes a bundle of every branch of the mirror at dir to w (an
// empty bundle when it has none).
func (c *Cache) Bundle(ctx context.Context, dir string, w io.Writer) error {
	heads, err := Git(ctx, c.Git, dir, nil, "for-each-ref", "--count=1", "--format=%(refname)", "refs/heads")
	if err != nil {
		return err
	}
	if heads == "" {
		_, err := io.WriteString(w, "# v2 git bundle\n\n")
		return err
	}
	if err := run(ctx, c.Git, dir, nil, w, "bundle", "create", "--quiet", "-", "--branches"); err != nil {
		return fmt.Errorf("bundle the repo: %w", err)
	}
	return nil
}

// CleanURL is the remote's URL without credentials.
func CleanURL(raw string) string {
	if p, err := url.Parse(raw); err == nil {
		p.User = nil
		return p.String()
	}
	return raw
}
