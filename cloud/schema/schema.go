// Package schema applies the embedded migrations (gatewave.dev/migrations)
// to the cloud's PostgreSQL database with goose, and tells whether a
// database is at the version this build expects.
package schema

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"gatewave.dev/migrations"
)

// Migrator wraps a goose provider over one pool.
type Migrator struct {
	db *sql.DB
	p  *goose.Provider
}

// New returns a Migrator for pool. Concurrent migrations from several
// replicas are serialized by a session-level advisory lock.
func New(pool *pgxpool.Pool) (*Migrator, error) {
	db := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	files, err := gooseFS(migrations.FS)
	if err != nil {
		db.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, p: p}, nil
}

// Close releases the Migrator's database handle (not the pool).
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies all pending migrations and returns the resulting version.
func (m *Migrator) Up(ctx context.Context) (int64, error) {
	if _, err := m.p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate up: %w", err)
	}
	return m.p.GetDBVersion(ctx)
}

// Down rolls back one migration and returns the resulting version.
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	if _, err := m.p.Down(ctx); err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return m.p.GetDBVersion(ctx)
}

// DownTo rolls back to version (0 = everything).
func (m *Migrator) DownTo(ctx context.Context, version int64) error {
	if _, err := m.p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return nil
}

// Versions returns the database's version and the newest one embedded.
func (m *Migrator) Versions(ctx context.Context) (current, target int64, err error) {
	current, target, err = m.p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, target, nil
}

// Check returns an error saying what to do unless the database is at
// exactly the embedded version with nothing pending.
func (m *Migrator) Check(ctx context.Context) error {
	current, target, err := m.Versions(ctx)
	if err != nil {
		return err
	}
	pending, err := m.p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check pending migrations: %w", err)
	}
	switch {
	case current < target || pending:
		return fmt.Errorf("database schema is out of date (version %d, this build needs %d): run `cloud migrate`", current, target)
	case current > target:
		return fmt.Errorf("database schema version %d is newer than this build knows (%d): upgrade the cloud binary", current, target)
	}
	return nil
}
