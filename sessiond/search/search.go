package search

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"gatewave.dev/sessiond/ignore"
)

// Options tunes a search; the zero value works.
type Options struct {
	// Workers is the number of goroutines reading and matching files; 0
	// means GOMAXPROCS (at least 2).
	Workers int
	// MaxFileSize skips larger files (counted in Summary.Skipped); 0 means
	// DefaultMaxFileSize.
	MaxFileSize int64
}

// DefaultMaxFileSize is the size above which a file is skipped: source
// files are far smaller, and a dump or an image is not worth the read.
const DefaultMaxFileSize = 16 << 20

// binaryProbe is how much of a file's head is checked for a NUL byte, the
// test git and ripgrep use to call a file binary.
const binaryProbe = 8 << 10

// FileMatches is the matches in one file.
type FileMatches struct {
	// Path is workspace-relative with '/'.
	Path string `json:"path"`
	// Sum is the SHA-256 of the bytes searched, the file's ETag without
	// quotes: a replace sends it back so a file that changed since is
	// skipped.
	Sum     string  `json:"sha256"`
	Matches []Match `json:"matches"`
}

// Summary describes a finished (or stopped) search.
type Summary struct {
	Files   int `json:"files"`   // files with at least one match
	Matches int `json:"matches"` // matches reported
	Scanned int `json:"scanned"` // files read
	// Skipped counts files not searched: binary, or over MaxFileSize.
	Skipped int `json:"skipped"`
	// Truncated says the search stopped at Query.MaxResults.
	Truncated bool  `json:"truncated"`
	Millis    int64 `json:"ms"`
}

// Run searches the tree under root and calls emit once per file with
// matches, from one goroutine, as files are found (in no particular
// order). It stops early when ctx is done, when emit fails, or at the
// result cap. Nothing outside root is read: directories and files are
// opened through os.Root, and symlinks are never followed.
func Run(ctx context.Context, root *os.Root, q Query, o Options, emit func(*FileMatches) error) (Summary, error) {
	start := time.Now()
	var sum Summary
	m, err := compile(q)
	if err != nil {
		return sum, err
	}
	inc, err := parseGlobs(q.Include)
	if err != nil {
		return sum, err
	}
	exc, err := parseGlobs(q.Exclude)
	if err != nil {
		return sum, err
	}
	limit := q.MaxResults
	if limit <= 0 {
		limit = DefaultMaxResults
	}
	workers := o.Workers
	if workers <= 0 {
		workers = max(runtime.GOMAXPROCS(0), 2)
	}
	maxSize := o.MaxFileSize
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		dirfd int // the file's directory, shared; closed by the walker's refcount
		name  string
		rel   string
		done  func()
	}
	jobs := make(chan job, 256)
	results := make(chan *FileMatches, 64)
	var scanned, skipped atomic.Int64
	var remaining atomic.Int64 // matches still allowed
	remaining.Store(int64(limit))

	// The walker closes each directory it opens; top is its own handle on
	// the root, so the caller's stays open.
	top, err := root.OpenRoot(".")
	if err != nil {
		return sum, fmt.Errorf("search: open workspace root: %w", err)
	}
	w := &walker{ctx: ctx, inc: inc, exc: exc, noIgnore: q.NoIgnore}
	var walkErr error
	go func() {
		defer close(jobs)
		var ign ignore.Stack
		if !q.NoIgnore {
			ign = ign.With(ignore.ReadExclude(top))
		}
		walkErr = w.walk(top, ".", ign, func(dirfd int, name, rel string, done func()) bool {
			select {
			case jobs <- job{dirfd: dirfd, name: name, rel: rel, done: done}:
				return true
			case <-ctx.Done():
				done()
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for j := range jobs {
				if ctx.Err() != nil {
					j.done()
					continue
				}
				var fm *FileMatches
				var ok bool
				buf, fm, ok = searchFile(j.dirfd, j.name, j.rel, buf, maxSize, m, q.Replace, &remaining)
				j.done()
				if !ok {
					skipped.Add(1)
					continue
				}
				scanned.Add(1)
				if fm == nil {
					continue
				}
				select {
				case results <- fm:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	var emitErr error
	for fm := range results {
		if emitErr != nil || ctx.Err() != nil {
			continue
		}
		// Workers race for the last slots; the cap is enforced here.
		if left := limit - sum.Matches; len(fm.Matches) > left {
			fm.Matches = fm.Matches[:left]
		}
		sum.Files++
		sum.Matches += len(fm.Matches)
		if err := emit(fm); err != nil {
			emitErr = err
			cancel()
			continue
		}
		if sum.Matches >= limit {
			sum.Truncated = true
			cancel()
		}
	}
	sum.Scanned = int(scanned.Load())
	sum.Skipped = int(skipped.Load())
	sum.Millis = time.Since(start).Milliseconds()
	if emitErr != nil {
		return sum, emitErr
	}
	if sum.Truncated {
		return sum, nil
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, walkErr
}

// searchFile reads one file once and matches it. ok is false for a file
// skipped as binary, too large, unreadable or not a regular file.
func searchFile(dirfd int, name, rel string, buf []byte, maxSize int64, m *matcher, repl *string, remaining *atomic.Int64) ([]byte, *FileMatches, bool) {
	// name is one component of a directory opened through os.Root, so the
	// open stays in that directory; O_NOFOLLOW refuses an entry swapped for
	// a symlink after the listing (os.Root's own OpenFile would follow a
	// link that stays inside the root; we follow none). O_NONBLOCK: a FIFO
	// swapped in cannot hang the worker (it fails the regular-file check).
	// Raw syscalls, not an *os.File: os.NewFile would try to register a
	// non-blocking descriptor with the poller, a wasted syscall per file.
	fd, err := openNoFollow(dirfd, name)
	if err != nil {
		return buf, nil, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size > maxSize {
		return buf, nil, false
	}
	// One read of the size fstat gave (and a second only for a short
	// read): a file that grows meanwhile is searched as it was.
	size := int(st.Size)
	if cap(buf) < size {
		buf = make([]byte, size, max(size, 64<<10))
	}
	buf = buf[:size]
	n := 0
	for n < size {
		k, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf, nil, false
		}
		if k == 0 {
			break
		}
		n += k
	}
	data := buf[:n]
	if bytes.IndexByte(data[:min(len(data), binaryProbe)], 0) >= 0 {
		return buf, nil, false
	}
	if !m.has(data) {
		return buf, nil, true
	}
	left := int(remaining.Load())
	if left <= 0 {
		return buf, nil, true
	}
	ms := m.find(data, left, repl, nil)
	if len(ms) == 0 {
		return buf, nil, true
	}
	remaining.Add(-int64(len(ms)))
	s := sha256.Sum256(data)
	return buf, &FileMatches{Path: rel, Sum: hex.EncodeToString(s[:]), Matches: ms}, true
}

// walker lists directories depth first, applying .gitignore and the
// include/exclude globs.
type walker struct {
	ctx      context.Context
	inc, exc globSet
	noIgnore bool
}

// walk lists dir (rel is its workspace-relative path) and calls file for
// each file to search. file takes ownership of one reference to dir and
// calls done when it no longer needs it; the walker closes dir when the
// last reference goes.
func (w *walker) walk(dir *os.Root, rel string, ign ignore.Stack, file func(dirfd int, name, rel string, done func()) bool) error {
	d, err := dir.Open(".")
	if err != nil {
		dir.Close()
		return nil // unreadable directory: skip it, as rg does
	}
	refs := new(atomic.Int64)
	refs.Store(1)
	release := func() {
		if refs.Add(-1) == 0 {
			d.Close()
			dir.Close()
		}
	}
	defer release()
	entries, err := d.ReadDir(-1)
	if err != nil && len(entries) == 0 {
		return nil
	}
	dirfd := int(d.Fd())
	if !w.noIgnore {
		for _, e := range entries {
			if e.Name() == ".gitignore" && e.Type().IsRegular() {
				if data, err := readSmall(dirfd, ".gitignore"); err == nil {
					ign = ign.With(ignore.Parse(rel, data))
				}
				break
			}
		}
	}
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		t := e.Type()
		if t&fs.ModeSymlink != 0 {
			continue // never followed: it may lead outside, or loop
		}
		child := name
		if rel != "." {
			child = rel + "/" + name
		}
		switch {
		case t.IsDir():
			if name == ".git" || (!w.noIgnore && ign.Ignored(child, true)) || w.exc.matchDir(child) {
				continue
			}
			sub, err := dir.OpenRoot(name)
			if err != nil {
				continue
			}
			if err := w.walk(sub, child, ign, file); err != nil {
				return err
			}
		case t.IsRegular():
			if (!w.noIgnore && ign.Ignored(child, false)) || w.exc.matchFile(child) {
				continue
			}
			if !w.inc.empty() && !w.inc.matchFile(child) {
				continue
			}
			refs.Add(1)
			if !file(dirfd, name, child, release) {
				return w.ctx.Err()
			}
		}
	}
	return nil
}

func readSmall(dirfd int, name string) ([]byte, error) {
	fd, err := openNoFollow(dirfd, name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, ignore.MaxFileSize))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

// openNoFollow opens one entry of a directory for reading, refusing a
// symlink; EINTR is retried.
func openNoFollow(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
