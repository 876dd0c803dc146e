package sessions_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/testenv"
)

// 100 concurrent allocations on a pool of 20: exactly 20 sessions and 80
// queued with distinct positions; no container is handed out twice; the
// queue is then served in order as containers free up.
func TestConcurrentAllocationsQueue(t *testing.T) {
	const poolSize, users = 20, 100
	e := newEnv(t, envOpts{containers: poolSize})
	us := make([]*user, users)
	for i := range us {
		us[i] = e.addUserNoRepo(t, fmt.Sprintf("u%03d", i))
		us[i].signIn(t)
	}
	e.waitIdleInDB(t, poolSize)

	type result struct {
		code int
		se   sessions.Session
	}
	res := make([]result, users)
	var wg sync.WaitGroup
	for i := range us {
		wg.Go(func() { c, se := us[i].allocate(t); res[i] = result{c, se} })
	}
	wg.Wait()

	ready, queued := 0, 0
	var positions []int
	for i, r := range res {
		switch {
		case r.code == http.StatusCreated && r.se.State == sessions.Ready:
			ready++
		case r.code == http.StatusAccepted && r.se.State == sessions.Queued:
			queued++
			positions = append(positions, r.se.Position)
		default:
			t.Errorf("user %d: %d %+v", i, r.code, r.se)
		}
	}
	if ready != poolSize || queued != users-poolSize {
		t.Fatalf("%d ready, %d queued; want %d and %d", ready, queued, poolSize, users-poolSize)
	}
	// Positions are 1..80 (each user's position when it answered may be
	// lower than now, but the queue as it stands is exact).
	positions = positions[:0]
	var first *user
	for i, u := range us {
		if res[i].se.State != sessions.Queued {
			continue
		}
		var se sessions.Session
		u.getJSON(t, "/api/v1/sessions/"+res[i].se.ID, &se)
		positions = append(positions, se.Position)
		if se.Position == 1 {
			first = u
		}
	}
	sort.Ints(positions)
	for i, p := range positions {
		if p != i+1 {
			t.Fatalf("queue positions %v, want 1..%d", positions, users-poolSize)
		}
	}
	var dup int
	if err := e.db.QueryRow(t.Context(), `SELECT count(*) FROM (SELECT container_id FROM sessions WHERE container_id IS NOT NULL
		GROUP BY node_id, container_id HAVING count(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		t.Fatalf("containers handed out twice: %d (%v)", dup, err)
	}
	claimed := map[string]bool{}
	for _, c := range e.nodeGW.pool.Snapshot() {
		if c.Owner != "" {
			if claimed[c.Owner] {
				t.Fatalf("two containers for session %s", c.Owner)
			}
			claimed[c.Owner] = true
		}
	}
	if len(claimed) != poolSize {
		t.Fatalf("%d containers claimed on the node, want %d", len(claimed), poolSize)
	}

	// A container frees up: the first in the queue gets it.
	var readyUser *user
	for i, r := range res {
		if r.se.State == sessions.Ready {
			readyUser = us[i]
			break
		}
	}
	readyUser.signOut(t)
	var firstSe sessions.Session
	eventually(t, testenv.WaitLong, "the first queued user is served", func() bool {
		first.getJSON(t, "/api/v1/sessions", &firstSe)
		return firstSe.State == sessions.Ready
	})
	// Everyone else moved up by one.
	for i, u := range us {
		if res[i].se.State != sessions.Queued || u == first {
			continue
		}
		var se sessions.Session
		u.getJSON(t, "/api/v1/sessions/"+res[i].se.ID, &se)
		if se.State != sessions.Queued || se.Position < 1 || se.Position > users-poolSize-1 {
			t.Fatalf("after one was served: %+v", se)
		}
	}
}
