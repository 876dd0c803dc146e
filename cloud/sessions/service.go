// Package sessions is the cloud's side of IDE sessions: allocation of warm
// containers to signed-in users (one short FOR UPDATE SKIP LOCKED claim
// with a lease, least-loaded online node, a FIFO queue when none is idle),
// the browser tunnel /s/{session}/... to the container's sessiond over the
// node's link, and ending sessions (sign-out, idle timeout, node lost) with
// an autosave to the user's ide/autosave branch.
package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/shared/fleetproto"
)

// Options configure a Service. DB, Hub, Accounts, Git and GitURL are required.
type Options struct {
	DB       *pgxpool.Pool
	Hub      *fleet.Hub
	Accounts *accounts.Accounts
	Git      *githost.Host
	// GitURL is where nodes reach the git host, e.g.
	// http://127.0.0.1:8480/git; repos are GitURL/OWNER.git.
	GitURL string
	// LeaseTTL bounds a claim while its container is being prepared; a
	// claim whose replica died is recovered after it. 0 means 60 s.
	LeaseTTL time.Duration
	// StartTimeout bounds preparing a container; 0 means 45 s.
	StartTimeout time.Duration
	// IdleTimeout ends a session without tunnel traffic for this long;
	// 0 means 2 hours, negative never.
	IdleTimeout time.Duration
	// NodeLostAfter ends the sessions of a node silent for this long (they
	// show "reconnecting" until then); 0 means 10 minutes.
	NodeLostAfter time.Duration
	// SweepInterval is how often leases, idle sessions, lost nodes and the
	// queue are checked; 0 means 1 s.
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Service allocates, tunnels and ends sessions.
type Service struct {
	opts Options
	db   *pgxpool.Pool
	hub  *fleet.Hub
	log  *slog.Logger
	now  func() time.Time

	kick chan struct{}

	pmu     sync.Mutex
	pending map[int64]poolReport // latest unwritten report per node
	pkick   chan struct{}

	wmu     sync.Mutex
	waiters map[string][]chan struct{} // session → woken when its start ends

	rmu    sync.Mutex
	routes map[string]*route // session → tunnel route

	umu   sync.Mutex
	users map[string]cachedUser // cookie → user, briefly

	relmu     sync.Mutex
	releasing map[string]bool // sessions whose release is in flight here

	amu    sync.Mutex
	active map[string]time.Time // session → last tunnel activity not yet written
	wsOpen map[string]int       // session → open WebSockets

	bg sync.WaitGroup
}

type poolReport struct {
	node string
	p    *fleetproto.Pool
}

type cachedUser struct {
	u   accounts.User
	exp time.Time
}

// New checks opts and fills defaults. Plug OnPool into fleet.Options.OnPool
// and EndUser into accounts.Options.OnSignOut, then call Run and Mount.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Hub == nil || opts.Accounts == nil || opts.Git == nil || opts.GitURL == "" {
		return nil, errors.New("sessions: DB, Hub, Accounts, Git and GitURL are required")
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 60 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 45 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 2 * time.Hour
	}
	if opts.NodeLostAfter <= 0 {
		opts.NodeLostAfter = 10 * time.Minute
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.GitURL = strings.TrimRight(opts.GitURL, "/")
	return &Service{
		opts: opts, db: opts.DB, hub: opts.Hub, log: opts.Logger, now: opts.Now,
		kick: make(chan struct{}, 1), pending: map[int64]poolReport{}, pkick: make(chan struct{}, 1),
		waiters: map[string][]chan struct{}{}, routes: map[string]*route{}, users: map[string]cachedUser{},
		active: map[string]time.Time{}, wsOpen: map[string]int{}, releasing: map[string]bool{},
	}, nil
}

// OnPool is the hub's pool-report hook. It only records the report; a
// worker writes it, so the node's read loop never waits on the database.
func (s *Service) OnPool(nodeID int64, node string, p *fleetproto.Pool) {
	s.pmu.Lock()
	s.pending[nodeID] = poolReport{node, p}
	s.pmu.Unlock()
	select {
	case s.pkick <- struct{}{}:
	default:
	}
}

func (s *Service) kickDispatch() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run writes pool reports, serves the queue and sweeps until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.pkick:
			}
			s.pmu.Lock()
			batch := s.pending
			s.pending = map[int64]poolReport{}
			s.pmu.Unlock()
			for id, r := range batch {
				gone, err := s.storePool(ctx, id, r.p)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Error("store pool report", "node", r.node, "err", err)
					}
					continue
				}
				for _, sid := range gone {
					s.dropRoute(sid)
				}
			}
			s.kickDispatch()
		}
	})
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			s.bg.Wait()
			s.closeRoutes()
			return
		case <-t.C:
			s.sweep(ctx)
		case <-s.kick:
		}
		s.serveQueue(ctx)
	}
}

// serveQueue dispatches and starts what it dispatched, in the background.
func (s *Service) serveQueue(ctx context.Context) {
	as, err := s.dispatch(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Error("dispatch", "err", err)
	}
	for _, a := range as {
		s.bg.Go(func() { s.start(context.WithoutCancel(ctx), a, 0) })
	}
}

func (s *Service) wait(id string) chan struct{} {
	ch := make(chan struct{})
	s.wmu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.wmu.Unlock()
	return ch
}

func (s *Service) wake(id string) {
	s.wmu.Lock()
	for _, ch := range s.waiters[id] {
		close(ch)
	}
	delete(s.waiters, id)
	s.wmu.Unlock()
}

// start prepares an assigned container: the repo gets its Nix files, the
// node claims the container and checks the repo out, and sessiond must
// answer through the tunnel before the session is ready.
func (s *Service) start(ctx context.Context, a assignment, attempt int) {
	defer s.wake(a.session)
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	err := s.prepare(ctx, a)
	if err == nil {
		return
	}
	s.log.Warn("session start failed", "session", a.session, "node", a.node, "container", a.container, "err", err)
	s.dropRoute(a.session)
	if attempt >= 2 {
		_, _ = s.db.Exec(context.WithoutCancel(ctx), `UPDATE sessions SET state = 'ended', ended_at = $2, detail = $3,
			sessiond_token = NULL, git_token_hash = NULL WHERE id = $1 AND state = 'starting'`, a.session, s.now(), "start failed: "+err.Error())
		_, _ = s.db.Exec(context.WithoutCancel(ctx), `UPDATE pool_containers SET state = 'failed' WHERE node_id = $1 AND container_id = $2`, a.nodeID, a.container)
		return
	}
	if err := s.requeue(context.WithoutCancel(ctx), a, "retrying: "+err.Error()); err != nil {
		s.log.Error("requeue", "session", a.session, "err", err)
		return
	}
	// Retry at once on another container (the session keeps its place).
	as, err := s.dispatch(context.WithoutCancel(ctx))
	if err != nil {
		s.log.Error("dispatch", "err", err)
	}
	for _, b := range as {
		if b.session == a.session {
			s.start(context.WithoutCancel(ctx), b, attempt+1)
		} else {
			s.bg.Go(func() { s.start(context.WithoutCancel(ctx), b, 0) })
		}
	}
}

func (s *Service) prepare(ctx context.Context, a assignment) error {
	if !s.opts.Git.Exists(a.owner) {
		if err := s.opts.Git.Create(ctx, a.owner); err != nil {
			return err
		}
	}
	if added, err := s.opts.Git.EnsureNix(ctx, a.owner); err != nil {
		return err
	} else if len(added) > 0 {
		s.log.Info("added Nix files to the repo", "user", a.owner, "files", added)
	}
	args, _ := json.Marshal(fleetproto.ClaimArgs{Container: a.container, Session: a.session,
		Repo: fleetproto.Repo{URL: s.opts.GitURL + "/" + a.owner + ".git", Username: a.owner, Password: a.gitToken}})
	ack, err := s.hub.Command(ctx, a.node, fleetproto.CommandClaim, args)
	if err != nil {
		return err
	}
	if !ack.OK {
		return fmt.Errorf("node refused the claim: %s", ack.Error)
	}
	var res fleetproto.ClaimResult
	if err := json.Unmarshal(ack.Result, &res); err != nil || res.Token == "" {
		return fmt.Errorf("claim result: %v", err)
	}
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET sessiond_token = $2, base_commit = $3 WHERE id = $1 AND state = 'starting'`,
		a.session, res.Token, res.Commit)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errors.New("session no longer starting")
	}
	r := s.newRoute(a.session, a.userID, a.node, a.container, res.Token)
	if err := r.probe(ctx); err != nil {
		return fmt.Errorf("sessiond through the tunnel: %w", err)
	}
	now := s.now()
	tag, err = s.db.Exec(ctx, `UPDATE sessions SET state = 'ready', started_at = $2, last_active_at = $2, lease_expires_at = NULL, detail = ''
		WHERE id = $1 AND state = 'starting'`, a.session, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errors.New("session no longer starting")
	}
	s.log.Info("session ready", "session", a.session, "user", a.owner, "node", a.node, "commit", res.Commit)
	return nil
}

// End ends one session: autosave and release of its container through the
// node (when it is connected), then the session is ended. A queued session
// just leaves the queue.
func (s *Service) End(ctx context.Context, id, why string) error {
	var state, node, container string
	err := s.db.QueryRow(ctx, `UPDATE sessions SET state = CASE WHEN node_id IS NULL THEN 'ended' ELSE 'ending' END,
		ended_at = CASE WHEN node_id IS NULL THEN $2::timestamptz END, detail = $3
		WHERE id = $1 AND state NOT IN ('ending', 'ended')
		RETURNING state, coalesce((SELECT name FROM nodes WHERE nodes.id = sessions.node_id), ''), coalesce(container_id, '')`,
		id, s.now(), why).Scan(&state, &node, &container)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	s.wake(id)
	s.dropRoute(id)
	if state == Ended {
		return nil
	}
	return s.release(ctx, id, node, container)
}

// release asks the node to autosave and destroy the container. The session
// is marked ended when the node's pool report no longer lists it.
func (s *Service) release(ctx context.Context, id, node, container string) error {
	s.relmu.Lock()
	if s.releasing[id] {
		s.relmu.Unlock()
		return nil
	}
	s.releasing[id] = true
	s.relmu.Unlock()
	defer func() { s.relmu.Lock(); delete(s.releasing, id); s.relmu.Unlock() }()
	args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: container, Session: id})
	ack, err := s.hub.Command(ctx, node, fleetproto.CommandRelease, args)
	if err != nil {
		return fmt.Errorf("release session %s: %w", id, err)
	}
	if !ack.OK {
		return fmt.Errorf("release session %s: node: %s", id, ack.Error)
	}
	var res fleetproto.SaveResult
	_ = json.Unmarshal(ack.Result, &res)
	if res.Commit != "" {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_autosave = $2 WHERE id = $1`, id, res.Commit); err != nil {
			return err
		}
	}
	s.log.Info("session released", "session", id, "autosave", res.Commit)
	return nil
}

// EndUser ends a user's sessions (the sign-out hook).
func (s *Service) EndUser(ctx context.Context, u accounts.User) error {
	s.umu.Lock()
	for k, c := range s.users {
		if c.u.ID == u.ID {
			delete(s.users, k)
		}
	}
	s.umu.Unlock()
	rows, err := s.db.Query(ctx, `SELECT id FROM sessions WHERE user_id = $1 AND state NOT IN ('ending', 'ended')`, u.ID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.End(ctx, id, "signed out"))
	}
	return errors.Join(errs...)
}

// GitAuthorizer accepts a session's git credential (the node's clone and
// autosave) for the session owner's repo while the session is not ended,
// and hands every other credential to fallback (the user's password).
func (s *Service) GitAuthorizer(fallback githost.Authorizer) githost.Authorizer {
	return func(ctx context.Context, owner, username, password string, push bool) error {
		if !strings.HasPrefix(password, "gws_") {
			return fallback(ctx, owner, username, password, push)
		}
		if username != owner {
			return githost.ErrUnauthorized
		}
		var ok bool
		err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE u.name = $1 AND s.git_token_hash = $2 AND (s.state <> 'ended' OR s.git_token_expires_at > $3))`,
			owner, hash(password), s.now()).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return githost.ErrUnauthorized
		}
		return nil
	}
}

// sweep recovers expired leases, ends idle sessions and those of lost
// nodes, retries releases, and writes tunnel activity.
func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	s.amu.Lock()
	ids := make([]string, 0, len(s.active)+len(s.wsOpen))
	for id := range s.active {
		ids = append(ids, id)
	}
	for id := range s.wsOpen {
		ids = append(ids, id)
	}
	clear(s.active)
	s.amu.Unlock()
	if len(ids) > 0 {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_active_at = $2 WHERE id = ANY($1) AND state = 'ready'`, ids, now); err != nil {
			s.log.Warn("record activity", "err", err)
		}
	}
	// Leases of claims whose cloud replica died while starting them.
	if tag, err := s.db.Exec(ctx, `WITH x AS (
			UPDATE sessions SET state = 'queued', node_id = NULL, container_id = NULL, lease_expires_at = NULL,
				git_token_hash = NULL, sessiond_token = NULL, detail = 'lease expired; requeued'
			WHERE state = 'starting' AND lease_expires_at < $1 RETURNING id)
		UPDATE pool_containers SET session_id = NULL, state = 'failed' WHERE session_id IN (SELECT id FROM x)`, now); err != nil {
		s.log.Warn("recover leases", "err", err)
	} else if tag.RowsAffected() > 0 {
		s.log.Info("recovered expired claims", "containers", tag.RowsAffected())
	}
	type ending struct{ id, why string }
	var ends []ending
	collect := func(q, why string, args ...any) {
		rows, err := s.db.Query(ctx, q, args...)
		if err != nil {
			s.log.Warn("sweep", "err", err)
			return
		}
		got, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range got {
			ends = append(ends, ending{id, why})
		}
	}
	if s.opts.IdleTimeout > 0 {
		collect(`SELECT id FROM sessions WHERE state = 'ready' AND last_active_at < $1`, "idle timeout", now.Add(-s.opts.IdleTimeout))
	}
	// Sessions of nodes gone too long end with their last autosave.
	if tag, err := s.db.Exec(ctx, `UPDATE sessions s SET state = 'ended', ended_at = $2, sessiond_token = NULL, git_token_hash = NULL,
			detail = 'node lost; work kept up to the last autosave'
		FROM nodes n WHERE n.id = s.node_id AND s.state IN ('ready', 'ending', 'starting') AND n.replica IS NULL
			AND (n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < $1)`, now.Add(-s.opts.NodeLostAfter), now); err != nil {
		s.log.Warn("end sessions of lost nodes", "err", err)
	} else if tag.RowsAffected() > 0 {
		s.log.Warn("ended sessions of lost nodes", "sessions", tag.RowsAffected())
	}
	for _, e := range ends {
		if err := s.End(ctx, e.id, e.why); err != nil {
			s.log.Warn("end session", "session", e.id, "why", e.why, "err", err)
		}
	}
	// Ending sessions whose container is gone are over.
	if _, err := s.db.Exec(ctx, `UPDATE sessions s SET state = 'ended', ended_at = $1, sessiond_token = NULL, git_token_hash = NULL
		WHERE s.state = 'ending' AND NOT EXISTS (SELECT 1 FROM pool_containers c WHERE c.node_id = s.node_id AND c.container_id = s.container_id)`, now); err != nil {
		s.log.Warn("finish ended sessions", "err", err)
	}
	s.releaseOrphans(ctx)
	// Releases that did not get through (node away, claim in progress,
	// autosave failed).
	rows, err := s.db.Query(ctx, `SELECT s.id, n.name, s.container_id FROM sessions s JOIN nodes n ON n.id = s.node_id
		WHERE s.state = 'ending' AND EXISTS (SELECT 1 FROM pool_containers c
			WHERE c.node_id = s.node_id AND c.container_id = s.container_id AND c.state = 'claimed')`)
	if err == nil {
		type rel struct{ id, node, container string }
		var rs []rel
		for rows.Next() {
			var r rel
			if rows.Scan(&r.id, &r.node, &r.container) == nil {
				rs = append(rs, r)
			}
		}
		rows.Close()
		for _, r := range rs {
			if connected(s.hub, r.node) {
				if err := s.release(ctx, r.id, r.node, r.container); err != nil {
					s.log.Warn("retry release", "session", r.id, "err", err)
				}
			}
		}
	}
}

// orphanCredentialTTL bounds the credential given to release an orphan.
const orphanCredentialTTL = 10 * time.Minute

// releaseOrphans releases containers that nodes linked to this replica
// still report as claimed by an ended session (the node came back after
// the session ended with it lost): autosave with a fresh short-lived
// credential, then destroy.
func (s *Service) releaseOrphans(ctx context.Context) {
	rows, err := s.db.Query(ctx, `SELECT c.container_id, s.id, n.name, u.name FROM pool_containers c
		JOIN nodes n ON n.id = c.node_id JOIN sessions s ON s.id = c.reported_session JOIN users u ON u.id = s.user_id
		WHERE c.state = 'claimed' AND s.state = 'ended' AND n.replica = $1`, s.hub.Replica())
	if err != nil {
		s.log.Warn("find orphaned containers", "err", err)
		return
	}
	type orphan struct{ container, session, node, owner string }
	orphans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orphan, error) {
		var o orphan
		err := r.Scan(&o.container, &o.session, &o.node, &o.owner)
		return o, err
	})
	if err != nil {
		s.log.Warn("find orphaned containers", "err", err)
		return
	}
	for _, o := range orphans {
		if !connected(s.hub, o.node) {
			continue
		}
		s.relmu.Lock()
		busy := s.releasing[o.session]
		if !busy {
			s.releasing[o.session] = true
		}
		s.relmu.Unlock()
		if busy {
			continue
		}
		s.bg.Go(func() {
			defer func() { s.relmu.Lock(); delete(s.releasing, o.session); s.relmu.Unlock() }()
			if err := s.releaseOrphan(context.WithoutCancel(ctx), o.session, o.node, o.container, o.owner); err != nil {
				s.log.Warn("release orphaned container", "session", o.session, "container", o.container, "err", err)
			}
		})
	}
}

func (s *Service) releaseOrphan(ctx context.Context, id, node, container, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	tok := randomID("gws_", 32)
	if _, err := s.db.Exec(ctx, `UPDATE sessions SET git_token_hash = $2, git_token_expires_at = $3 WHERE id = $1 AND state = 'ended'`,
		id, hash(tok), s.now().Add(orphanCredentialTTL)); err != nil {
		return err
	}
	args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: container, Session: id,
		Repo: &fleetproto.Repo{URL: s.opts.GitURL + "/" + owner + ".git", Username: owner, Password: tok}})
	ack, err := s.hub.Command(ctx, node, fleetproto.CommandRelease, args)
	if err != nil {
		return err
	}
	if !ack.OK {
		return fmt.Errorf("node: %s", ack.Error)
	}
	var res fleetproto.SaveResult
	_ = json.Unmarshal(ack.Result, &res)
	if res.Commit != "" {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_autosave = $2 WHERE id = $1`, id, res.Commit); err != nil {
			return err
		}
	}
	s.log.Info("released an orphaned container", "session", id, "node", node, "container", container, "autosave", res.Commit)
	return nil
}

func connected(h *fleet.Hub, node string) bool {
	_, err := h.Session(node)
	return err == nil
}

var _ http.RoundTripper = (*http.Transport)(nil)
