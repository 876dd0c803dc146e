package sessions

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/shared/fleetproto"
)

// storePool records a node's pool report and what it means for sessions:
// autosaves, save errors, containers recovering (restart.go) and
// containers gone. It returns the sessions whose container changed, so
// their routes and waiters are dropped.
//
// A report is the node's word only: session fields it carries change a
// session only where the cloud itself put that session in that container
// on that node (sessions.node_id and container_id).
func (s *Service) storePool(ctx context.Context, nodeID int64, p *fleetproto.Pool) (moved []string, err error) {
	var gone []goneContainer
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// Only changed rows are written (and so locked): dispatch skips
		// locked rows, and an idle container must not look taken just
		// because a report is being stored.
		ids := make([]string, 0, len(p.Containers))
		batch := &pgx.Batch{}
		for _, c := range p.Containers {
			ids = append(ids, c.ID)
			var sess *string
			if c.Session != "" {
				sess = &c.Session
			}
			batch.Queue(`UPDATE pool_containers SET name = $3, class = $4, state = $5, reported_session = $6, reported_at = now()
				WHERE node_id = $1 AND container_id = $2
				AND (name, class, state, reported_session) IS DISTINCT FROM ($3, $4, $5, $6)`,
				nodeID, c.ID, c.Name, c.Class, c.State, sess)
			batch.Queue(`INSERT INTO pool_containers (node_id, container_id, name, class, state, reported_session, reported_at)
				VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (node_id, container_id) DO NOTHING`,
				nodeID, c.ID, c.Name, c.Class, c.State, sess)
		}
		for _, c := range p.Containers {
			if c.Session == "" {
				continue
			}
			if c.Autosave != "" {
				// Periodic autosaves and the save of a dead container:
				// only the node holding the session's container can set it.
				batch.Queue(`UPDATE sessions SET last_autosave = $4 WHERE id = $1 AND node_id = $2 AND container_id = $3
					AND last_autosave IS DISTINCT FROM $4`, c.Session, nodeID, c.ID, c.Autosave)
			}
			if c.SaveError != "" && c.State != fleetproto.PoolRecovering {
				// The autosave of a container being released failed; the
				// node retries and keeps it until a save succeeds.
				batch.Queue(`UPDATE sessions SET detail = $4 WHERE id = $1 AND node_id = $2 AND container_id = $3
					AND state = 'ending' AND detail IS DISTINCT FROM $4`, c.Session, nodeID, c.ID, saveFailed(c.SaveError))
			}
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		restarting, err := s.markRestarting(ctx, tx, nodeID, p)
		if err != nil {
			return err
		}
		moved = append(moved, restarting...)
		rows, err := tx.Query(ctx, `DELETE FROM pool_containers WHERE node_id = $1 AND NOT (container_id = ANY($2))
			RETURNING container_id, coalesce(session_id, '')`, nodeID, ids)
		if err != nil {
			return err
		}
		gone, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (goneContainer, error) {
			var g goneContainer
			err := r.Scan(&g.container, &g.session)
			return g, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store pool of node %d: %w", nodeID, err)
	}
	for _, g := range gone {
		if g.session == "" {
			continue
		}
		if err := s.containerGone(ctx, nodeID, g); err != nil {
			return moved, fmt.Errorf("store pool of node %d: %w", nodeID, err)
		}
		moved = append(moved, g.session)
	}
	return moved, nil
}

// goneContainer is a container missing from its node's latest report, with
// the session the cloud had given it.
type goneContainer struct{ container, session string }

// saveFailed is what the user reads while a save keeps failing.
func saveFailed(why string) string {
	return "saving your work failed (retrying): " + why
}
