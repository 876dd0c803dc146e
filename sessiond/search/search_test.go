package search

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatewave.dev/sessiond/workspace"
)

// writeTree creates files (path → content) under a new temp dir.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openRoot(t testing.TB, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// collect runs q and returns the matched files, sorted, and all matches.
func collect(t *testing.T, root *os.Root, q Query) ([]string, map[string]*FileMatches, Summary) {
	t.Helper()
	got := map[string]*FileMatches{}
	sum, err := Run(context.Background(), root, q, Options{}, func(fm *FileMatches) error {
		if _, dup := got[fm.Path]; dup {
			t.Errorf("file %s reported twice", fm.Path)
		}
		got[fm.Path] = fm
		return nil
	})
	if err != nil {
		t.Fatalf("Run(%+v): %v", q, err)
	}
	var paths []string
	for p := range got {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, got, sum
}

func TestMatcher(t *testing.T) {
	const text = "module top(input clk);\n  wire Clk_en; // CLK\n  assign clkx = clk;\nendmodule\n"
	type m struct{ line, col, n int }
	tests := []struct {
		name string
		q    Query
		want []m
	}{
		{"literal folds case", Query{Pattern: "clk"}, []m{{1, 17, 3}, {2, 7, 3}, {2, 18, 3}, {3, 9, 3}, {3, 16, 3}}},
		{"case sensitive", Query{Pattern: "clk", CaseSensitive: true}, []m{{1, 17, 3}, {3, 9, 3}, {3, 16, 3}}},
		{"whole word", Query{Pattern: "clk", WholeWord: true}, []m{{1, 17, 3}, {2, 18, 3}, {3, 16, 3}}},
		{"whole word case", Query{Pattern: "clk", WholeWord: true, CaseSensitive: true}, []m{{1, 17, 3}, {3, 16, 3}}},
		{"regex", Query{Pattern: `c[a-z]+x`, Regex: true}, []m{{3, 9, 4}}},
		{"regex anchors are per line", Query{Pattern: `^end`, Regex: true}, []m{{4, 0, 3}}},
		{"literal dots are literal", Query{Pattern: "c.k"}, nil},
		{"regex dots", Query{Pattern: "c.k", Regex: true, CaseSensitive: true}, []m{{1, 17, 3}, {3, 9, 3}, {3, 16, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt, err := compile(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []m
			for _, x := range mt.find([]byte(text), 100, nil, nil) {
				got = append(got, m{x.Line, x.Col, x.Len})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatcherUTF16AndPreview(t *testing.T) {
	mt, _ := compile(Query{Pattern: "x", CaseSensitive: true})
	// "é" is 2 bytes, 1 UTF-16 unit; "😀" is 4 bytes, 2 units.
	ms := mt.find([]byte("é😀x\r\nab"), 10, nil, nil)
	if len(ms) != 1 || ms[0].Col != 3 || ms[0].Len != 1 || ms[0].Text != "é😀x" {
		t.Fatalf("got %+v", ms)
	}
	long := strings.Repeat("é", 1000) + "x"
	ms = mt.find([]byte(long), 10, nil, nil)
	if len(ms) != 1 || len(ms[0].Text) > MaxPreview || ms[0].Col != 1000 {
		t.Fatalf("long line: col %d, text %d bytes", ms[0].Col, len(ms[0].Text))
	}
	if !strings.HasPrefix(long, ms[0].Text) || len(ms[0].Text)%2 != 0 {
		t.Fatalf("preview cut inside a rune")
	}
}

func TestInvalidQueries(t *testing.T) {
	root := openRoot(t, writeTree(t, map[string]string{"a": "x"}))
	for _, q := range []Query{{}, {Pattern: "(", Regex: true}, {Pattern: "x", Include: []string{"[a"}}} {
		if _, err := Run(context.Background(), root, q, Options{}, func(*FileMatches) error { return nil }); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
}

func TestReplacePreview(t *testing.T) {
	mt, _ := compile(Query{Pattern: `(\w+)_n\b`, Regex: true, CaseSensitive: true})
	r := "n_$1"
	ms := mt.find([]byte("rst_n clk_n"), 10, &r, nil)
	if len(ms) != 2 || *ms[0].Replacement != "n_rst" || *ms[1].Replacement != "n_clk" {
		t.Fatalf("got %+v", ms)
	}
	lit, _ := compile(Query{Pattern: "a.b"})
	r = "$1"
	out, n := lit.replaceAll([]byte("A.B a.b aXb"), r)
	if n != 2 || string(out) != "$1 $1 aXb" {
		t.Fatalf("literal replace expanded: %q %d", out, n)
	}
}

func TestGlobsBinaryAndSize(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"src/top.v":        "clk",
		"src/sub/mod.sv":   "clk",
		"src/readme.md":    "clk",
		"build/out.v":      "clk",
		"docs/build/x.v":   "clk",
		"bin/blob.bin":     "clk\x00\x01",
		".git/config":      "clk",
		".hidden/h.v":      "clk",
		"big.v":            strings.Repeat("clk\n", 1000),
		"nomatch.v":        "nothing here",
		"src/sub/deep/a.v": "clk",
	})
	root := openRoot(t, dir)
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{Pattern: "clk"}, []string{".hidden/h.v", "big.v", "build/out.v", "docs/build/x.v", "src/readme.md", "src/sub/deep/a.v", "src/sub/mod.sv", "src/top.v"}},
		{"include names", Query{Pattern: "clk", Include: []string{"*.sv, *.md"}}, []string{"src/readme.md", "src/sub/mod.sv"}},
		{"include path", Query{Pattern: "clk", Include: []string{"src/**/*.v"}}, []string{"src/sub/deep/a.v", "src/top.v"}},
		{"exclude dir name anywhere", Query{Pattern: "clk", Exclude: []string{"build", ".hidden"}}, []string{"big.v", "src/readme.md", "src/sub/deep/a.v", "src/sub/mod.sv", "src/top.v"}},
		{"exclude anchored dir", Query{Pattern: "clk", Exclude: []string{"src/sub/"}}, []string{".hidden/h.v", "big.v", "build/out.v", "docs/build/x.v", "src/readme.md", "src/top.v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _ := collect(t, root, tt.q)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	// A file over the size cap is skipped and counted.
	var files []string
	sum, err := Run(context.Background(), root, Query{Pattern: "clk"}, Options{MaxFileSize: 100}, func(fm *FileMatches) error {
		files = append(files, fm.Path)
		return nil
	})
	if err != nil || slices.Contains(files, "big.v") || sum.Skipped != 2 {
		t.Fatalf("size cap: files %v skipped %d err %v (want big.v and the binary skipped)", files, sum.Skipped, err)
	}
}

func TestResultCap(t *testing.T) {
	files := map[string]string{}
	for i := range 50 {
		files[filepath.Join("d", string(rune('a'+i%26))+strings.Repeat("x", i/26)+".v")] = "hit hit hit\n"
	}
	root := openRoot(t, writeTree(t, files))
	_, got, sum := collect(t, root, Query{Pattern: "hit", MaxResults: 10})
	n := 0
	for _, fm := range got {
		n += len(fm.Matches)
	}
	if !sum.Truncated || n > 10 || n < 10 || sum.Matches != n {
		t.Fatalf("cap 10: %d matches reported, summary %+v", n, sum)
	}
}

func TestCancellation(t *testing.T) {
	files := map[string]string{}
	for i := range 3000 {
		files[filepath.Join("d"+string(rune('a'+i%20)), strings.Repeat("f", 1+i/20)+".txt")] = "needle\n"
	}
	root := openRoot(t, writeTree(t, files))

	// The client goes away after the first result: Run returns promptly
	// with the context's error and no further emit happens after cancel.
	ctx, cancel := context.WithCancel(context.Background())
	var after atomic.Int64
	var cancelled atomic.Bool
	start := time.Now()
	sum, err := Run(ctx, root, Query{Pattern: "needle"}, Options{}, func(fm *FileMatches) error {
		if cancelled.Load() {
			after.Add(1)
		}
		cancel()
		cancelled.Store(true)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if after.Load() != 0 {
		t.Errorf("%d results emitted after cancel", after.Load())
	}
	if sum.Scanned >= 3000 {
		t.Errorf("scanned all %d files despite cancel", sum.Scanned)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}

	// Nothing is left open by a cancelled search (directories and files are
	// closed by reference count once their last user is done).
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(ents)
	}
	// With the GC off, a leaked *os.File is not rescued by its finalizer.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := fds()
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		_, _ = Run(ctx, root, Query{Pattern: "needle"}, Options{}, func(*FileMatches) error {
			cancel()
			return nil
		})
		cancel()
	}
	if after := fds(); after > before+2 {
		t.Errorf("open descriptors went from %d to %d over 20 cancelled searches", before, after)
	}

	// An emit error (a dead socket) stops the search too.
	boom := errors.New("socket closed")
	calls := 0
	_, err = Run(context.Background(), root, Query{Pattern: "needle"}, Options{}, func(*FileMatches) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d calls, want %v after 1", err, calls, boom)
	}
}

func TestRunLeavesCallersRootOpen(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.v": "x"})
	root := openRoot(t, dir)
	for range 2 {
		if _, _, s := collect(t, root, Query{Pattern: "x"}); s.Files != 1 {
			t.Fatalf("summary %+v", s)
		}
	}
}

func TestReplace(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.v": "wire rst_n; // rst_n\n", "b.v": "rst_n\n", "c.v": "rst_n\n", "d.v": "none\n"})
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	q := Query{Pattern: `rst_(n)`, Regex: true, CaseSensitive: true}
	_, got, _ := collect(t, ws.Root(), q)
	// b.v changes between the search and the replace: it must be skipped.
	if err := os.WriteFile(filepath.Join(dir, "b.v"), []byte("rst_n edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refs := []FileRef{
		{Path: "a.v", Sum: got["a.v"].Sum},
		{Path: "b.v", Sum: got["b.v"].Sum},
		{Path: "c.v", Sum: got["c.v"].Sum},
		{Path: "../outside.v", Sum: "x"},
	}
	res, err := Replace(ws, q, "reset_$1", refs)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range res {
		status[r.Path] = r.Status
	}
	if status["a.v"] != StatusReplaced || status["b.v"] != StatusChanged || status["c.v"] != StatusReplaced || status["../outside.v"] != StatusFailed {
		t.Fatalf("statuses %v", res)
	}
	want := map[string]string{"a.v": "wire reset_n; // reset_n\n", "b.v": "rst_n edited\n", "c.v": "reset_n\n"}
	for p, w := range want {
		b, _ := os.ReadFile(filepath.Join(dir, p))
		if string(b) != w {
			t.Errorf("%s = %q, want %q", p, b, w)
		}
	}
	if res[0].Replacements != 2 || res[0].Sum == "" || res[0].Sum == got["a.v"].Sum {
		t.Errorf("a.v result %+v", res[0])
	}
	// Replacing again with the old hashes: every file is now "changed".
	res, _ = Replace(ws, q, "reset_$1", refs[:1])
	if res[0].Status != StatusChanged {
		t.Errorf("stale hash replaced: %+v", res[0])
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestFoldLiteralPrefilter(t *testing.T) {
	tests := []struct {
		pat, text string
		want      bool
	}{
		{"Clk", "input wire CLK,", true},
		{"clk", "input wire cl", false},
		{"ring_needle_xyz", "x RING_Needle_XYZ", true},
		{"ring_needle_xyz", "ring_needle_xy", false},
		{"zz", "z", false},
		{"ab", "aB", true},
		{"ab", "Ab", true},
		{"a.b", "A.B", true},
		{"a.b", "AxB", false},
		{"kelvin", "\u212aelvin", true}, // the regexp folds it; the prefilter must let it through
	}
	for _, tt := range tests {
		f := newFoldLiteral(tt.pat)
		if got := f.contains([]byte(tt.text)); got != tt.want {
			t.Errorf("contains(%q in %q) = %v, want %v", tt.pat, tt.text, got, tt.want)
		}
		// The whole matcher agrees with the regexp alone.
		m, _ := compile(Query{Pattern: tt.pat})
		if got, want := m.has([]byte(tt.text)), m.re.Match([]byte(tt.text)); got != want {
			t.Errorf("has(%q in %q) = %v, regexp says %v", tt.pat, tt.text, got, want)
		}
	}
	if newFoldLiteral("é") != nil {
		t.Error("non-ASCII pattern got an ASCII prefilter")
	}
}

// FuzzFoldLiteral checks the prefilter never rules out a buffer the
// case-insensitive regexp matches.
func FuzzFoldLiteral(f *testing.F) {
	f.Add("clk", "input CLK")
	f.Add("ab", "xaBy")
	f.Add("k", "\u212a")
	f.Fuzz(func(t *testing.T, pat, text string) {
		m, err := compile(Query{Pattern: pat})
		if err != nil {
			return
		}
		if got, want := m.has([]byte(text)), m.re.Match([]byte(text)); got != want {
			t.Fatalf("has(%q in %q) = %v, regexp says %v", pat, text, got, want)
		}
	})
}
