package sessions_test

import (
	"context"
	"net/http"
	"testing"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// A starting session says what it is doing: while the node clones the
// repo into the claimed container the session is "starting" in phase
// "cloning"; once ready the phase is gone.
func TestStartPhaseShown(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	release := make(chan struct{})
	n := e.startScripted("node-1", "", func(n *scriptedNode) {
		n.onClaim = func(ctx context.Context, a fleetproto.ClaimArgs) (fleetproto.ClaimResult, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return fleetproto.ClaimResult{}, ctx.Err()
			}
			return fleetproto.ClaimResult{Token: "tok-" + a.Container, Commit: "0123456789abcdef0123456789abcdef01234567"}, nil
		}
	})
	n.set(container(ctrA, "standard", fleetproto.PoolIdle, ""))
	e.waitIdleInDB(t, 1)

	done := make(chan sessions.Session, 1)
	go func() { _, se := alice.allocate(t); done <- se }()
	var se sessions.Session
	eventually(t, testenv.WaitLong, "the session starting in phase cloning", func() bool {
		return alice.getJSON(t, "/api/v1/sessions", &se) == http.StatusOK && se.State == sessions.Starting && se.Phase == "cloning"
	})
	close(release)
	if got := <-done; got.State != sessions.Ready {
		t.Fatalf("after the claim: %+v, want ready", got)
	}
	id := se.ID
	se = sessions.Session{}
	if code := alice.getJSON(t, "/api/v1/sessions/"+id, &se); code != http.StatusOK || se.State != sessions.Ready || se.Phase != "" {
		t.Fatalf("ready session: %d %+v, want ready without a phase", code, se)
	}
}
