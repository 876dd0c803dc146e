package schema_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/schema"
	"gatewave.dev/shared/testenv"
)

func tables(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		got[n] = true
	}
	return got
}

// Migrations go up, down and up again cleanly, and Check tells an
// out-of-date database from a current one.
func TestUpDownUp(t *testing.T) {
	u := dbtest.Empty(t, false)
	ctx := testenv.Context(t, testenv.WaitLong)
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m, err := schema.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Check(ctx); err == nil {
		t.Fatal("Check passed on an empty database")
	}
	for round := range 2 {
		v, err := m.Up(ctx)
		if err != nil || v < 1 {
			t.Fatalf("round %d up: v%d %v", round, v, err)
		}
		if tb := tables(t, pool); !tb["nodes"] || !tb["node_events"] {
			t.Fatalf("round %d: tables after up: %v", round, tb)
		}
		if err := m.Check(ctx); err != nil {
			t.Fatalf("Check after up: %v", err)
		}
		if err := m.DownTo(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if tb := tables(t, pool); tb["nodes"] || tb["node_events"] {
			t.Fatalf("round %d: tables left after down: %v", round, tb)
		}
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
}
