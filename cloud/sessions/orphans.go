package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/shared/fleetproto"
)

// Orphans are containers a node still reports claimed by a session that
// ended (the node came back after the session ended with it lost). The
// cloud releases each one with a fresh, short-lived git credential so its
// work is autosaved before it is destroyed. A container of an ended
// session that the node is still saving (recovering, or destroying after
// a failed save) gets a fresh credential too whenever the last one is
// about to expire: without it, its save could never succeed.
//
// What a node reports is the node's word, and a node may lie: it may
// report a container the cloud never gave it, or another node's session,
// to obtain that session's repo credential. So a credential is issued
// only where the cloud's own records put that session in that container
// on that node (sessions.node_id and container_id, or the claim in
// pool_containers.session_id), checked in the same statement that stores
// the credential.

// orphanCredentialTTL bounds the credential given to release an orphan.
const orphanCredentialTTL = 10 * time.Minute

// errNotHosted refuses an orphan release the cloud's records do not back.
var errNotHosted = errors.New("the cloud never put this session in this container on this node")

// hostedBy is the condition (on sessions s and pool_containers c) that the
// cloud itself assigned session s to container c on c's node.
const hostedBy = `((s.node_id = c.node_id AND s.container_id = c.container_id) OR c.session_id = s.id)`

type orphan struct {
	nodeID                         int64
	container, session, node, user string
}

// releaseOrphans starts the release of each orphan on the nodes linked to
// this replica, in the background (goRelease).
func (s *Service) releaseOrphans(ctx, dctx context.Context) {
	rows, err := s.db.Query(dctx, `SELECT c.node_id, c.container_id, s.id, n.name, u.name FROM pool_containers c
		JOIN nodes n ON n.id = c.node_id JOIN sessions s ON s.id = c.reported_session JOIN users u ON u.id = s.user_id
		WHERE (c.state = 'claimed' OR (c.state IN ('recovering', 'destroying')
			AND (s.git_token_expires_at IS NULL OR s.git_token_expires_at < now() + interval '2 minutes'))) AND s.state = 'ended' AND n.replica = $1 AND `+hostedBy, s.hub.Replica())
	if err != nil {
		s.log.Warn("find orphaned containers", "err", err)
		return
	}
	orphans, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orphan, error) {
		var o orphan
		err := r.Scan(&o.nodeID, &o.container, &o.session, &o.node, &o.user)
		return o, err
	})
	if err != nil {
		s.log.Warn("find orphaned containers", "err", err)
		return
	}
	for _, o := range orphans {
		if connected(s.hub, o.node) {
			s.goRelease(ctx, o.session, o.node, func(ctx context.Context) error { return s.releaseOrphan(ctx, o) })
		}
	}
}

// releaseOrphan issues the credential (only if the cloud's records back
// the claim, see above) and asks the node to autosave and destroy.
func (s *Service) releaseOrphan(ctx context.Context, o orphan) error {
	tok := randomID("gws_", 32)
	tag, err := s.db.Exec(ctx, `UPDATE sessions s SET git_token_hash = $5, git_token_expires_at = now() + make_interval(secs => $6)
		FROM pool_containers c JOIN nodes n ON n.id = c.node_id
		WHERE s.id = $1 AND s.state = 'ended' AND c.node_id = $2 AND c.container_id = $3 AND n.replica = $4
			AND (c.state = 'claimed' OR (c.state IN ('recovering', 'destroying')
			AND (s.git_token_expires_at IS NULL OR s.git_token_expires_at < now() + interval '2 minutes'))) AND c.reported_session = s.id AND `+hostedBy,
		o.session, o.nodeID, o.container, s.hub.Replica(), hash(tok), orphanCredentialTTL.Seconds())
	if err != nil {
		return fmt.Errorf("release orphan %s: %w", o.container, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("release orphan %s of session %s on %s: %w", o.container, o.session, o.node, errNotHosted)
	}
	args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: o.container, Session: o.session,
		Repo: &fleetproto.Repo{URL: s.opts.GitURL + "/" + o.user + ".git", Username: o.user, Password: tok}})
	ack, err := s.hub.Command(ctx, o.node, fleetproto.CommandRelease, args)
	if err != nil {
		return err
	}
	if !ack.OK {
		return fmt.Errorf("node: %s", ack.Error)
	}
	var res fleetproto.SaveResult
	_ = json.Unmarshal(ack.Result, &res)
	// The credential stays until it expires (orphanCredentialTTL): the
	// node may save again before it destroys the container.
	if res.Commit != "" {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET last_autosave = $2 WHERE id = $1`, o.session, res.Commit); err != nil {
			return err
		}
	}
	s.log.Info("released an orphaned container", "session", o.session, "node", o.node, "container", o.container, "autosave", res.Commit)
	return nil
}
