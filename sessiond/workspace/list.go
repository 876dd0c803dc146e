package workspace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"gatewave.dev/shared/apierr"
)

// Entry types as reported to clients.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeOther   = "other"
)

// Entry is one directory entry as the files API reports it.
type Entry struct {
	Name string `json:"name"`
	// Path is relative to the workspace root, slash-separated.
	Path string `json:"path"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	// MTime is the modification time in Unix milliseconds.
	MTime int64 `json:"mtime"`
}

// ListOptions choose what List reports.
type ListOptions struct {
	// NamesOnly skips the per-entry stat: entries carry name, path and
	// type (from the directory itself, as `ls -f` and `find` see it) but
	// no size or mtime. For trees that only need names, it is several
	// times faster on huge directories.
	NamesOnly bool
}

// Names is a names-only listing of one directory, kept as the sorted names
// of each type: no per-entry struct or path is made, so a 100,000-entry
// directory costs little more than reading it (see AppendNamesJSON).
type Names struct {
	// Dir is the directory, workspace-relative ("." for the root).
	Dir    string
	groups [4][]string // dirs, files, symlinks, others; each sorted
}

// Len is the number of entries.
func (n *Names) Len() int {
	return len(n.groups[0]) + len(n.groups[1]) + len(n.groups[2]) + len(n.groups[3])
}

var groupTypes = [4]string{TypeDir, TypeFile, TypeSymlink, TypeOther}

// each calls f for every entry in List's order: directories first, then
// everything else, each by name.
func (n *Names) each(f func(name, typ string)) {
	for _, name := range n.groups[0] {
		f(name, TypeDir)
	}
	rest := [3][]string{n.groups[1], n.groups[2], n.groups[3]}
	for {
		best := -1
		for k := range rest {
			if len(rest[k]) > 0 && (best < 0 || rest[k][0] < rest[best][0]) {
				best = k
			}
		}
		if best < 0 {
			return
		}
		if len(rest[(best+1)%3]) == 0 && len(rest[(best+2)%3]) == 0 {
			for _, name := range rest[best] {
				f(name, groupTypes[best+1])
			}
			return
		}
		f(rest[best][0], groupTypes[best+1])
		rest[best] = rest[best][1:]
	}
}

// openDir opens the directory rel through the root, refusing anything else.
func (w *Workspace) openDir(rel string) (*os.File, error) {
	d, err := w.root.Open(rel)
	if err != nil {
		return nil, mapErr("list", rel, err)
	}
	st, err := d.Stat()
	if err != nil {
		d.Close()
		return nil, mapErr("list", rel, err)
	}
	if !st.IsDir() {
		d.Close()
		return nil, apierr.BadRequest("list %q: not a directory", rel)
	}
	return d, nil
}

// ListNames is List with NamesOnly, without building an Entry per name.
func (w *Workspace) ListNames(rel string) (*Names, error) {
	d, err := w.openDir(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	groups, err := listNames(d, rel)
	if err != nil {
		return nil, err
	}
	return &Names{Dir: rel, groups: groups}, nil
}

// List returns one level of the directory rel: directories first, then
// everything else, each group sorted by name. Entries are stat'ed relative to
// the open directory handle (fstatat, no symlink following), in parallel,
// so a directory of 100,000 entries costs one getdents pass plus cheap stats.
func (w *Workspace) List(rel string, o ListOptions) ([]Entry, error) {
	d, err := w.openDir(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if o.NamesOnly {
		groups, err := listNames(d, rel)
		if err != nil {
			return nil, err
		}
		var entries []Entry
		(&Names{Dir: rel, groups: groups}).each(func(name, typ string) {
			entries = append(entries, Entry{Name: name, Path: join(rel, name), Type: typ})
		})
		return entries, nil
	}
	var names []string
	for {
		batch, err := d.Readdirnames(8192)
		names = append(names, batch...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, mapErr("list", rel, err)
		}
	}
	slices.Sort(names)
	raw, err := d.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", rel, err)
	}
	entries := make([]Entry, len(names))
	var statErr error
	cerr := raw.Control(func(fd uintptr) {
		statErr = statAll(int(fd), rel, names, entries)
	})
	if cerr != nil {
		return nil, fmt.Errorf("list %q: %w", rel, cerr)
	}
	if statErr != nil {
		return nil, statErr
	}
	// "" marks an entry that vanished between readdir and stat.
	return dirsFirst(slices.DeleteFunc(entries, func(e Entry) bool { return e.Type == "" })), nil
}

// listNames lists d with the types getdents reports, as `ls -f` does.
// (os.File.ReadDir would not do: it fstatat()s every entry of a directory
// opened through an os.Root.) Entries whose type the file system left
// unknown are stat'ed.
//
// It is the hot path of the 100,000-entry names-only listing: names and
// paths are cut from two arenas (two allocations, not one per entry), each
// type is sorted on its own (plain string sorts, the two halves of a big
// group on two cores) and the non-directories merged back by name.
func listNames(d *os.File, rel string) (groups [4][]string, err error) {
	raw, err := d.SyscallConn()
	if err != nil {
		return groups, fmt.Errorf("list %q: %w", rel, err)
	}
	var arena []byte
	var ends []int32 // end of each name in arena
	var types []byte
	var derr error
	cerr := raw.Control(func(fd uintptr) {
		buf := make([]byte, 256<<10)
		for {
			n, err := unix.Getdents(int(fd), buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				derr = mapErr("list", rel, &fs.PathError{Op: "getdents", Path: rel, Err: err})
				return
			}
			if n <= 0 {
				return
			}
			arena, ends, types = parseDirents(buf[:n], arena, ends, types)
		}
	})
	if cerr != nil {
		return groups, fmt.Errorf("list %q: %w", rel, cerr)
	}
	if derr != nil {
		return groups, derr
	}
	all := string(arena)
	// groups: dirs, files, symlinks, others; sized first, so appending
	// makes no garbage (d_type DT_UNKNOWN counts as "other" here).
	var counts [4]int
	for _, t := range types {
		counts[groupOf(t)]++
	}
	for i, c := range counts {
		groups[i] = make([]string, 0, c)
	}
	start := int32(0)
	for i, end := range ends {
		name := all[start:end]
		start = end
		g := 3
		switch types[i] {
		case unix.DT_DIR:
			g = 0
		case unix.DT_REG:
			g = 1
		case unix.DT_LNK:
			g = 2
		case unix.DT_UNKNOWN:
			var st unix.Stat_t
			var serr error
			if err := raw.Control(func(fd uintptr) {
				serr = unix.Fstatat(int(fd), name, &st, unix.AT_SYMLINK_NOFOLLOW)
			}); err != nil || serr != nil {
				continue // vanished
			}
			switch typeOf(st.Mode) {
			case TypeDir:
				g = 0
			case TypeFile:
				g = 1
			case TypeSymlink:
				g = 2
			}
		}
		groups[g] = append(groups[g], name)
	}
	for i := range groups {
		sortNames(groups[i])
	}
	return groups, nil
}

func groupOf(dtype byte) int {
	switch dtype {
	case unix.DT_DIR:
		return 0
	case unix.DT_REG:
		return 1
	case unix.DT_LNK:
		return 2
	}
	return 3
}

// sortNames sorts names; a big slice is sorted in two halves on two
// goroutines and merged.
func sortNames(names []string) {
	if len(names) < 8192 || runtime.GOMAXPROCS(0) < 2 {
		slices.Sort(names)
		return
	}
	mid := len(names) / 2
	a, b := names[:mid], names[mid:]
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		slices.Sort(a)
	}()
	slices.Sort(b)
	wg.Wait()
	if a[len(a)-1] <= b[0] {
		return // already in order (a directory of numbered files often is)
	}
	merged := make([]string, 0, len(names))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if b[j] < a[i] {
			merged = append(merged, b[j])
			j++
		} else {
			merged = append(merged, a[i])
			i++
		}
	}
	merged = append(merged, a[i:]...)
	merged = append(merged, b[j:]...)
	copy(names, merged)
}

// parseDirents appends the names of the linux_dirent64 records in buf to
// arena (ends marks where each stops) and their d_types to types,
// skipping "." and "..".
func parseDirents(buf, arena []byte, ends []int32, types []byte) ([]byte, []int32, []byte) {
	for len(buf) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < 19 || reclen > len(buf) {
			break
		}
		typ := buf[18]
		name := buf[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		buf = buf[reclen:]
		if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
			continue
		}
		arena = append(arena, name...)
		ends = append(ends, int32(len(arena)))
		types = append(types, typ)
	}
	return arena, ends, types
}

// dirsFirst moves directories ahead of everything else, keeping each
// group's (name) order, without comparing strings again.
func dirsFirst(entries []Entry) []Entry {
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if e.Type == TypeDir {
			out = append(out, e)
		}
	}
	for _, e := range entries {
		if e.Type != TypeDir {
			out = append(out, e)
		}
	}
	return out
}

func statAll(dirfd int, rel string, names []string, out []Entry) error {
	workers := runtime.GOMAXPROCS(0)
	if len(names) < 256 {
		workers = 1
	}
	chunk := (len(names) + workers - 1) / workers
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for wi := 0; wi < workers; wi++ {
		lo, hi := wi*chunk, min((wi+1)*chunk, len(names))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(wi, lo, hi int) {
			defer wg.Done()
			var st unix.Stat_t
			for i := lo; i < hi; i++ {
				name := names[i]
				if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					if err == unix.ENOENT {
						continue
					}
					errs[wi] = mapErr("stat", join(rel, name), &fs.PathError{Op: "stat", Path: name, Err: err})
					return
				}
				out[i] = Entry{
					Name:  name,
					Path:  join(rel, name),
					Type:  typeOf(st.Mode),
					Size:  st.Size,
					MTime: st.Mtim.Sec*1000 + st.Mtim.Nsec/1e6,
				}
			}
		}(wi, lo, hi)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func typeOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return TypeFile
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFLNK:
		return TypeSymlink
	}
	return TypeOther
}

func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}
