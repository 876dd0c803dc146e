package filenames

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gatewave.dev/sessiond/ignore"
	"gatewave.dev/sessiond/workspace"
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

	// What an update needs to judge a new path as the walk would have.
	ignores  map[string]*ignore.File // each directory's .gitignore ("" the root's)
	exclude  *ignore.File            // .git/info/exclude
	maxFiles int
	skip     []string
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

// Build walks the tree under root. Every open goes through root (each
// directory is opened as an os.Root inside its parent), so a symlink
// leading outside the workspace is never followed; symlinks are listed when
// they resolve, inside the workspace, to a regular file, and never
// descended into (no loops). Paths ignored by .gitignore files (the
// root's, nested ones and .git/info/exclude) are left out, and so are
// directories they ignore, unwalked. Subtrees are walked in parallel; the
// order is the same as a sequential walk's: a directory's files by name,
// then its subdirectories by name.
func Build(root *os.Root, o BuildOptions) (*Index, error) {
	if o.MaxFiles == 0 {
		o.MaxFiles = 1_000_000
	}
	if o.Skip == nil {
		o.Skip = []string{".git"}
	}
	start := time.Now()
	exclude := ignore.ReadExclude(root)
	stack := ignore.Stack{}.With(exclude)
	w := &walker{top: root, o: &o, sem: make(chan struct{}, 2*runtime.GOMAXPROCS(0)), ignores: map[string]*ignore.File{}}
	var top part
	if err := w.walk(root, "", stack, 0, &top); err != nil {
		return nil, fmt.Errorf("index workspace: %w", err)
	}
	w.wg.Wait()
	x := &Index{ignores: w.ignores, exclude: exclude, maxFiles: o.MaxFiles, skip: o.Skip}
	x.flatten(&top, o.MaxFiles)
	x.Truncated = x.Truncated || w.count.Load() > int64(o.MaxFiles)
	x.lower = make([]string, len(x.paths))
	for i, p := range x.paths {
		x.lower[i] = lowerASCII(p)
	}
	x.Built = time.Now()
	x.Took = x.Built.Sub(start)
	return x, nil
}

// maxDepth stops a walk that a directory swapped for a symlink mid-walk
// could otherwise send round a loop.
const maxDepth = 256

type walker struct {
	top   *os.Root
	o     *BuildOptions
	sem   chan struct{} // bounds the goroutines walking subtrees
	wg    sync.WaitGroup
	count atomic.Int64 // files found so far, to stop at MaxFiles

	mu      sync.Mutex
	ignores map[string]*ignore.File // the .gitignore files met, by directory
}

// part is what one directory holds: its files, then its subdirectories'
// parts in name order.
type part struct {
	paths []string
	base  []int32
	subs  []*part
}

// walk lists the directory r (rel is its workspace path, "" for the root)
// into p. Only an error on the root itself is returned: a subdirectory that
// vanished or cannot be read is left out.
func (w *walker) walk(r *os.Root, rel string, stack ignore.Stack, depth int, p *part) error {
	d, err := r.Open(".")
	if err != nil {
		return err
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil && len(ents) == 0 {
		return err
	}
	prefix := ""
	if rel != "" {
		prefix = rel + "/"
	}
	for _, e := range ents {
		if e.Name() == ".gitignore" && e.Type().IsRegular() {
			if data, err := readSmall(r, ".gitignore"); err == nil {
				f := ignore.Parse(rel, data)
				stack = stack.With(f)
				w.mu.Lock()
				w.ignores[rel] = f
				w.mu.Unlock()
			}
			break
		}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	var subdirs []string
	for _, e := range ents {
		name := e.Name()
		path := prefix + name
		t := e.Type()
		switch {
		case t.IsDir():
			if !slices.Contains(w.o.Skip, name) && !stack.Ignored(path, true) {
				subdirs = append(subdirs, name)
			}
		case t.IsRegular():
			if !stack.Ignored(path, false) {
				p.paths = append(p.paths, path)
				p.base = append(p.base, int32(len(prefix)))
			}
		case t&fs.ModeSymlink != 0:
			if stack.Ignored(path, false) {
				continue
			}
			// Stat through the workspace's root: a link out of it fails here.
			if fi, err := w.top.Stat(path); err == nil && fi.Mode().IsRegular() {
				p.paths = append(p.paths, path)
				p.base = append(p.base, int32(len(prefix)))
			}
		}
	}
	if w.count.Add(int64(len(p.paths))) > int64(w.o.MaxFiles) || depth >= maxDepth || len(prefix) > workspace.MaxPathLen {
		return nil
	}
	p.subs = make([]*part, len(subdirs))
	for i, name := range subdirs {
		sp := &part{}
		p.subs[i] = sp
		sub, err := r.OpenRoot(name)
		if err != nil {
			continue // vanished, unreadable, or swapped for a link that leaves r
		}
		select {
		case w.sem <- struct{}{}:
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				defer func() { <-w.sem }()
				_ = w.walk(sub, prefix+name, stack, depth+1, sp)
				sub.Close()
			}()
		default:
			_ = w.walk(sub, prefix+name, stack, depth+1, sp)
			sub.Close()
		}
	}
	return nil
}

// flatten appends p's paths in walk order, at most limit in all.
func (x *Index) flatten(p *part, limit int) {
	if n := limit - len(x.paths); len(p.paths) > n {
		x.paths = append(x.paths, p.paths[:n]...)
		x.base = append(x.base, p.base[:n]...)
		x.Truncated = true
		return
	}
	x.paths = append(x.paths, p.paths...)
	x.base = append(x.base, p.base...)
	for _, sp := range p.subs {
		if x.Truncated {
			return
		}
		x.flatten(sp, limit)
	}
}

// readSmall reads a file of at most 1 MiB through root.
func readSmall(root *os.Root, rel string) ([]byte, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, ignore.MaxFileSize))
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
