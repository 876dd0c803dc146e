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

	"gatewave.dev/sessiond/workspace"
)

// Options configure a Service. Workspace is required; the zero value of
// every other field works.
type Options struct {
	// Workspace is the confined tree that is indexed.
	Workspace *workspace.Workspace
	// MaxAge is how old an index may be before a query starts a rebuild;
	// 0 means 2 s. A tree whose walk takes longer than MaxAge/10 is
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
}

// Service owns the current index and rebuilds it when it goes stale.
type Service struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	cur      *Index
	dirty    bool
	building chan struct{} // closed when the running build ends; nil if none
	lastErr  error
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
	s := &Service{opts: o, log: o.Logger}
	if !o.Lazy {
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
	s.mu.Lock()
	cur := s.cur
	stale := cur == nil || s.dirty || time.Since(cur.Built) > max(s.opts.MaxAge, 10*cur.Took)
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
	s.mu.Unlock()
	close(done)
}

// Close waits for a running build to end (the index itself is memory only).
func (s *Service) Close() error {
	s.mu.Lock()
	done := s.building
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}
