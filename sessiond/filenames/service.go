// Package filenames keeps an index of the workspace's file paths for quick
// open: a recursive walk through the workspace's os.Root (never following a
// symlink out of it) that respects .gitignore and skips .git, and a fuzzy
// ranking of the paths for a query, after VS Code's quick open, with the
// matched character positions for highlighting.
package filenames

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"gatewave.dev/sessiond/watch"
	"gatewave.dev/sessiond/workspace"
)

// Options configure a Service. Workspace is required; the zero value of
// every other field works.
type Options struct {
	// Workspace is the confined tree that is indexed.
	Workspace *workspace.Workspace
	// MaxAge is how old an index may be before a query starts a rebuild,
	// when no watcher keeps it up to date (see Watch); 0 means 2 s. A tree whose walk takes longer than MaxAge/10 is
	// rebuilt at most every ten walk times, so a huge tree does not keep a
	// core busy while someone types.
	MaxAge time.Duration
	// Lazy defers the first build to the first query; by default New
	// starts it at once, so the first Ctrl+P finds it ready.
	Lazy bool
	// SyncBuild: when the last build took less than this, a query on a
	// stale index waits for the rebuild (small workspaces are always
	// exact); otherwise it is answered from the stale index while the
	// rebuild runs. 0 means 100 ms.
	SyncBuild time.Duration
	// Build chooses what is indexed.
	Build BuildOptions
	// Logger receives build failures; nil means slog.Default().
	Logger *slog.Logger
	// Watch, when set, gives the workspace's file watcher (it is called
	// once, in the background). The index then follows the watcher's
	// events instead of being rebuilt as it ages: a created, renamed or
	// deleted file is in or out of the next query's answer without a walk.
	// The tree is walked again only when a .gitignore changes, and when the
	// watcher's queue overflowed or it dropped this subscriber (changes
	// were lost). nil, or a watcher that could not watch every directory:
	// rebuilt by age (MaxAge) as well.
	Watch func() (*watch.Watcher, error)
}

// Service owns the current index: it follows the file watcher when it has
// one, and rebuilds the index when it goes stale.
type Service struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	cur      *Index
	dirty    bool
	building chan struct{} // closed when the running build ends; nil if none
	lastErr  error

	// Following the watcher (Options.Watch).
	watcher   *watch.Watcher  // set while subscribed
	overflows uint64          // watcher.Overflows() when the last walk started
	pending   [][]watch.Event // batches that came during a walk, applied after it
	stop      chan struct{}   // closed by Close
	followed  chan struct{}   // closed when follow returns
	// subscribed is closed once follow subscribed (or found no watcher):
	// no walk starts before, so none misses an event.
	subscribed chan struct{}
}

// New returns a service; the first query builds the index.
func New(o Options) (*Service, error) {
	if o.Workspace == nil {
		return nil, errors.New("filenames: Options.Workspace is required")
	}
	if o.MaxAge == 0 {
		o.MaxAge = 2 * time.Second
	}
	if o.SyncBuild == 0 {
		o.SyncBuild = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{opts: o, log: o.Logger, stop: make(chan struct{}), followed: make(chan struct{}), subscribed: make(chan struct{})}
	if o.Watch != nil {
		go s.follow()
	} else {
		close(s.followed)
		close(s.subscribed)
	}
	if !o.Lazy && o.Watch == nil {
		s.mu.Lock()
		s.startBuild()
		s.mu.Unlock()
	}
	return s, nil
}

// startBuild starts a rebuild unless one runs; s.mu is held.
func (s *Service) startBuild() chan struct{} {
	if s.building == nil {
		s.building = make(chan struct{})
		s.dirty = false
		if s.watcher != nil {
			s.overflows = s.watcher.Overflows()
		}
		go s.build(s.building)
	}
	return s.building
}

// Invalidate marks the index stale, so the next query rebuilds it.
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
}

// Index returns a usable index: the current one when fresh, else (see
// Options.SyncBuild) a rebuilt one or the stale one while it rebuilds.
func (s *Service) Index() (*Index, error) {
	<-s.subscribed
	s.mu.Lock()
	cur := s.cur
	if s.watcher != nil && s.watcher.Overflows() != s.overflows {
		s.dirty = true // changes were lost
	}
	// Without a watcher, or with one that misses directories, age decides.
	byAge := s.watcher == nil || s.watcher.Incomplete()
	aged := byAge && cur != nil && time.Since(cur.Built) > max(s.opts.MaxAge, 10*cur.Took)
	stale := cur == nil || s.dirty || aged
	if !stale {
		s.mu.Unlock()
		return cur, nil
	}
	done := s.startBuild()
	wait := cur == nil || cur.Took < s.opts.SyncBuild
	s.mu.Unlock()
	if !wait {
		return cur, nil
	}
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil, s.lastErr
	}
	return s.cur, nil
}

func (s *Service) build(done chan struct{}) {
	x, err := Build(s.opts.Workspace.Root(), s.opts.Build)
	s.mu.Lock()
	if err != nil {
		s.lastErr = err
		s.log.Warn("filenames: index build failed", "err", err)
	} else {
		s.cur, s.lastErr = x, nil
	}
	s.building = nil
	// What the watcher said during the walk: the walk may or may not have
	// seen it, and applying it again changes nothing.
	again := false
	for _, batch := range s.pending {
		if needsRebuild(batch) {
			again = true
		} else if s.cur != nil {
			s.cur = s.cur.update(s.opts.Workspace.Root(), batch)
		}
	}
	s.pending = nil
	if again {
		s.startBuild()
	}
	s.mu.Unlock()
	close(done)
}

// follow subscribes to the watcher and applies its batches to the index.
func (s *Service) follow() {
	defer close(s.followed)
	w, err := s.opts.Watch()
	if err != nil {
		s.log.Warn("filenames: no file watcher; the index is rebuilt as it ages", "err", err)
		if !s.opts.Lazy {
			s.mu.Lock()
			s.startBuild()
			s.mu.Unlock()
		}
		close(s.subscribed)
		return
	}
	for first := true; ; first = false {
		events, cancel := w.Subscribe()
		// Walk after subscribing, so nothing falls between walk and events.
		s.mu.Lock()
		s.watcher = w
		if !first {
			s.dirty = true
			s.startBuild()
		} else if !s.opts.Lazy {
			s.startBuild()
		}
		s.mu.Unlock()
		if first {
			close(s.subscribed)
		}
		for open := true; open; {
			select {
			case batch, ok := <-events:
				if ok {
					s.apply(batch)
				}
				open = ok
			case <-s.stop:
				cancel()
				return
			}
		}
		// The watcher stopped or dropped us as too slow: age-based
		// rebuilds until a new subscription (and its walk) is in place.
		cancel()
		s.mu.Lock()
		s.watcher = nil
		s.dirty = true
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-time.After(time.Second):
		}
	}
}

// apply brings the index up to date with one batch of watcher events.
func (s *Service) apply(batch []watch.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.building != nil:
		s.pending = append(s.pending, batch)
	case s.cur == nil:
		// Not built yet (Lazy): the first query walks the tree as it is.
	case s.watcher.Overflows() != s.overflows, needsRebuild(batch):
		s.dirty = true
		s.startBuild()
	default:
		s.cur = s.cur.update(s.opts.Workspace.Root(), batch)
	}
}

// Close stops following the watcher and waits for a running build to end
// (the index itself is memory only).
func (s *Service) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.followed
	s.mu.Lock()
	done := s.building
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}
