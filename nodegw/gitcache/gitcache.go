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
	"sort"
	"strings"
	"sync"
	"time"

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

// Env returns the environment carrying r's credentials to git, as config
// set through GIT_CONFIG_COUNT: an argument would show in every process
// listing on the node (/proc/PID/cmdline is world-readable; environ is
// not).
func (r Remote) Env() []string {
	if r.Username == "" && r.Password == "" {
		return nil
	}
	auth := base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password))
	return []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic " + auth}
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

func runIn(ctx context.Context, git, dir string, stdin io.Reader, stdout io.Writer, args ...string) error {
	return runWith(ctx, git, dir, nil, stdin, stdout, args...)
}

func run(ctx context.Context, git, dir string, env []string, stdout io.Writer, args ...string) error {
	return runWith(ctx, git, dir, env, nil, stdout, args...)
}

func runWith(ctx context.Context, git, dir string, env []string, stdin io.Reader, stdout io.Writer, args ...string) error {
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}, env...)
	var errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &errb
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
		if _, err := Git(ctx, c.Git, dir, r.Env(), "fetch", "--quiet", "--prune", r.URL, "+refs/heads/*:refs/heads/*"); err != nil {
			return "", fmt.Errorf("update mirror: %w", err)
		}
		return dir, nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return "", fmt.Errorf("git cache %q: %w", c.Dir, err)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if _, err := Git(ctx, c.Git, c.Dir, r.Env(), "clone", "--quiet", "--bare", r.URL, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("create mirror: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("create mirror: %w", err)
	}
	return dir, nil
}

// Resume is what a claim restores from a mirror: the user's branches
// (ide/autosave is not one of them) and the snapshot its tip names, as a
// pack and its index, built once per state of the mirror and kept.
type Resume struct {
	DefaultBranch string            // the mirror's HEAD
	Save          string            // the tip of ide/autosave ("" none)
	Snapshot      string            // the snapshot Save names ("" none, or an autosave from before snapshots)
	Refs          map[string]string // the branches sent
	Pack, Index   string            // the files ("" when there are no objects)
}

// Write writes the resume stream (see savefmt) to w.
func (r Resume) Write(w io.Writer) error {
	if r.Pack == "" {
		return savefmt.WriteResume(w, r.Refs, nil, 0, nil, 0)
	}
	pack, err := os.Open(r.Pack)
	if err != nil {
		return err
	}
	defer pack.Close()
	idx, err := os.Open(r.Index)
	if err != nil {
		return err
	}
	defer idx.Close()
	ps, err := pack.Stat()
	if err != nil {
		return err
	}
	is, err := idx.Stat()
	if err != nil {
		return err
	}
	return savefmt.WriteResume(w, r.Refs, pack, ps.Size(), idx, is.Size())
}

// keepResumes is how many resume packs a mirror keeps (the newest).
const keepResumes = 2

// Resume returns what to restore from the mirror at dir, building the
// pack unless this state of the mirror already has one. The pack leaves
// out the chain of earlier autosaves: only what the workspace needs.
func (c *Cache) Resume(ctx context.Context, dir string) (Resume, error) {
	var r Resume
	r.DefaultBranch, _ = Git(ctx, c.Git, dir, nil, "symbolic-ref", "-q", "--short", "HEAD")
	out, err := Git(ctx, c.Git, dir, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads")
	if err != nil {
		return r, err
	}
	r.Refs = map[string]string{}
	var tips []string
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if ref == "refs/heads/"+savefmt.Branch {
			r.Save = sha
			continue
		}
		r.Refs[ref] = sha
		tips = append(tips, sha)
	}
	if r.Save != "" {
		msg, err := Git(ctx, c.Git, dir, nil, "log", "-1", "--format=%B", r.Save)
		if err != nil {
			return r, err
		}
		if r.Snapshot = savefmt.SnapshotOf(msg); r.Snapshot != "" {
			tips = append(tips, r.Snapshot)
		} else {
			tips = append(tips, r.Save)
		}
	}
	if len(tips) == 0 {
		return r, nil
	}
	sort.Strings(tips)
	h := sha256.Sum256([]byte(strings.Join(tips, "\n")))
	packs := filepath.Join(c.Dir, "resume")
	base := filepath.Join(packs, filepath.Base(strings.TrimSuffix(dir, ".git"))+"-"+hex.EncodeToString(h[:12]))
	r.Pack, r.Index = base+".pack", base+".idx"
	if _, err := os.Stat(r.Index); err == nil {
		now := time.Now()
		os.Chtimes(r.Index, now, now) // newest stays
		return r, nil
	}
	if err := os.MkdirAll(packs, 0o700); err != nil {
		return r, err
	}
	tmp, err := os.MkdirTemp(packs, "build-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)
	// No delta search (what the mirror has is reused as is): the pack is
	// built on the claim's critical path when it is not prebuilt.
	cmd := []string{"-c", "pack.window=0", "pack-objects", "--revs", "--delta-base-offset", "-q", filepath.Join(tmp, "p")}
	var name bytes.Buffer
	if err := runIn(ctx, c.Git, dir, strings.NewReader(strings.Join(tips, "\n")+"\n"), &name, cmd...); err != nil {
		return r, fmt.Errorf("resume pack: %w", err)
	}
	id := strings.TrimSpace(name.String())
	if err := os.Rename(filepath.Join(tmp, "p-"+id+".pack"), r.Pack); err != nil {
		return r, fmt.Errorf("resume pack: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "p-"+id+".idx"), r.Index); err != nil {
		return r, fmt.Errorf("resume pack: %w", err)
	}
	c.pruneResumes(filepath.Base(strings.TrimSuffix(dir, ".git")))
	return r, nil
}

// pruneResumes keeps the newest resume packs of a mirror.
func (c *Cache) pruneResumes(key string) {
	idx, _ := filepath.Glob(filepath.Join(c.Dir, "resume", key+"-*.idx"))
	if len(idx) <= keepResumes {
		return
	}
	sort.Slice(idx, func(i, j int) bool {
		a, _ := os.Stat(idx[i])
		b, _ := os.Stat(idx[j])
		return a != nil && b != nil && a.ModTime().After(b.ModTime())
	})
	for _, f := range idx[keepResumes:] {
		os.Remove(f)
		os.Remove(strings.TrimSuffix(f, ".idx") + ".pack")
	}
}

// CleanURL is the remote's URL without credentials.
func CleanURL(raw string) string {
	if p, err := url.Parse(raw); err == nil {
		p.User = nil
		return p.String()
	}
	return raw
}
