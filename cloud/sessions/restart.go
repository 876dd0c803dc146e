package sessions

import (
	"context"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/shared/fleetproto"
)

// Restarts. A claimed container that dies, is OOM-killed or fails its
// health checks is reported "recovering" while its node saves the
// workspace from the volume: the session shows "restarting" (with the
// save's error while one keeps failing). Once a save is in, the node
// reports its commit (Autosave, recorded as last_autosave) and then drops
// the container; the session is queued again, ahead of everyone who never
// started (queueOrder keeps its queued_at), and dispatch gives it a fresh
// container, whose claim the node restores from that save.

// maxRestarts ends a session whose containers keep dying rather than
// restarting it forever; its work is kept up to the last save.
const maxRestarts = 5

const (
	detailSaving    = "the container stopped; saving your work"
	detailRestarted = "the container stopped; restarting from your last save"
	detailTooMany   = "the container kept stopping; work kept up to the last autosave"
)

// markRestarting moves the sessions of p's recovering containers to
// restarting, ready or starting alike (a start in flight is fenced out by
// the state). It returns the sessions it changed.
func (s *Service) markRestarting(ctx context.Context, tx pgx.Tx, nodeID int64, p *fleetproto.Pool) ([]string, error) {
	var sids, cids, details []string
	for _, c := range p.Containers {
		if c.State != fleetproto.PoolRecovering || c.Session == "" {
			continue
		}
		d := detailSaving
		if c.SaveError != "" {
			d = saveFailed(c.SaveError)
		}
		sids, cids, details = append(sids, c.Session), append(cids, c.ID), append(details, d)
	}
	if len(sids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `UPDATE sessions s SET state = 'restarting', detail = r.detail, lease_expires_at = NULL, sessiond_token = NULL
		FROM unnest($2::text[], $3::text[], $4::text[]) AS r(sid, cid, detail)
		WHERE s.id = r.sid AND s.node_id = $1 AND s.container_id = r.cid
			AND s.state IN ('ready', 'starting', 'restarting') AND (s.state <> 'restarting' OR s.detail <> r.detail)
		RETURNING s.id`, nodeID, sids, cids, details)
	if err != nil {
		return nil, err
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range changed {
		s.log.Info("session restarting", "session", id, "node_id", nodeID)
	}
	return changed, err
}

// containerGone settles the session of a container its node no longer
// reports. Ending: the release is done and the session is over. Otherwise
// the node dropped it after saving it (restarting; or a report said so
// and a later one overtook it before it was written): the session is
// queued for a fresh container, unless its containers keep dying.
func (s *Service) containerGone(ctx context.Context, nodeID int64, g goneContainer) error {
	// A session moved off a draining node (drain.go) comes this way too,
	// without counting as a restart.
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET state = 'queued', node_id = NULL, container_id = NULL, lease_expires_at = NULL,
			sessiond_token = NULL, git_token_hash = NULL, restarts = restarts + (moving_from IS NULL)::int,
			detail = CASE WHEN moving_from IS NULL THEN $4 ELSE $6 END, moving_from = NULL
		WHERE id = $1 AND node_id = $2 AND container_id = $3 AND state IN ('ready', 'starting', 'restarting')
			AND (restarts < $5 OR moving_from IS NOT NULL)`,
		g.session, nodeID, g.container, detailRestarted, maxRestarts, detailMoved)
	if err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		s.log.Info("session requeued for a fresh container", "session", g.session, "node_id", nodeID, "container", g.container)
		s.kickDispatch()
		return nil
	}
	_, err = s.db.Exec(ctx, `UPDATE sessions SET state = 'ended', ended_at = now(), sessiond_token = NULL, git_token_hash = NULL,
			detail = CASE WHEN state <> 'ending' THEN $4 WHEN detail LIKE 'saving your work failed%' THEN 'ended; your work was saved' ELSE detail END
		WHERE id = $1 AND node_id = $2 AND container_id = $3 AND state <> 'ended'`, g.session, nodeID, g.container, detailTooMany)
	return err
}
