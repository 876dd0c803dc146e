package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/testenv"
)

func (e *env) sessionRow(t testing.TB, id string) (state, detail, autosave string) {
	t.Helper()
	if err := e.db.QueryRow(context.Background(), `SELECT state, detail, last_autosave FROM sessions WHERE id = $1`, id).
		Scan(&state, &detail, &autosave); err != nil {
		t.Fatal(err)
	}
	return state, detail, autosave
}

// A node that returns after its sessions ended (NodeLostAfter) still holds
// their containers: the cloud releases each orphan, so the workspace is
// autosaved to ide/autosave, then the container is destroyed and the pool
// refills.
func TestOrphanedContainerReleased(t *testing.T) {
	e := newEnv(t, envOpts{containers: 1, sessions: func(o *sessions.Options) { o.NodeLostAfter = 500 * time.Millisecond }})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)
	alice.mustPut(t, se, "orphan.txt", "written before the node left\n")

	n := e.nodeGW
	n.stopGateway()
	n.cancel()
	<-n.done
	eventually(t, testenv.WaitLong, "session ended as node lost", func() bool {
		state, detail, _ := e.sessionRow(t, se.ID)
		return state == sessions.Ended && strings.Contains(detail, "node lost")
	})
	if _, err := e.gitShow(t, "alice", "ide/autosave:orphan.txt"); err == nil {
		t.Fatal("the file is on ide/autosave before the node returned; the test proves nothing")
	}

	n.startPool(1) // the node returns, still holding the claimed container
	n.startGateway()
	eventually(t, testenv.WaitLong, "the orphan's work on ide/autosave", func() bool {
		got, err := e.gitShow(t, "alice", "ide/autosave:orphan.txt")
		return err == nil && got == "written before the node left\n"
	})
	eventually(t, testenv.WaitLong, "the orphan destroyed and the pool refilled", func() bool {
		c := n.pool.Counts()
		return c[pool.Claimed] == 0 && c[pool.Destroying] == 0 && c[pool.Idle] == 1
	})
	_, _, saved := e.sessionRow(t, se.ID)
	if saved == "" {
		t.Fatal("no last_autosave after the orphan's release")
	}
	if got, err := e.gitShow(t, "alice", saved+":orphan.txt"); err != nil || got != "written before the node left\n" {
		t.Fatalf("last_autosave %s:orphan.txt = %q, %v", saved, got, err)
	}
	// The credential given for the release does not revive the session.
	if state, _, _ := e.sessionRow(t, se.ID); state != sessions.Ended {
		t.Fatalf("session state %q after the orphan's release", state)
	}
}

// Periodic autosaves update the session's last_autosave.
func TestPeriodicAutosaveRecorded(t *testing.T) {
	e := newEnv(t, envOpts{containers: 1, autosaveInterval: 200 * time.Millisecond})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)
	for i, f := range []string{"first.txt", "second.txt"} {
		alice.mustPut(t, se, f, f+"\n")
		eventually(t, testenv.WaitLong, "last_autosave holds "+f, func() bool {
			_, _, saved := e.sessionRow(t, se.ID)
			if saved == "" {
				return false
			}
			got, err := e.gitShow(t, "alice", saved+":"+f)
			return err == nil && got == f+"\n"
		})
		state, _, saved := e.sessionRow(t, se.ID)
		if state != sessions.Ready {
			t.Fatalf("after autosave %d: state %q", i, state)
		}
		// What the user sees matches.
		if got := alice.session(t, se.ID).Autosave; got != saved {
			t.Fatalf("session shows last_autosave %q, row has %q", got, saved)
		}
	}
}
