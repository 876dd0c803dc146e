// Package githost serves users' git repositories over smart HTTP: bare repos
// on disk behind `git http-backend` (CGI), with per-user auth. It also seeds
// new repos with a Nix environment and a starter iCE40 project, and makes
// sure a repo keeps its shell.nix and default.nix (added, never overwritten).
package githost

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"gatewave.dev/examples"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"gatewave.dev/shared/apierr"
)

//go:embed all:template
var template embed.FS

// NixFiles are the files every repo must hold; EnsureNix adds missing ones.
var NixFiles = []string{"shell.nix", "default.nix"}

// Branch is the branch new repos start on.
const Branch = "main"

// ErrUnauthorized is returned by an Authorizer that refuses the credentials.
var ErrUnauthorized = errors.New("unauthorized")

// Authorizer decides whether username/password may use owner's repo; push
// tells a write from a read. It returns ErrUnauthorized (or wraps it) to
// refuse, and any other error for a failure to decide.
type Authorizer func(ctx context.Context, owner, username, password string, push bool) error

// Options configure a Host. Root and Authorize are required.
type Options struct {
	// Root holds the bare repositories, one OWNER.git per user.
	Root string
	// Authorize checks HTTP basic credentials for every request.
	Authorize Authorizer
	// Git is the git binary; "" means the one on $PATH.
	Git string
	// Prefix is where Handler is mounted; "" means "/git". Repos are then
	// at Prefix/OWNER.git.
	Prefix string
	// ClientIP tells the address of the client behind a request (through
	// trusted proxies); Authorize finds it with ClientIP(ctx) to rate-limit
	// password guesses per address. Nil means the socket peer.
	ClientIP func(c *fiber.Ctx) string
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Host serves and manages the repositories under Options.Root.
type Host struct {
	opts Options
	log  *slog.Logger
	cgi  http.Handler
}

type clientIPKey struct{}

// ClientIP returns the client address Handler put in an Authorizer's ctx,
// or "" outside one.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// ownerRE is what an owner (a user name) may look like in a repo path.
var ownerRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ValidOwner reports whether name can own a repo.
func ValidOwner(name string) bool { return ownerRE.MatchString(name) && !strings.Contains(name, "..") }

// New checks opts; it creates Root if needed.
func New(opts Options) (*Host, error) {
	if opts.Root == "" {
		return nil, errors.New("githost: Root is required")
	}
	if opts.Authorize == nil {
		return nil, errors.New("githost: Authorize is required")
	}
	if opts.Git == "" {
		p, err := exec.LookPath("git")
		if err != nil {
			return nil, fmt.Errorf("githost: %w", err)
		}
		opts.Git = p
	}
	if opts.Prefix == "" {
		opts.Prefix = "/git"
	}
	opts.Prefix = "/" + strings.Trim(opts.Prefix, "/")
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ClientIP == nil {
		opts.ClientIP = func(c *fiber.Ctx) string { return c.Context().RemoteIP().String() }
	}
	abs, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("githost root %q: %w", opts.Root, err)
	}
	opts.Root = abs
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("githost root %q: %w", abs, err)
	}
	h := &Host{opts: opts, log: opts.Logger}
	h.cgi = &cgi.Handler{
		Path: opts.Git,
		Args: []string{"http-backend"},
		Root: opts.Prefix,
		Env: []string{
			"GIT_PROJECT_ROOT=" + abs,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + abs,
		},
		Logger: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return h, nil
}

// RepoPath is owner's bare repository on disk.
func (h *Host) RepoPath(owner string) string { return filepath.Join(h.opts.Root, owner+".git") }

// Exists reports whether owner has a repository.
func (h *Host) Exists(owner string) bool {
	_, err := os.Stat(filepath.Join(h.RepoPath(owner), "HEAD"))
	return err == nil
}

// git runs git with args in dir, returning trimmed stdout.
func (h *Host) git(ctx context.Context, dir string, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, h.opts.Git, args...)
	cmd.Dir = dir
	// Only PATH of the cloud's environment: it holds the database URL,
	// the admin, internal and object-store secrets, which no child gets.
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + h.opts.Root}, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Gatewave", "GIT_AUTHOR_EMAIL=gatewave@localhost",
		"GIT_COMMITTER_NAME=Gatewave", "GIT_COMMITTER_EMAIL=gatewave@localhost"), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Create makes owner's bare repository with one commit on main holding the
// starter project. It fails if the repo exists.
func (h *Host) Create(ctx context.Context, owner string) error {
	if !ValidOwner(owner) {
		return fmt.Errorf("create repo: invalid owner %q", owner)
	}
	repo := h.RepoPath(owner)
	if h.Exists(owner) {
		return fmt.Errorf("create repo %q: already exists", owner)
	}
	tmp := repo + ".creating"
	os.RemoveAll(tmp)
	if _, err := h.git(ctx, h.opts.Root, nil, nil, "init", "--quiet", "--bare", "--initial-branch="+Branch, tmp); err != nil {
		return err
	}
	// Pushes update refs only by fast-forward unless a user forces; the
	// autosave branch must never be rewritten, so refuse forced updates.
	for _, kv := range [][2]string{{"receive.denyNonFastForwards", "true"}, {"receive.denyDeletes", "true"}, {"http.receivepack", "true"}} {
		if _, err := h.git(ctx, tmp, nil, nil, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	// A new repo holds the environment (template/: shell.nix, default.nix,
	// .gitignore) and the sample iCE40 project.
	files := map[string][]byte{}
	tmpl, _ := fs.Sub(template, "template")
	for _, src := range []fs.FS{tmpl, examples.Blinky()} {
		err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(src, p)
			files[p] = b
			return err
		})
		if err != nil {
			return fmt.Errorf("read template: %w", err)
		}
	}
	if _, err := h.commitFiles(ctx, tmp, Branch, "", files, "Start an iCE40 project\n\nshell.nix and default.nix describe the environment; make builds the bitstream.\n"); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, repo); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("create repo %q: %w", owner, err)
	}
	return nil
}

// commitFiles writes files on top of parent (or as a root commit when
// parent is "") in bare repo and moves branch from parent to the new commit
// atomically: a concurrent push makes it fail instead of being lost.
func (h *Host) commitFiles(ctx context.Context, repo, branch, parent string, files map[string][]byte, msg string) (string, error) {
	idx, err := os.CreateTemp("", "gatewave-index-*")
	if err != nil {
		return "", err
	}
	idx.Close()
	os.Remove(idx.Name()) // git wants to create it
	defer os.Remove(idx.Name())
	env := []string{"GIT_INDEX_FILE=" + idx.Name()}
	if parent != "" {
		if _, err := h.git(ctx, repo, env, nil, "read-tree", parent); err != nil {
			return "", err
		}
	}
	for name, b := range files {
		blob, err := h.git(ctx, repo, nil, b, "hash-object", "-w", "--stdin")
		if err != nil {
			return "", err
		}
		mode := "100644"
		if strings.HasSuffix(name, ".sh") {
			mode = "100755"
		}
		if _, err := h.git(ctx, repo, env, nil, "update-index", "--add", "--cacheinfo", mode+","+blob+","+name); err != nil {
			return "", err
		}
	}
	tree, err := h.git(ctx, repo, env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	args := []string{"commit-tree", tree, "-m", msg}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	commit, err := h.git(ctx, repo, nil, nil, args...)
	if err != nil {
		return "", err
	}
	old := parent
	if old == "" {
		old = strings.Repeat("0", 40)
	}
	if _, err := h.git(ctx, repo, nil, nil, "update-ref", "refs/heads/"+branch, commit, old); err != nil {
		return "", err
	}
	return commit, nil
}

// EnsureNix checks that owner's default branch holds shell.nix and
// default.nix; each missing one is added from the template in one commit.
// Existing files are never touched. It returns the names it added.
func (h *Host) EnsureNix(ctx context.Context, owner string) ([]string, error) {
	repo := h.RepoPath(owner)
	if !h.Exists(owner) {
		return nil, fmt.Errorf("ensure nix files: no repo for %q", owner)
	}
	ref, err := h.git(ctx, repo, nil, nil, "symbolic-ref", "HEAD")
	if err != nil {
		return nil, err
	}
	branch := strings.TrimPrefix(ref, "refs/heads/")
	head, _ := h.git(ctx, repo, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	missing := map[string][]byte{}
	var added []string
	for _, name := range NixFiles {
		if head != "" {
			if _, err := h.git(ctx, repo, nil, nil, "cat-file", "-e", head+":"+name); err == nil {
				continue
			}
		}
		b, err := template.ReadFile("template/" + name)
		if err != nil {
			return nil, err
		}
		missing[name] = b
		added = append(added, name)
	}
	if len(added) == 0 {
		return nil, nil
	}
	msg := "Add " + strings.Join(added, " and ") + "\n\nGatewave sessions run in the Nix environment these describe.\n"
	if _, err := h.commitFiles(ctx, repo, branch, head, missing, msg); err != nil {
		return nil, fmt.Errorf("ensure nix files for %q: %w", owner, err)
	}
	return added, nil
}

// Handler serves smart HTTP for every repo; mount it at Options.Prefix+"/*"
// (for example app.All("/git/*", h.Handler())). Each request needs HTTP
// basic credentials that Authorize accepts for the repo's owner.
func (h *Host) Handler() fiber.Handler {
	serve := fasthttpadaptor.NewFastHTTPHandler(h.cgi)
	return func(c *fiber.Ctx) error {
		rest := strings.TrimPrefix(c.Path(), h.opts.Prefix+"/")
		repo, _, _ := strings.Cut(rest, "/")
		owner, ok := strings.CutSuffix(repo, ".git")
		if !ok || !ValidOwner(owner) || !h.Exists(owner) {
			return apierr.Write(c, apierr.NotFound("no such repository"))
		}
		push := c.Query("service") == "git-receive-pack" || strings.HasSuffix(rest, "/git-receive-pack")
		user, pass, okAuth := basicAuth(c)
		if !okAuth {
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="Gatewave git", charset="UTF-8"`)
			return apierr.Write(c, apierr.Unauthorized("git needs your Gatewave user name and password"))
		}
		ctx := context.WithValue(c.UserContext(), clientIPKey{}, h.opts.ClientIP(c))
		if err := h.opts.Authorize(ctx, owner, user, pass, push); err != nil {
			if errors.Is(err, ErrUnauthorized) {
				c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="Gatewave git", charset="UTF-8"`)
				return apierr.Write(c, apierr.Unauthorized("wrong credentials for this repository"))
			}
			return err
		}
		// The credentials stop here; receive-pack is enabled per repo
		// (http.receivepack) because the auth above already ran.
		c.Request().Header.Del(fiber.HeaderAuthorization)
		serve(c.Context())
		return nil
	}
}

func basicAuth(c *fiber.Ctx) (user, pass string, ok bool) {
	r := &http.Request{Header: http.Header{"Authorization": {c.Get(fiber.HeaderAuthorization)}}}
	return r.BasicAuth()
}
