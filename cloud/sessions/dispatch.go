package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/shared/fleetproto"
)

// assignment is a queued session given a container by dispatch.
type assignment struct {
	session, owner  string
	userID, nodeID  int64
	node, container string
	gitToken        string
}

// dispatchLockKey serializes dispatch across replicas so the queue is
// served strictly in order.
const dispatchLockKey int64 = 0x6777_7365_7373_696f // "gwsessio"

// queueOrder is the order the queue is served in: sessions coming back
// from a restart first (they had a container a moment ago), then by the
// time each joined the queue. get counts positions the same way.
const queueOrder = `s.started_at IS NULL, s.queued_at, s.id`

// errFenced means the session moved on from the container a start was
// given (its lease expired and it was requeued, it ended, or the container
// died): that start must leave the session alone.
var errFenced = errors.New("the session no longer holds this container")

// dispatch gives idle containers to queued sessions in queue order, each
// in one short transaction: the container is picked on the least-loaded
// online node with FOR UPDATE SKIP LOCKED and the claim carries a lease on
// the database clock. A draining node gets no claims (drain.go). A session that asked for a class gets a container
// of that class only; while none is idle it keeps its place and the
// sessions behind it that can use what is idle are served.
func (s *Service) dispatch(ctx context.Context) ([]assignment, error) {
	var out []assignment
	for {
		var a assignment
		found := false
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, dispatchLockKey); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT DISTINCT c.class FROM pool_containers c JOIN nodes n ON n.id = c.node_id
				WHERE c.state = 'idle' AND c.session_id IS NULL AND n.status = 'online' AND n.replica IS NOT NULL
					AND n.drain_requested_at IS NULL`)
			if err != nil {
				return err
			}
			classes, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || len(classes) == 0 {
				return err
			}
			var class string
			err = tx.QueryRow(ctx, `SELECT s.id, s.user_id, u.name, s.class FROM sessions s JOIN users u ON u.id = s.user_id
				WHERE s.state = 'queued' AND (s.class = '' OR s.class = ANY($1))
				ORDER BY `+queueOrder+` LIMIT 1 FOR UPDATE OF s`, classes).Scan(&a.session, &a.userID, &a.owner, &class)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `SELECT c.node_id, n.name, c.container_id FROM pool_containers c JOIN nodes n ON n.id = c.node_id
				WHERE c.state = 'idle' AND c.session_id IS NULL AND n.status = 'online' AND n.replica IS NOT NULL
					AND n.drain_requested_at IS NULL AND ($1 = '' OR c.class = $1)
				ORDER BY (SELECT count(*) FROM pool_containers l WHERE l.node_id = c.node_id AND l.session_id IS NOT NULL),
				         c.reported_at, c.container_id
				LIMIT 1 FOR UPDATE OF c SKIP LOCKED`, class).Scan(&a.nodeID, &a.node, &a.container)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			a.gitToken = randomID("gws_", 32)
			if _, err := tx.Exec(ctx, `UPDATE pool_containers SET session_id = $3 WHERE node_id = $1 AND container_id = $2`,
				a.nodeID, a.container, a.session); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE sessions SET state = 'starting', node_id = $2, container_id = $3,
				lease_expires_at = now() + make_interval(secs => $4), git_token_hash = $5 WHERE id = $1`,
				a.session, a.nodeID, a.container, s.opts.LeaseTTL.Seconds(), hash(a.gitToken)); err != nil {
				return err
			}
			found = true
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("dispatch: %w", err)
		}
		if !found {
			return out, nil
		}
		out = append(out, a)
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

// start prepares an assigned container: the repo gets its Nix files, the
// node claims the container and checks the repo out, and sessiond must
// answer through the tunnel before the session is ready. A failed start is
// retried on another container, twice.
// discardStart asks the node to drop a claim this start gave up: the
// session was never ready on that container, so no one reached it, and
// left alone it would stay claimed on the node for good. Best effort, in
// the background: a node that refuses (the container went on to recover,
// say) keeps it.
func (s *Service) discardStart(ctx context.Context, a assignment) {
	s.bg.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, s.opts.CommandTimeout)
		defer cancel()
		args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: a.container, Session: a.session})
		ack, err := s.hub.Command(ctx, a.node, fleetproto.CommandDiscard, args)
		if err == nil && !ack.OK {
			err = errors.New(ack.Error)
		}
		if err != nil {
			s.log.Info("abandoned claim not discarded", "session", a.session, "node", a.node, "container", a.container, "err", err)
		}
	})
}

func (s *Service) start(ctx context.Context, a assignment, attempt int) {
	defer s.wake(a.session)
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	err := s.prepare(ctx, a)
	if err == nil {
		return
	}
	if errors.Is(err, errFenced) {
		// Someone else owns the session's next step (the sweep requeued
		// it, a report restarted it, the user ended it); the route, if
		// any, is this start's only.
		s.log.Info("session start superseded", "session", a.session, "node", a.node, "container", a.container)
		s.dropRouteOf(a.session, a.container)
		s.discardStart(context.WithoutCancel(ctx), a)
		return
	}
	s.log.Warn("session start failed", "session", a.session, "node", a.node, "container", a.container, "err", err)
	s.dropRouteOf(a.session, a.container)
	bctx := context.WithoutCancel(ctx)
	s.discardStart(bctx, a)
	if attempt >= 2 {
		if err := pgx.BeginFunc(bctx, s.db, func(tx pgx.Tx) error {
			tag, err := tx.Exec(bctx, `UPDATE sessions SET state = 'ended', ended_at = now(), detail = $4,
				sessiond_token = NULL, git_token_hash = NULL
				WHERE id = $1 AND state = 'starting' AND node_id = $2 AND container_id = $3`,
				a.session, a.nodeID, a.container, "start failed: "+err.Error())
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			_, err = tx.Exec(bctx, `UPDATE pool_containers SET state = 'failed' WHERE node_id = $1 AND container_id = $2 AND session_id = $3`,
				a.nodeID, a.container, a.session)
			return err
		}); err != nil {
			s.log.Error("end failed start", "session", a.session, "err", err)
		}
		return
	}
	if ok, err := s.requeue(bctx, a, "retrying: "+err.Error()); err != nil || !ok {
		if err != nil {
			s.log.Error("requeue", "session", a.session, "err", err)
		}
		return
	}
	// Retry at once on another container (the session keeps its place).
	as, err := s.dispatch(bctx)
	if err != nil {
		s.log.Error("dispatch", "err", err)
	}
	for _, b := range as {
		if b.session == a.session {
			s.start(bctx, b, attempt+1)
		} else {
			s.bg.Go(func() { s.start(bctx, b, 0) })
		}
	}
}

// prepare claims a's container on its node and waits for its sessiond.
// Every write is fenced by the node and container a was given: a start
// whose lease ran out, and whose session was requeued onto another
// container meanwhile, cannot mark it ready (or give it its token).
func (s *Service) prepare(ctx context.Context, a assignment) error {
	if err := s.setPhase(ctx, a, "repo"); err != nil {
		return err
	}
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
	if err := s.setPhase(ctx, a, "cloning"); err != nil {
		return err
	}
	args, _ := json.Marshal(fleetproto.ClaimArgs{Container: a.container, Session: a.session,
		Repo:     fleetproto.Repo{URL: s.opts.GitURL + "/" + a.owner + ".git", Username: a.owner, Password: a.gitToken},
		Identity: s.gitIdentity(a.owner)})
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
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET sessiond_token = $4, base_commit = $5, phase = 'connecting'
		WHERE id = $1 AND state = 'starting' AND node_id = $2 AND container_id = $3`,
		a.session, a.nodeID, a.container, res.Token, res.Commit)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errFenced
	}
	r := s.newRoute(a.session, a.userID, a.node, a.container, res.Token)
	if err := r.probe(ctx); err != nil {
		return fmt.Errorf("sessiond through the tunnel: %w", err)
	}
	// started_at keeps the first start: a restarted session shows
	// "restarting" until it is ready again.
	tag, err = s.db.Exec(ctx, `UPDATE sessions SET state = 'ready', phase = '', started_at = coalesce(started_at, now()), last_active_at = now(),
			lease_expires_at = NULL, detail = CASE WHEN restarts > 0 THEN 'restarted from your last save' ELSE '' END
		WHERE id = $1 AND state = 'starting' AND node_id = $2 AND container_id = $3`, a.session, a.nodeID, a.container)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errFenced
	}
	s.log.Info("session ready", "session", a.session, "user", a.owner, "node", a.node, "commit", res.Commit, "resumed", res.Resumed)
	return nil
}

// setPhase records what a's start is doing, for the user to see; like
// every write of a start it is fenced by a's node and container.
func (s *Service) setPhase(ctx context.Context, a assignment, phase string) error {
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET phase = $4 WHERE id = $1 AND state = 'starting' AND node_id = $2 AND container_id = $3`,
		a.session, a.nodeID, a.container, phase)
	if err != nil {
		return fmt.Errorf("session %s phase: %w", a.session, err)
	}
	if tag.RowsAffected() == 0 {
		return errFenced
	}
	return nil
}

// requeue puts a session whose start failed back at its place in the queue
// and marks its container failed, so it is not picked again. It does
// nothing (false) when the session no longer holds a's container.
func (s *Service) requeue(ctx context.Context, a assignment, why string) (bool, error) {
	ok := false
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET state = 'queued', phase = '', node_id = NULL, container_id = NULL, lease_expires_at = NULL,
			git_token_hash = NULL, sessiond_token = NULL, detail = $4
			WHERE id = $1 AND state = 'starting' AND node_id = $2 AND container_id = $3`, a.session, a.nodeID, a.container, why)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ok = true
		_, err = tx.Exec(ctx, `UPDATE pool_containers SET session_id = NULL, state = 'failed' WHERE node_id = $1 AND container_id = $2 AND session_id = $3`,
			a.nodeID, a.container, a.session)
		return err
	})
	return ok, err
}
