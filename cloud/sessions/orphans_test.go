package sessions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
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

// A node that reports a fake claimed container gets no token: neither one
// copying another node's container and session, nor one pairing a session
// the cloud never placed with a container of its own, nor one claiming a
// session of another node under a container id of its own. The honest
// node holding an orphan gets its release (the control: sweeps ran).
func TestFakeClaimedContainerGetsNoToken(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		e.addUser(t, u)
	}
	honest := e.startScripted("node-h", "", nil)
	liar := e.startScripted("node-l", "", nil)
	const (
		c1 = "c1c1c1c1c1c1"
		c3 = "c3c3c3c3c3c3"
		c4 = "c4c4c4c4c4c4"
		l2 = "ee22ee22ee22"
		l3 = "ee33ee33ee33"
	)
	honest.set(container(c1, "standard", fleetproto.PoolClaimed, ""), container(c3, "standard", fleetproto.PoolIdle, ""))
	e.waitContainers(t, "node-h", map[string]string{c1: "claimed", c3: "idle"})
	e.insertSession(t, "sess-alice-1", "alice", "ended", "node-h", c1) // alice's ended on node-h/c1
	e.insertSession(t, "sess-bob-22", "bob", "ended", "", "")          // never placed anywhere
	e.insertSession(t, "sess-carol-3", "carol", "ended", "node-h", c3) // carol's ended on node-h/c3

	// The liar reports all three as its own claimed containers.
	liar.set(container(c1, "standard", fleetproto.PoolClaimed, "sess-alice-1"),
		container(l2, "standard", fleetproto.PoolClaimed, "sess-bob-22"),
		container(l3, "standard", fleetproto.PoolClaimed, "sess-carol-3"))
	e.waitContainers(t, "node-l", map[string]string{c1: "claimed", l2: "claimed", l3: "claimed"})

	// Only now the honest node reports its orphan: the sweep that releases
	// it sees the liar's containers too.
	honest.set(container(c1, "standard", fleetproto.PoolClaimed, "sess-alice-1"), container(c3, "standard", fleetproto.PoolIdle, ""))
	eventually(t, testenv.WaitLong, "the honest node's orphan released with a credential", func() bool {
		for _, r := range honest.gotReleases() {
			if r.Session == "sess-alice-1" && r.Container == c1 && r.Repo != nil && r.Repo.Password != "" {
				return true
			}
		}
		return false
	})
	// A second orphan on the honest node, reported after the first was
	// released: its release proves at least one more whole sweep ran.
	e.insertSession(t, "sess-dave-44", "dave", "ended", "node-h", c4)
	honest.set(container(c1, "standard", fleetproto.PoolClaimed, "sess-alice-1"), container(c3, "standard", fleetproto.PoolIdle, ""),
		container(c4, "standard", fleetproto.PoolClaimed, "sess-dave-44"))
	eventually(t, testenv.WaitLong, "the second orphan released", func() bool {
		for _, r := range honest.gotReleases() {
			if r.Session == "sess-dave-44" && r.Repo != nil {
				return true
			}
		}
		return false
	})
	for _, r := range liar.gotReleases() {
		if r.Repo != nil {
			t.Fatalf("the lying node got a release with a credential: session %s container %s", r.Session, r.Container)
		}
	}
	for _, id := range []string{"sess-bob-22", "sess-carol-3"} {
		var issued bool
		if err := e.db.QueryRow(t.Context(), `SELECT git_token_hash IS NOT NULL FROM sessions WHERE id = $1`, id).Scan(&issued); err != nil {
			t.Fatal(err)
		}
		if issued {
			t.Fatalf("a git credential was written for %s on the lying node's word", id)
		}
	}
}
