// Package gitcache is a compute node's local cache of users' git repos: a
// bare mirror per repo, fetched incrementally, from which workspaces are
// cloned with --reference so a checkout copies almost nothing over the wire.
package gitcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
// prompts) and returns its trimmed stdout.
func Git(ctx context.Context, git, dir string, env []string, args ...string) (string, error) {
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", redact(args), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
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

// Checkout clones the remote into dest (an empty or missing directory) on
// branch ("" means the remote's default), borrowing objects from the mirror
// and then dissociating, so dest stands alone (a container that sees only
// dest still has a working repo). origin is the remote's URL without
// credentials. It returns the checked-out commit.
func (c *Cache) Checkout(ctx context.Context, r Remote, dest, branch string) (string, error) {
	mirror, err := c.Mirror(ctx, r)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", fmt.Errorf("checkout dest %q: %w", dest, err)
	}
	// Clone from the fresh mirror: no second round trip to the remote.
	args := []string{"clone", "--quiet", "--reference", mirror, "--dissociate", "--no-hardlinks"}
	if branch != "" {
		args = append(args, "--branch", branch)
	}
	args = append(args, mirror, dest)
	if _, err := Git(ctx, c.Git, filepath.Dir(dest), nil, args...); err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	clean := r.URL
	if p, err := url.Parse(r.URL); err == nil {
		p.User = nil
		clean = p.String()
	}
	if _, err := Git(ctx, c.Git, dest, nil, "remote", "set-url", "origin", clean); err != nil {
		return "", err
	}
	return Git(ctx, c.Git, dest, nil, "rev-parse", "HEAD")
}
