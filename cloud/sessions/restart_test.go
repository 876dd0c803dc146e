package sessions_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const saveCommit = "fedcba9876543210fedcba9876543210fedcba98"

// A container that dies: its node reports it recovering while it saves
// the workspace; the session shows "restarting" (and the save's error while
// one fails), its tunnel answers 503 "restarting"; once the save is in and
// the container gone, the session goes back to the front of the queue
// (ahead of a session queued earlier that never started) and continues in
// a fresh container. A release whose save fails says so too.
func TestRestartingSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice, bob := e.addUser(t, "alice"), e.addUser(t, "bob")
	alice.signIn(t)
	bob.signIn(t)
	var failSave error
	n := e.startScripted("node-1", "", func(n *scriptedNode) {
		n.onRelease = func(context.Context, fleetproto.ReleaseArgs) (fleetproto.SaveResult, error) {
			return fleetproto.SaveResult{}, failSave
		}
	})
	n.set(container(ctrA, "standard", fleetproto.PoolIdle, ""))
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)
	var queuedAt time.Time
	if err := e.db.QueryRow(t.Context(), `SELECT queued_at FROM sessions WHERE id = $1`, se.ID).Scan(&queuedAt); err != nil {
		t.Fatal(err)
	}
	// Bob waits (no container is idle), and has waited longer than alice.
	_, bs := bob.allocate(t)
	if _, err := e.db.Exec(t.Context(), `UPDATE sessions SET queued_at = queued_at - interval '1 minute' WHERE id = $1`, bs.ID); err != nil {
		t.Fatal(err)
	}

	dead := container(ctrA, "standard", fleetproto.PoolRecovering, se.ID)
	n.set(dead)
	eventually(t, testenv.WaitLong, "alice's session restarting", func() bool {
		got := alice.session(t, se.ID)
		return got.State == sessions.Restarting && got.Detail == "the container stopped; saving your work"
	})
	resp, b := alice.do(t, http.MethodGet, se.URL+"api/v1/files?path=.", nil, nil)
	var ae struct {
		Error apierr.Error `json:"error"`
	}
	if resp.StatusCode != http.StatusServiceUnavailable || decodeJSON(b, &ae) != nil || ae.Error.Code != "restarting" {
		t.Fatalf("tunnel while restarting: %s %s", resp.Status, b)
	}
	dead.SaveError = "push rejected: repository over quota"
	n.set(dead)
	eventually(t, testenv.WaitLong, "the save's error shown", func() bool {
		return strings.Contains(alice.session(t, se.ID).Detail, "push rejected: repository over quota")
	})
	dead.SaveError, dead.Autosave = "", saveCommit
	n.set(dead)
	eventually(t, testenv.WaitLong, "the save recorded", func() bool { return alice.session(t, se.ID).Autosave == saveCommit })

	// The node drops the saved container and a fresh one is warm.
	n.set(container(ctrB, "standard", fleetproto.PoolIdle, ""))
	eventually(t, testenv.WaitLong, "alice's session ready again", func() bool { return alice.session(t, se.ID).State == sessions.Ready })
	if got := claimedContainers(n); len(got) != 2 || got[1] != ctrB || n.gotClaims()[1].Session != se.ID {
		t.Fatalf("claims on %v, want alice's second on B", got)
	}
	var qa time.Time
	var restarts int
	var ctr string
	if err := e.db.QueryRow(t.Context(), `SELECT queued_at, restarts, container_id FROM sessions WHERE id = $1`, se.ID).Scan(&qa, &restarts, &ctr); err != nil {
		t.Fatal(err)
	}
	if !qa.Equal(queuedAt) || restarts != 1 || ctr != ctrB {
		t.Fatalf("after the restart: queued_at %v (was %v), restarts %d, container %s", qa, queuedAt, restarts, ctr)
	}
	if got := bob.session(t, bs.ID); got.State != sessions.Queued || got.Position != 1 {
		t.Fatalf("bob: %+v, want still first of those waiting", got)
	}
	if got := alice.session(t, se.ID); got.Autosave != saveCommit {
		t.Fatalf("last autosave %q after the restart", got.Autosave)
	}
	if resp, _ := alice.do(t, http.MethodGet, se.URL+"api/v1/files?path=.", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("tunnel after the restart: %s", resp.Status)
	}

	// Ending it: the node's save fails; the user reads why.
	failSave = errors.New("push rejected")
	if resp, b := alice.do(t, http.MethodDelete, "/api/v1/sessions/"+se.ID, nil, map[string]string{"X-CSRF-Token": alice.csrf}); resp.StatusCode != http.StatusOK {
		t.Fatalf("end: %s %s", resp.Status, b)
	}
	failing := container(ctrB, "standard", fleetproto.PoolClaimed, se.ID)
	failing.SaveError = "push rejected: non-fast-forward"
	n.set(failing)
	eventually(t, testenv.WaitLong, "the failed save shown on the ending session", func() bool {
		got := alice.session(t, se.ID)
		return got.State == sessions.Ending && strings.Contains(got.Detail, "push rejected: non-fast-forward")
	})
	n.set() // saved at last, and destroyed
	eventually(t, testenv.WaitLong, "ended", func() bool { return alice.session(t, se.ID).State == sessions.Ended })
}
