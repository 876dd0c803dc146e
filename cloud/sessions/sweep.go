package sessions

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweepTimeout bounds one sweep's database work; commands to nodes run in
// the background under their own timeout (goRelease), so no node, however
// slow, holds up a sweep.
const sweepTimeout = 30 * time.Second

// sweep writes tunnel activity, recovers expired leases, takes sessions
// whose user is gone out of the queue, ends idle sessions and those of
// lost nodes, finishes released ones, (re)starts releases, moves the
// sessions of draining nodes and tells nodes their demand (drain.go).
func (s *Service) sweep(ctx context.Context) {
	dctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	s.flushActivity(dctx)
	s.recoverLeases(dctx)
	s.expireQueue(dctx)
	s.endIdle(ctx, dctx)
	s.endLost(dctx)
	s.finishReleased(dctx)
	s.releaseOrphans(ctx, dctx)
	s.retryReleases(ctx, dctx)
	s.drainNodes(ctx, dctx)
	s.sendDemand(ctx, dctx)
}

func (s *Service) flushActivity(ctx context.Context) {
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
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_active_at = now() WHERE id = ANY($1) AND state = 'ready'`, ids); err != nil {
			s.log.Warn("record activity", "err", err)
		}
	}
}

// recoverLeases requeues claims whose lease ran out (their replica died,
// or the start is slow): the session keeps its place and gets another
// container, and the old one is marked failed. Both writes check the
// container the session held, so a start that finishes late is fenced
// out (prepare) and never hands the same session two containers.
func (s *Service) recoverLeases(ctx context.Context) {
	tag, err := s.db.Exec(ctx, `WITH old AS (
			SELECT id, node_id, container_id FROM sessions
			WHERE state = 'starting' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED),
		x AS (UPDATE sessions s SET state = 'queued', node_id = NULL, container_id = NULL, lease_expires_at = NULL,
				git_token_hash = NULL, sessiond_token = NULL, detail = 'lease expired; requeued'
			FROM old WHERE s.id = old.id AND s.state = 'starting'
				AND s.node_id = old.node_id AND s.container_id = old.container_id
			RETURNING old.id, old.node_id, old.container_id)
		UPDATE pool_containers c SET session_id = NULL, state = 'failed'
		FROM x WHERE c.node_id = x.node_id AND c.container_id = x.container_id AND c.session_id = x.id`)
	if err != nil {
		s.log.Warn("recover leases", "err", err)
	} else if tag.RowsAffected() > 0 {
		s.log.Info("recovered expired claims", "containers", tag.RowsAffected())
		s.kickDispatch()
	}
}

const (
	detailSignedOut = "left the queue: signed out"
	detailQueueWait = "left the queue: no container was free within %v; start again to rejoin"
)

// expireQueue ends queued sessions nobody waits for: their user has no
// live sign-in left (signed out on a replica that could not end them,
// or the sign-in expired), or they waited past MaxQueueWait without ever
// starting (a session back from a restart waits as long as its user is
// signed in).
func (s *Service) expireQueue(ctx context.Context) {
	wait := -1.0
	if s.opts.MaxQueueWait > 0 {
		wait = s.opts.MaxQueueWait.Seconds()
	}
	rows, err := s.db.Query(ctx, `WITH q AS (
			SELECT s.id, NOT EXISTS (SELECT 1 FROM web_sessions w WHERE w.user_id = s.user_id AND w.expires_at > now()) AS gone
			FROM sessions s WHERE s.state = 'queued' FOR UPDATE SKIP LOCKED)
		UPDATE sessions s SET state = 'ended', ended_at = now(), detail = CASE WHEN q.gone THEN $2 ELSE $3 END
		FROM q WHERE s.id = q.id AND s.state = 'queued'
			AND (q.gone OR ($1 > 0 AND s.started_at IS NULL AND s.queued_at < now() - make_interval(secs => $1)))
		RETURNING s.id`, wait, detailSignedOut, fmt.Sprintf(detailQueueWait, s.opts.MaxQueueWait))
	if err != nil {
		s.log.Warn("expire queue", "err", err)
		return
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.log.Warn("expire queue", "err", err)
	}
	for _, id := range ids {
		s.log.Info("queued session expired", "session", id)
		s.wake(id)
	}
}

// endIdle ends sessions without tunnel traffic for IdleTimeout; their
// releases run in the background under Run's ctx.
func (s *Service) endIdle(ctx, dctx context.Context) {
	if s.opts.IdleTimeout <= 0 {
		return
	}
	rows, err := s.db.Query(dctx, `SELECT id FROM sessions WHERE state = 'ready' AND last_active_at < now() - make_interval(secs => $1)`,
		s.opts.IdleTimeout.Seconds())
	if err != nil {
		s.log.Warn("find idle sessions", "err", err)
		return
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.log.Warn("find idle sessions", "err", err)
		return
	}
	for _, id := range ids {
		state, node, container, err := s.markEnding(dctx, id, "idle timeout")
		if err != nil {
			s.log.Warn("end idle session", "session", id, "err", err)
			continue
		}
		if state == Ending && connected(s.hub, node) {
			s.goRelease(ctx, id, node, func(ctx context.Context) error { return s.release(ctx, id, node, container) })
		}
	}
}

// endLost ends, with their last autosave, the sessions of nodes that no
// replica holds and that have been silent past NodeLostAfter. (A node
// whose replica died is let go by the fleet's replica sweep within the
// offline window, so its sessions end here too instead of showing
// "reconnecting" forever.)
func (s *Service) endLost(ctx context.Context) {
	tag, err := s.db.Exec(ctx, `UPDATE sessions s SET state = 'ended', ended_at = now(), sessiond_token = NULL, git_token_hash = NULL,
			detail = 'node lost; work kept up to the last autosave'
		FROM nodes n WHERE n.id = s.node_id AND s.state IN ('ready', 'restarting', 'ending', 'starting') AND n.replica IS NULL
			AND (n.last_heartbeat_at IS NULL OR n.last_heartbeat_at < now() - make_interval(secs => $1))`, s.opts.NodeLostAfter.Seconds())
	if err != nil {
		s.log.Warn("end sessions of lost nodes", "err", err)
	} else if tag.RowsAffected() > 0 {
		s.log.Warn("ended sessions of lost nodes", "sessions", tag.RowsAffected())
	}
}

// finishReleased ends ending sessions whose container is gone.
func (s *Service) finishReleased(ctx context.Context) {
	if _, err := s.db.Exec(ctx, `UPDATE sessions s SET state = 'ended', ended_at = now(), sessiond_token = NULL, git_token_hash = NULL,
			detail = CASE WHEN detail LIKE 'saving your work failed%' THEN 'ended; your work was saved' ELSE detail END
		WHERE s.state = 'ending' AND NOT EXISTS (SELECT 1 FROM pool_containers c WHERE c.node_id = s.node_id AND c.container_id = s.container_id)`); err != nil {
		s.log.Warn("finish ended sessions", "err", err)
	}
}

// retryReleases restarts releases that did not get through (node away,
// claim in progress, autosave failed, command timed out) for the nodes
// linked to this replica.
func (s *Service) retryReleases(ctx, dctx context.Context) {
	rows, err := s.db.Query(dctx, `SELECT s.id, n.name, s.container_id FROM sessions s JOIN nodes n ON n.id = s.node_id
		WHERE s.state = 'ending' AND n.replica = $1 AND EXISTS (SELECT 1 FROM pool_containers c
			WHERE c.node_id = s.node_id AND c.container_id = s.container_id AND c.state = 'claimed')`, s.hub.Replica())
	if err != nil {
		s.log.Warn("find releases to retry", "err", err)
		return
	}
	type rel struct{ id, node, container string }
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
		var x rel
		err := r.Scan(&x.id, &x.node, &x.container)
		return x, err
	})
	if err != nil {
		s.log.Warn("find releases to retry", "err", err)
		return
	}
	for _, r := range rs {
		if connected(s.hub, r.node) {
			s.goRelease(ctx, r.id, r.node, func(ctx context.Context) error { return s.release(ctx, r.id, r.node, r.container) })
		}
	}
}
