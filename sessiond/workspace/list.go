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

// List returns one level of the directory rel: directories first, then
// everything else, each group sorted by name. Entries are stat'ed relative to
// the open directory handle (fstatat, no symlink following), in parallel,
// so a directory of 100,000 entries costs one getdents pass plus cheap stats.
func (w *Workspace) List(rel string, o ListOptions) ([]Entry, error) {
	d, err := w.root.Open(rel)
	if err != nil {
		return nil, mapErr("list", rel, err)
	}
	defer d.Close()
	st, err := d.Stat()
	if err != nil {
		return nil, mapErr("list", rel, err)
	}
	if !st.IsDir() {
		return nil, apierr.BadRequest("list %q: not a directory", rel)
	}
	if o.NamesOnly {
		return listNames(d, rel)
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
func listNames(d *os.File, rel string) ([]Entry, error) {
	raw, err := d.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", rel, err)
	}
	var names []string
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
			names, types = parseDirents(buf[:n], names, types)
		}
	})
	if cerr != nil {
		return nil, fmt.Errorf("list %q: %w", rel, cerr)
	}
	if derr != nil {
		return nil, derr
	}
	// Sort the names with their types attached after a NUL (which no name
	// holds and which sorts before every other byte): a plain string sort
	// is much faster than sorting an index with a comparison closure.
	for i := range names {
		names[i] = names[i] + "\x00" + string(types[i])
	}
	slices.Sort(names)
	entries := make([]Entry, 0, len(names))
	for _, packed := range names {
		name, typ := packed[:len(packed)-2], packed[len(packed)-1]
		e := Entry{Name: name, Path: join(rel, name)}
		switch typ {
		case unix.DT_REG:
			e.Type = TypeFile
		case unix.DT_DIR:
			e.Type = TypeDir
		case unix.DT_LNK:
			e.Type = TypeSymlink
		case unix.DT_UNKNOWN:
			var st unix.Stat_t
			if err := raw.Control(func(fd uintptr) {
				err = unix.Fstatat(int(fd), e.Name, &st, unix.AT_SYMLINK_NOFOLLOW)
			}); err != nil {
				continue
			}
			e.Type = typeOf(st.Mode)
		default:
			e.Type = TypeOther
		}
		entries = append(entries, e)
	}
	return dirsFirst(entries), nil
}

// parseDirents appends the names and d_types of the linux_dirent64 records
// in buf, skipping "." and "..".
func parseDirents(buf []byte, names []string, types []byte) ([]string, []byte) {
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
		if s := string(name); s != "." && s != ".." {
			names = append(names, s)
			types = append(types, typ)
		}
		buf = buf[reclen:]
	}
	return names, types
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
