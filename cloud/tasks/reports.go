package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/shared/fleetproto"
)

// nodeReport is a task update or log chunk as a node sent it.
type nodeReport struct {
	nodeID int64
	node   string
	update *fleetproto.TaskUpdate
	log    *fleetproto.TaskLog
}

// OnUpdate takes a node's task report (fleet.Options.OnTaskUpdate). It
// only queues it: the hub's read loop must not wait on the database. A
// state change is never dropped: when the writer is behind, the node's
// read loop waits for it.
func (s *Service) OnUpdate(nodeID int64, node string, u *fleetproto.TaskUpdate) {
	select {
	case s.updates <- nodeReport{nodeID: nodeID, node: node, update: u}:
	case <-s.stopped: // shutting down: the node resends it after reconnecting
	}
}

// OnLog takes a node's chunk of task output (fleet.Options.OnTaskLog).
// Output is written by its own worker, and when that is behind a chunk is
// dropped rather than hold up the node's link (heartbeats, acks and every
// other node on this replica): a flood of output costs its own task lines
// of log, nothing else.
func (s *Service) OnLog(nodeID int64, node string, l *fleetproto.TaskLog) {
	select {
	case s.logs <- nodeReport{nodeID: nodeID, node: node, log: l}:
	default:
		if s.dropped.Add(1)%1000 == 1 {
			s.log.Warn("task output dropped: the log writer is behind", "task", l.ID, "dropped_total", s.dropped.Load())
		}
	}
}

// applyReports writes node reports, state changes in arrival order.
func (s *Service) applyReports(ctx context.Context) {
	s.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case r := <-s.logs:
				if err := s.applyLog(ctx, r); err != nil && ctx.Err() == nil {
					s.log.Error("write task output", "node", r.node, "err", err)
				}
			}
		}
	})
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.updates:
			if err := s.applyUpdate(ctx, r); err != nil && ctx.Err() == nil {
				s.log.Error("apply node task report", "node", r.node, "err", err)
			}
		}
	}
}

// applyUpdate records a node's new state for a task attempt it holds.
// A report about an attempt the node no longer holds (the task was
// cancelled, or lost and given to another node) stops it there.
func (s *Service) applyUpdate(ctx context.Context, r nodeReport) error {
	u := r.update
	stale := false
	changed := false
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var state string
		var attempt int
		var nodeID *int64
		err := tx.QueryRow(ctx, `SELECT state, attempt, node_id FROM tasks WHERE id = $1 FOR UPDATE`, u.ID).Scan(&state, &attempt, &nodeID)
		if errors.Is(err, pgx.ErrNoRows) {
			stale = true
			return nil
		}
		if err != nil {
			return err
		}
		if attempt != u.Attempt || nodeID == nil || *nodeID != r.nodeID || fleetproto.TaskTerminal(state) || state == fleetproto.TaskQueued {
			// Not this node's attempt any more. A final report of it
			// needs nothing; a live one is stopped.
			stale = !fleetproto.TaskTerminal(u.State)
			return nil
		}
		if u.State == fleetproto.TaskLost {
			var maxAttempts int
			if err := tx.QueryRow(ctx, `SELECT max_attempts FROM tasks WHERE id = $1`, u.ID).Scan(&maxAttempts); err != nil {
				return err
			}
			changed = true
			return loseAttempt(ctx, tx, u.ID, u.Attempt, maxAttempts, r.nodeID, fmt.Sprintf("%s (node %s, attempt %d)", u.Detail, r.node, u.Attempt))
		}
		if rank[u.State] <= rank[state] && u.State == state {
			return nil // a resend after a reconnect
		}
		if rank[u.State] < rank[state] {
			return nil // late: never move backwards
		}
		detail := u.Detail
		if len(detail) > fleetproto.MaxTaskDetail {
			detail = detail[:fleetproto.MaxTaskDetail]
		}
		arts := u.Artifacts
		if arts == nil {
			arts = map[string]int64{}
		}
		ab, _ := json.Marshal(arts)
		_, err = tx.Exec(ctx, `UPDATE tasks SET state = $2, detail = $3, updated_at = now(),
			exit_code = coalesce($4, exit_code),
			image = CASE WHEN $5 <> '' THEN $5 ELSE image END,
			image_cached = CASE WHEN $5 <> '' THEN $6 ELSE image_cached END,
			artifacts = CASE WHEN $7::jsonb <> '{}'::jsonb THEN $7::jsonb ELSE artifacts END,
			running_at = CASE WHEN $2 = 'running' THEN now() ELSE running_at END,
			finished_at = CASE WHEN $8 THEN now() ELSE finished_at END,
			git_token_hash = CASE WHEN $8 THEN NULL ELSE git_token_hash END
			WHERE id = $1`, u.ID, u.State, detail, u.ExitCode, u.Image, u.Cached, string(ab), fleetproto.TaskTerminal(u.State))
		if err != nil {
			return fmt.Errorf("task %d: %w", u.ID, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, node_id, detail) VALUES ($1, $2, $3, $4, $5)`,
			u.ID, u.Attempt, u.State, r.nodeID, detail)
		changed = true
		return err
	})
	if err != nil {
		return err
	}
	if stale {
		go s.stopOnNode(context.WithoutCancel(ctx), r.node, u.ID, u.Attempt)
	}
	if changed && fleetproto.TaskTerminal(u.State) {
		s.Kick() // its resources are free, or it is queued again
	}
	return nil
}

// maxLogChunks bounds what is kept of an attempt's output: 4,096 chunks
// of at most 16 KiB, 64 MiB; the rest is dropped with a line saying so.
const maxLogChunks = 4096

// applyLog stores a chunk of output from the node running that attempt.
func (s *Service) applyLog(ctx context.Context, r nodeReport) error {
	l := r.log
	data := l.Data
	switch {
	case l.Seq == maxLogChunks+1:
		data = []byte(fmt.Sprintf("\n[gatewave: the log is cut here, at %d MiB; the task goes on]\n", maxLogChunks*fleetproto.MaxTaskLogChunk>>20))
	case l.Seq > maxLogChunks:
		return nil
	}
	_, err := s.db.Exec(ctx, `INSERT INTO task_logs (task_id, attempt, seq, data)
		SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND attempt = $2 AND node_id = $5)
		ON CONFLICT DO NOTHING`, l.ID, l.Attempt, l.Seq, data, r.nodeID)
	if err != nil {
		return fmt.Errorf("task %d log: %w", l.ID, err)
	}
	return nil
}

// sweepLost marks tasks on nodes that went offline as lost, and queues
// them again while they have attempts left; it also fails attempts that
// outlived their timeout by far without their node saying so.
func (s *Service) sweepLost(ctx context.Context) error {
	type lost struct {
		id, node    int64
		name        string
		attempt     int
		maxAttempts int
	}
	var ls []lost
	var overdue []assignment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.node_id, n.name, t.attempt, t.max_attempts FROM tasks t JOIN nodes n ON n.id = t.node_id
			WHERE t.state = ANY($1) AND n.status <> 'online' FOR UPDATE OF t SKIP LOCKED`, activeStates)
		if err != nil {
			return err
		}
		for rows.Next() {
			var l lost
			if err := rows.Scan(&l.id, &l.node, &l.name, &l.attempt, &l.maxAttempts); err != nil {
				rows.Close()
				return err
			}
			ls = append(ls, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, l := range ls {
			why := fmt.Sprintf("node %s went offline during attempt %d", l.name, l.attempt)
			if err := loseAttempt(ctx, tx, l.id, l.attempt, l.maxAttempts, l.node, why); err != nil {
				return err
			}
		}
		// Attempts far past their time whose node never said: the run's
		// timeout from when it started, or the build budget and the
		// timeout from the dispatch while it has not started.
		rows, err = tx.Query(ctx, `WITH over AS (
				UPDATE tasks t SET state = 'failed', git_token_hash = NULL, finished_at = now(), updated_at = now(),
					detail = 'the node did not report the end of the task within its time'
				WHERE t.state = ANY($1) AND coalesce(t.running_at + make_interval(secs => t.timeout_ms / 1000.0),
					t.dispatched_at + make_interval(secs => t.timeout_ms / 1000.0 + $2::float8)) + interval '10 minutes' < now()
				RETURNING t.id, t.attempt, t.node_id, t.detail),
			ev AS (INSERT INTO task_events (task_id, attempt, state, node_id, detail) SELECT id, attempt, 'failed', node_id, detail FROM over)
			SELECT over.id, over.attempt, n.name FROM over JOIN nodes n ON n.id = over.node_id`, activeStates, BuildBudget.Seconds())
		if err != nil {
			return err
		}
		for rows.Next() {
			var o assignment
			if err := rows.Scan(&o.id, &o.attempt, &o.node); err != nil {
				rows.Close()
				return err
			}
			overdue = append(overdue, o)
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("sweep lost tasks: %w", err)
	}
	for _, o := range overdue {
		// Whatever it is doing there, it stops.
		go s.stopOnNode(context.WithoutCancel(ctx), o.node, o.id, o.attempt)
	}
	for _, l := range ls {
		s.log.Warn("task lost with its node", "task", l.id, "node", l.name, "attempt", l.attempt)
	}
	if len(ls) > 0 {
		s.Kick()
	}
	return nil
}

// state returns a task's state and attempt.
func (s *Service) state(ctx context.Context, id int64) (string, int, error) {
	var st string
	var attempt int
	err := s.db.QueryRow(ctx, `SELECT state, attempt FROM tasks WHERE id = $1`, id).Scan(&st, &attempt)
	return st, attempt, err
}

var pollEvery = 200 * time.Millisecond

// loseAttempt records that attempt of task id was lost on node (why says
// how) and queues the task again while fewer than maxAttempts runs were
// lost; else the task ends lost.
func loseAttempt(ctx context.Context, tx pgx.Tx, id int64, attempt, maxAttempts int, node int64, why string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, node_id, detail) VALUES ($1, $2, 'lost', $3, $4)`,
		id, attempt, node, why); err != nil {
		return err
	}
	var lost int
	if err := tx.QueryRow(ctx, `UPDATE tasks SET lost_attempts = lost_attempts + 1 WHERE id = $1 RETURNING lost_attempts`, id).Scan(&lost); err != nil {
		return err
	}
	if lost < maxAttempts {
		retry := fmt.Sprintf("%s; queued again (run %d of %d next)", why, lost+1, maxAttempts)
		if _, err := tx.Exec(ctx, `UPDATE tasks SET state = 'queued', node_id = NULL, git_token_hash = NULL, detail = $2,
			updated_at = now() WHERE id = $1`, id, retry); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, detail) VALUES ($1, $2, 'queued', $3)`, id, attempt, retry)
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE tasks SET state = 'lost', git_token_hash = NULL, finished_at = now(), updated_at = now(),
		detail = $2 WHERE id = $1`, id, fmt.Sprintf("%s; lost %d of %d runs, none left", why, lost, maxAttempts))
	return err
}
