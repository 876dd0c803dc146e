// Package dbtest gives each test a fresh PostgreSQL database cloned from a
// template that is migrated once per schema version, even across test
// binaries running in parallel (guarded by an advisory lock).
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/schema"
	"gatewave.dev/migrations"
	"gatewave.dev/shared/testenv"
)

// EnvURL names the variable holding an admin DATABASE_URL; `make test`
// sets it from scripts/postgres.sh.
const EnvURL = "GATEWAVE_TEST_DATABASE_URL"

const lockKey int64 = 0x7470_6c5f_6761_7465 // template build lock

var (
	tplOnce sync.Once
	tplName string
	tplErr  error
)

// AdminURL returns the admin URL or calls testenv.Missing.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		testenv.Missing(t, "PostgreSQL", "run `eval export "+EnvURL+"=$(scripts/postgres.sh)` or `make test`")
	}
	return u
}

// New creates a fresh migrated database for t, dropped when t ends, and
// returns its URL and a pool on it (closed when t ends).
func New(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	u := Empty(t, true)
	ctx := testenv.Context(t, testenv.WaitLong)
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return u, pool
}

// Empty creates a fresh database for t (migrated from the template when
// migrated is true, empty otherwise) and returns its URL.
func Empty(t testing.TB, migrated bool) string {
	t.Helper()
	admin := AdminURL(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		testenv.Missing(t, "PostgreSQL at "+EnvURL, err.Error())
	}
	defer conn.Close(context.Background())

	from := "template0"
	if migrated {
		tplOnce.Do(func() { tplName, tplErr = ensureTemplate(admin) })
		if tplErr != nil {
			t.Fatalf("template database: %v", tplErr)
		}
		from = tplName
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "test_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, from)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return withDB(admin, name)
}

func withDB(admin, db string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + db
	return u.String()
}

// migrationsHash names the template after the migration files' contents,
// so editing a migration builds a new template instead of reusing a stale one.
func migrationsHash() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func ensureTemplate(admin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := migrationsHash()
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	name := "tpl_gatewave_" + sum
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return "", fmt.Errorf("template lock: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey)

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Build under a temporary name and rename when complete, so a crash
	// half-way never leaves a template that looks finished.
	building := name + "_building"
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+building+` TEMPLATE template0`); err != nil {
		return "", fmt.Errorf("create %s: %w", building, err)
	}
	pool, err := pgxpool.New(ctx, withDB(admin, building))
	if err != nil {
		return "", err
	}
	m, err := schema.New(pool)
	if err == nil {
		_, err = m.Up(ctx)
		m.Close()
	}
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		return "", fmt.Errorf("finish template: %w", err)
	}
	return name, nil
}
