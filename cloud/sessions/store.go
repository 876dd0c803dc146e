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
)

// Session states as stored; Reconnecting is only ever shown, and so is
// Restarting for a session that had started and is queued or starting
// again in a fresh container.
const (
	Queued       = "queued"
	Starting     = "starting"
	Ready        = "ready"
	Reconnecting = "reconnecting"
	// Restarting: the session's container stopped; its work is being
	// saved (stored), or it waits for or starts in a fresh container
	// restored from that save (shown).
	Restarting = "restarting"
	Ending     = "ending"
	Ended      = "ended"
)

// Session is what a user sees of their session.
type Session struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Phase is what a starting (or restarting) session is doing: "repo"
	// (preparing the user's repo), "cloning" (the node clones it into the
	// container and restores the last save), "connecting" (waiting for the
	// container's IDE); "" otherwise.
	Phase string `json:"phase,omitempty"`
	// Position is the place in the queue (1 = next), when queued.
	Position  int        `json:"position,omitempty"`
	URL       string     `json:"url,omitempty"`
	Node      string     `json:"node,omitempty"`
	QueuedAt  time.Time  `json:"queued_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Autosave  string     `json:"last_autosave,omitempty"`
	Detail    string     `json:"detail,omitempty"`
	// Class is the container class asked for ("" takes any).
	Class      string `json:"class,omitempty"`
	stored     string // State as stored
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

const sessionColumns = `s.id, s.state, s.phase, s.queued_at, s.started_at, s.ended_at, s.last_autosave, s.detail, s.class,
	s.user_id, s.node_id, coalesce(s.container_id, ''), coalesce(s.sessiond_token, ''),
	coalesce(n.name, ''), coalesce(n.status = 'online' AND n.replica IS NOT NULL, false)`

const sessionFrom = ` FROM sessions s LEFT JOIN nodes n ON n.id = s.node_id `

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.State, &s.Phase, &s.QueuedAt, &s.StartedAt, &s.EndedAt, &s.Autosave, &s.Detail, &s.Class,
		&s.userID, &s.nodeID, &s.container, &s.token, &s.Node, &s.nodeOnline)
	if err != nil {
		return s, err
	}
	s.stored = s.State
	if s.State != Starting {
		s.Phase = ""
	}
	switch {
	case s.State == Ready && !s.nodeOnline:
		s.State = Reconnecting
	case (s.State == Queued || s.State == Starting) && s.StartedAt != nil:
		s.State = Restarting // on its way back in a fresh container
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
	if se.stored == Queued {
		// The order dispatch serves (queueOrder).
		err = s.db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE state = 'queued'
			AND (started_at IS NULL, queued_at, id) <= ($1, $2, $3)`,
			se.StartedAt == nil, se.QueuedAt, se.ID).Scan(&se.Position)
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

// enqueue creates a queued session for the user asking for a container of
// class ("" takes any), or returns the open one.
func (s *Service) enqueue(ctx context.Context, userID int64, class string) (Session, bool, error) {
	if se, err := s.openSession(ctx, userID); err == nil {
		return se, false, nil
	} else if !errors.Is(err, errNoSession) {
		return se, false, err
	}
	id := randomID("", 16)
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (id, user_id, state, class, queued_at, last_active_at) VALUES ($1, $2, 'queued', $3, now(), now())`,
		id, userID, class)
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
