package tasks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkSchedule1000TasksOver50Nodes measures the scheduler placing
// 1,000 queued tasks on 50 simulated nodes (the fleet a recorder that
// accepts every task at once), against a baseline in the same run: the
// same tasks marked dispatched by the least any scheduler writes, one
// UPDATE and one event row per task in one transaction. tasks_per_s is the
// scheduler's rate; ratio is the scheduler's time over the baseline's.
func BenchmarkSchedule1000TasksOver50Nodes(b *testing.B) {
	const nodes, tasks = 50, 1000
	h := newHarness(b, func(o *Options) { o.MaxActivePerUser = 1 << 20 })
	ctx := context.Background()
	for i := range nodes {
		h.addNode(fmt.Sprintf("sim-%02d", i), 8, 32<<30, map[string]string{"zone": fmt.Sprint(i % 5)})
	}
	queue := func() {
		b.Helper()
		if _, err := h.db.Exec(ctx, `DELETE FROM tasks`); err != nil {
			b.Fatal(err)
		}
		_, err := h.db.Exec(ctx, `INSERT INTO tasks (user_id, code_repo_url, code_commit_id, env_repo_url, env_commit_id,
			dockerfile_path, command, cpus, memory_bytes, timeout_ms, priority, labels)
			SELECT $1, $2, $3, $2, $3, 'envs/a/Dockerfile', '["true"]', 0.25, 256 << 20, 60000, i % 3,
				CASE WHEN i % 4 = 0 THEN jsonb_build_object('zone', (i % 5)::text) ELSE '{}'::jsonb END
			FROM generate_series(1, $4) AS i`, h.ada.ID, gitURL+"/ada.git", h.commit, tasks)
		if err != nil {
			b.Fatal(err)
		}
	}
	var sched, base time.Duration
	for range b.N {
		queue()
		h.fleet.cmds = nil
		start := time.Now()
		for {
			n, err := h.svc.Schedule(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		sched += time.Since(start)
		if got := len(h.fleet.runs()); got != tasks {
			b.Fatalf("%d of %d tasks dispatched", got, tasks)
		}
		queue()
		start = time.Now()
		err := pgx.BeginFunc(ctx, h.db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id FROM tasks WHERE state = 'queued' ORDER BY priority DESC, id FOR UPDATE SKIP LOCKED`)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			batch := &pgx.Batch{}
			for _, id := range ids {
				batch.Queue(`UPDATE tasks SET state = 'dispatched', attempt = attempt + 1 WHERE id = $1`, id)
				batch.Queue(`INSERT INTO task_events (task_id, attempt, state) VALUES ($1, 1, 'dispatched')`, id)
			}
			return tx.SendBatch(ctx, batch).Close()
		})
		if err != nil {
			b.Fatal(err)
		}
		base += time.Since(start)
	}
	b.ReportMetric(float64(tasks*b.N)/sched.Seconds(), "tasks_per_s")
	b.ReportMetric(float64(tasks*b.N)/base.Seconds(), "baseline_tasks_per_s")
	b.ReportMetric(sched.Seconds()/base.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}
