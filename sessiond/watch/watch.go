// Package watch reports file-system changes under a workspace: recursive
// (directories are watched as they appear), debounced, with paths relative
// to the workspace root, fanned out to any number of subscribers.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Ops reported to clients.
const (
	OpCreate = "create"
	OpWrite  = "write"
	OpRemove = "remove"
	OpRename = "rename"
)

// Event is one debounced change.
type Event struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	// Type is "file" or "dir" when known at report time, "" after a removal.
	Type string `json:"type"`
}

// Options configure a Watcher. The zero value works.
type Options struct {
	// Debounce is how long changes are gathered before they are sent;
	// 0 means 75 ms.
	Debounce time.Duration
	// Ignore lists directory names never descended into (matched on the
	// base name); nil means [".git"].
	Ignore []string
	// Logger receives watch errors; nil means slog.Default().
	Logger *slog.Logger
}

// Watcher watches one directory tree.
type Watcher struct {
	dir  string
	opts Options
	log  *slog.Logger
	fsw  *fsnotify.Watcher

	overflows  atomic.Uint64
	incomplete atomic.Bool // a directory could not be watched

	mu     sync.Mutex
	subs   map[chan []Event]struct{}
	closed bool
	done   chan struct{}
}

// New starts watching dir (an absolute, symlink-free path) recursively.
func New(dir string, o Options) (*Watcher, error) {
	if o.Debounce == 0 {
		o.Debounce = 75 * time.Millisecond
	}
	if o.Ignore == nil {
		o.Ignore = []string{".git"}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("start watcher: %w", err)
	}
	w := &Watcher{dir: dir, opts: o, log: o.Logger, fsw: fsw, subs: map[chan []Event]struct{}{}, done: make(chan struct{})}
	if err := w.addTree(dir, nil); err != nil {
		fsw.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// Subscribe returns a channel of event batches and a cancel function. A
// subscriber that falls behind by more than 256 batches is dropped (its
// channel is closed) rather than slowing the others down.
func (w *Watcher) Subscribe() (<-chan []Event, func()) {
	ch := make(chan []Event, 256)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		close(ch)
		return ch, func() {}
	}
	w.subs[ch] = struct{}{}
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.subs[ch]; ok {
			delete(w.subs, ch)
			close(ch)
		}
	}
}

// Overflows counts the times the kernel's event queue overflowed: after
// one, some changes were never reported, and a subscriber that mirrors the
// tree (the quick-open index) must read it again.
func (w *Watcher) Overflows() uint64 { return w.overflows.Load() }

// Incomplete reports whether some directory could not be watched (the
// inotify watch limit, say): changes below it go unreported.
func (w *Watcher) Incomplete() bool { return w.incomplete.Load() }

// Close stops watching and closes every subscription.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	for ch := range w.subs {
		delete(w.subs, ch)
		close(ch)
	}
	w.mu.Unlock()
	err := w.fsw.Close()
	<-w.done
	return err
}

func (w *Watcher) ignored(name string) bool { return slices.Contains(w.opts.Ignore, name) }

// addTree watches dir and every directory below it, without following
// symlinks. When found is not nil, each entry met is reported as created:
// files made in a new directory before its watch existed are not missed.
func (w *Watcher) addTree(dir string, found func(rel, typ string)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("watch %q: %w", dir, err)
			}
			return nil // vanished or unreadable below the root: skip it
		}
		rel, _ := filepath.Rel(w.dir, p)
		if d.IsDir() {
			if p != w.dir && w.ignored(d.Name()) {
				return filepath.SkipDir
			}
			if err := w.fsw.Add(p); err != nil {
				w.incomplete.Store(true)
				w.log.Warn("watch directory", "path", filepath.ToSlash(rel), "err", err)
				return filepath.SkipDir
			}
			// inotify follows symlinks: if the directory was swapped for a
			// link between the walk's lstat and the Add, drop the watch.
			if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
				_ = w.fsw.Remove(p)
				return filepath.SkipDir
			}
			if found != nil && p != dir {
				found(filepath.ToSlash(rel), "dir")
			}
			return nil
		}
		if found != nil {
			found(filepath.ToSlash(rel), typeOf(d.Type()))
		}
		return nil
	})
}

func typeOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "file"
}

func (w *Watcher) loop() {
	defer close(w.done)
	pending := map[string]Event{}
	var order []string
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	record := func(ev Event) {
		prev, seen := pending[ev.Path]
		if !seen {
			order = append(order, ev.Path)
		} else {
			switch {
			case prev.Op == OpCreate && ev.Op == OpWrite:
				ev.Op = OpCreate // still new to the client
			case prev.Op == OpCreate && (ev.Op == OpRemove || ev.Op == OpRename):
				ev.Op = "" // came and went inside one window: say nothing
			}
		}
		pending[ev.Path] = ev
		if !armed {
			timer.Reset(w.opts.Debounce)
			armed = true
		}
	}
	for {
		select {
		case e, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.handle(e, record)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.overflows.Add(1)
				w.log.Warn("watch queue overflowed; some changes were not reported", "err", err)
			} else {
				w.log.Warn("watch error", "err", err)
			}
		case <-timer.C:
			armed = false
			batch := make([]Event, 0, len(order))
			for _, p := range order {
				if ev := pending[p]; ev.Op != "" {
					batch = append(batch, ev)
				}
			}
			clear(pending)
			order = order[:0]
			if len(batch) > 0 {
				w.publish(batch)
			}
		}
	}
}

func (w *Watcher) handle(e fsnotify.Event, record func(Event)) {
	rel, err := filepath.Rel(w.dir, e.Name)
	if err != nil || !filepath.IsLocal(rel) {
		return
	}
	rel = filepath.ToSlash(rel)
	if slices.ContainsFunc(strings.Split(rel, "/"), w.ignored) {
		return
	}
	switch {
	case e.Has(fsnotify.Create):
		typ := "file"
		if fi, err := os.Lstat(e.Name); err == nil {
			typ = typeOf(fi.Mode())
			if fi.IsDir() {
				_ = w.addTree(e.Name, func(r, t string) { record(Event{Op: OpCreate, Path: r, Type: t}) })
			}
		}
		record(Event{Op: OpCreate, Path: rel, Type: typ})
	case e.Has(fsnotify.Write):
		record(Event{Op: OpWrite, Path: rel, Type: "file"})
	case e.Has(fsnotify.Remove):
		record(Event{Op: OpRemove, Path: rel})
	case e.Has(fsnotify.Rename):
		record(Event{Op: OpRename, Path: rel})
	}
}

func (w *Watcher) publish(batch []Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs {
		select {
		case ch <- batch:
		default:
			w.log.Warn("watch subscriber too slow; dropping it")
			delete(w.subs, ch)
			close(ch)
		}
	}
}
