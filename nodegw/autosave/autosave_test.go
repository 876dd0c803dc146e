package autosave

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/savefmt"
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

// container stands in for the session container's side: a workspace
// repo whose snapshot bundles it emits as `sessiond snapshot` would (the
// sessions tests run the real one in real containers; here the bundle is
// only data the node must handle safely).
type container struct {
	t   *testing.T
	dir string
	n   int
}

func newContainer(t *testing.T) *container {
	d := t.TempDir()
	run(t, d, "init", "-q")
	return &container{t: t, dir: d}
}

// snapshot makes a snapshot commit of files and extra refs, and returns
// a Snapshot func emitting its bundle.
func (c *container) snapshot(files map[string]string, extra ...string) func(context.Context, []string, pool.Sink) error {
	c.n++
	for name, body := range files {
		p := filepath.Join(c.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	run(c.t, c.dir, "add", "-A")
	tree := run(c.t, c.dir, "write-tree")
	commit := run(c.t, c.dir, "commit-tree", tree, "-m", fmt.Sprintf("Gatewave snapshot %d", c.n))
	run(c.t, c.dir, "update-ref", savefmt.SnapshotRef, commit)
	refs := append([]string{savefmt.SnapshotRef}, extra...)
	for _, r := range extra {
		run(c.t, c.dir, "update-ref", r, commit)
	}
	b, err := exec.Command("git", append([]string{"-C", c.dir, "bundle", "create", "-q", "-"}, refs...)...).Output()
	if err != nil {
		c.t.Fatal(err)
	}
	return func(_ context.Context, _ []string, dst pool.Sink) error {
		_, err := dst.Write(b)
		return err
	}
}

func TestAutosaveRecordsSnapshots(t *testing.T) {
	bare := origin(t)
	main := run(t, bare, "rev-parse", "main")
	ctr := newContainer(t)
	ctx := t.Context()
	o := Options{GitDir: filepath.Join(t.TempDir(), "private.git"), Remote: gitcache.Remote{URL: bare}}

	// The bundle also carries a refs/heads/main of its own: the node
	// pushes only the autosave, never the user's branches.
	o.Snapshot = ctr.snapshot(map[string]string{"rtl/new.v": "// new\n"}, "refs/heads/main")
	r1, err := Save(ctx, o)
	if err != nil || !r1.Pushed {
		t.Fatalf("first save: %+v %v", r1, err)
	}
	if got := run(t, bare, "show", Branch+":rtl/new.v"); got != "// new" {
		t.Fatalf("rtl/new.v on %s = %q", Branch, got)
	}
	if msg := run(t, bare, "log", "-1", "--format=%B", Branch); savefmt.SnapshotOf(msg) != r1.Snapshot {
		t.Fatalf("autosave message %q does not name snapshot %s", msg, r1.Snapshot)
	}
	if got := run(t, bare, "rev-parse", "main"); got != main {
		t.Fatal("autosave moved main")
	}

	// The same snapshot again: nothing new.
	if r, err := Save(ctx, o); err != nil || r.Pushed || r.Commit != r1.Commit {
		t.Fatalf("idle save = %+v, %v", r, err)
	}
	// Another snapshot fast-forwards the branch, also from a fresh
	// private repo (a later session on another node).
	o2 := o
	o2.GitDir = filepath.Join(t.TempDir(), "p2.git")
	o2.Snapshot = ctr.snapshot(map[string]string{"later.txt": "later\n"})
	r2, err := Save(ctx, o2)
	if err != nil || !r2.Pushed {
		t.Fatalf("second save: %+v %v", r2, err)
	}
	run(t, bare, "merge-base", "--is-ancestor", r1.Commit, r2.Commit)

	// Someone else moved the branch meanwhile: fetch and retry on top.
	other := filepath.Join(t.TempDir(), "other")
	run(t, filepath.Dir(other), "clone", "-q", "-b", Branch, bare, other)
	os.WriteFile(filepath.Join(other, "x"), []byte("x"), 0o644)
	run(t, other, "add", "x")
	run(t, other, "commit", "-qm", "elsewhere")
	run(t, other, "push", "-q", "origin", "HEAD:"+Branch)
	o.Snapshot = ctr.snapshot(map[string]string{"third.v": "// 3\n"})
	r3, err := Save(ctx, o)
	if err != nil || !r3.Pushed {
		t.Fatalf("save after a concurrent push: %+v %v", r3, err)
	}
	run(t, bare, "merge-base", "--is-ancestor", run(t, other, "rev-parse", "HEAD"), r3.Commit)
}

// Whatever the container sends is data: garbage, a bundle without the
// snapshot ref, or too much of it, fails the save with a clear error and
// pushes nothing.
func TestAutosaveRefusesBadSnapshots(t *testing.T) {
	bare := origin(t)
	ctx := t.Context()
	base := Options{GitDir: filepath.Join(t.TempDir(), "private.git"), Remote: gitcache.Remote{URL: bare}}
	ctr := newContainer(t)
	ctr.snapshot(map[string]string{"a": "a"})
	bad := map[string]func(context.Context, []string, pool.Sink) error{
		"garbage": func(_ context.Context, _ []string, dst pool.Sink) error {
			_, err := dst.Write([]byte("# v2 git bundle\nnot a bundle at all"))
			return err
		},
		"no snapshot ref": func(ctx context.Context, have []string, dst pool.Sink) error {
			run(t, ctr.dir, "update-ref", "-d", savefmt.SnapshotRef)
			b, _ := exec.Command("git", "-C", ctr.dir, "bundle", "create", "-q", "-", "HEAD").Output()
			if len(b) == 0 {
				run(t, ctr.dir, "commit", "-qm", "x", "--allow-empty")
				b, _ = exec.Command("git", "-C", ctr.dir, "bundle", "create", "-q", "-", "--all").Output()
			}
			_, err := dst.Write(b)
			return err
		},
		"too big": func(_ context.Context, _ []string, dst pool.Sink) error {
			chunk := make([]byte, 1<<20)
			for {
				if _, err := dst.Write(chunk); err != nil {
					return err
				}
			}
		},
	}
	for name, f := range bad {
		o := base
		o.Snapshot, o.MaxBytes = f, 4<<20
		_, err := Save(ctx, o)
		if err == nil {
			t.Errorf("%s: saved", name)
		}
		if name == "too big" && !errors.Is(err, pool.ErrTooBig) {
			t.Errorf("too big: %v", err)
		}
	}
	if out, _ := exec.Command("git", "-C", bare, "rev-parse", "-q", "--verify", "refs/heads/"+Branch).Output(); len(out) != 0 {
		t.Fatal("a bad snapshot was pushed")
	}
}

// A workspace that another one overtook on ide/autosave (a container that
// outlived its session on a node that came back, while the user went on
// elsewhere) saves to a branch of its own: neither hides the other.
func TestAutosaveOvertakenWorkspaceKeepsItsOwnBranch(t *testing.T) {
	bare := origin(t)
	ctx := t.Context()
	old, cur := newContainer(t), newContainer(t)
	a := Options{GitDir: filepath.Join(t.TempDir(), "a.git"), Remote: gitcache.Remote{URL: bare}, ID: "aaaaaaaaaaaa"}
	a.Snapshot = old.snapshot(map[string]string{"old.v": "// old\n"})
	r1, err := Save(ctx, a)
	if err != nil || r1.Branch != Branch {
		t.Fatalf("first save: %+v %v", r1, err)
	}
	// The user's next session resumed r1 and saved on.
	b := Options{GitDir: filepath.Join(t.TempDir(), "b.git"), Remote: gitcache.Remote{URL: bare}, ID: "bbbbbbbbbbbb", Base: r1.Commit}
	b.Snapshot = cur.snapshot(map[string]string{"new.v": "// new\n"})
	r2, err := Save(ctx, b)
	if err != nil || r2.Branch != Branch || !r2.Pushed {
		t.Fatalf("the current session's save: %+v %v", r2, err)
	}
	// The old container comes back and saves again.
	a.Snapshot = old.snapshot(map[string]string{"old.v": "// old, later\n"})
	r3, err := Save(ctx, a)
	if err != nil || !r3.Pushed || r3.Branch != RecoveredPrefix+"aaaaaaaaaaaa" {
		t.Fatalf("the overtaken save: %+v %v", r3, err)
	}
	if got := run(t, bare, "rev-parse", "refs/heads/"+Branch); got != r2.Commit {
		t.Fatalf("ide/autosave moved to %s, want the current session's %s", got, r2.Commit)
	}
	if got := run(t, bare, "show", RecoveredPrefix+"aaaaaaaaaaaa:old.v"); got != "// old, later" {
		t.Fatalf("recovered old.v = %q", got)
	}
	// The current session keeps saving to ide/autosave.
	b.Snapshot = cur.snapshot(map[string]string{"new.v": "// newer\n"})
	if r4, err := Save(ctx, b); err != nil || r4.Branch != Branch || !r4.Pushed {
		t.Fatalf("the current session after: %+v %v", r4, err)
	}
}
