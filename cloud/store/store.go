// Package store is the cloud's PostgreSQL state: nodes, their tokens
// (stored as SHA-256 hashes only), liveness and node events. Every
// replica talks to the same database; nothing here keeps state in memory.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/fleetproto"
)

// Notification channel on which replicas learn about revocations and
// takeovers made elsewhere (by `cloud node revoke` or another replica).
const Channel = "gatewave_fleet"

// sweepLockKey is the advisory lock key that lets one replica at a time
// run the offline sweep.
const sweepLockKey int64 = 0x6761746577617665 // "gatewave"

// Errors callers switch on.
var (
	ErrNotFound = errors.New("node not found")
	ErrRevoked  = errors.New("node token revoked")
	ErrExists   = errors.New("node already exists")
)

// Store is the database. Create it with New.
type Store struct {
	Pool *pgxpool.Pool
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{Pool: pool} }

// Open connects a pool to url and checks that it answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("no database URL: set --database-url or DATABASE_URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect database %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// Node is a row of the nodes table as operators see it.
type Node struct {
	ID             int64             `json:"id"`
	Name           string            `json:"name"`
	Labels         map[string]string `json:"labels"`
	ReportedLabels map[string]string `json:"reported_labels"`
	Version        string            `json:"version"`
	// VersionMismatch is not a column: it is true when the gateway
	// reported a version (Version) that is not this cloud's release
	// (buildinfo.Matches). A node that never registered has none.
	VersionMismatch bool                 `json:"version_mismatch"`
	Resources       fleetproto.Resources `json:"resources"`
	Status          string               `json:"status"`
	LastHeartbeatAt *time.Time           `json:"last_heartbeat_at"`
	Replica         *string              `json:"replica"`
	ConnectedAt     *time.Time           `json:"connected_at"`
	CreatedAt       time.Time            `json:"created_at"`
	RevokedAt       *time.Time           `json:"revoked_at"`
}

// Event is a row of node_events.
type Event struct {
	NodeID  int64     `json:"node_id"`
	Kind    string    `json:"kind"`
	Replica *string   `json:"replica"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
}

// TokenPrefix starts every node token, so leaked tokens are recognizable.
const TokenPrefix = "gwn_"

// HashToken returns the stored form of a token. Tokens are 256 random
// bits, so a fast hash is enough: there is nothing to brute-force.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

const nodeColumns = `id, name, labels, reported_labels, version, resources, status,
	last_heartbeat_at, replica, connected_at, created_at, revoked_at`

func scanNode(row pgx.Row) (Node, error) {
	var n Node
	var labels, reported, resources []byte
	err := row.Scan(&n.ID, &n.Name, &labels, &reported, &n.Version, &resources, &n.Status,
		&n.LastHeartbeatAt, &n.Replica, &n.ConnectedAt, &n.CreatedAt, &n.RevokedAt)
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal(labels, &n.Labels); err != nil {
		return n, fmt.Errorf("node %d labels: %w", n.ID, err)
	}
	if err := json.Unmarshal(reported, &n.ReportedLabels); err != nil {
		return n, fmt.Errorf("node %d reported labels: %w", n.ID, err)
	}
	if err := json.Unmarshal(resources, &n.Resources); err != nil {
		return n, fmt.Errorf("node %d resources: %w", n.ID, err)
	}
	n.VersionMismatch = n.Version != "" && !buildinfo.Matches(n.Version)
	return n, nil
}

// AddNode creates a node and returns its token, the only time it exists in
// clear.
func (s *Store) AddNode(ctx context.Context, name string, labels map[string]string) (Node, string, error) {
	if !fleetproto.ValidNodeName(name) {
		return Node{}, "", fmt.Errorf("node name %q: use 1-63 lower-case letters, digits, '.', '_' or '-'", name)
	}
	if labels == nil {
		labels = map[string]string{}
	}
	if err := fleetproto.ValidateLabels(labels); err != nil {
		return Node{}, "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Node{}, "", fmt.Errorf("generate token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	lj, _ := json.Marshal(labels)
	n, err := scanNode(s.Pool.QueryRow(ctx,
		`INSERT INTO nodes (name, token_hash, labels) VALUES ($1, $2, $3) RETURNING `+nodeColumns,
		name, HashToken(token), lj))
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return Node{}, "", fmt.Errorf("add node %q: %w", name, ErrExists)
		}
		return Node{}, "", fmt.Errorf("add node %q: %w", name, err)
	}
	return n, token, nil
}

// Authenticate returns the node a token belongs to. A revoked node's token
// gives ErrRevoked, an unknown token ErrNotFound.
func (s *Store) Authenticate(ctx context.Context, token string) (Node, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Node{}, ErrNotFound
	}
	n, err := scanNode(s.Pool.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE token_hash = $1`, HashToken(token)))
	if errors.Is(err, pgx.ErrNoRows) {
		return Node{}, ErrNotFound
	}
	if err != nil {
		return Node{}, fmt.Errorf("look up token: %w", err)
	}
	if n.Status == "revoked" {
		return n, ErrRevoked
	}
	return n, nil
}

// Get returns the node called name.
func (s *Store) Get(ctx context.Context, name string) (Node, error) {
	n, err := scanNode(s.Pool.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return Node{}, fmt.Errorf("node %q: %w", name, ErrNotFound)
	}
	return n, err
}

// List returns all nodes ordered by name.
func (s *Store) List(ctx context.Context) ([]Node, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+nodeColumns+` FROM nodes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	defer rows.Close()
	nodes := []Node{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, rows.Err()
}

// Events returns a node's events, oldest first.
func (s *Store) Events(ctx context.Context, nodeID int64) ([]Event, error) {
	rows, err := s.Pool.Query(ctx, `SELECT node_id, kind, replica, detail, at FROM node_events WHERE node_id = $1 ORDER BY id`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("node %d events: %w", nodeID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.NodeID, &e.Kind, &e.Replica, &e.Detail, &e.At)
		return e, err
	})
}

// Notice is the payload sent on Channel.
type Notice struct {
	Op      string `json:"op"` // "revoke" or "takeover"
	NodeID  int64  `json:"node_id"`
	Replica string `json:"replica,omitempty"` // for takeover: the new holder
}

func notify(ctx context.Context, tx pgx.Tx, n Notice) error {
	b, _ := json.Marshal(n)
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, string(b))
	return err
}

// Revoke revokes a node's token and tells every replica to drop its
// connection at once (the notification is delivered on commit).
func (s *Store) Revoke(ctx context.Context, name string, now time.Time) (Node, error) {
	var n Node
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		n, err = scanNode(tx.QueryRow(ctx, `UPDATE nodes SET status = 'revoked', revoked_at = $2, replica = NULL
			WHERE name = $1 RETURNING `+nodeColumns, name, now))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("revoke node %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke node %q: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO node_events (node_id, kind, at) VALUES ($1, 'revoked', $2)`, n.ID, now); err != nil {
			return err
		}
		return notify(ctx, tx, Notice{Op: "revoke", NodeID: n.ID})
	})
	return n, err
}

// Connect records that replica now holds node id's connection, with what
// the gateway registered. Another replica still holding it is told to let
// go. A revoked node stays revoked and gets ErrRevoked.
func (s *Store) Connect(ctx context.Context, id int64, replica string, reg *fleetproto.Register, now time.Time) error {
	res, _ := json.Marshal(reg.Resources)
	labels := reg.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	lj, _ := json.Marshal(labels)
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var prev *string
		err := tx.QueryRow(ctx, `WITH old AS (SELECT replica FROM nodes WHERE id = $1 FOR UPDATE)
			UPDATE nodes SET status = 'online', version = $2, resources = $3, reported_labels = $4,
				replica = $5, connected_at = $6, last_heartbeat_at = $6
			WHERE id = $1 AND status <> 'revoked'
			RETURNING (SELECT replica FROM old)`, id, reg.Version, res, lj, replica, now).Scan(&prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRevoked
		}
		if err != nil {
			return fmt.Errorf("connect node %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO node_events (node_id, kind, replica, detail, at) VALUES ($1, 'connected', $2, $3, $4)`,
			id, replica, reg.Version, now); err != nil {
			return fmt.Errorf("connect node %d: event: %w", id, err)
		}
		if prev != nil && *prev != replica {
			return notify(ctx, tx, Notice{Op: "takeover", NodeID: id, Replica: replica})
		}
		return nil
	})
}

// Disconnect records that replica lost node id's connection. If another
// replica (or a newer connection) has taken over, the row is left alone
// but the event is still written.
//
// connectedAt is the time given to Connect for this connection; a newer
// connection of the same node on the same replica has another and is kept.
func (s *Store) Disconnect(ctx context.Context, id int64, replica string, connectedAt time.Time, detail string, now time.Time) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE nodes SET replica = NULL WHERE id = $1 AND replica = $2 AND connected_at = $3`, id, replica, connectedAt); err != nil {
			return fmt.Errorf("disconnect node %d: %w", id, err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO node_events (node_id, kind, replica, detail, at) VALUES ($1, 'disconnected', $2, $3, $4)`,
			id, replica, detail, now)
		return err
	})
}

// ReleaseReplica clears connections a previous run of replica left behind
// (it crashed or was killed), writing a disconnected event for each.
func (s *Store) ReleaseReplica(ctx context.Context, replica string, now time.Time) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `WITH r AS (UPDATE nodes SET replica = NULL WHERE replica = $1 RETURNING id)
		INSERT INTO node_events (node_id, kind, replica, detail, at) SELECT id, 'disconnected', $1, 'replica restarted', $2 FROM r`, replica, now)
	if err != nil {
		return 0, fmt.Errorf("release replica %q: %w", replica, err)
	}
	return tag.RowsAffected(), nil
}

// Heartbeat is one node's latest heartbeat time.
type Heartbeat struct {
	NodeID int64
	At     time.Time
}

// RecordHeartbeats writes a batch of heartbeats in one statement. A node
// that was marked offline while its heartbeats were in flight comes back
// online; a revoked one does not.
func (s *Store) RecordHeartbeats(ctx context.Context, hbs []Heartbeat) error {
	if len(hbs) == 0 {
		return nil
	}
	ids := make([]int64, len(hbs))
	ats := make([]time.Time, len(hbs))
	for i, h := range hbs {
		ids[i], ats[i] = h.NodeID, h.At
	}
	_, err := s.Pool.Exec(ctx, `UPDATE nodes n SET last_heartbeat_at = GREATEST(n.last_heartbeat_at, b.at),
			status = CASE WHEN n.status = 'offline' THEN 'online' ELSE n.status END
		FROM unnest($1::bigint[], $2::timestamptz[]) AS b(id, at)
		WHERE n.id = b.id AND n.status IN ('online', 'offline')`, ids, ats)
	if err != nil {
		return fmt.Errorf("record %d heartbeats: %w", len(hbs), err)
	}
	return nil
}

// SweepOffline marks online nodes whose last heartbeat is before cutoff as
// offline and returns their IDs. Replicas race for a transaction-level
// advisory lock; the losers return at once with nothing, so concurrent
// replicas never both mark (or double-log) the same nodes.
func (s *Store) SweepOffline(ctx context.Context, cutoff time.Time, replica string) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, sweepLockKey).Scan(&got); err != nil {
			return fmt.Errorf("sweep lock: %w", err)
		}
		if !got {
			return nil
		}
		rows, err := tx.Query(ctx, `WITH off AS (
				UPDATE nodes SET status = 'offline'
				WHERE status = 'online' AND last_heartbeat_at < $1 RETURNING id)
			INSERT INTO node_events (node_id, kind, replica, detail, at)
			SELECT id, 'offline', $2, 'no heartbeat since ' || $1::timestamptz::text, now() FROM off
			RETURNING node_id`, cutoff, replica)
		if err != nil {
			return fmt.Errorf("sweep offline: %w", err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	return ids, err
}

// RegisterReplica records replica as alive and where it takes
// replica-to-replica calls ("" when it takes none).
func (s *Store) RegisterReplica(ctx context.Context, replica, internalURL string, now time.Time) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO replicas (name, internal_url, started_at, heartbeat_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (name) DO UPDATE SET internal_url = EXCLUDED.internal_url, started_at = EXCLUDED.started_at, heartbeat_at = now()`,
		replica, internalURL, now)
	if err != nil {
		return fmt.Errorf("register replica %q: %w", replica, err)
	}
	return nil
}

// ReplicaHeartbeat records that replica is alive, on the database's clock
// (replicas' clocks may disagree). It reports false when the row was gone:
// another replica took this one for dead and let its nodes go, so the
// caller registers again and claims back the links it still holds.
func (s *Store) ReplicaHeartbeat(ctx context.Context, replica string) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE replicas SET heartbeat_at = now() WHERE name = $1`, replica)
	if err != nil {
		return false, fmt.Errorf("replica %q heartbeat: %w", replica, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Link is one node connection a replica holds.
type Link struct {
	NodeID      int64
	ConnectedAt time.Time
}

// Reclaim records links that replica still holds after it was taken for
// dead: only where no other replica took the node over since (the row
// still has this connection's connected_at and no replica).
func (s *Store) Reclaim(ctx context.Context, replica string, links []Link) error {
	if len(links) == 0 {
		return nil
	}
	ids := make([]int64, len(links))
	ats := make([]time.Time, len(links))
	for i, l := range links {
		ids[i], ats[i] = l.NodeID, l.ConnectedAt
	}
	_, err := s.Pool.Exec(ctx, `UPDATE nodes n SET replica = $1 FROM unnest($2::bigint[], $3::timestamptz[]) AS l(id, at)
		WHERE n.id = l.id AND n.connected_at = l.at AND n.replica IS NULL AND n.status <> 'revoked'`, replica, ids, ats)
	if err != nil {
		return fmt.Errorf("replica %q reclaim links: %w", replica, err)
	}
	return nil
}

// SweepReplicas forgets replicas whose last heartbeat is older than
// deadAfter on the database's clock, and lets go of the nodes that a
// forgotten (or never registered) replica holds, with a disconnected
// event each: their links died with it, so the nodes' sessions move on
// (the node reconnects to a live replica; if it does not, it goes offline
// and its sessions end as lost) instead of waiting on a dead holder.
// self is never forgotten. It returns the nodes let go.
func (s *Store) SweepReplicas(ctx context.Context, self string, deadAfter time.Duration) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		secs := deadAfter.Seconds()
		if _, err := tx.Exec(ctx, `DELETE FROM replicas WHERE name <> $1 AND heartbeat_at < now() - make_interval(secs => $2)`, self, secs); err != nil {
			return fmt.Errorf("forget dead replicas: %w", err)
		}
		rows, err := tx.Query(ctx, `WITH old AS (
				SELECT n.id, n.replica FROM nodes n
				WHERE n.replica IS NOT NULL AND n.replica <> $1
					AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.name = n.replica)
				FOR UPDATE),
			freed AS (UPDATE nodes n SET replica = NULL FROM old WHERE n.id = old.id RETURNING n.id, old.replica)
			INSERT INTO node_events (node_id, kind, replica, detail, at)
			SELECT id, 'disconnected', replica, 'replica stopped answering', now() FROM freed
			RETURNING node_id`, self)
		if err != nil {
			return fmt.Errorf("free nodes of dead replicas: %w", err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	return ids, err
}

// Holder returns the replica holding node's connection and its internal
// URL ("" when that replica registered none). A node no replica holds
// gives ErrNotFound.
func (s *Store) Holder(ctx context.Context, node string) (replica, internalURL string, err error) {
	err = s.Pool.QueryRow(ctx, `SELECT n.replica, coalesce(r.internal_url, '') FROM nodes n
		LEFT JOIN replicas r ON r.name = n.replica
		WHERE n.name = $1 AND n.replica IS NOT NULL AND n.status = 'online'`, node).Scan(&replica, &internalURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", fmt.Errorf("node %q: %w", node, ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("node %q holder: %w", node, err)
	}
	return replica, internalURL, nil
}
