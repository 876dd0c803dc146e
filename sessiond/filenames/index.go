package filenames

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// Index is an immutable snapshot of the workspace's file paths.
type Index struct {
	paths []string
	lower []string // ASCII-lowercased paths, for case-insensitive matching
	base  []int32  // byte offset of the base name in each path
	// Truncated is set when the walk stopped at MaxFiles.
	Truncated bool
	// Built is when the walk finished; Took is how long it ran.
	Built time.Time
	Took  time.Duration
}

// Len is the number of files in the index.
func (x *Index) Len() int { return len(x.paths) }

// Paths returns the indexed paths in walk order (directory by directory,
// names sorted).
func (x *Index) Paths() []string { return slices.Clone(x.paths) }

// BuildOptions choose what Build indexes. The zero value works.
type BuildOptions struct {
	// MaxFiles caps the index; 0 means 1,000,000.
	MaxFiles int
	// Skip lists directory names never descended into; nil means [".git"].
	Skip []string
}

// Build walks the tree under root. Every open goes through root, so a
// symlink leading outside the workspace is never followed; symlinks are
// listed when they resolve, inside the workspace, to a regular file, and
// never descended into (no loops). Paths ignored by .gitignore files (the
// root's, nested ones and .git/info/exclude) are left out, and so are
// directories they ignore, unwalked.
func Build(root *os.Root, o BuildOptions) (*Index, error) {
	if o.MaxFiles == 0 {
		o.MaxFiles = 1_000_000
	}
	if o.Skip == nil {
		o.Skip = []string{".git"}
	}
	start := time.Now()
	x := &Index{}
	var stack ignoreStack
	if data, err := readSmall(root, ".git/info/exclude"); err == nil {
		f := parseIgnore("", data)
		stack = append(stack, &f)
	}
	if err := x.walk(root, ".", stack, &o); err != nil {
		return nil, err
	}
	x.lower = make([]string, len(x.paths))
	for i, p := range x.paths {
		x.lower[i] = lowerASCII(p)
	}
	x.Built = time.Now()
	x.Took = x.Built.Sub(start)
	return x, nil
}

func (x *Index) walk(root *os.Root, dir string, stack ignoreStack, o *BuildOptions) error {
	d, err := root.Open(dir)
	if err != nil {
		if dir == "." {
			return fmt.Errorf("index workspace: %w", err)
		}
		return nil // vanished or unreadable since it was listed: leave it out
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil && len(ents) == 0 {
		if dir == "." {
			return fmt.Errorf("index workspace: %w", err)
		}
		return nil
	}
	prefix := ""
	if dir != "." {
		prefix = dir + "/"
	}
	for _, e := range ents {
		if e.Name() == ".gitignore" && e.Type().IsRegular() {
			if data, err := readSmall(root, prefix+".gitignore"); err == nil {
				f := parseIgnore(strings.TrimSuffix(prefix, "/"), data)
				stack = append(stack[:len(stack):len(stack)], &f)
			}
			break
		}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	var subdirs []string
	for _, e := range ents {
		name := e.Name()
		rel := prefix + name
		t := e.Type()
		switch {
		case t.IsDir():
			if slices.Contains(o.Skip, name) || stack.ignored(rel, name, true) {
				continue
			}
			subdirs = append(subdirs, rel)
		case t.IsRegular():
			if stack.ignored(rel, name, false) {
				continue
			}
			if !x.add(rel, len(prefix), o) {
				return nil
			}
		case t&fs.ModeSymlink != 0:
			if stack.ignored(rel, name, false) {
				continue
			}
			// Stat through the root: a link out of the workspace fails here.
			fi, err := root.Stat(rel)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if !x.add(rel, len(prefix), o) {
				return nil
			}
		}
	}
	for _, sd := range subdirs {
		if x.Truncated {
			return nil
		}
		if err := x.walk(root, sd, stack, o); err != nil {
			return err
		}
	}
	return nil
}

// add appends a path; false means the index is full.
func (x *Index) add(rel string, base int, o *BuildOptions) bool {
	if len(x.paths) >= o.MaxFiles {
		x.Truncated = true
		return false
	}
	x.paths = append(x.paths, rel)
	x.base = append(x.base, int32(base))
	return true
}

// readSmall reads a file of at most 1 MiB through root.
func readSmall(root *os.Root, rel string) ([]byte, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
