// Package sessions is a compute node's side of IDE sessions: it reports the
// warm pool to the cloud, claims the container the cloud chose and restores
// the user's workspace into it (the latest autosave, else a fresh checkout)
// from the node-local git cache, serves the cloud's sessiond streams over
// the container's socket, and autosaves workspaces to ide/autosave
// periodically and before a container is removed.
package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gatewave.dev/nodegw/autosave"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/pipe"
)

// Options configure a Service. Pool, Cache and Dir are required.
type Options struct {
	// Pool is the node's warm pool.
	Pool *pool.Pool
	// Cache is the node-local git cache.
	Cache *gitcache.Cache
	// Dir holds node-private state: claim records (with the session's git
	// credential, so never inside a container's bind mount) and the
	// autosave git directories.
	Dir string
	// AutosaveInterval is how often claimed workspaces are autosaved;
	// 0 means 5 minutes, negative disables periodic autosave.
	AutosaveInterval time.Duration
	// Report sends the pool's state to the cloud (Gateway.ReportPool);
	// nil means none.
	Report func(*fleetproto.Pool)
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Service serves one node's sessions.
type Service struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per container: one autosave at a time
	last  *fleetproto.Pool       // the latest report
	saved map[string]string      // container → its latest autosave commit
	cs    []pool.Container       // the pool as last reported

	rmu sync.Mutex // reports leave in the order they are built
}

// LastReport returns the latest pool report (nil before the pool's first
// change), for a gateway created after the pool started.
func (s *Service) LastReport() *fleetproto.Pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// record is what the node remembers about a claim.
type record struct {
	Session  string          `json:"session"`
	Repo     fleetproto.Repo `json:"repo"`
	Base     string          `json:"base"`               // HEAD's commit after the restore
	Branch   string          `json:"branch,omitempty"`   // the branch restored
	Resumed  string          `json:"resumed,omitempty"`  // the autosave resumed
	Restored bool            `json:"restored,omitempty"` // the restore finished: the workspace is the user's
}

// New checks opts and creates Dir.
func New(opts Options) (*Service, error) {
	if opts.Pool == nil || opts.Cache == nil || opts.Dir == "" {
		return nil, errors.New("sessions: Pool, Cache and Dir are required")
	}
	if opts.AutosaveInterval == 0 {
		opts.AutosaveInterval = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	for _, d := range []string{"claims", "autosave"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("sessions dir %q: %w", opts.Dir, err)
		}
	}
	return &Service{opts: opts, log: opts.Logger, locks: map[string]*sync.Mutex{}, saved: map[string]string{}}, nil
}

// Streams are the gateway stream handlers this service serves.
func (s *Service) Streams() map[string]gateway.StreamHandler {
	return map[string]gateway.StreamHandler{fleetproto.KindSessiond: s.serveSessiond}
}

// Commands are the gateway command handlers this service serves.
func (s *Service) Commands() map[string]gateway.CommandHandler {
	return map[string]gateway.CommandHandler{
		fleetproto.CommandClaim:    s.claim,
		fleetproto.CommandRelease:  s.release,
		fleetproto.CommandSave:     s.save,
		fleetproto.CommandDiscard:  s.discard,
		fleetproto.CommandGitPush:  s.gitPush,
		fleetproto.CommandGitFetch: s.gitFetch,
		// The cloud's demand on this node: elastic targets and draining.
		fleetproto.CommandPoolDemand: s.opts.Pool.Demand,
	}
}

// OnChange is the pool's OnChange hook: it reports the pool to the cloud
// and forgets the claims of containers that are gone.
func (s *Service) OnChange(cs []pool.Container) {
	live := map[string]bool{}
	for _, c := range cs {
		live[c.ID] = true
	}
	s.mu.Lock()
	s.cs = cs
	for id := range s.saved {
		if !live[id] {
			delete(s.saved, id)
		}
	}
	s.mu.Unlock()
	s.report()
	ents, _ := os.ReadDir(filepath.Join(s.opts.Dir, "claims"))
	for _, e := range ents {
		id := trimExt(e.Name())
		if !live[id] {
			s.forget(id)
		}
	}
}

// report sends the pool as last seen, with each workspace's latest
// autosave, to the cloud.
func (s *Service) report() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	rep := &fleetproto.Pool{Containers: make([]fleetproto.PoolContainer, 0, len(s.cs))}
	for _, c := range s.cs {
		pc := fleetproto.PoolContainer{ID: c.ID, Name: c.Name, Class: c.Class, State: string(c.State), Session: c.Owner, SaveError: c.SaveError}
		if c.Owner != "" {
			pc.Autosave = s.saved[c.ID]
		}
		rep.Containers = append(rep.Containers, pc)
	}
	s.last = rep
	s.mu.Unlock()
	if s.opts.Report != nil {
		s.opts.Report(rep)
	}
}

// noteSaved records a workspace's autosave and reports it when new.
func (s *Service) noteSaved(id string, res autosave.Result) {
	if res.Commit == "" {
		return
	}
	s.mu.Lock()
	changed := s.saved[id] != res.Commit
	s.saved[id] = res.Commit
	s.mu.Unlock()
	if changed {
		s.report()
	}
}

func trimExt(n string) string { return n[:len(n)-len(filepath.Ext(n))] }

func (s *Service) recordPath(id string) string {
	return filepath.Join(s.opts.Dir, "claims", id+".json")
}

func (s *Service) gitDir(id string) string {
	return filepath.Join(s.opts.Dir, "autosave", id+".git")
}

func (s *Service) forget(id string) {
	if !fleetproto.ValidContainerID(id) {
		return
	}
	l := s.lock(id)
	defer l()
	os.Remove(s.recordPath(id))
	os.RemoveAll(s.gitDir(id))
}

func (s *Service) claimLock(id string) func() { return s.lock("claim/" + id) }

func (s *Service) lock(id string) func() {
	s.mu.Lock()
	l := s.locks[id]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// writeRecord replaces a claim record atomically and durably (temp file,
// fsync, rename, fsync of the directory): a torn record would read as "no
// claim", and the container would then go without a save.
func (s *Service) writeRecord(id string, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := pool.WriteFileAtomic(s.recordPath(id), b); err != nil {
		return fmt.Errorf("claim record: %w", err)
	}
	return nil
}

func (s *Service) readRecord(id string) (record, bool) {
	r, err := s.loadRecord(id)
	return r, err == nil
}

// errNoRecord: the container has no claim record (never claimed here).
var errNoRecord = errors.New("no claim record")

// loadRecord reads a claim record; a record that exists but cannot be read
// is an error, never "no claim".
func (s *Service) loadRecord(id string) (record, error) {
	var r record
	b, err := os.ReadFile(s.recordPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return r, errNoRecord
	}
	if err != nil {
		return r, fmt.Errorf("claim record of %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("claim record of %s is unreadable: %w", id, err)
	}
	// Records written before restores were tracked have a base commit.
	if !r.Restored && r.Base != "" {
		r.Restored = true
	}
	return r, nil
}

func remote(r fleetproto.Repo) gitcache.Remote {
	return gitcache.Remote{URL: r.URL, Username: r.Username, Password: r.Password}
}

func (s *Service) claim(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.ClaimArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil {
		return nil, fmt.Errorf("claim args: %w", err)
	}
	if !fleetproto.ValidContainerID(a.Container) || !fleetproto.ValidSessionID(a.Session) || a.Repo.URL == "" {
		return nil, errors.New("claim: container, session and repo are required")
	}
	c, err := s.opts.Pool.ClaimID(a.Container, a.Session)
	if err != nil {
		return nil, err
	}
	// One claim of a container at a time: a retry while the first one
	// restores waits for it and then answers from its record.
	unlock := s.claimLock(c.ID)
	defer unlock()
	if r, ok := s.readRecord(c.ID); ok && r.Session == a.Session && r.Restored {
		return json.Marshal(fleetproto.ClaimResult{Token: c.Token, Commit: r.Base, Branch: r.Branch, Resumed: r.Resumed}) // a retried claim
	}
	start := time.Now()
	// The record first: from here on a save of this container has a
	// credential (the restore is checked before any save takes it).
	rec := record{Session: a.Session, Repo: a.Repo}
	if err := s.writeRecord(c.ID, rec); err != nil {
		_ = s.opts.Pool.Discard(c.ID)
		return nil, err
	}
	id := a.Identity
	if id != nil && id.Validate() != nil {
		s.log.Warn("claim: git identity refused; the workspace gets none", "container", c.Name, "err", id.Validate())
		id = nil
	}
	res, err := s.restore(ctx, c, a.Repo, id)
	if err != nil {
		// Nothing of the user's is in there yet: remove it without a save
		// (a save would record a half-restored workspace as their work).
		s.forget(c.ID)
		_ = s.opts.Pool.Discard(c.ID)
		return nil, fmt.Errorf("restore the workspace into %s: %w", c.Name, err)
	}
	rec.Base, rec.Branch, rec.Resumed, rec.Restored = res.Head, res.Branch, res.Resumed, true
	if err := s.writeRecord(c.ID, rec); err != nil {
		s.forget(c.ID)
		_ = s.opts.Pool.Discard(c.ID)
		return nil, err
	}
	s.log.Info("session claimed", "container", c.Name, "session", a.Session, "branch", res.Branch, "commit", res.Head,
		"resumed", res.Resumed, "restore", time.Since(start))
	return json.Marshal(fleetproto.ClaimResult{Token: c.Token, Commit: res.Head, Branch: res.Branch, Resumed: res.Resumed})
}

// restore brings the node's mirror of the user's repo up to date and
// streams the user's branches and latest snapshot into the container,
// which checks out that snapshot (so the session resumes where the last
// one ended) or else the requested branch.
func (s *Service) restore(ctx context.Context, c pool.Container, repo fleetproto.Repo, id *fleetproto.GitIdentity) (pool.RestoreResult, error) {
	t0 := time.Now()
	mirror, err := s.opts.Cache.Mirror(ctx, remote(repo))
	if err != nil {
		return pool.RestoreResult{}, err
	}
	t1 := time.Now()
	rs, err := s.opts.Cache.Resume(ctx, mirror)
	if err != nil {
		return pool.RestoreResult{}, err
	}
	t2 := time.Now()
	defer func() {
		s.log.Debug("restore timing", "container", c.Name, "mirror", t1.Sub(t0), "resume_pack", t2.Sub(t1), "restore", time.Since(t2))
	}()
	branch := rs.DefaultBranch
	if repo.Branch != "" {
		branch = repo.Branch
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(rs.Write(pw))
	}()
	res, err := s.opts.Pool.Restore(ctx, c.ID, pool.RestoreArgs{Origin: gitcache.CleanURL(repo.URL), Branch: branch,
		Save: rs.Save, Snapshot: rs.Snapshot, Identity: id}, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	<-done
	return res, err
}

// prepareResume builds the resume pack of the save just pushed, in the
// background, so the user's next session on this node does not wait for
// it.
func (s *Service) prepareResume(r fleetproto.Repo) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		mirror, err := s.opts.Cache.Mirror(ctx, remote(r))
		if err == nil {
			_, err = s.opts.Cache.Resume(ctx, mirror)
		}
		if err != nil {
			s.log.Warn("prepare the next resume", "err", err)
		}
	}()
}

// Save autosaves container id's workspace now. It does nothing (and
// succeeds) for a container with no claim record, or one whose restore
// never finished (nothing of the user's is in it).
func (s *Service) Save(ctx context.Context, id string) (autosave.Result, error) {
	c, ok := s.opts.Pool.Get(id)
	if !ok {
		return autosave.Result{}, fmt.Errorf("autosave %s: no such container", id)
	}
	l := s.lock(id)
	defer l()
	r, err := s.loadRecord(id)
	if errors.Is(err, errNoRecord) || (err == nil && !r.Restored) {
		return autosave.Result{}, nil
	}
	if err != nil {
		return autosave.Result{}, err
	}
	var limit int64 // a snapshot bigger than the workspace's disk is not a snapshot
	if c.DiskBytes > 0 {
		limit = c.DiskBytes + 64<<20
	}
	res, err := autosave.Save(ctx, autosave.Options{GitDir: s.gitDir(id), Remote: remote(r.Repo), MaxBytes: limit,
		Base: r.Resumed, ID: shortID(id),
		Snapshot: func(ctx context.Context, have []string, dst pool.Sink) error {
			return s.opts.Pool.SnapshotWorkspace(ctx, id, have, dst)
		}})
	if err == nil {
		if res.Pushed && strings.HasPrefix(res.Branch, autosave.RecoveredPrefix) {
			s.log.Warn("another workspace saved since this one last did: saved to its own branch", "container", c.Name, "branch", res.Branch)
		}
		s.noteSaved(id, res)
	}
	return res, err
}

func shortID(id string) string { return id[:min(12, len(id))] }

// Claimed is the pool's Claimed hook: whether this service holds a claim
// record for the container, and for which session.
func (s *Service) Claimed(id string) (string, bool) {
	r, ok := s.readRecord(id)
	return r.Session, ok && r.Restored
}

// Autosave is the pool's Autosave hook (before a container that held a
// user's work is removed).
func (s *Service) Autosave(ctx context.Context, c pool.Container) error {
	if _, err := s.Save(ctx, c.ID); err != nil {
		return err
	}
	// The session ends here: its next one will want this save.
	if r, ok := s.readRecord(c.ID); ok && r.Restored {
		s.prepareResume(r.Repo)
	}
	return nil
}

func (s *Service) checkOwner(args []byte) (fleetproto.ReleaseArgs, error) {
	var a fleetproto.ReleaseArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return a, fmt.Errorf("release args: %w", err)
	}
	c, ok := s.opts.Pool.Get(a.Container)
	if !ok || c.State != pool.Claimed || c.Owner != a.Session {
		return a, fmt.Errorf("container %s is not claimed by session %s", a.Container, a.Session)
	}
	return a, nil
}

func (s *Service) save(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	a, err := s.checkOwner(cmd.Args)
	if err != nil {
		return nil, err
	}
	res, err := s.Save(ctx, a.Container)
	if err != nil {
		return nil, err
	}
	return json.Marshal(fleetproto.SaveResult{Commit: res.Commit, Pushed: res.Pushed})
}

// discard removes a claim the cloud gave up before it was ever ready (see
// fleetproto.CommandDiscard). It waits for a claim still restoring.
func (s *Service) discard(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.ReleaseArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil {
		return nil, fmt.Errorf("discard args: %w", err)
	}
	if !fleetproto.ValidContainerID(a.Container) {
		return nil, errors.New("discard: container is required")
	}
	unlock := s.claimLock(a.Container)
	defer unlock()
	c, ok := s.opts.Pool.Get(a.Container)
	if !ok {
		return json.Marshal(fleetproto.SaveResult{}) // already gone
	}
	if c.State != pool.Claimed || c.Owner != a.Session {
		return nil, fmt.Errorf("discard: container %s is not claimed by session %s (%s)", a.Container, a.Session, c.State)
	}
	s.forget(c.ID)
	if err := s.opts.Pool.Discard(c.ID); err != nil {
		return nil, err
	}
	s.log.Info("abandoned claim discarded", "container", c.Name, "session", a.Session)
	return json.Marshal(fleetproto.SaveResult{})
}

// release autosaves (so the cloud learns the result), then hands the
// container to the pool, which saves once more (catching the last writes)
// and destroys it in the background.
func (s *Service) release(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	a, err := s.checkOwner(cmd.Args)
	if err != nil {
		var ra fleetproto.ReleaseArgs
		if json.Unmarshal(cmd.Args, &ra) == nil {
			c, ok := s.opts.Pool.Get(ra.Container)
			if !ok {
				return json.Marshal(fleetproto.SaveResult{}) // already gone: nothing to do
			}
			if (c.State == pool.Destroying || c.State == pool.Recovering) && c.Owner == ra.Session {
				// Under way: the pool is saving it (and retrying). A fresh
				// credential (the session ended meanwhile, and its old one
				// with it) is what lets a failing save succeed.
				if ra.Repo != nil {
					if err := s.renewCredential(c.ID, ra.Session, *ra.Repo); err != nil {
						return nil, err
					}
				}
				return json.Marshal(fleetproto.SaveResult{})
			}
		}
		return nil, err
	}
	if a.Repo != nil {
		if err := s.renewCredential(a.Container, a.Session, *a.Repo); err != nil {
			return nil, err
		}
	}
	res, err := s.Save(ctx, a.Container)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Pool.Release(a.Container); err != nil {
		return nil, err
	}
	s.log.Info("session released", "container", a.Container, "session", a.Session, "autosave", res.Commit)
	return json.Marshal(fleetproto.SaveResult{Commit: res.Commit, Pushed: res.Pushed})
}

// renewCredential replaces the git credential in a claim record, for the
// autosave of an orphaned container.
func (s *Service) renewCredential(id, session string, repo fleetproto.Repo) error {
	l := s.lock(id)
	defer l()
	r, ok := s.readRecord(id)
	if !ok {
		return nil // nothing to save with
	}
	if r.Session != session {
		return fmt.Errorf("container %s: claim record is for another session", id)
	}
	if repo.URL == "" || repo.Username != r.Repo.Username {
		return fmt.Errorf("container %s: the new credential is for another repo", id)
	}
	r.Repo = repo
	return s.writeRecord(id, r)
}

// serveSessiond joins a cloud stream to the claimed container's sessiond.
func (s *Service) serveSessiond(ctx context.Context, hdr fleetproto.StreamHeader, conn net.Conn) {
	c, ok := s.opts.Pool.Get(hdr.Target)
	if !ok || c.State != pool.Claimed || c.Owner == "" || c.Owner != hdr.Meta["session"] {
		s.log.Warn("sessiond stream refused: not this session's container", "container", hdr.Target, "session", hdr.Meta["session"])
		conn.Close()
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	up, err := s.opts.Pool.Dial(dctx, c.ID)
	cancel()
	if err != nil {
		s.log.Warn("dial sessiond", "container", c.Name, "err", err)
		conn.Close()
		return
	}
	pipe.JoinServer(conn, up)
}

// Run autosaves every claimed workspace each AutosaveInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	if s.opts.AutosaveInterval < 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(s.opts.AutosaveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range s.opts.Pool.Snapshot() {
			if c.State != pool.Claimed {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			res, err := s.Save(sctx, c.ID)
			cancel()
			if err != nil {
				s.log.Warn("periodic autosave", "container", c.Name, "err", err)
			} else if res.Pushed {
				s.log.Info("autosaved", "container", c.Name, "commit", res.Commit)
			}
		}
	}
}
