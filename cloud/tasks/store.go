package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/objstore"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Submit validates spec, pins its refs and queues it. Nothing is written
// unless all of it is valid; the row and its first event are written in
// one transaction.
func (s *Service) Submit(ctx context.Context, user User, spec Spec) (Task, error) {
	p, err := s.validate(ctx, user, spec)
	if err != nil {
		return Task{}, err
	}
	if err := s.checkFits(ctx, p); err != nil {
		return Task{}, err
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if p.Inputs == nil {
		p.Inputs = []Input{}
	}
	if p.Artifacts == nil {
		p.Artifacts = []string{}
	}
	cmd, _ := json.Marshal(p.Command)
	labels, _ := json.Marshal(p.Labels)
	inputs, _ := json.Marshal(p.Inputs)
	arts, _ := json.Marshal(p.Artifacts)
	var id int64
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO tasks (user_id, code_repo_url, code_commit_id, env_repo_url, env_commit_id,
			dockerfile_path, command, cpus, memory_bytes, gpus, labels, timeout_ms, priority, inputs, artifact_paths, max_attempts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			user.ID, p.CodeRepoURL, p.CodeCommitID, p.EnvRepoURL, p.EnvCommitID, p.DockerfilePath, cmd,
			p.Resources.CPUs, p.Resources.MemoryBytes, p.Resources.GPUs, labels, p.timeout().Milliseconds(),
			p.Priority, inputs, arts, p.maxAttempts()).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert task: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, detail) VALUES ($1, 0, 'queued', $2)`,
			id, fmt.Sprintf("submitted by %s", user.Name))
		return err
	})
	if err != nil {
		return Task{}, err
	}
	s.log.Info("task submitted", "task", id, "user", user.Name, "code", p.CodeCommitID[:12], "env", p.EnvCommitID[:12], "dockerfile", p.DockerfilePath)
	s.Kick()
	return s.Get(ctx, user, id)
}

// checkFits refuses a task no registered node could ever run: a label no
// node has, or more than the largest node offers.
func (s *Service) checkFits(ctx context.Context, p pinned) error {
	nodes, err := s.nodes(ctx, false)
	if err != nil {
		return err
	}
	if len(nodes) == 0 {
		return nil // the first node may register later
	}
	for k, v := range p.Labels {
		found := false
		for _, n := range nodes {
			if nv, ok := n.labels[k]; ok && nv == v {
				found = true
				break
			}
		}
		if !found {
			return bad("label %s=%s: no node has it (see `cloud node list`)", k, v)
		}
	}
	fits := false
	for _, n := range nodes {
		if n.fitsEver(p) {
			fits = true
			break
		}
	}
	if !fits {
		return bad("no node with those labels offers %.3g cpus, %d bytes of memory and %d GPUs", p.Resources.CPUs, p.Resources.MemoryBytes, p.Resources.GPUs)
	}
	return nil
}

const taskColumns = `t.id, u.name, t.state, t.code_repo_url, t.code_commit_id, t.env_repo_url, t.env_commit_id,
	t.dockerfile_path, t.command, t.cpus, t.memory_bytes, t.gpus, t.labels, t.timeout_ms, t.priority, t.inputs,
	t.artifact_paths, t.artifacts, t.attempt, t.max_attempts, coalesce(n.name, ''), t.exit_code, t.detail, t.image,
	t.image_cached, t.created_at, t.dispatched_at, t.running_at, t.finished_at`

const taskFrom = ` FROM tasks t JOIN users u ON u.id = t.user_id LEFT JOIN nodes n ON n.id = t.node_id `

func scanTask(row pgx.Row) (Task, error) {
	var t Task
	var timeout int64
	err := row.Scan(&t.ID, &t.User, &t.State, &t.CodeRepoURL, &t.CodeCommitID, &t.EnvRepoURL, &t.EnvCommitID,
		&t.DockerfilePath, &t.Command, &t.Resources.CPUs, &t.Resources.MemoryBytes, &t.Resources.GPUs, &t.Labels,
		&timeout, &t.Priority, &t.Inputs, &t.ArtifactPaths, &t.Artifacts, &t.Attempt, &t.MaxAttempts, &t.Node,
		&t.ExitCode, &t.Detail, &t.Image, &t.ImageCached, &t.CreatedAt, &t.DispatchedAt, &t.RunningAt, &t.FinishedAt)
	t.TimeoutSeconds = timeout / 1000
	t.ArtifactObjects = map[string]string{}
	for p := range t.Artifacts {
		if key, err := objstore.TaskArtifactKey(t.ID, t.Attempt, p); err == nil {
			t.ArtifactObjects[p] = key
		}
	}
	return t, err
}

var errNoTask = apierr.NotFound("no such task")

// Get returns one of user's tasks (any task for an admin).
func (s *Service) Get(ctx context.Context, user User, id int64) (Task, error) {
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskColumns+taskFrom+`WHERE t.id = $1 AND (t.user_id = $2 OR $3)`, id, user.ID, user.Admin))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errNoTask
	}
	if err != nil {
		return t, fmt.Errorf("task %d: %w", id, err)
	}
	if t.State == fleetproto.TaskQueued {
		err = s.db.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE state = 'queued' AND (priority > $1 OR (priority = $1 AND id <= $2))`,
			t.Priority, t.ID).Scan(&t.Position)
	}
	return t, err
}

// List returns user's newest tasks (everyone's for an admin with all).
func (s *Service) List(ctx context.Context, user User, all bool, limit int) ([]Task, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	rows, err := s.db.Query(ctx, `SELECT `+taskColumns+taskFrom+`WHERE t.user_id = $1 OR ($2 AND $3) ORDER BY t.id DESC LIMIT $4`,
		user.ID, user.Admin, all, limit)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Events returns a task's state changes, oldest first.
func (s *Service) Events(ctx context.Context, id int64) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT e.attempt, e.state, coalesce(n.name, ''), e.detail, e.at FROM task_events e
		LEFT JOIN nodes n ON n.id = e.node_id WHERE e.task_id = $1 ORDER BY e.id`, id)
	if err != nil {
		return nil, fmt.Errorf("task events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Attempt, &e.State, &e.Node, &e.Detail, &e.At); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LogChunk is a piece of a task's output.
type LogChunk struct {
	Attempt int
	Seq     int64
	Data    []byte
}

// Logs returns a task attempt's output after seq.
func (s *Service) Logs(ctx context.Context, id int64, attempt int, after int64) ([]LogChunk, error) {
	rows, err := s.db.Query(ctx, `SELECT attempt, seq, data FROM task_logs WHERE task_id = $1 AND attempt = $2 AND seq > $3
		ORDER BY seq LIMIT 512`, id, attempt, after)
	if err != nil {
		return nil, fmt.Errorf("task logs: %w", err)
	}
	defer rows.Close()
	var out []LogChunk
	for rows.Next() {
		var c LogChunk
		if err := rows.Scan(&c.Attempt, &c.Seq, &c.Data); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LogTail returns the last lines lines of an attempt's output and the
// seq of its last chunk.
func (s *Service) LogTail(ctx context.Context, id int64, attempt, lines int) ([]byte, int64, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, data FROM task_logs WHERE task_id = $1 AND attempt = $2 ORDER BY seq DESC`, id, attempt)
	if err != nil {
		return nil, 0, fmt.Errorf("task log tail: %w", err)
	}
	defer rows.Close()
	var chunks [][]byte
	var last int64
	newlines := 0
	for rows.Next() && newlines <= lines {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, 0, err
		}
		if last == 0 {
			last = seq
		}
		chunks = append(chunks, data)
		newlines += bytes.Count(data, []byte("\n"))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	slices.Reverse(chunks)
	all := bytes.Join(chunks, nil)
	// Keep the last lines lines (a final line without its newline counts).
	end := len(all)
	if end > 0 && all[end-1] == '\n' {
		end--
	}
	cut, n := 0, 0
	for i := end - 1; i >= 0; i-- {
		if all[i] == '\n' {
			if n++; n == lines {
				cut = i + 1
				break
			}
		}
	}
	return all[cut:], last, nil
}

// Cancel ends one of user's tasks: a queued one at once, a running one by
// stopping its container on the node.
func (s *Service) Cancel(ctx context.Context, user User, id int64) (Task, error) {
	var node string
	var attempt int
	var prev string
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT t.state, t.attempt, coalesce(n.name, '') FROM tasks t LEFT JOIN nodes n ON n.id = t.node_id
			WHERE t.id = $1 AND (t.user_id = $2 OR $3) FOR UPDATE OF t`, id, user.ID, user.Admin).Scan(&prev, &attempt, &node)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoTask
		}
		if err != nil {
			return err
		}
		if fleetproto.TaskTerminal(prev) {
			return apierr.New(409, "finished", "task %d has already %s", id, prev)
		}
		_, err = tx.Exec(ctx, `UPDATE tasks SET state = 'cancelled', git_token_hash = NULL, finished_at = now(), updated_at = now(),
			detail = $2 WHERE id = $1`, id, "cancelled by "+user.Name)
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO task_events (task_id, attempt, state, node_id, detail)
				SELECT id, attempt, 'cancelled', node_id, $2 FROM tasks WHERE id = $1`, id, "cancelled by "+user.Name)
		}
		return err
	})
	if err != nil {
		return Task{}, err
	}
	if prev != fleetproto.TaskQueued && node != "" {
		s.stopOnNode(ctx, node, id, attempt)
	}
	s.Kick()
	return s.Get(ctx, user, id)
}

// stopOnNode asks node to stop a task attempt; a node that cannot be
// reached stops it when it next reports on it (see applyReport).
func (s *Service) stopOnNode(ctx context.Context, node string, id int64, attempt int) {
	args, _ := json.Marshal(fleetproto.TaskRef{ID: id, Attempt: attempt})
	cctx, cancel := context.WithTimeout(ctx, s.opts.DispatchTimeout)
	defer cancel()
	ack, err := s.opts.Fleet.Command(cctx, node, fleetproto.CommandTaskCancel, args)
	if err == nil && !ack.OK {
		err = errors.New(ack.Error)
	}
	if err != nil {
		s.log.Warn("cancel task on node", "task", id, "node", node, "err", err)
	}
}
