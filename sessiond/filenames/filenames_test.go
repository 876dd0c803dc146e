package filenames

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/workspace"
)

// tree writes files (path -> content) under a new temp dir.
func tree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t testing.TB, dir string) *Index {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	x, err := Build(root, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func paths(res []Match) []string {
	var out []string
	for _, m := range res {
		out = append(out, m.Path)
	}
	return out
}

func TestRanking(t *testing.T) {
	x := build(t, tree(t, map[string]string{
		"src/app.ts":                      "",
		"src/ui/palette.ts":               "",
		"src/ui/quickpick.ts":             "",
		"test/palette.test.ts":            "",
		"src/api/sessiond.ts":             "",
		"docs/a/p/p/application.md":       "",
		"sessiond/server/server.go":       "",
		"sessiond/server/servertest/x.go": "",
		"Makefile":                        "",
		"src/editor/MakeFileLang.ts":      "",
		"pkg/fast_lz.go":                  "",
		"pkg/fastlz.go":                   "",
		"pkg/deep/nested/fastlz.go":       "",
		"main.go":                         "",
	}))
	tests := []struct {
		q     string
		first string
		// before: each pair ranks left above right.
		before [][2]string
	}{
		{q: "app", first: "src/app.ts", before: [][2]string{{"src/app.ts", "docs/a/p/p/application.md"}}},
		{q: "palette", first: "src/ui/palette.ts", before: [][2]string{{"src/ui/palette.ts", "test/palette.test.ts"}}},
		{q: "qp", first: "src/ui/quickpick.ts"},
		// Base name matches beat matches spread over directories.
		{q: "server.go", first: "sessiond/server/server.go"},
		// Exact base name beats a prefix; shorter path wins ties.
		{q: "fastlz.go", first: "pkg/fastlz.go", before: [][2]string{{"pkg/fastlz.go", "pkg/deep/nested/fastlz.go"}, {"pkg/deep/nested/fastlz.go", "pkg/fast_lz.go"}}},
		// Word starts: "fl" is f(ast)_l(z) at word starts, beating "fastlz" scattered.
		{q: "fl", first: "pkg/fast_lz.go"},
		// Case-insensitive, exact base name first.
		{q: "makefile", first: "Makefile", before: [][2]string{{"Makefile", "src/editor/MakeFileLang.ts"}}},
		// A query with '/' matches the whole path.
		{q: "ui/pal", first: "src/ui/palette.ts"},
		{q: "s/s/s", first: "sessiond/server/server.go"},
	}
	for _, tt := range tests {
		res, total := x.Query(tt.q, 50)
		got := paths(res)
		if len(got) == 0 || got[0] != tt.first {
			t.Errorf("Query(%q) = %v; want %q first", tt.q, got, tt.first)
			continue
		}
		if total != len(got) {
			t.Errorf("Query(%q): total %d, results %d", tt.q, total, len(got))
		}
		for _, p := range tt.before {
			a, b := slices.Index(got, p[0]), slices.Index(got, p[1])
			if a < 0 || b < 0 || a > b {
				t.Errorf("Query(%q) = %v; want %q before %q", tt.q, got, p[0], p[1])
			}
		}
	}
	if res, _ := x.Query("zzzq", 50); len(res) != 0 {
		t.Errorf("no-match query returned %v", paths(res))
	}
}

func TestPositions(t *testing.T) {
	x := build(t, tree(t, map[string]string{"src/ui/palette.ts": "", "docs/ünïcode/pälette.md": ""}))
	tests := []struct {
		q, path string
		want    []int
	}{
		// Consecutive characters in the base name, not the scattered p..a.. of "src/ui/palette".
		{"pal", "src/ui/palette.ts", []int{7, 8, 9}},
		{"uipal", "src/ui/palette.ts", []int{4, 5, 7, 8, 9}},
		{"pt", "src/ui/palette.ts", []int{7, 15}}, // the t after "." (a word start), not the one in "palette"
		// UTF-16 offsets after non-ASCII characters.
		{"lette", "docs/ünïcode/pälette.md", []int{15, 16, 17, 18, 19}},
	}
	for _, tt := range tests {
		res, _ := x.Query(tt.q, 50)
		i := slices.IndexFunc(res, func(m Match) bool { return m.Path == tt.path })
		if i < 0 {
			t.Errorf("Query(%q): %q not found in %v", tt.q, tt.path, paths(res))
			continue
		}
		if !slices.Equal(res[i].Positions, tt.want) {
			t.Errorf("Query(%q) positions in %q = %v; want %v", tt.q, tt.path, res[i].Positions, tt.want)
		}
		u := []rune(tt.path) // all test paths are in the BMP, so runes are UTF-16 units
		var b strings.Builder
		for _, p := range res[i].Positions {
			b.WriteRune(u[p])
		}
		if got := strings.ToLower(b.String()); got != strings.ToLower(tt.q) {
			t.Errorf("Query(%q): positions pick %q", tt.q, got)
		}
	}
}

func TestLimitAndEmptyQuery(t *testing.T) {
	files := map[string]string{}
	for i := range 30 {
		files["d/f"+string(rune('a'+i%26))+strings.Repeat("x", i)+".v"] = ""
	}
	x := build(t, tree(t, files))
	res, total := x.Query("fx", 5)
	if len(res) != 5 || total != 29 {
		t.Fatalf("Query(fx, 5): %d results, total %d; want 5 of 29", len(res), total)
	}
	for i := 1; i < len(res); i++ {
		if res[i].Score > res[i-1].Score {
			t.Errorf("results not sorted by score: %v", res)
		}
	}
	res, total = x.Query("", 7)
	if len(res) != 7 || total != 30 {
		t.Errorf("empty query: %d results, total %d; want 7 of 30", len(res), total)
	}
}

func TestGitignore(t *testing.T) {
	dir := tree(t, map[string]string{
		".gitignore": strings.Join([]string{
			"# comment",
			"*.log",
			"!keep.log",
			"build/",     // directory only, any depth
			"/top.txt",   // anchored to the root
			"docs/*.tmp", // anchored (slash in the middle)
			"**/gen/**",  // everything inside any gen/
			"out",        // file or directory, any depth
			`\#hash`,
			"spaced\\ ",
			"[ab].bak",
			"[!c]x.bak",
		}, "\n") + "\n",
		"a.log":              "",
		"keep.log":           "",
		"sub/keep.log":       "",
		"sub/z.log":          "",
		"build/x.v":          "",
		"src/build/y.v":      "",
		"src/build.v":        "", // a file named like the directory-only rule
		"top.txt":            "",
		"sub/top.txt":        "",
		"docs/a.tmp":         "",
		"docs/deeper/b.tmp":  "",
		"x/gen/g.v":          "",
		"gen.v":              "",
		"out":                "",
		"src/out/o.v":        "",
		"#hash":              "",
		"spaced ":            "",
		"a.bak":              "",
		"c.bak":              "",
		"cx.bak":             "",
		"dx.bak":             "",
		".git/config":        "",
		".git/objects/ab/cd": "",
		// A nested .gitignore overrides the root's, for its own subtree.
		"lib/.gitignore":      "!*.log\n/local.v\n",
		"lib/x.log":           "",
		"lib/local.v":         "",
		"lib/deep/local.v":    "",
		".git/info/exclude":   "secret.key\n",
		"secret.key":          "",
		"lib/deep/secret.key": "",
		"src/keep.v":          "",
	})
	got := build(t, dir).Paths()
	want := []string{
		".gitignore", "c.bak", "cx.bak", "gen.v", "keep.log",
		"docs/deeper/b.tmp",
		"lib/.gitignore", "lib/x.log",
		"lib/deep/local.v",
		"src/build.v", "src/keep.v",
		"sub/keep.log", "sub/top.txt",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("indexed\n  %v\nwant\n  %v", got, want)
	}
}

// TestConfinement attacks the walk from inside the workspace: symlinks to a
// file and a directory outside, a symlink loop, a link through ".." and a
// link to the workspace's own parent must add nothing from outside; links
// to files inside are listed, links to directories never descended into.
func TestConfinement(t *testing.T) {
	outside := tree(t, map[string]string{"secret.txt": "s", "dir/leak.v": "l"})
	dir := tree(t, map[string]string{"in/real.v": "", "in/sub/x.v": ""})
	links := map[string]string{
		"out-file":       filepath.Join(outside, "secret.txt"),
		"out-dir":        filepath.Join(outside, "dir"),
		"in/dotdot":      "../../" + filepath.Base(outside) + "/secret.txt",
		"in/up":          "..",
		"parent":         filepath.Dir(dir),
		"loop-a":         "loop-b",
		"loop-b":         "loop-a",
		"in/ok-file":     "real.v",
		"in/ok-dir":      "sub",
		"in/abs-in-file": filepath.Join(dir, "in/real.v"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	got := build(t, dir).Paths()
	slices.Sort(got)
	want := []string{"in/ok-file", "in/real.v", "in/sub/x.v"}
	if !slices.Equal(got, want) {
		t.Errorf("indexed %v; want %v", got, want)
	}
	for _, p := range got {
		if strings.Contains(p, "secret") || strings.Contains(p, "leak") {
			t.Errorf("indexed a path from outside: %q", p)
		}
	}
}

func TestServiceFreshness(t *testing.T) {
	dir := tree(t, map[string]string{"a.v": ""})
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	s, err := New(Options{Workspace: ws, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	x, err := s.Index()
	if err != nil || x.Len() != 1 {
		t.Fatalf("first index: %v files, %v", x, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.v"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if x2, _ := s.Index(); x2 != x {
		t.Errorf("a fresh index was rebuilt")
	}
	s.Invalidate()
	x3, err := s.Index()
	if err != nil || x3.Len() != 2 {
		t.Errorf("after Invalidate: %d files, %v; want 2 (a small tree rebuilds synchronously)", x3.Len(), err)
	}
	// Age alone makes it stale too (MaxAge, or ten walk times if longer).
	s2, _ := New(Options{Workspace: ws, MaxAge: time.Millisecond})
	x2, _ := s2.Index()
	os.WriteFile(filepath.Join(dir, "c.v"), nil, 0o644)
	time.Sleep(max(time.Millisecond, 10*x2.Took) + 5*time.Millisecond)
	if x4, _ := s2.Index(); x4.Len() != 3 {
		t.Errorf("after MaxAge: %d files; want 3", x4.Len())
	}
	// A tree that builds slowly (SyncBuild below its walk time) is answered
	// from the stale index at once while the rebuild runs.
	s3, _ := New(Options{Workspace: ws, SyncBuild: time.Nanosecond, MaxAge: time.Hour})
	old, _ := s3.Index()
	os.WriteFile(filepath.Join(dir, "d.v"), nil, 0o644)
	s3.Invalidate()
	if x5, _ := s3.Index(); x5 != old {
		t.Errorf("a slow tree's stale query waited for the rebuild")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		x6, _ := s3.Index()
		if x6.Len() == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background rebuild never landed: %d files", x6.Len())
		}
		time.Sleep(time.Millisecond)
	}
	s3.Close()
	if _, err := New(Options{}); err == nil {
		t.Error("New without a workspace succeeded")
	}
}

func TestTruncated(t *testing.T) {
	dir := tree(t, map[string]string{"a": "", "b": "", "c/d": "", "c/e": ""})
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	x, err := Build(root, BuildOptions{MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 3 || !x.Truncated {
		t.Errorf("MaxFiles 3: %d files, truncated %v", x.Len(), x.Truncated)
	}
}

// TestWalkOrder: the parallel walk lists as a sequential one would: a
// directory's files by name, then each subdirectory in name order.
func TestWalkOrder(t *testing.T) {
	files := map[string]string{"z.v": "", "a.v": "", "b/y.v": "", "b/c/x.v": "", "b/a.v": "", "a/q.v": ""}
	for i := range 40 {
		files[fmt.Sprintf("m/d%02d/f.v", i)] = ""
	}
	got := build(t, tree(t, files)).Paths()
	want := []string{"a.v", "z.v", "a/q.v", "b/a.v", "b/y.v", "b/c/x.v"}
	for i := range 40 {
		want = append(want, fmt.Sprintf("m/d%02d/f.v", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("walk order\n  %v\nwant\n  %v", got, want)
	}
}
