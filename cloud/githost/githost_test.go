package githost

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/testenv"
)

// serve starts a Host on 127.0.0.1 whose users are alice:apw and bob:bpw,
// each allowed only their own repo.
func serve(t *testing.T) (*Host, string) {
	t.Helper()
	testenv.LookPath(t, "git")
	users := map[string]string{"alice": "apw", "bob": "bpw"}
	h, err := New(Options{Root: t.TempDir(), Authorize: func(_ context.Context, owner, user, pass string, _ bool) error {
		if users[user] == "" || users[user] != pass || owner != user {
			return ErrUnauthorized
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := h.Create(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil), DisableStartupMessage: true, BodyLimit: 64 << 20})
	app.All("/git/*", h.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	return h, "127.0.0.1:" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(testenv.Context(t, testenv.WaitLong), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@localhost", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@localhost")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(t, dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

func TestCloneAndPushWithCredentials(t *testing.T) {
	_, addr := serve(t)
	dir := t.TempDir()
	url := "http://alice:apw@" + addr + "/git/alice.git"
	mustGit(t, dir, "clone", "--quiet", url, "w")
	w := filepath.Join(dir, "w")
	for _, f := range []string{"shell.nix", "default.nix", "blinky.v", "icestick.pcf", "Makefile"} {
		if _, err := os.Stat(filepath.Join(w, f)); err != nil {
			t.Errorf("new repo lacks %s: %v", f, err)
		}
	}
	if b := mustGit(t, w, "branch", "--show-current"); b != Branch {
		t.Errorf("branch %q, want %q", b, Branch)
	}
	// A push of 3 MiB (more than git's 1 MiB post buffer) goes through.
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i*7 + i/4096)
	}
	os.WriteFile(filepath.Join(w, "blob.bin"), big, 0o644)
	os.WriteFile(filepath.Join(w, "blinky.v"), []byte("// changed\n"), 0o644)
	mustGit(t, w, "commit", "-qam", "change", "--allow-empty")
	mustGit(t, w, "add", "blob.bin")
	mustGit(t, w, "commit", "-qm", "blob")
	mustGit(t, w, "push", "--quiet", "origin", "main")
	head := mustGit(t, w, "rev-parse", "HEAD")

	mustGit(t, dir, "clone", "--quiet", url, "again")
	if got := mustGit(t, filepath.Join(dir, "again"), "rev-parse", "HEAD"); got != head {
		t.Fatalf("fresh clone at %s, want pushed %s", got, head)
	}

	// History is never rewritten: a forced push is refused.
	mustGit(t, w, "reset", "--quiet", "--hard", "HEAD~2")
	mustGit(t, w, "commit", "-q", "--allow-empty", "-m", "diverge")
	if out, err := git(t, w, "push", "--force", "origin", "main"); err == nil {
		t.Fatalf("forced push accepted: %s", out)
	}
}

func TestOtherUsersAndStrangersAreRefused(t *testing.T) {
	_, addr := serve(t)
	tests := []struct{ name, url string }{
		{"bob on alice's repo", "http://bob:bpw@" + addr + "/git/alice.git"},
		{"wrong password", "http://alice:nope@" + addr + "/git/alice.git"},
		{"no credentials", "http://" + addr + "/git/alice.git"},
		{"no such repo", "http://alice:apw@" + addr + "/git/carol.git"},
		{"traversal", "http://alice:apw@" + addr + "/git/../alice.git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := git(t, dir, "clone", "--quiet", tt.url, "w"); err == nil {
				t.Fatalf("clone succeeded: %s", out)
			}
		})
	}
	// Bob cannot push to alice's repo even after cloning his own.
	dir := t.TempDir()
	mustGit(t, dir, "clone", "--quiet", "http://bob:bpw@"+addr+"/git/bob.git", "w")
	w := filepath.Join(dir, "w")
	mustGit(t, w, "commit", "-q", "--allow-empty", "-m", "x")
	if out, err := git(t, w, "push", "http://bob:bpw@"+addr+"/git/alice.git", "HEAD:refs/heads/evil"); err == nil {
		t.Fatalf("bob pushed to alice's repo: %s", out)
	}
}

func TestEnsureNixAddsMissingNeverOverwrites(t *testing.T) {
	h, addr := serve(t)
	dir := t.TempDir()
	url := "http://alice:apw@" + addr + "/git/alice.git"
	mustGit(t, dir, "clone", "--quiet", url, "w")
	w := filepath.Join(dir, "w")
	// The user removes shell.nix and writes their own default.nix.
	mustGit(t, w, "rm", "-q", "shell.nix")
	os.WriteFile(filepath.Join(w, "default.nix"), []byte("# mine\n"), 0o644)
	mustGit(t, w, "commit", "-qam", "my env")
	mustGit(t, w, "push", "--quiet", "origin", "main")

	added, err := h.EnsureNix(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(added, ",") != "shell.nix" {
		t.Fatalf("added %v, want [shell.nix]", added)
	}
	mustGit(t, w, "pull", "--quiet", "--ff-only")
	if b, _ := os.ReadFile(filepath.Join(w, "default.nix")); string(b) != "# mine\n" {
		t.Fatalf("default.nix overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(w, "shell.nix")); !strings.Contains(string(b), "mkShell") {
		t.Fatalf("shell.nix not restored: %q", b)
	}
	if msg := mustGit(t, w, "log", "-1", "--format=%s"); !strings.Contains(msg, "shell.nix") {
		t.Fatalf("commit message %q", msg)
	}
	again, err := h.EnsureNix(t.Context(), "alice")
	if err != nil || len(again) != 0 {
		t.Fatalf("second EnsureNix added %v (%v), want nothing", again, err)
	}
}

func TestEnsureNixOnEmptyRepo(t *testing.T) {
	h, _ := serve(t)
	// A repo with no commits at all (created by hand by an operator).
	repo := h.RepoPath("carol")
	mustGit(t, t.TempDir(), "init", "-q", "--bare", "--initial-branch=main", repo)
	added, err := h.EnsureNix(t.Context(), "carol")
	if err != nil || len(added) != 2 {
		t.Fatalf("EnsureNix = %v, %v; want both files", added, err)
	}
	if out := mustGit(t, repo, "ls-tree", "--name-only", "main"); out != "default.nix\nshell.nix" {
		t.Fatalf("tree = %q", out)
	}
}

// The Authorizer learns the client's address from ctx (what the cloud's
// password rate limit counts against): the socket peer by default, or
// what Options.ClientIP reads through trusted proxies.
func TestAuthorizerSeesClientIP(t *testing.T) {
	testenv.LookPath(t, "git")
	tests := []struct {
		name     string
		clientIP func(*fiber.Ctx) string
		want     string
	}{
		{"socket peer", nil, "127.0.0.1"},
		{"through the cloud's proxy policy", func(c *fiber.Ctx) string { return c.Get("X-Test-Client") }, "198.51.100.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			h, err := New(Options{Root: t.TempDir(), ClientIP: tt.clientIP, Authorize: func(ctx context.Context, _, _, _ string, _ bool) error {
				select {
				case got <- ClientIP(ctx):
				default:
				}
				return ErrUnauthorized
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Create(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil), DisableStartupMessage: true})
			app.All("/git/*", h.Handler())
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go app.Listener(ln)
			t.Cleanup(func() { app.Shutdown() })
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/git/alice.git/info/refs?service=git-upload-pack", nil)
			req.SetBasicAuth("alice", "apw")
			req.Header.Set("X-Test-Client", "198.51.100.4")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if ip := <-got; ip != tt.want {
				t.Fatalf("ClientIP(ctx) = %q, want %q", ip, tt.want)
			}
		})
	}
	if ip := ClientIP(context.Background()); ip != "" {
		t.Fatalf("outside a request: %q", ip)
	}
}
