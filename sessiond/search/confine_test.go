package search

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"gatewave.dev/sessiond/workspace"
)

// The attacker controls the workspace's contents and plants symlinks to
// secrets outside it; a search must never read through them, and a
// replace must never write through them.
func TestSymlinksOutsideAreNotFollowed(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.txt": "TOPSECRET\n", "dir/inner.txt": "TOPSECRET\n"})
	dir := writeTree(t, map[string]string{"ok.txt": "TOPSECRET is the word\n", "sub/x.txt": "nothing"})
	links := map[string]string{
		"link-file.txt":      filepath.Join(outside, "secret.txt"),
		"link-dir":           filepath.Join(outside, "dir"),
		"sub/rel-escape.txt": "../../" + filepath.Base(outside) + "/secret.txt",
		"sub/rel-dir":        "../../" + filepath.Base(outside),
		"loop":               ".",
		"inside-link.txt":    "ok.txt", // even inside links are not followed: no duplicates
		"etc":                "/etc",
		"sub/proc-self-root": "/proc/self/root",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	// A .gitignore that is a symlink to a file outside is not read either.
	if err := os.WriteFile(filepath.Join(outside, "ign"), []byte("ok.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "ign"), filepath.Join(dir, ".gitignore")); err != nil {
		t.Fatal(err)
	}
	// The workspace itself sits next to the outside dir, so relative escapes
	// resolve to real files if followed.
	if _, err := os.Stat(filepath.Join(dir, "sub", "rel-escape.txt")); err != nil {
		t.Fatalf("test setup: the relative escape does not resolve: %v", err)
	}

	root := openRoot(t, dir)
	for _, q := range []Query{{Pattern: "TOPSECRET"}, {Pattern: "TOPSECRET", NoIgnore: true}, {Pattern: "T.PSECRET", Regex: true, Include: []string{"**"}}} {
		got, _, _ := collect(t, root, q)
		if len(got) != 1 || got[0] != "ok.txt" {
			t.Errorf("%+v: matched %v, want only ok.txt", q, got)
		}
	}

	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, fm, _ := collect(t, ws.Root(), Query{Pattern: "TOPSECRET", CaseSensitive: true})
	sum := fm["ok.txt"].Sum
	res, err := Replace(ws, Query{Pattern: "TOPSECRET", CaseSensitive: true}, "pwned", []FileRef{
		{Path: "link-file.txt", Sum: sum},
		{Path: "link-dir/inner.txt", Sum: sum},
		{Path: "sub/rel-escape.txt", Sum: sum},
		{Path: "../" + filepath.Base(outside) + "/secret.txt", Sum: sum},
		{Path: filepath.Join(outside, "secret.txt"), Sum: sum},
		{Path: "inside-link.txt", Sum: sum},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status == StatusReplaced {
			t.Errorf("replace through %s: %+v", r.Path, r)
		}
	}
	for _, p := range []string{"secret.txt", "dir/inner.txt"} {
		b, _ := os.ReadFile(filepath.Join(outside, p))
		if !strings.Contains(string(b), "TOPSECRET") {
			t.Errorf("outside %s was written: %q", p, b)
		}
	}
}

// A file swapped for a symlink after the directory was listed is refused
// at open (O_NOFOLLOW through os.Root), not followed.
func TestSwappedForSymlinkAtOpen(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.txt": "TOPSECRET\n"})
	dir := writeTree(t, map[string]string{"a.txt": "plain\n"})
	root := openRoot(t, dir)
	if err := os.Remove(filepath.Join(dir, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "a.txt")); err != nil {
		t.Fatal(err)
	}
	m, _ := compile(Query{Pattern: "TOPSECRET"})
	var left atomicCounter
	left.Store(100)
	_, fm, ok := searchFile(dirFD(t, root), "a.txt", "a.txt", nil, DefaultMaxFileSize, m, nil, &left.Int64)
	if ok || fm != nil {
		t.Fatalf("read through a symlink: ok=%v fm=%+v", ok, fm)
	}
	// Even a symlink inside the workspace is refused at open.
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("TOPSECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b.txt", filepath.Join(dir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	if _, fm, ok := searchFile(dirFD(t, root), "c.txt", "c.txt", nil, DefaultMaxFileSize, m, nil, &left.Int64); ok || fm != nil {
		t.Fatalf("followed an inside symlink at open")
	}
}

type atomicCounter struct{ atomic.Int64 }

func dirFD(t *testing.T, root *os.Root) int {
	d, err := root.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return int(d.Fd())
}
