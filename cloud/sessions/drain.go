package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/fleetproto"
)

// Elastic pools and draining (issue 17).
//
// Demand: every sweep, each replica tells the nodes it holds their share
// of the queue (the queued sessions of each class, split evenly over the
// online nodes that are not draining) and whether they are draining
// (fleetproto.CommandPoolDemand), when that changed or demandRefresh has
// passed. Each node's pool decides its own targets from it (nodegw/pool,
// elastic.go).
//
// Moves: a ready session on a draining node is saved (CommandSave, the
// path "Run on the fleet" uses). Only once that save succeeded is it
// marked restarting (moving_from set) and its container released (the
// node saves once more, catching the last writes, and destroys it); when
// the node's report no longer lists the container the session is queued
// at the front, like a restart (restart.go) but not counted as one, and
// dispatch, which skips draining nodes, gives it a container elsewhere,
// restored from that save. The IDE keeps its URL /s/{id}/ and reconnects
// on its own (frontend restarting.ts). A session whose save fails stays
// where it is, working; its detail and the node's drain_detail say why,
// and the move is tried again after moveRetry.

const (
	// demandRefresh resends an unchanged demand, so a node that
	// reconnected (and forgot it) learns it again.
	demandRefresh = 10 * time.Second
	// moveRetry is how long a session whose save failed stays before the
	// drain tries again.
	moveRetry = 30 * time.Second

	detailMoving = "your node is going down for maintenance; moving your session to another node"
	detailMoved  = "moved to another node; continuing from your last save"
)

// drains is what this replica remembers of demand it sent and moves
// that failed; guarded by mu.
type drains struct {
	mu      sync.Mutex
	sent    map[string]sentDemand // node → last demand sent
	retryAt map[string]time.Time  // session → next move attempt after a failed save
}

type sentDemand struct {
	d    fleetproto.PoolDemand
	at   time.Time
	busy bool
}

func (d *drains) init() {
	if d.sent == nil {
		d.sent, d.retryAt = map[string]sentDemand{}, map[string]time.Time{}
	}
}

// sendDemand sends each node this replica holds its demand.
func (s *Service) sendDemand(ctx, dctx context.Context) {
	queued := map[string]int{}
	var eligible int
	rows, err := s.db.Query(dctx, `SELECT class, count(*) FROM sessions WHERE state = 'queued' GROUP BY class`)
	if err == nil {
		var class string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&class, &n}, func() error { queued[class] = n; return nil })
	}
	if err == nil {
		err = s.db.QueryRow(dctx, `SELECT count(*) FROM nodes WHERE status = 'online' AND replica IS NOT NULL AND drain_requested_at IS NULL`).Scan(&eligible)
	}
	type target struct {
		name  string
		drain bool
	}
	var nodes []target
	if err == nil {
		rows, err = s.db.Query(dctx, `SELECT name, drain_requested_at IS NOT NULL FROM nodes WHERE status = 'online' AND replica = $1`, s.hub.Replica())
		if err == nil {
			var t target
			_, err = pgx.ForEachRow(rows, []any{&t.name, &t.drain}, func() error { nodes = append(nodes, t); return nil })
		}
	}
	if err != nil {
		s.log.Warn("pool demand", "err", err)
		return
	}
	now := time.Now()
	for _, n := range nodes {
		d := fleetproto.PoolDemand{Drain: n.drain}
		if !n.drain && eligible > 0 {
			for class, q := range queued {
				if share := min((q+eligible-1)/eligible, fleetproto.MaxDemand); share > 0 {
					if d.Queued == nil {
						d.Queued = map[string]int{}
					}
					d.Queued[class] = share
				}
			}
		}
		s.dr.mu.Lock()
		s.dr.init()
		last := s.dr.sent[n.name]
		send := !last.busy && connected(s.hub, n.name) &&
			(last.d.Drain != d.Drain || !maps.Equal(last.d.Queued, d.Queued) || now.Sub(last.at) >= demandRefresh)
		if send {
			s.dr.sent[n.name] = sentDemand{d: last.d, at: last.at, busy: true}
		}
		s.dr.mu.Unlock()
		if !send {
			continue
		}
		s.bg.Go(func() {
			ok := s.demand(ctx, n.name, d) == nil
			s.dr.mu.Lock()
			defer s.dr.mu.Unlock()
			if ok {
				s.dr.sent[n.name] = sentDemand{d: d, at: time.Now()}
			} else {
				s.dr.sent[n.name] = sentDemand{d: last.d, at: last.at}
			}
		})
	}
}

func (s *Service) demand(ctx context.Context, node string, d fleetproto.PoolDemand) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.CommandTimeout)
	defer cancel()
	args, _ := json.Marshal(d)
	ack, err := s.hub.Command(ctx, node, fleetproto.CommandPoolDemand, args)
	if err == nil && !ack.OK {
		// A node without a pool (nodegw --pool=false) refuses it; it is
		// asked again at the next refresh, quietly.
		s.log.Debug("pool demand refused", "node", node, "err", ack.Error)
		return errors.New(ack.Error)
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("pool demand not delivered", "node", node, "err", err)
		}
		return err
	}
	s.log.Debug("pool demand", "node", node, "queued", d.Queued, "drain", d.Drain, "targets", string(ack.Result))
	return nil
}

// move is one session to move off a draining node.
type move struct {
	session, node, container string
	nodeID                   int64
	// saved: the session is already marked moving (restarting, moving_from)
	// after a successful save; only the release is left.
	saved bool
}

// drainNodes starts moving the ready sessions of the draining nodes this
// replica holds, in the background (goRelease bounds them).
func (s *Service) drainNodes(ctx, dctx context.Context) {
	// A session marked moving whose container is still claimed is a move
	// cut short after its save (its replica died before the release got
	// through): it is released now, drained node or not, or it would show
	// "restarting" for good.
	rows, err := s.db.Query(dctx, `SELECT s.id, n.name, s.container_id, n.id, s.state = 'restarting' FROM sessions s JOIN nodes n ON n.id = s.node_id
		WHERE n.replica = $1 AND ((s.state = 'ready' AND n.drain_requested_at IS NOT NULL)
			OR (s.state = 'restarting' AND s.moving_from = s.node_id AND EXISTS (SELECT 1 FROM pool_containers c
				WHERE c.node_id = s.node_id AND c.container_id = s.container_id AND c.state = 'claimed')))`, s.hub.Replica())
	if err != nil {
		s.log.Warn("find sessions to move", "err", err)
		return
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (move, error) {
		var m move
		err := r.Scan(&m.session, &m.node, &m.container, &m.nodeID, &m.saved)
		return m, err
	})
	if err != nil {
		s.log.Warn("find sessions to move", "err", err)
		return
	}
	now := time.Now()
	for _, m := range ms {
		s.dr.mu.Lock()
		s.dr.init()
		wait := now.Before(s.dr.retryAt[m.session])
		s.dr.mu.Unlock()
		if !wait && connected(s.hub, m.node) {
			s.goRelease(ctx, m.session, m.node, func(ctx context.Context) error { return s.move(ctx, m) })
		}
	}
}

// move saves m's session, and only if that succeeded releases its
// container for a fresh one elsewhere (see above).
func (s *Service) move(ctx context.Context, m move) error {
	args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: m.container, Session: m.session})
	if m.saved {
		return s.moveRelease(ctx, m, args)
	}
	ack, err := s.hub.Command(ctx, m.node, fleetproto.CommandSave, args)
	if err == nil && !ack.OK {
		err = errors.New(ack.Error)
	}
	if err != nil {
		return s.moveFailed(ctx, m, err)
	}
	var res fleetproto.SaveResult
	if err := json.Unmarshal(ack.Result, &res); err != nil || !fleetproto.ValidCommitID(res.Commit) {
		return s.moveFailed(ctx, m, errors.New("the node's answer has no commit"))
	}
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET state = 'restarting', detail = $4, last_autosave = $5, moving_from = $2
		WHERE id = $1 AND state = 'ready' AND node_id = $2 AND container_id = $3`, m.session, m.nodeID, m.container, detailMoving, res.Commit)
	if err != nil {
		return fmt.Errorf("move session %s: %w", m.session, err)
	}
	if tag.RowsAffected() == 0 {
		return nil // it ended or its container died meanwhile
	}
	s.dropRoute(m.session)
	s.wake(m.session)
	return s.moveRelease(ctx, m, args)
}

// moveRelease releases the container of m's session, marked moving: the
// node saves once more and destroys it, and the report that no longer
// lists it queues the session (containerGone).
func (s *Service) moveRelease(ctx context.Context, m move, args []byte) error {
	ack, err := s.hub.Command(ctx, m.node, fleetproto.CommandRelease, args)
	if err == nil && !ack.OK {
		err = errors.New(ack.Error)
	}
	if err != nil {
		// The container is still claimed and running: back to work there.
		if _, uerr := s.db.Exec(context.WithoutCancel(ctx), `UPDATE sessions SET state = 'ready', moving_from = NULL, detail = ''
			WHERE id = $1 AND state = 'restarting' AND node_id = $2 AND container_id = $3`, m.session, m.nodeID, m.container); uerr != nil {
			s.log.Error("move: put the session back", "session", m.session, "err", uerr)
		}
		return s.moveFailed(ctx, m, err)
	}
	var rel fleetproto.SaveResult
	if json.Unmarshal(ack.Result, &rel) == nil && fleetproto.ValidCommitID(rel.Commit) {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_autosave = $2 WHERE id = $1 AND moving_from IS NOT NULL`, m.session, rel.Commit); err != nil {
			return err
		}
	}
	if _, err := s.db.Exec(ctx, `UPDATE nodes SET drain_detail = '' WHERE id = $1 AND starts_with(drain_detail, 'session ' || $2 || ' ')`,
		m.nodeID, m.session); err != nil {
		return err
	}
	s.dr.mu.Lock()
	delete(s.dr.retryAt, m.session)
	s.dr.mu.Unlock()
	s.log.Info("session moving off a draining node", "session", m.session, "node", m.node, "autosave", rel.Commit)
	return nil
}

// moveFailed leaves m's session where it is, says why to its user and on
// the node's drain, and retries after moveRetry.
func (s *Service) moveFailed(ctx context.Context, m move, why error) error {
	s.dr.mu.Lock()
	s.dr.retryAt[m.session] = time.Now().Add(moveRetry)
	s.dr.mu.Unlock()
	msg := store.DetailMoveFailed + why.Error()
	if len(msg) > 600 {
		msg = msg[:597] + "..."
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := s.db.Exec(ctx, `UPDATE sessions SET detail = $3 WHERE id = $1 AND state = 'ready' AND node_id = $2`, m.session, m.nodeID, msg); err != nil {
		s.log.Warn("record a failed move", "session", m.session, "err", err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE nodes SET drain_detail = $2 WHERE id = $1 AND drain_requested_at IS NOT NULL`,
		m.nodeID, fmt.Sprintf("session %s not moved: save failed: %v", m.session, why)); err != nil {
		s.log.Warn("record a failed move", "session", m.session, "err", err)
	}
	return fmt.Errorf("move session %s off %s: save: %w", m.session, m.node, why)
}
