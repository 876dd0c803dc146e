package autosave

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/shared/testenv"
)

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitcache.Git(testenv.Context(t, testenv.WaitShort), "", dir, []string{
		"GIT_AUTHOR_NAME=U", "GIT_AUTHOR_EMAIL=u@localhost", "GIT_COMMITTER_NAME=U", "GIT_COMMITTER_EMAIL=u@localhost"}, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// origin makes the user's bare repo with one commit on main, refusing
// non-fast-forward updates like cloud/githost does.
func origin(t *testing.T) string {
	t.Helper()
	testenv.LookPath(t, "git")
	root := t.TempDir()
	bare := filepath.Join(root, "alice.git")
	run(t, root, "init", "-q", "--bare", "--initial-branch=main", bare)
	run(t, bare, "config", "receive.denyNonFastForwards", "true")
	seed := filepath.Join(root, "seed")
	run(t, root, "clone", "-q", bare, seed)
	os.WriteFile(filepath.Join(seed, "blinky.v"), []byte("module blinky; endmodule\n"), 0o644)
	run(t, seed, "add", ".")
	run(t, seed, "commit", "-qm", "start")
	run(t, seed, "push", "-q", "origin", "HEAD:main")
	return bare
}

func TestCheckoutEditAutosave(t *testing.T) {
	bare := origin(t)
	remote := gitcache.Remote{URL: bare}
	cache := &gitcache.Cache{Dir: t.TempDir()}
	ctx := t.Context()

	ws := filepath.Join(t.TempDir(), "ws")
	base, err := cache.Checkout(ctx, remote, ws, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ws, ".git", "objects", "info", "alternates")); !os.IsNotExist(err) {
		t.Fatalf("workspace borrows objects from the node's cache (alternates: %v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "blinky.v")); !strings.Contains(string(b), "blinky") {
		t.Fatal("checkout lacks blinky.v")
	}
	// The user edits, and plants a hostile .git/config: none of it may run
	// on the host.
	pwned := filepath.Join(t.TempDir(), "pwned")
	os.WriteFile(filepath.Join(ws, "blinky.v"), []byte("module blinky(input clk); endmodule\n"), 0o644)
	os.MkdirAll(filepath.Join(ws, "rtl"), 0o755)
	os.WriteFile(filepath.Join(ws, "rtl", "new.v"), []byte("// new\n"), 0o644)
	os.WriteFile(filepath.Join(ws, ".git", "config"), []byte("[core]\n\tfsmonitor = touch "+pwned+"\n\thooksPath = /tmp\n"), 0o644)
	os.WriteFile(filepath.Join(ws, ".gitattributes"), []byte("*.v filter=evil\n"), 0o644)

	o := Options{Dir: ws, GitDir: filepath.Join(t.TempDir(), "private.git"), Remote: remote, Base: base}
	r1, err := Save(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Pushed {
		t.Fatal("first save pushed nothing")
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the workspace's .git/config ran a command on the host")
	}
	if got := run(t, bare, "show", Branch+":rtl/new.v"); got != "// new" {
		t.Fatalf("rtl/new.v on %s = %q", Branch, got)
	}
	if got := run(t, bare, "show", Branch+":blinky.v"); !strings.Contains(got, "input clk") {
		t.Fatalf("blinky.v on %s = %q", Branch, got)
	}
	if parents := run(t, bare, "log", "-1", "--format=%P", Branch); parents != base {
		t.Fatalf("first autosave parents %q, want the checkout %s", parents, base)
	}
	if got := run(t, bare, "rev-parse", "main"); got != base {
		t.Fatal("autosave moved main")
	}

	// Unchanged workspace: nothing new.
	if r, err := Save(ctx, o); err != nil || r.Pushed || r.Commit != r1.Commit {
		t.Fatalf("idle save = %+v, %v", r, err)
	}
	// Another change fast-forwards the branch.
	os.Remove(filepath.Join(ws, "rtl", "new.v"))
	r2, err := Save(ctx, o)
	if err != nil || !r2.Pushed {
		t.Fatalf("second save: %+v %v", r2, err)
	}
	run(t, bare, "merge-base", "--is-ancestor", r1.Commit, r2.Commit)

	// A later session starts from main again in a fresh workspace, with a
	// fresh private repo: its save still fast-forwards the branch.
	ws2 := filepath.Join(t.TempDir(), "ws2")
	base2, err := cache.Checkout(ctx, remote, ws2, "main")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws2, "later.txt"), []byte("later\n"), 0o644)
	r3, err := Save(context.Background(), Options{Dir: ws2, GitDir: filepath.Join(t.TempDir(), "p2.git"), Remote: remote, Base: base2})
	if err != nil || !r3.Pushed {
		t.Fatalf("save from a new session: %+v %v", r3, err)
	}
	run(t, bare, "merge-base", "--is-ancestor", r2.Commit, r3.Commit)
	if got := run(t, bare, "show", Branch+":later.txt"); got != "later" {
		t.Fatalf("later.txt = %q", got)
	}
}

func TestMirrorIsIncremental(t *testing.T) {
	bare := origin(t)
	cache := &gitcache.Cache{Dir: t.TempDir()}
	remote := gitcache.Remote{URL: bare}
	m1, err := cache.Mirror(t.Context(), remote)
	if err != nil {
		t.Fatal(err)
	}
	// A new commit upstream reaches the same mirror on the next checkout.
	seed := filepath.Join(filepath.Dir(bare), "seed")
	os.WriteFile(filepath.Join(seed, "more.v"), []byte("// more\n"), 0o644)
	run(t, seed, "add", ".")
	run(t, seed, "commit", "-qm", "more")
	run(t, seed, "push", "-q", "origin", "HEAD:main")
	ws := filepath.Join(t.TempDir(), "ws")
	if _, err := cache.Checkout(t.Context(), remote, ws, ""); err != nil {
		t.Fatal(err)
	}
	if m2, _ := cache.Mirror(t.Context(), remote); m2 != m1 {
		t.Fatalf("mirror moved: %s then %s", m1, m2)
	}
	if _, err := os.Stat(filepath.Join(ws, "more.v")); err != nil {
		t.Fatal("checkout missed the new upstream commit")
	}
	if got := run(t, ws, "remote", "get-url", "origin"); got != bare {
		t.Fatalf("origin = %q, want the repo, not the cache", got)
	}
}
