package sessions_test

import (
	"context"
	"testing"
	"time"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// The sweep never waits on one slow node: a node whose release never
// answers holds up neither the idle timeout of a session on another node
// nor that node's release, and its own release is retried once its
// command times out.
func TestSlowNodeDoesNotStallSweep(t *testing.T) {
	e := newEnv(t, envOpts{sessions: func(o *sessions.Options) {
		o.IdleTimeout = time.Second
		o.CommandTimeout = 300 * time.Millisecond
	}})
	e.addUser(t, "alice")
	e.addUser(t, "bob")
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	slow := e.startScripted("node-slow", "", func(n *scriptedNode) {
		n.onRelease = func(ctx context.Context, _ fleetproto.ReleaseArgs) (fleetproto.SaveResult, error) {
			<-stall // never answers while the test runs
			return fleetproto.SaveResult{}, errStalled
		}
	})
	fast := e.startScripted("node-fast", "", nil)
	const c1, c2 = "c1c1c1c1c1c1", "c2c2c2c2c2c2"
	slow.set(container(c1, "standard", fleetproto.PoolClaimed, "sess-alice-1"))
	fast.set(container(c2, "standard", fleetproto.PoolClaimed, "sess-bob-222"))
	e.waitContainers(t, "node-slow", map[string]string{c1: "claimed"})
	e.waitContainers(t, "node-fast", map[string]string{c2: "claimed"})
	e.insertSession(t, "sess-alice-1", "alice", "ending", "node-slow", c1) // its release stalls
	e.insertSession(t, "sess-bob-222", "bob", "ready", "node-fast", c2)    // goes idle in a second

	eventually(t, testenv.WaitLong, "the slow node asked to release", func() bool { return len(slow.gotReleases()) > 0 })
	eventually(t, testenv.WaitLong, "the idle session on the other node released", func() bool {
		for _, r := range fast.gotReleases() {
			if r.Session == "sess-bob-222" {
				return true
			}
		}
		return false
	})
	if state, detail, _ := e.sessionRow(t, "sess-bob-222"); state != sessions.Ending || detail != "idle timeout" {
		t.Fatalf("bob's session: %s %q", state, detail)
	}
	eventually(t, testenv.WaitLong, "the slow release retried after its timeout", func() bool { return len(slow.gotReleases()) >= 2 })
}
