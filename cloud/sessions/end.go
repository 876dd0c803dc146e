package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/shared/fleetproto"
)

// End ends one session: autosave and release of its container through the
// node (when it is connected; bounded by CommandTimeout), then the session
// is ended. A queued session just leaves the queue.
func (s *Service) End(ctx context.Context, id, why string) error {
	state, node, container, err := s.markEnding(ctx, id, why)
	if err != nil || state == "" || state == Ended {
		return err
	}
	return s.releaseEnding(ctx, id, node, container)
}

// releaseEnding autosaves and releases the container of session id, which
// markEnding moved to ending.
func (s *Service) releaseEnding(ctx context.Context, id, node, container string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.CommandTimeout)
	defer cancel()
	if !s.rel.take(id, "", 0) {
		return nil // a release is already under way here
	}
	defer s.rel.done(id, "")
	return s.release(ctx, id, node, container)
}

// markEnding moves a session to ending (ended when it holds no container)
// and returns its new state ("" when it had ended already) and container.
func (s *Service) markEnding(ctx context.Context, id, why string) (state, node, container string, err error) {
	err = s.db.QueryRow(ctx, `UPDATE sessions SET state = CASE WHEN node_id IS NULL THEN 'ended' ELSE 'ending' END,
		ended_at = CASE WHEN node_id IS NULL THEN now() END, detail = $2
		WHERE id = $1 AND state NOT IN ('ending', 'ended')
		RETURNING state, coalesce((SELECT name FROM nodes WHERE nodes.id = sessions.node_id), ''), coalesce(container_id, '')`,
		id, why).Scan(&state, &node, &container)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", "", nil
	}
	if err != nil {
		return "", "", "", fmt.Errorf("end session %s: %w", id, err)
	}
	s.wake(id)
	s.dropRoute(id)
	return state, node, container, nil
}

// release asks the node to autosave and destroy the container. The session
// is marked ended when the node's pool report no longer lists it.
func (s *Service) release(ctx context.Context, id, node, container string) error {
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

// releases are the releases (and orphan releases) in flight on this
// replica: one per session at a time, and in the background at most
// ReleaseConcurrency, of which at most a quarter per node, so a node
// that never answers holds only its share until its commands time out.
type releases struct {
	mu       sync.Mutex
	busy     map[string]bool // session → a release is in flight
	inflight int             // background releases
	perNode  map[string]int  // node → background releases
}

// take marks session's release as in flight; node != "" counts it against
// the background limit (and its per-node share). It reports false when it
// may not start now.
func (r *releases) take(session, node string, limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy[session] || (node != "" && (r.inflight >= limit || r.perNode[node] >= max(1, limit/4))) {
		return false
	}
	r.busy[session] = true
	if node != "" {
		r.inflight++
		r.perNode[node]++
	}
	return true
}

func (r *releases) done(session, node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.busy, session)
	if node != "" {
		r.inflight--
		if r.perNode[node]--; r.perNode[node] <= 0 {
			delete(r.perNode, node)
		}
	}
}

// goRelease runs f for session's container on node in the background with
// a CommandTimeout deadline, unless that session's release is in flight or
// the limits are reached (a later sweep tries again). ctx is Run's: ending
// it cancels the command, which a sweep of this or another replica retries.
func (s *Service) goRelease(ctx context.Context, session, node string, f func(ctx context.Context) error) bool {
	if !s.rel.take(session, node, s.opts.ReleaseConcurrency) {
		return false
	}
	s.bg.Go(func() {
		defer s.rel.done(session, node)
		cctx, cancel := context.WithTimeout(ctx, s.opts.CommandTimeout)
		defer cancel()
		if err := f(cctx); err != nil && ctx.Err() == nil {
			s.log.Warn("release", "session", session, "node", node, "err", err)
		}
	})
	return true
}
