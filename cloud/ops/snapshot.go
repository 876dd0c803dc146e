package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/fleetproto"
)

// Snapshot is the whole fleet as the dashboard shows it, read from
// PostgreSQL in one go (any replica serves it).
type Snapshot struct {
	At           time.Time `json:"at"`
	CloudVersion string    `json:"cloud_version"`
	Nodes        []Node    `json:"nodes"`
	Sessions     Sessions  `json:"sessions"`
	Tasks        Tasks     `json:"tasks"`
}

// Node is one node's row on the dashboard.
type Node struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// State is the nodes.status column (new, online, offline, revoked),
	// or draining for an online node being drained (cloud node drain).
	State string `json:"state"`
	// DrainDetail is what a drain could not do yet; "" when nothing failed.
	DrainDetail string `json:"drain_detail,omitempty"`
	// Linked says a replica holds the node's link now; an online node
	// without one has dropped it and goes offline once the offline
	// window passes without a heartbeat.
	Linked          bool                 `json:"linked"`
	Version         string               `json:"version"`
	VersionMismatch bool                 `json:"version_mismatch"`
	Resources       fleetproto.Resources `json:"resources"`
	// Used is what the warm pool and the running tasks hold of Resources.
	Used            Held       `json:"used"`
	LastHeartbeatAt *time.Time `json:"last_heartbeat_at"`
	// HeartbeatAgeSeconds is how long ago the last heartbeat came; -1
	// when there was none.
	HeartbeatAgeSeconds float64 `json:"heartbeat_age_seconds"`
	// Pool counts the node's warm containers by state.
	Pool map[string]int `json:"pool"`
	// Stats is the node's latest live sample; nil before the first.
	Stats *Live `json:"stats"`
}

// Held is CPU and memory held by the pool and by tasks.
type Held struct {
	PoolCPUs        float64 `json:"pool_cpus"`
	PoolMemoryBytes uint64  `json:"pool_memory_bytes"`
	TaskCPUs        float64 `json:"task_cpus"`
	TaskMemoryBytes uint64  `json:"task_memory_bytes"`
	Tasks           int     `json:"tasks"`
}

// Live is a node's latest stats sample and when it came.
type Live struct {
	fleetproto.Stats
	ReportedAt time.Time `json:"reported_at"`
	AgeSeconds float64   `json:"age_seconds"`
}

// Sessions are the open IDE sessions and the queue.
type Sessions struct {
	// Counts are open sessions by state (ended ones are not counted).
	Counts map[string]int `json:"counts"`
	// Queue is the sessions waiting for a container, first first (at
	// most MaxRows).
	Queue []SessionRow `json:"queue"`
	// Open are the latest open sessions (at most MaxRows).
	Open []SessionRow `json:"open"`
}

// SessionRow is one session.
type SessionRow struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	State    string    `json:"state"`
	Node     string    `json:"node"`
	QueuedAt time.Time `json:"queued_at"`
}

// Tasks are batch tasks by state and the latest ones.
type Tasks struct {
	Counts map[string]int `json:"counts"`
	Recent []TaskRow      `json:"recent"`
}

// TaskRow is one task.
type TaskRow struct {
	ID         int64      `json:"id"`
	User       string     `json:"user"`
	State      string     `json:"state"`
	Node       string     `json:"node"`
	CPUs       float64    `json:"cpus"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// MaxRows bounds every list on the dashboard.
const MaxRows = 50

var activeTaskStates = []string{"dispatched", "fetching", "building", "running", "uploading"}

// Snapshot reads the fleet now.
func (o *Ops) Snapshot(ctx context.Context) (*Snapshot, error) {
	now := o.opts.Now()
	s := &Snapshot{At: now, CloudVersion: buildinfo.Version, Nodes: []Node{},
		Sessions: Sessions{Counts: map[string]int{}, Queue: []SessionRow{}, Open: []SessionRow{}},
		Tasks:    Tasks{Counts: map[string]int{}, Recent: []TaskRow{}}}
	err := pgx.BeginTxFunc(ctx, o.opts.DB, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := o.readNodes(ctx, tx, s, now); err != nil {
			return err
		}
		if err := readSessions(ctx, tx, s); err != nil {
			return err
		}
		return readTasks(ctx, tx, s)
	})
	if err != nil {
		return nil, fmt.Errorf("ops snapshot: %w", err)
	}
	return s, nil
}

func (o *Ops) readNodes(ctx context.Context, tx pgx.Tx, s *Snapshot, now time.Time) error {
	rows, err := tx.Query(ctx, `SELECT id, name, CASE WHEN drain_requested_at IS NOT NULL AND status = 'online' THEN 'draining' ELSE status END,
		replica IS NOT NULL, version, resources, last_heartbeat_at, drain_detail FROM nodes ORDER BY name`)
	if err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	byID := map[int64]int{}
	for rows.Next() {
		var n Node
		var res []byte
		if err := rows.Scan(&n.ID, &n.Name, &n.State, &n.Linked, &n.Version, &res, &n.LastHeartbeatAt, &n.DrainDetail); err != nil {
			rows.Close()
			return fmt.Errorf("nodes: %w", err)
		}
		if err := json.Unmarshal(res, &n.Resources); err != nil {
			rows.Close()
			return fmt.Errorf("node %s resources: %w", n.Name, err)
		}
		n.VersionMismatch = n.Version != "" && !buildinfo.Matches(n.Version)
		n.HeartbeatAgeSeconds = -1
		if n.LastHeartbeatAt != nil {
			n.HeartbeatAgeSeconds = max(now.Sub(*n.LastHeartbeatAt).Seconds(), 0)
		}
		n.Used.PoolCPUs, n.Used.PoolMemoryBytes = n.Resources.PoolCPUs, n.Resources.PoolMemoryBytes
		n.Pool = map[string]int{}
		byID[n.ID] = len(s.Nodes)
		s.Nodes = append(s.Nodes, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("nodes: %w", err)
	}

	// A container the cloud gave a session counts as claimed whatever the
	// node last said of it.
	var id int64
	var st string
	var cnt int
	rows, err = tx.Query(ctx, `SELECT node_id, CASE WHEN session_id IS NOT NULL AND state = 'idle' THEN 'claimed' ELSE state END, count(*)
		FROM pool_containers GROUP BY 1, 2`)
	if err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &st, &cnt}, func() error {
		if i, ok := byID[id]; ok {
			s.Nodes[i].Pool[st] += cnt
		}
		return nil
	}); err != nil {
		return fmt.Errorf("pool: %w", err)
	}

	var cpus float64
	var mem int64
	rows, err = tx.Query(ctx, `SELECT node_id, count(*), sum(cpus), sum(memory_bytes)::bigint FROM tasks
		WHERE state = ANY($1) AND node_id IS NOT NULL GROUP BY node_id`, activeTaskStates)
	if err != nil {
		return fmt.Errorf("tasks held: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &cnt, &cpus, &mem}, func() error {
		if i, ok := byID[id]; ok {
			s.Nodes[i].Used.Tasks, s.Nodes[i].Used.TaskCPUs, s.Nodes[i].Used.TaskMemoryBytes = cnt, cpus, uint64(max(mem, 0))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("tasks held: %w", err)
	}

	var raw []byte
	var at time.Time
	rows, err = tx.Query(ctx, `SELECT node_id, stats, reported_at FROM node_stats`)
	if err != nil {
		return fmt.Errorf("node stats: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &raw, &at}, func() error {
		i, ok := byID[id]
		if !ok {
			return nil
		}
		l := &Live{ReportedAt: at, AgeSeconds: max(now.Sub(at).Seconds(), 0)}
		if err := json.Unmarshal(raw, &l.Stats); err != nil {
			return fmt.Errorf("node %d stats: %w", id, err)
		}
		// Busiest first: what an operator looks for.
		sort.SliceStable(l.Containers, func(a, b int) bool { return l.Containers[a].CPUCores > l.Containers[b].CPUCores })
		s.Nodes[i].Stats = l
		return nil
	}); err != nil {
		return fmt.Errorf("node stats: %w", err)
	}
	return nil
}

func readSessions(ctx context.Context, tx pgx.Tx, s *Snapshot) error {
	var st string
	var cnt int
	rows, err := tx.Query(ctx, `SELECT state, count(*) FROM sessions WHERE state <> 'ended' GROUP BY state`)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&st, &cnt}, func() error { s.Sessions.Counts[st] = cnt; return nil }); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	list := func(where string) ([]SessionRow, error) {
		rows, err := tx.Query(ctx, `SELECT s.id, u.name, s.state, coalesce(n.name, ''), s.queued_at FROM sessions s
			JOIN users u ON u.id = s.user_id LEFT JOIN nodes n ON n.id = s.node_id
			WHERE `+where+` LIMIT $1`, MaxRows)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SessionRow, error) {
			var x SessionRow
			err := r.Scan(&x.ID, &x.User, &x.State, &x.Node, &x.QueuedAt)
			return x, err
		})
	}
	if s.Sessions.Queue, err = list(`s.state = 'queued' ORDER BY s.queued_at, s.id`); err != nil {
		return fmt.Errorf("session queue: %w", err)
	}
	if s.Sessions.Open, err = list(`s.state NOT IN ('queued', 'ended') ORDER BY s.queued_at DESC, s.id`); err != nil {
		return fmt.Errorf("open sessions: %w", err)
	}
	return nil
}

func readTasks(ctx context.Context, tx pgx.Tx, s *Snapshot) error {
	var st string
	var cnt int
	rows, err := tx.Query(ctx, `SELECT state, count(*) FROM tasks GROUP BY state`)
	if err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&st, &cnt}, func() error { s.Tasks.Counts[st] = cnt; return nil }); err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT t.id, u.name, t.state, coalesce(n.name, ''), t.cpus, t.created_at, t.finished_at FROM tasks t
		JOIN users u ON u.id = t.user_id LEFT JOIN nodes n ON n.id = t.node_id ORDER BY t.id DESC LIMIT $1`, MaxRows/2)
	if err != nil {
		return fmt.Errorf("recent tasks: %w", err)
	}
	s.Tasks.Recent, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskRow, error) {
		var x TaskRow
		err := r.Scan(&x.ID, &x.User, &x.State, &x.Node, &x.CPUs, &x.CreatedAt, &x.FinishedAt)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("recent tasks: %w", err)
	}
	return nil
}
