package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gatewave.dev/shared/fleetproto"
)

// Session states as stored; Reconnecting is only ever shown.
const (
	Queued       = "queued"
	Starting     = "starting"
	Ready        = "ready"
	Reconnecting = "reconnecting"
	Ending       = "ending"
	Ended        = "ended"
)

// Session is what a user sees of their session.
type Session struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Position is the place in the queue (1 = next), when queued.
	Position   int        `json:"position,omitempty"`
	URL        string     `json:"url,omitempty"`
	Node       string     `json:"node,omitempty"`
	QueuedAt   time.Time  `json:"queued_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Autosave   string     `json:"last_autosave,omitempty"`
	Detail     string     `json:"detail,omitempty"`
	userID     int64
	nodeID     *int64
	container  string
	token      string
	nodeOnline bool
}

func randomID(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

const sessionColumns = `s.id, s.state, s.queued_at, s.started_at, s.ended_at, s.last_autosave, s.detail,
	s.user_id, s.node_id, coalesce(s.container_id, ''), coalesce(s.sessiond_token, ''),
	coalesce(n.name, ''), coalesce(n.status = 'online' AND n.replica IS NOT NULL, false)`

const sessionFrom = ` FROM sessions s LEFT JOIN nodes n ON n.id = s.node_id `

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.State, &s.QueuedAt, &s.StartedAt, &s.EndedAt, &s.Autosave, &s.Detail,
		&s.userID, &s.nodeID, &s.container, &s.token, &s.Node, &s.nodeOnline)
	if err != nil {
		return s, err
	}
	if s.State == Ready && !s.nodeOnline {
		s.State = Reconnecting
	}
	if s.State != Ended {
		s.URL = "/s/" + s.ID + "/"
	}
	return s, nil
}

var errNoSession = errors.New("no such session")

func (s *Service) get(ctx context.Context, id string) (Session, error) {
	se, err := scanSession(s.db.QueryRow(ctx, `SELECT `+sessionColumns+sessionFrom+`WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return se, errNoSession
	}
	if err != nil {
		return se, fmt.Errorf("read session %s: %w", id, err)
	}
	if se.State == Queued {
		err = s.db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE state = 'queued' AND (queued_at, id) <= ($1, $2)`,
			se.QueuedAt, se.ID).Scan(&se.Position)
	}
	return se, err
}

// openSession returns the user's open (not ending or ended) session.
func (s *Service) openSession(ctx context.Context, userID int64) (Session, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT id FROM sessions WHERE user_id = $1 AND state NOT IN ('ending', 'ended')`, userID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, errNoSession
	}
	if err != nil {
		return Session{}, err
	}
	return s.get(ctx, id)
}

// enqueue creates a queued session for the user, or returns the open one.
func (s *Service) enqueue(ctx context.Context, userID int64) (Session, bool, error) {
	if se, err := s.openSession(ctx, userID); err == nil {
		return se, false, nil
	} else if !errors.Is(err, errNoSession) {
		return se, false, err
	}
	id := randomID("", 16)
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (id, user_id, state, queued_at, last_active_at) VALUES ($1, $2, 'queued', $3, $3)`,
		id, userID, s.now())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		se, err := s.openSession(ctx, userID) // a concurrent request made it
		return se, false, err
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("create session: %w", err)
	}
	se, err := s.get(ctx, id)
	return se, true, err
}

// assignment is a queued session given a container by dispatch.
type assignment struct {
	session, owner  string
	userID, nodeID  int64
	node, container string
	gitToken        string
}

// dispatchLockKey serializes dispatch across replicas so the queue is
// served strictly in order.
const dispatchLockKey int64 = 0x6777_7365_7373_696f // "gwsessio"

// dispatch gives idle containers to queued sessions, oldest first, each in
// one short transaction: the container is picked on the least-loaded online
// node with FOR UPDATE SKIP LOCKED and the claim carries a lease.
func (s *Service) dispatch(ctx context.Context) ([]assignment, error) {
	var out []assignment
	for {
		var a assignment
		found := false
		err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, dispatchLockKey); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, `SELECT s.id, s.user_id, u.name FROM sessions s JOIN users u ON u.id = s.user_id
				WHERE s.state = 'queued' ORDER BY s.queued_at, s.id LIMIT 1 FOR UPDATE OF s`).Scan(&a.session, &a.userID, &a.owner)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `SELECT c.node_id, n.name, c.container_id FROM pool_containers c JOIN nodes n ON n.id = c.node_id
				WHERE c.state = 'idle' AND c.session_id IS NULL AND n.status = 'online' AND n.replica IS NOT NULL
				ORDER BY (SELECT count(*) FROM pool_containers l WHERE l.node_id = c.node_id AND l.session_id IS NOT NULL),
				         c.reported_at, c.container_id
				LIMIT 1 FOR UPDATE OF c SKIP LOCKED`).Scan(&a.nodeID, &a.node, &a.container)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			now := s.now()
			a.gitToken = randomID("gws_", 32)
			if _, err := tx.Exec(ctx, `UPDATE pool_containers SET session_id = $3 WHERE node_id = $1 AND container_id = $2`,
				a.nodeID, a.container, a.session); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE sessions SET state = 'starting', node_id = $2, container_id = $3,
				lease_expires_at = $4, git_token_hash = $5 WHERE id = $1`,
				a.session, a.nodeID, a.container, now.Add(s.opts.LeaseTTL), hash(a.gitToken)); err != nil {
				return err
			}
			found = true
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("dispatch: %w", err)
		}
		if !found {
			return out, nil
		}
		out = append(out, a)
	}
}

// requeue puts a session whose start failed back at its place in the queue
// and marks its container failed, so it is not picked again.
func (s *Service) requeue(ctx context.Context, a assignment, why string) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE pool_containers SET session_id = NULL, state = 'failed' WHERE node_id = $1 AND container_id = $2`,
			a.nodeID, a.container); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE sessions SET state = 'queued', node_id = NULL, container_id = NULL, lease_expires_at = NULL,
			git_token_hash = NULL, sessiond_token = NULL, detail = $2 WHERE id = $1 AND state = 'starting'`, a.session, why)
		return err
	})
}

// storePool records a node's pool report. Containers gone from the report
// end the sessions they held.
func (s *Service) storePool(ctx context.Context, nodeID int64, p *fleetproto.Pool) (gone []string, err error) {
	now := s.now()
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
			batch.Queue(`UPDATE pool_containers SET name = $3, class = $4, state = $5, reported_session = $6, reported_at = $7
				WHERE node_id = $1 AND container_id = $2
				AND (name, class, state, reported_session) IS DISTINCT FROM ($3, $4, $5, $6)`,
				nodeID, c.ID, c.Name, c.Class, c.State, sess, now)
			batch.Queue(`INSERT INTO pool_containers (node_id, container_id, name, class, state, reported_session, reported_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (node_id, container_id) DO NOTHING`,
				nodeID, c.ID, c.Name, c.Class, c.State, sess, now)
		}
		for _, c := range p.Containers {
			if c.Session != "" && c.Autosave != "" {
				// Periodic autosaves too: only the node holding the
				// session's container can set it.
				batch.Queue(`UPDATE sessions SET last_autosave = $4 WHERE id = $1 AND node_id = $2 AND container_id = $3
					AND last_autosave IS DISTINCT FROM $4`, c.Session, nodeID, c.ID, c.Autosave)
			}
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM pool_containers WHERE node_id = $1 AND NOT (container_id = ANY($2)) RETURNING coalesce(session_id, '')`, nodeID, ids)
		if err != nil {
			return err
		}
		gone, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store pool of node %d: %w", nodeID, err)
	}
	for _, id := range gone {
		if id == "" {
			continue
		}
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET state = 'ended', ended_at = $2, sessiond_token = NULL, git_token_hash = NULL,
			detail = CASE WHEN state = 'ending' THEN detail ELSE 'container lost' END WHERE id = $1 AND state <> 'ended'`, id, now); err != nil {
			return nil, err
		}
	}
	return gone, nil
}
