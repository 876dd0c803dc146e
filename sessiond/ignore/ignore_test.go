package ignore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRules is the union of the rule tables search and quick open had
// when each kept its own matcher, plus the edge cases of gitignore(5).
func TestRules(t *testing.T) {
	f := Parse(".", []byte(strings.Join([]string{
		"# comment",
		"   ",
		"*.log",
		"!keep.log",
		"build/",     // directory only, any depth
		"/top.txt",   // anchored to the root
		"doc/*.html", // a middle slash anchors
		"**/gen/**",  // everything inside any gen/
		"out",        // file or directory, any depth
		`trail\ `,    // an escaped trailing space is kept
		"drop   ",    // unescaped trailing spaces are not
		`\#hash`,
		`\!bang`,
		"log[!0-9].txt",
		"[ab].bak",
		`star\*`, // an escaped glob character is literal
		"a/**/b",
		"/c/**",
		"*.o",
		"!/keep.o",
		"/only/",
		"[bad", // malformed: matches nothing
		"**/deep/x.v",
		"\r",
	}, "\n")+"\r\n"))
	s := Stack{f}
	tests := []struct {
		path string
		dir  bool
		want bool
	}{
		{"a.log", false, true},
		{"x/y/a.log", false, true},
		{"keep.log", false, false},
		{"x/keep.log", false, false},
		{"build", true, true},
		{"x/build", true, true},
		{"build", false, false}, // directory-only rule, a file named build
		{"top.txt", false, true},
		{"x/top.txt", false, false},
		{"doc/a.html", false, true},
		{"doc/x/a.html", false, false}, // * does not cross '/'
		{"x/doc/a.html", false, false},
		{"a/gen/b/c.v", false, true},
		{"gen/c.v", false, true},
		{"gen", true, false}, // "gen/**" is what is inside gen
		{"gen.v", false, false},
		{"out", false, true},
		{"src/out", true, true},
		{"trail ", false, true},
		{"trail", false, false},
		{"drop", false, true},
		{"#hash", false, true},
		{"!bang", false, true},
		{"main.v", false, false},
		{"loga.txt", false, true},
		{"log1.txt", false, false},
		{"a.bak", false, true},
		{"c.bak", false, false},
		{"star*", false, true},
		{"starx", false, false},
		{"a/b", false, true},
		{"a/x/y/b", false, true},
		{"x/a/b", false, false},
		{"c", true, false},
		{"c/d", false, true},
		{"c/d/e", false, true},
		{"z/m.o", false, true},
		{"keep.o", false, false},
		{"z/keep.o", false, true},
		{"only", true, true},
		{"only", false, false},
		{"x/only", true, false},
		{"[bad", false, false},
		{"deep/x.v", false, true},
		{"p/q/deep/x.v", false, true},
	}
	for _, tt := range tests {
		if got := s.Ignored(tt.path, tt.dir); got != tt.want {
			t.Errorf("Ignored(%q, dir=%v) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}

// TestNested: a deeper file overrides a shallower one for its own subtree
// only, and its anchored patterns are relative to its own directory.
func TestNested(t *testing.T) {
	root := Parse("", []byte("*.tmp\nout/\nsecret.v\n"))
	sub := Parse("sub", []byte("!*.tmp\n/local.v\n"))
	other := Parse("other/", []byte("!secret.v\n"))
	ign := Parse("ign", []byte("*\n!.gitignore\n!keep.v\n"))
	exclude := Parse("", []byte("secret.key\n"))
	base := Stack{exclude, root}
	tests := []struct {
		s    Stack
		path string
		want bool
	}{
		{base, "a.tmp", true},
		{base, "a.v", false},
		{base.With(sub), "sub/b.tmp", false},
		{base.With(sub), "sub/local.v", true},
		{base.With(sub), "sub/deeper/local.v", false},
		{base.With(sub), "sub/deeper/c.tmp", false},
		{base, "x/secret.v", true},
		{base.With(other), "other/secret.v", false},
		{base.With(ign), "ign/drop.v", true},
		{base.With(ign), "ign/keep.v", false},
		{base.With(ign), "ign/.gitignore", false},
		{base, "secret.key", true},
		{base.With(sub), "sub/secret.key", true},
		// A file for "sub" says nothing about "subway/".
		{base.With(sub), "subway/local.v", false},
	}
	for _, tt := range tests {
		if got := tt.s.Ignored(tt.path, false); got != tt.want {
			t.Errorf("Ignored(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if base.With(nil)[len(base)-1] != root {
		t.Error("With(nil) changed the stack")
	}
	// With never writes into a shared backing array.
	s := make(Stack, 1, 4)
	s[0] = root
	a, b := s.With(sub), s.With(other)
	if a[1] != sub || b[1] != other {
		t.Error("With shares its backing array between siblings")
	}
}

// TestIgnoredPath: a path met outside a walk is ignored when any
// directory above it is, and nothing below an ignored directory comes
// back, as in git.
func TestIgnoredPath(t *testing.T) {
	s := Stack{Parse("", []byte("build/\n!build/keep.v\n/gen\n"))}
	tests := []struct {
		path string
		want bool
	}{
		{"build/x.v", true},
		{"build/keep.v", true},
		{"src/build/deep/y.v", true},
		{"gen/a.v", true},
		{"src/gen/a.v", false},
		{"src/x.v", false},
		{"build.v", false},
	}
	for _, tt := range tests {
		if got := s.IgnoredPath(tt.path, false); got != tt.want {
			t.Errorf("IgnoredPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestReadExclude reads .git/info/exclude through the workspace's root, and
// never through a symlink leading out of it.
func TestReadExclude(t *testing.T) {
	dir := t.TempDir()
	if ReadExclude(openRoot(t, dir)) != nil {
		t.Fatal("no exclude file, yet rules")
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git", "info"), 0o755); err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(dir, ".git", "info", "exclude")
	if err := os.WriteFile(ex, []byte("*.key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := ReadExclude(openRoot(t, dir))
	if f == nil || !(Stack{f}).Ignored("a/b.key", false) {
		t.Fatal("exclude rules not applied")
	}
	outside := filepath.Join(t.TempDir(), "exclude")
	if err := os.WriteFile(outside, []byte("*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(ex)
	if err := os.Symlink(outside, ex); err != nil {
		t.Fatal(err)
	}
	if ReadExclude(openRoot(t, dir)) != nil {
		t.Fatal("read an exclude file outside the workspace through a symlink")
	}
}

// A Reader judges paths met one at a time by every ignore file on the way
// down, nested ones overriding their parents', and never follows a
// .gitignore that is a symlink out of the workspace.
func TestReader(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".git/info/exclude", "*.key\n")
	write(".gitignore", "build/\n*.gen.v\n")
	write("rtl/.gitignore", "!keep.gen.v\nscratch/\n")
	outside := filepath.Join(t.TempDir(), "evil")
	if err := os.WriteFile(outside, []byte("*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("ip/core.v", "module core; endmodule\n")
	if err := os.Symlink(outside, filepath.Join(dir, "ip", ".gitignore")); err != nil {
		t.Fatal(err)
	}
	r := NewReader(openRoot(t, dir))
	for rel, want := range map[string]bool{
		"top.v":                  false,
		"a.key":                  true, // .git/info/exclude
		"build/top.v":            true, // below an ignored directory
		"rtl/build/x.v":          true,
		"rtl/x.gen.v":            true,
		"rtl/keep.gen.v":         false, // re-included by the nested file
		"rtl/scratch/t.v":        true,
		"scratch/t.v":            false, // rtl/.gitignore applies below rtl/ only
		"ip/core.v":              false, // the symlinked .gitignore is not read
		"missing/dir/deep/a.v":   false,
		"missing/dir/deep/a.key": true,
	} {
		if got := r.Ignored(rel); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", rel, got, want)
		}
	}
}

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
