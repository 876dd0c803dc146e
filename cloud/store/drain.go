package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Drain is a node's drain as operators see it (nodes.drain_requested_at
// and what the node still holds).
type Drain struct {
	// RequestedAt is when `cloud node drain` asked; nil: not draining.
	RequestedAt *time.Time `json:"drain_requested_at"`
	// Sessions are the node's sessions not yet moved or ended.
	Sessions int `json:"drain_sessions"`
	// Containers are the containers its pool still reports.
	Containers int `json:"drain_containers"`
	// Detail is what the drain could not do yet (a failed save).
	Detail string `json:"drain_detail,omitempty"`
}

// State is "" (not draining), "draining" or "drained" (nothing left on
// the node).
func (d Drain) State() string {
	switch {
	case d.RequestedAt == nil:
		return ""
	case d.Sessions == 0 && d.Containers == 0:
		return "drained"
	default:
		return "draining"
	}
}

// String is the drain for `cloud node list`.
func (d Drain) String() string {
	s := d.State()
	if s == "draining" {
		s += " (" + strconv.Itoa(d.Sessions) + " sessions left)"
	}
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// DetailMoveFailed begins what a session's user reads while a drain
// cannot move their session because its save failed (cloud/sessions).
const DetailMoveFailed = "saving your work failed, so your session stays on this node for now: "

// SetDrain starts (drain true) or ends the drain of node name. Starting
// it again keeps the first request's time. Ending it clears what a failed
// move told the node's users: their sessions stay, and not "for now".
func (s *Store) SetDrain(ctx context.Context, name string, drain bool) error {
	var id int64
	err := s.Pool.QueryRow(ctx, `UPDATE nodes SET drain_requested_at = CASE WHEN $2 THEN coalesce(drain_requested_at, now()) END,
		drain_detail = '' WHERE name = $1 AND status <> 'revoked' RETURNING id`, name, drain).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.Get(ctx, name); err != nil {
			return err
		}
		return fmt.Errorf("drain node %q: %w", name, ErrRevoked)
	}
	if err != nil {
		return fmt.Errorf("drain node %q: %w", name, err)
	}
	if !drain {
		if _, err := s.Pool.Exec(ctx, `UPDATE sessions SET detail = '' WHERE node_id = $1 AND state = 'ready' AND starts_with(detail, $2)`,
			id, DetailMoveFailed); err != nil {
			return fmt.Errorf("undrain node %q: %w", name, err)
		}
	}
	return nil
}

// Drains returns the drain of every node, by name.
func (s *Store) Drains(ctx context.Context) (map[string]Drain, error) {
	rows, err := s.Pool.Query(ctx, `SELECT n.name, n.drain_requested_at, n.drain_detail,
			(SELECT count(*) FROM sessions x WHERE x.node_id = n.id AND x.state <> 'ended'),
			(SELECT count(*) FROM pool_containers c WHERE c.node_id = n.id)
		FROM nodes n`)
	if err != nil {
		return nil, fmt.Errorf("node drains: %w", err)
	}
	defer rows.Close()
	out := map[string]Drain{}
	for rows.Next() {
		var name string
		var d Drain
		if err := rows.Scan(&name, &d.RequestedAt, &d.Detail, &d.Sessions, &d.Containers); err != nil {
			return nil, fmt.Errorf("node drains: %w", err)
		}
		out[name] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("node drains: %w", err)
	}
	return out, nil
}
