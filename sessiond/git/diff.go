package git

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"unicode/utf8"

	"gatewave.dev/shared/apierr"
)

// MaxDiffBytes caps either side of a diff shown as text.
const MaxDiffBytes = 4 << 20

// Diff is the answer of GET /api/v1/git/diff: both sides as text for a
// side-by-side view, and the hunks git sees between them.
type Diff struct {
	Path string `json:"path"`
	// Staged: HEAD against the index; otherwise the index against the
	// working tree.
	Staged bool `json:"staged"`
	// Old and New are the two sides ("" for a side that does not exist).
	Old string `json:"old"`
	New string `json:"new"`
	// OldExists and NewExists say whether each side has the file.
	OldExists bool `json:"oldExists"`
	NewExists bool `json:"newExists"`
	// Untracked: the file is not in the index (staged only as a whole).
	Untracked bool `json:"untracked"`
	// Binary or TooLarge: the sides are left out.
	Binary   bool   `json:"binary"`
	TooLarge bool   `json:"tooLarge"`
	Hunks    []Hunk `json:"hunks"`
}

// blobAt is the content of path in the index (rev ":0") or a commit.
func (s *Service) blobAt(ctx context.Context, rev, path string) ([]byte, bool, error) {
	var out []byte
	var err error
	if rev == ":0" {
		out, err = s.git(ctx, "ls-files", "-s", "-z", "--", path)
	} else {
		out, err = s.git(ctx, "ls-tree", "-z", "--full-tree", rev, "--", path)
	}
	if err != nil {
		return nil, false, gitErr(err)
	}
	// "mode oid stage\tpath" or "mode type oid\tpath"
	for _, e := range bytes.Split(out, []byte{0}) {
		meta, p, ok := bytes.Cut(e, []byte{'\t'})
		if !ok || string(p) != path {
			continue
		}
		f := strings.Fields(string(meta))
		if len(f) != 3 {
			continue
		}
		oid := f[1]
		if rev != ":0" {
			if f[1] != "blob" {
				return nil, true, nil // a submodule or tree: no text
			}
			oid = f[2]
		} else if f[2] != "0" {
			continue // a conflict stage
		}
		if f[0] == "160000" {
			return nil, true, nil
		}
		b, err := s.git(ctx, "cat-file", "blob", oid)
		if err != nil {
			return nil, false, gitErr(err)
		}
		return b, true, nil
	}
	return nil, false, nil
}

// worktree is the file's content in the working tree, read through the
// workspace's os.Root (a symlink gives its target, as git stores it).
func (s *Service) worktree(path string) ([]byte, bool, error) {
	root := s.o.Workspace.Root()
	fi, err := root.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, apierr.Forbidden("%s: %v", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		t, err := root.Readlink(path)
		if err != nil {
			return nil, false, apierr.Forbidden("%s: %v", path, err)
		}
		return []byte(t), true, nil
	}
	if !fi.Mode().IsRegular() {
		return nil, true, nil
	}
	if fi.Size() > MaxDiffBytes {
		return make([]byte, MaxDiffBytes+1), true, nil
	}
	b, err := root.ReadFile(path)
	if err != nil {
		return nil, false, apierr.Forbidden("%s: %v", path, err)
	}
	return b, true, nil
}

// fileDiff is git's diff of one path: the index against the working tree,
// or HEAD (nothing before the first commit) against the index.
func (s *Service) fileDiff(ctx context.Context, path string, staged bool) (FileDiff, error) {
	args := []string{"diff", "--no-ext-diff", "--no-color", "--no-renames", "--no-textconv", "-U3"}
	if staged {
		args = append(args, "--cached")
	}
	out, err := s.git(ctx, append(args, "--", path)...)
	if err != nil {
		return FileDiff{}, gitErr(err)
	}
	return ParseDiff(string(out)), nil
}

// Diff answers both sides of path and the hunks between them.
func (s *Service) Diff(ctx context.Context, path string, staged bool) (*Diff, error) {
	path, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	d := &Diff{Path: path, Staged: staged, Hunks: []Hunk{}}
	var oldB, newB []byte
	if staged {
		if s.hasHead(ctx) {
			if oldB, d.OldExists, err = s.blobAt(ctx, "HEAD", path); err != nil {
				return nil, err
			}
		}
		if newB, d.NewExists, err = s.blobAt(ctx, ":0", path); err != nil {
			return nil, err
		}
	} else {
		if oldB, d.OldExists, err = s.blobAt(ctx, ":0", path); err != nil {
			return nil, err
		}
		if newB, d.NewExists, err = s.worktree(path); err != nil {
			return nil, err
		}
		if !d.OldExists {
			out, err := s.git(ctx, "ls-files", "-z", "--", path)
			if err != nil {
				return nil, gitErr(err)
			}
			d.Untracked = len(out) == 0
		}
	}
	fd, err := s.fileDiff(ctx, path, staged)
	if err != nil {
		return nil, err
	}
	d.Hunks = append(d.Hunks, fd.Hunks...)
	d.Binary = fd.Binary || isBinary(oldB) || isBinary(newB)
	d.TooLarge = len(oldB) > MaxDiffBytes || len(newB) > MaxDiffBytes
	if !d.Binary && !d.TooLarge {
		d.Old, d.New = string(oldB), string(newB)
	}
	return d, nil
}

// isBinary: a NUL byte or invalid UTF-8 in the first 8 KiB, as the editor
// decides.
func isBinary(b []byte) bool {
	if len(b) > 8192 {
		b = b[:8192]
		// do not count a rune cut at the end
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1]
		}
	}
	return bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b)
}
