package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/objstore"
	"gatewave.dev/shared/fleetproto"
)

// schedulerLock is the advisory lock one replica's scheduling round holds;
// others skip the round (the next one picks up what is left).
const schedulerLock int64 = 0x7461_736b_7363_6864 // "tasksched"

// capacity is a node as the scheduler sees it.
type capacity struct {
	id     int64
	name   string
	labels map[string]string
	cpus   float64
	mem    int64
	gpus   int
	// used by tasks holding the node
	usedCPUs float64
	usedMem  int64
	usedGPUs int
}

func (n *capacity) hasLabels(want map[string]string) bool {
	for k, v := range want {
		if n.labels[k] != v {
			return false
		}
	}
	return true
}

func (n *capacity) fitsEver(p pinned) bool {
	return n.hasLabels(p.Labels) && p.Resources.CPUs <= n.cpus && p.Resources.MemoryBytes <= n.mem && p.Resources.GPUs <= n.gpus
}

func (n *capacity) fitsNow(cpus float64, mem int64, gpus int) bool {
	return cpus <= n.cpus-n.usedCPUs+1e-9 && mem <= n.mem-n.usedMem && gpus <= n.gpus-n.usedGPUs
}

// nodes returns the registered nodes (online ones only with online),
// with the resources their gateways declared and their labels (the
// operator's win over the reported ones).
func (s *Service) nodes(ctx context.Context, online bool) ([]*capacity, error) {
	return queryNodes(ctx, s.db, online)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryNodes(ctx context.Context, q querier, online bool) ([]*capacity, error) {
	rows, err := q.Query(ctx, `SELECT id, name, (CASE WHEN jsonb_typeof(reported_labels) = 'object' THEN reported_labels ELSE '{}' END) || labels, resources FROM nodes
		WHERE status <> 'revoked' AND (NOT $1 OR (status = 'online' AND replica IS NOT NULL AND drain_requested_at IS NULL)) ORDER BY id`, online)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	defer rows.Close()
	var out []*capacity
	for rows.Next() {
		n := &capacity{}
		var res fleetproto.Resources
		if err := rows.Scan(&n.id, &n.name, &n.labels, &res); err != nil {
			return nil, err
		}
		// What the warm pool of IDE containers holds is not the tasks'.
		n.cpus = max(float64(res.CPUCores)-res.PoolCPUs, 0)
		n.mem = max(int64(res.MemoryBytes)-int64(res.PoolMemoryBytes), 0)
		n.gpus = len(res.GPUs)
		out = append(out, n)
	}
	return out, rows.Err()
}

// assignment is a task given to a node in a scheduling round.
type assignment struct {
	id, nodeID int64
	node       string
	attempt    int
	gitToken   string
}

// maxPages bounds how many pages of Options.Batch queued tasks one round
// looks through for tasks that fit.
const maxPages = 40

// Schedule runs one scheduling round and returns how many tasks it
// dispatched. It goes through the queue in priority, then arrival order,
// a page at a time; a task that fits no node now, or whose user is at
// quota, stays queued without holding up the tasks behind it, and the
// round ends when no node has room left or the queue is through.
func (s *Service) Schedule(ctx context.Context) (int, error) {
	var assigned []assignment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, schedulerLock).Scan(&got); err != nil || !got {
			return err
		}
		nodes, err := queryNodes(ctx, tx, true)
		if err != nil || len(nodes) == 0 {
			return err
		}
		nodes = s.notAvoided(nodes)
		byID := map[int64]*capacity{}
		for _, n := range nodes {
			byID[n.id] = n
		}
		active := map[int64]int{}
		urows, err := tx.Query(ctx, `SELECT node_id, user_id, cpus, memory_bytes, gpus FROM tasks
			WHERE state = ANY($1) AND node_id IS NOT NULL`, activeStates)
		if err != nil {
			return fmt.Errorf("tasks on nodes: %w", err)
		}
		for urows.Next() {
			var nid, uid int64
			var cpus float64
			var mem int64
			var gpus int
			if err := urows.Scan(&nid, &uid, &cpus, &mem, &gpus); err != nil {
				urows.Close()
				return err
			}
			active[uid]++
			if n := byID[nid]; n != nil {
				n.usedCPUs += cpus
				n.usedMem += mem
				n.usedGPUs += gpus
			}
		}
		urows.Close()
		if err := urows.Err(); err != nil {
			return err
		}
		atQuota := func() []int64 {
			us := []int64{} // never NULL: NOT (x = ANY(NULL)) holds for no row
			for u, n := range active {
				if n >= s.opts.MaxActivePerUser {
					us = append(us, u)
				}
			}
			return us
		}
		roomLeft := func() bool {
			for _, n := range nodes {
				if n.cpus-n.usedCPUs > 1e-9 && n.mem-n.usedMem > 0 {
					return true
				}
			}
			return false
		}
		type queued struct {
			id, user int64
			cpus     float64
			mem      int64
			gpus     int
			labels   map[string]string
			priority int
		}
		batch := &pgx.Batch{}
		var after *queued // the last task of the previous page
		for page := 0; page < maxPages && roomLeft(); page++ {
			var rows pgx.Rows
			if after == nil {
				rows, err = tx.Query(ctx, `SELECT id, user_id, cpus, memory_bytes, gpus, labels, priority FROM tasks
					WHERE state = 'queued' AND NOT (user_id = ANY($2)) ORDER BY priority DESC, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
					s.opts.Batch, atQuota())
			} else {
				rows, err = tx.Query(ctx, `SELECT id, user_id, cpus, memory_bytes, gpus, labels, priority FROM tasks
					WHERE state = 'queued' AND NOT (user_id = ANY($2)) AND (priority < $3 OR (priority = $3 AND id > $4))
					ORDER BY priority DESC, id LIMIT $1 FOR UPDATE SKIP LOCKED`, s.opts.Batch, atQuota(), after.priority, after.id)
			}
			if err != nil {
				return fmt.Errorf("pick queued tasks: %w", err)
			}
			var qs []queued
			for rows.Next() {
				var q queued
				if err := rows.Scan(&q.id, &q.user, &q.cpus, &q.mem, &q.gpus, &q.labels, &q.priority); err != nil {
					rows.Close()
					return err
				}
				qs = append(qs, q)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, q := range qs {
				if active[q.user] >= s.opts.MaxActivePerUser {
					continue
				}
				var best *capacity
				for _, n := range nodes {
					if !n.hasLabels(q.labels) || !n.fitsNow(q.cpus, q.mem, q.gpus) {
						continue
					}
					// The least loaded node: the most free cores, then memory.
					if best == nil || n.cpus-n.usedCPUs > best.cpus-best.usedCPUs ||
						(n.cpus-n.usedCPUs == best.cpus-best.usedCPUs && n.mem-n.usedMem > best.mem-best.usedMem) {
						best = n
					}
				}
				if best == nil {
					continue
				}
				best.usedCPUs += q.cpus
				best.usedMem += q.mem
				best.usedGPUs += q.gpus
				active[q.user]++
				tok, h := newGitToken()
				assigned = append(assigned, assignment{id: q.id, nodeID: best.id, node: best.name, gitToken: tok})
				batch.Queue(`UPDATE tasks SET state = 'dispatched', node_id = $2, attempt = attempt + 1, git_token_hash = $3,
					dispatched_at = now(), running_at = NULL, updated_at = now(), detail = '' WHERE id = $1 RETURNING attempt`, q.id, best.id, h)
				batch.Queue(`INSERT INTO task_events (task_id, attempt, state, node_id) SELECT id, attempt, 'dispatched', node_id
					FROM tasks WHERE id = $1`, q.id)
			}
			if len(qs) < s.opts.Batch {
				break
			}
			after = &qs[len(qs)-1]
		}
		if len(assigned) == 0 {
			return nil
		}
		br := tx.SendBatch(ctx, batch)
		for i := range assigned {
			if err := br.QueryRow().Scan(&assigned[i].attempt); err != nil {
				br.Close()
				return fmt.Errorf("assign task %d: %w", assigned[i].id, err)
			}
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("task %d event: %w", assigned[i].id, err)
			}
		}
		return br.Close()
	})
	if err != nil {
		return 0, err
	}
	if len(assigned) > 0 {
		s.dispatch(ctx, assigned)
	}
	return len(assigned), nil
}

// dispatch sends the assigned tasks to their nodes, several nodes at once.
func (s *Service) dispatch(ctx context.Context, as []assignment) {
	sort.Slice(as, func(i, j int) bool { return as[i].id < as[j].id })
	sem := make(chan struct{}, 32)
	done := make(chan struct{})
	for _, a := range as {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			s.dispatchOne(ctx, a)
		}()
	}
	for range as {
		<-done
	}
}

func (s *Service) dispatchOne(ctx context.Context, a assignment) {
	args, err := s.runArgs(ctx, a)
	if err == nil {
		var b []byte
		b, err = json.Marshal(args)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, s.opts.DispatchTimeout)
			var ack *fleetproto.Ack
			ack, err = s.opts.Fleet.Command(cctx, a.node, fleetproto.CommandTaskRun, b)
			cancel()
			if err == nil && !ack.OK {
				if strings.Contains(ack.Error, "shutting down") {
					err = errors.New(ack.Error) // another node, or this one once it is back
				} else {
					// The node looked and said no: that will not change
					// by asking again.
					s.finish(ctx, a, fleetproto.TaskFailed, "the node refused the task: "+ack.Error)
					return
				}
			}
		}
	}
	if err != nil {
		s.log.Warn("dispatch failed: back to the queue", "task", a.id, "node", a.node, "err", err)
		s.avoid(a.node)
		s.requeue(ctx, a, "could not reach "+a.node+": "+err.Error())
	}
}

// runArgs builds what the node needs: repos with the attempt's read-only
// credential, and presigned URLs for inputs and artifacts that expire
// with the task.
func (s *Service) runArgs(ctx context.Context, a assignment) (*fleetproto.TaskRunArgs, error) {
	var t struct {
		user                     string
		codeURL, codeC           string
		envURL, envC, dockerfile string
		cmd                      []string
		cpus                     float64
		mem                      int64
		gpus                     int
		timeoutMS                int64
		inputs                   []Input
		arts                     []string
	}
	err := s.db.QueryRow(ctx, `SELECT u.name, t.code_repo_url, t.code_commit_id, t.env_repo_url, t.env_commit_id, t.dockerfile_path,
		t.command, t.cpus, t.memory_bytes, t.gpus, t.timeout_ms, t.inputs, t.artifact_paths
		FROM tasks t JOIN users u ON u.id = t.user_id WHERE t.id = $1`, a.id).Scan(&t.user, &t.codeURL, &t.codeC, &t.envURL, &t.envC,
		&t.dockerfile, &t.cmd, &t.cpus, &t.mem, &t.gpus, &t.timeoutMS, &t.inputs, &t.arts)
	if err != nil {
		return nil, fmt.Errorf("load task %d: %w", a.id, err)
	}
	// The links live through the fetch and the build, the run, and the
	// upload after it.
	ttl := BuildBudget + time.Duration(t.timeoutMS)*time.Millisecond + 30*time.Minute
	args := &fleetproto.TaskRunArgs{ID: a.id, Attempt: a.attempt,
		Code:           fleetproto.TaskRepo{URL: t.codeURL, Commit: t.codeC, Username: t.user, Password: a.gitToken},
		Env:            fleetproto.TaskRepo{URL: t.envURL, Commit: t.envC, Username: t.user, Password: a.gitToken},
		DockerfilePath: t.dockerfile, Command: t.cmd, CPUs: t.cpus, MemoryBytes: t.mem, GPUs: t.gpus, TimeoutMS: t.timeoutMS}
	if len(t.inputs) > 0 || len(t.arts) > 0 {
		if s.opts.Objects == nil {
			return nil, errors.New("the task has files but no object store is configured")
		}
	}
	for _, in := range t.inputs {
		u, err := s.opts.Objects.PresignGet(ctx, in.Object, ttl)
		if err != nil {
			return nil, fmt.Errorf("presign input %s: %w", in.Path, err)
		}
		args.Inputs = append(args.Inputs, fleetproto.TaskObject{Path: in.Path, URL: u})
	}
	for _, p := range t.arts {
		key, err := objstore.TaskArtifactKey(a.id, a.attempt, p)
		if err != nil {
			return nil, err
		}
		u, err := s.opts.Objects.PresignPut(ctx, key, ttl)
		if err != nil {
			return nil, fmt.Errorf("presign artifact %s: %w", p, err)
		}
		args.Artifacts = append(args.Artifacts, fleetproto.TaskObject{Path: p, URL: u})
	}
	return args, args.Validate()
}

// maxDispatchFailures bounds the dispatches of a task that never reach a
// node before it fails.
const maxDispatchFailures = 5

// requeue puts a dispatched attempt that never reached its node back in
// the queue. It is not a run of the task (it does not count against
// max_attempts), but a task that cannot be dispatched maxDispatchFailures
// times fails, saying why.
func (s *Service) requeue(ctx context.Context, a assignment, why string) {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var failures int
		err := tx.QueryRow(ctx, `UPDATE tasks SET state = 'queued', node_id = NULL, git_token_hash = NULL,
			dispatched_at = NULL, updated_at = now(), detail = $3, dispatch_failures = dispatch_failures + 1
			WHERE id = $1 AND attempt = $2 AND state = 'dispatched' RETURNING dispatch_failures`, a.id, a.attempt, why).Scan(&failures)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if failures >= maxDispatchFailures {
			detail := fmt.Sprintf("could not be dispatched %d times; the last: %s", failures, why)
			if _, err := tx.Exec(ctx, `UPDATE tasks SET state = 'failed', finished_at = now(), detail = $2 WHERE id = $1`, a.id, detail); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, node_id, detail) VALUES ($1, $2, 'failed', $3, $4)`,
				a.id, a.attempt, a.nodeID, detail)
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, node_id, detail) VALUES ($1, $2, 'queued', $3, $4)`,
			a.id, a.attempt, a.nodeID, why)
		return err
	})
	if err != nil {
		s.log.Error("requeue task", "task", a.id, "err", err)
	}
}

// finish ends an attempt from the cloud's side.
func (s *Service) finish(ctx context.Context, a assignment, state, detail string) {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tasks SET state = $3, git_token_hash = NULL, finished_at = now(), updated_at = now(), detail = $4
			WHERE id = $1 AND attempt = $2 AND state = ANY($5)`, a.id, a.attempt, state, detail, activeStates)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, node_id, detail) VALUES ($1, $2, $3, $4, $5)`,
			a.id, a.attempt, state, a.nodeID, detail)
		return err
	})
	if err != nil {
		s.log.Error("finish task", "task", a.id, "err", err)
	}
}

// avoidFor is how long this replica gives no task to a node a dispatch
// could not reach (shutting down, hung, its link gone), so the task goes
// to another node instead of round and round to the same one.
const avoidFor = 30 * time.Second

func (s *Service) avoid(node string) {
	s.amu.Lock()
	defer s.amu.Unlock()
	if s.avoided == nil {
		s.avoided = map[string]time.Time{}
	}
	s.avoided[node] = s.opts.Now().Add(avoidFor)
}

// notAvoided leaves out the nodes this replica is avoiding.
func (s *Service) notAvoided(nodes []*capacity) []*capacity {
	s.amu.Lock()
	defer s.amu.Unlock()
	now := s.opts.Now()
	out := nodes[:0]
	for _, n := range nodes {
		if until, ok := s.avoided[n.name]; ok {
			if now.Before(until) {
				continue
			}
			delete(s.avoided, n.name)
		}
		out = append(out, n)
	}
	return out
}
