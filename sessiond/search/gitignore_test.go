package search

import (
	"slices"
	"testing"
)

func TestGitignoreRules(t *testing.T) {
	f := parseGitignore(".", []byte(`# comment
*.log
!keep.log
build/
/top.txt
doc/*.html
**/gen/**
trail\ 
\#hash
\!bang
log[!0-9].txt
`))
	s := ignoreStack{f}
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
		{"x/top.txt", false, false}, // anchored to the root
		{"doc/a.html", false, true},
		{"doc/x/a.html", false, false}, // * does not cross '/'
		{"x/doc/a.html", false, false}, // a middle slash anchors
		{"a/gen/b/c.v", false, true},
		{"gen/c.v", false, true},
		{"trail ", false, true},
		{"#hash", false, true},
		{"!bang", false, true},
		{"main.v", false, false},
		{"loga.txt", false, true},
		{"log1.txt", false, false},
	}
	for _, tt := range tests {
		if got := s.ignored(tt.path, tt.dir); got != tt.want {
			t.Errorf("ignored(%q, dir=%v) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}

func TestGitignoreNested(t *testing.T) {
	dir := writeTree(t, map[string]string{
		".gitignore":          "*.tmp\nout/\nsecret.v\n",
		"a.v":                 "hit",
		"a.tmp":               "hit",
		"out/x.v":             "hit",
		"sub/.gitignore":      "!*.tmp\n/local.v\n",
		"sub/b.tmp":           "hit",
		"sub/local.v":         "hit",
		"sub/deeper/local.v":  "hit",
		"sub/deeper/c.tmp":    "hit",
		"other/secret.v":      "hit",
		"other/.gitignore":    "!secret.v\n",
		"ign/.gitignore":      "*\n!.gitignore\n!keep.v\n",
		"ign/keep.v":          "hit",
		"ign/drop.v":          "hit",
		"out2/.gitignore":     "",
		"out2/reinc/x.v":      "hit",
		"nested/out/inside.v": "hit", // out/ is unanchored: ignored at any depth
		".gitignore.d/not.v":  "hit",
	})
	root := openRoot(t, dir)
	got, _, _ := collect(t, root, Query{Pattern: "hit"})
	want := []string{".gitignore.d/not.v", "a.v", "ign/keep.v", "other/secret.v", "out2/reinc/x.v", "sub/b.tmp", "sub/deeper/c.tmp", "sub/deeper/local.v"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	all, _, _ := collect(t, root, Query{Pattern: "hit", NoIgnore: true})
	if len(all) != 13 {
		t.Errorf("noIgnore: %d files, want 13: %v", len(all), all)
	}
}
