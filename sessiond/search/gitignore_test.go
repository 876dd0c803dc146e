package search

import (
	"slices"
	"testing"
)

// The rules themselves are tested in package ignore; this checks that the
// walk applies nested files, and .git/info/exclude, as git does.
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
		".git/info/exclude":   "excluded.v\n",
		"sub/excluded.v":      "hit",
	})
	root := openRoot(t, dir)
	got, _, _ := collect(t, root, Query{Pattern: "hit"})
	want := []string{".gitignore.d/not.v", "a.v", "ign/keep.v", "other/secret.v", "out2/reinc/x.v", "sub/b.tmp", "sub/deeper/c.tmp", "sub/deeper/local.v"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	all, _, _ := collect(t, root, Query{Pattern: "hit", NoIgnore: true})
	if len(all) != 14 {
		t.Errorf("noIgnore: %d files, want 14: %v", len(all), all)
	}
}
