package filenames

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gatewave.dev/sessiond/watch"
	"gatewave.dev/sessiond/workspace"
)

// TestFollowsWatcher: with a watcher, created, renamed and deleted files
// come and go in quick-open answers without a walk (the index's build time
// stays that of the first walk), ignored files and links out of the
// workspace never come in, and a .gitignore change hides what it ignores.
func TestFollowsWatcher(t *testing.T) {
	dir, err := filepath.EvalSymlinks(tree(t, map[string]string{".gitignore": "*.log\nout/\n", "a.v": ""}))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	w, err := watch.New(dir, watch.Options{Debounce: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s, err := New(Options{Workspace: ws, MaxAge: time.Hour, Watch: func() (*watch.Watcher, error) { return w, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	indexed := func() []string {
		x, err := s.Index()
		if err != nil {
			t.Fatal(err)
		}
		return x.Paths()
	}
	// waitFor polls (no fixed sleeps) until cond holds of the indexed paths.
	waitFor := func(what string, cond func(paths []string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			p := indexed()
			if cond(p) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: never happened; index has %v", what, p)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	has := func(p string) func([]string) bool {
		return func(paths []string) bool { return slices.Contains(paths, p) }
	}
	hasNot := func(p string) func([]string) bool {
		return func(paths []string) bool { return !slices.Contains(paths, p) }
	}
	waitFor("first walk", has("a.v"))
	first, _ := s.Index()
	walks := first.Built

	write := func(p string) {
		t.Helper()
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.v")
	waitFor("created file", has("b.v"))
	if res, _ := mustIndex(t, s).Query("b.v", 5); len(res) == 0 || res[0].Path != "b.v" {
		t.Errorf("query b.v: %v", res)
	}
	write("sub/deep/c.v")
	waitFor("file in a new directory", has("sub/deep/c.v"))
	if err := os.Rename(filepath.Join(dir, "b.v"), filepath.Join(dir, "d.v")); err != nil {
		t.Fatal(err)
	}
	waitFor("renamed file", func(p []string) bool { return has("d.v")(p) && hasNot("b.v")(p) })
	if err := os.Remove(filepath.Join(dir, "d.v")); err != nil {
		t.Fatal(err)
	}
	waitFor("deleted file", hasNot("d.v"))
	if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	waitFor("renamed directory", func(p []string) bool { return has("moved/deep/c.v")(p) && hasNot("sub/deep/c.v")(p) })

	// Ignored files, files in ignored directories and links out of the
	// workspace never come in: each is made before a marker that does.
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("x"), 0o644)
	write("x.log")
	write("out/o.v")
	if err := os.Symlink(outside, filepath.Join(dir, "link.v")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.v", filepath.Join(dir, "inside.v")); err != nil {
		t.Fatal(err)
	}
	write("marker.v")
	waitFor("marker", has("marker.v"))
	waitFor("link to a file inside", has("inside.v"))
	for _, p := range []string{"x.log", "out/o.v", "link.v"} {
		if slices.Contains(indexed(), p) {
			t.Errorf("%s was indexed", p)
		}
	}
	if x := mustIndex(t, s); !x.Built.Equal(walks) {
		t.Errorf("the tree was walked again (built %v, first walk %v)", x.Built, walks)
	}

	// A new .gitignore entry hides files at once.
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.log\nout/\nmoved/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(".gitignore entry", hasNot("moved/deep/c.v"))
	write("moved/new.v")
	write("marker2.v")
	waitFor("second marker", has("marker2.v"))
	if slices.Contains(indexed(), "moved/new.v") {
		t.Error("a file in a newly ignored directory was indexed")
	}
}

func mustIndex(t *testing.T, s *Service) *Index {
	t.Helper()
	x, err := s.Index()
	if err != nil {
		t.Fatal(err)
	}
	return x
}
