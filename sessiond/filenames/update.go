package filenames

import (
	"os"
	"path"
	"slices"
	"strings"

	"gatewave.dev/sessiond/ignore"
	"gatewave.dev/sessiond/watch"
)

// needsRebuild reports whether a batch of watcher events changes what is
// ignored (a .gitignore came, went or changed), which only a walk can
// redo.
func needsRebuild(batch []watch.Event) bool {
	for _, ev := range batch {
		if path.Base(ev.Path) == ".gitignore" {
			return true
		}
	}
	return false
}

// update returns a new index with the watcher's batch applied, as the walk
// would have seen the tree: removed and renamed-away paths go with
// everything below them, created files (and symlinks that resolve, inside
// the workspace, to a regular file) come in unless ignored or below an
// ignored or skipped directory. x is not changed (queries may be reading
// it). root is the workspace's root, for the symlink check.
func (x *Index) update(root *os.Root, batch []watch.Event) *Index {
	gone := map[string]bool{} // paths whose entry and subtree leave
	adds := map[string]bool{}
	var order []string
	for _, ev := range batch {
		switch ev.Op {
		case watch.OpRemove, watch.OpRename:
			gone[ev.Path] = true
			if adds[ev.Path] {
				delete(adds, ev.Path)
			}
		case watch.OpCreate:
			switch ev.Type {
			case "dir":
				// A directory made (or moved) here replaces whatever was
				// at its path; its entries come as creates of their own.
				gone[ev.Path] = true
			case "file", "symlink":
				if x.admits(root, ev.Path, ev.Type) {
					delete(gone, ev.Path)
					if !adds[ev.Path] {
						adds[ev.Path] = true
						order = append(order, ev.Path)
					}
				} else {
					gone[ev.Path] = true
				}
			}
		}
	}
	if len(gone) == 0 && len(adds) == 0 {
		return x
	}
	n := &Index{
		Truncated: x.Truncated, Built: x.Built, Took: x.Took,
		ignores: x.ignores, exclude: x.exclude, maxFiles: x.maxFiles, skip: x.skip,
		paths: make([]string, 0, len(x.paths)+len(order)),
		lower: make([]string, 0, len(x.paths)+len(order)),
		base:  make([]int32, 0, len(x.paths)+len(order)),
	}
	for i, p := range x.paths {
		if adds[p] {
			adds[p] = false // already indexed: keep its place
		} else if len(gone) > 0 && goneUnder(gone, p) {
			continue
		}
		n.paths = append(n.paths, p)
		n.lower = append(n.lower, x.lower[i])
		n.base = append(n.base, x.base[i])
	}
	for _, p := range order {
		if !adds[p] {
			continue
		}
		if len(n.paths) >= n.maxFiles {
			n.Truncated = true
			break
		}
		n.paths = append(n.paths, p)
		n.lower = append(n.lower, lowerASCII(p))
		n.base = append(n.base, int32(strings.LastIndexByte(p, '/')+1))
	}
	return n
}

// goneUnder reports whether p or a directory above it is in gone.
func goneUnder(gone map[string]bool, p string) bool {
	if gone[p] {
		return true
	}
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' && gone[p[:i]] {
			return true
		}
	}
	return false
}

// admits reports whether the walk would index the file at p.
func (x *Index) admits(root *os.Root, p, typ string) bool {
	segs := strings.Split(p, "/")
	for _, seg := range segs[:len(segs)-1] {
		if slices.Contains(x.skip, seg) {
			return false
		}
	}
	stack := ignore.Stack{}.With(x.exclude).With(x.ignores[""])
	for i := range p {
		if p[i] == '/' {
			stack = stack.With(x.ignores[p[:i]])
		}
	}
	if stack.IgnoredPath(p, false) {
		return false
	}
	if typ == "symlink" {
		// Stat through the workspace's root: a link out of it fails here.
		fi, err := root.Stat(p)
		return err == nil && fi.Mode().IsRegular()
	}
	// The watcher's type is from an lstat when the event was read; the
	// file may have gone or been swapped since: judge what is there now.
	fi, err := root.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}
