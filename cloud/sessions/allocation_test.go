package sessions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const (
	ctrA = "aaaaaaaaaaa1"
	ctrB = "bbbbbbbbbbb2"
)

// A slow start is never handed out twice: the claim on container A hangs
// past the lease, the session is requeued onto B, and when A's claim
// finally answers, that start is fenced out by its container id: the
// session keeps B, B's token, and A's sessiond is never asked anything.
func TestSlowStartLeaseFenced(t *testing.T) {
	e := newEnv(t, envOpts{sessions: func(o *sessions.Options) {
		// Short, yet long enough for B's start to finish inside its own
		// lease once the test lets it go.
		o.LeaseTTL = 3 * time.Second
		o.StartTimeout = testenv.WaitLong
	}})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	releaseA, releaseB := make(chan struct{}), make(chan struct{})
	n := e.startScripted("node-1", "", func(n *scriptedNode) {
		n.onClaim = func(ctx context.Context, a fleetproto.ClaimArgs) (fleetproto.ClaimResult, error) {
			ch := releaseA
			if a.Container == ctrB {
				ch = releaseB
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return fleetproto.ClaimResult{}, ctx.Err()
			}
			return fleetproto.ClaimResult{Token: "tok-" + a.Container, Commit: "0123456789abcdef0123456789abcdef01234567"}, nil
		}
	})
	n.set(container(ctrA, "standard", fleetproto.PoolIdle, ""), container(ctrB, "standard", fleetproto.PoolIdle, ""))
	e.waitIdleInDB(t, 2)

	done := make(chan sessions.Session, 1)
	go func() { _, se := alice.allocate(t); done <- se }()
	claimed := func(c string) bool {
		for _, a := range n.gotClaims() {
			if a.Container == c {
				return true
			}
		}
		return false
	}
	eventually(t, testenv.WaitLong, "the claim on A", func() bool { return claimed(ctrA) })
	eventually(t, testenv.WaitLong, "the lease expired and the session was requeued onto B", func() bool { return claimed(ctrB) })
	row := func() (state, ctr, tok string) {
		_ = e.db.QueryRow(t.Context(), `SELECT state, coalesce(container_id, ''), coalesce(sessiond_token, '') FROM sessions`).Scan(&state, &ctr, &tok)
		return
	}
	if state, ctr, _ := row(); state != sessions.Starting || ctr != ctrB {
		t.Fatalf("after the requeue: %s on %q, want starting on B", state, ctr)
	}

	// A's claim answers late. Give that stale start a window to do damage
	// (without fencing it writes A's token at once and probes A).
	close(releaseA)
	stale := testenv.Context(t, 300*time.Millisecond)
	for stale.Err() == nil {
		if _, _, tok := row(); tok == "tok-"+ctrA {
			t.Fatal("the stale start on A wrote its token into the session now on B")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(releaseB)
	var se sessions.Session
	select {
	case se = <-done:
	case <-time.After(testenv.WaitLong):
		t.Fatal("allocation did not answer")
	}
	eventually(t, testenv.WaitLong, "ready on B", func() bool {
		state, ctr, tok := row()
		return state == sessions.Ready && ctr == ctrB && tok == "tok-"+ctrB
	})
	for _, r := range n.gotRequests() {
		if r.container == ctrA {
			t.Fatalf("the stale start reached A's sessiond: %s %s", r.method, r.uri)
		}
	}
	if resp, _ := alice.do(t, http.MethodGet, "/s/"+se.ID+"/api/v1/files?path=.", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("tunnel: %s", resp.Status)
	}
	last := n.gotRequests()[len(n.gotRequests())-1]
	if last.container != ctrB || last.header.Get("Authorization") != "Bearer tok-"+ctrB {
		t.Fatalf("tunnel reached %s with %q, want B with B's token", last.container, last.header.Get("Authorization"))
	}
}

// A claim honours the container class asked for, and a session waiting
// for a class nobody has idle does not hold up those behind it.
func TestClaimHonoursClass(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice, bob, carol := e.addUser(t, "alice"), e.addUser(t, "bob"), e.addUser(t, "carol")
	for _, u := range []*user{alice, bob, carol} {
		u.signIn(t)
	}
	n := e.startScripted("node-1", "", nil)
	// A sorts first (same load, same report time, lower id).
	n.set(container(ctrA, "small", fleetproto.PoolIdle, ""), container(ctrB, "large", fleetproto.PoolIdle, ""))
	e.waitIdleInDB(t, 2)

	post := func(u *user, class string) (int, sessions.Session) {
		resp, b := u.do(t, http.MethodPost, "/api/v1/sessions?class="+class, nil, map[string]string{"X-CSRF-Token": u.csrf})
		var se sessions.Session
		_ = decodeJSON(b, &se)
		return resp.StatusCode, se
	}
	if code, se := post(alice, "large"); code != http.StatusCreated || se.Class != "large" {
		t.Fatalf("alice asks for large: %d %+v", code, se)
	}
	if got := claimedContainers(n); len(got) != 1 || got[0] != ctrB {
		t.Fatalf("claims on %v, want one on the large container B", got)
	}
	if code, se := post(bob, "gpu"); code != http.StatusAccepted || se.State != sessions.Queued {
		t.Fatalf("bob asks for gpu: %d %+v", code, se)
	}
	if code, _ := post(carol, ""); code != http.StatusCreated {
		t.Fatalf("carol asks for any class: %d", code)
	}
	if got := claimedContainers(n); len(got) != 2 || got[1] != ctrA {
		t.Fatalf("claims on %v, want carol's on A", got)
	}
	var bs sessions.Session
	bob.getJSON(t, "/api/v1/sessions", &bs)
	if bs.State != sessions.Queued || bs.Position != 1 {
		t.Fatalf("bob: %+v, want first in the queue", bs)
	}
	if resp, b := bob.do(t, http.MethodPost, "/api/v1/sessions?class=Not%20A%20Class", nil, map[string]string{"X-CSRF-Token": bob.csrf}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed class: %s %s, want 400", resp.Status, b)
	}
}

// Queued sessions end when their user is gone (no live sign-in: here the
// sign-in rows vanish without the sign-out hook, as when the replica that
// served the sign-out died) or after MaxQueueWait, each with its reason.
func TestQueuedSessionsExpire(t *testing.T) {
	e := newEnv(t, envOpts{sessions: func(o *sessions.Options) { o.MaxQueueWait = 3 * time.Second }})
	alice, bob := e.addUser(t, "alice"), e.addUser(t, "bob")
	alice.signIn(t)
	bob.signIn(t)
	_, as := alice.allocate(t)
	_, bs := bob.allocate(t)
	if as.State != sessions.Queued || bs.State != sessions.Queued {
		t.Fatalf("no containers: want both queued, got %s and %s", as.State, bs.State)
	}
	if _, err := e.db.Exec(t.Context(), `DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE name = 'alice')`); err != nil {
		t.Fatal(err)
	}
	eventually(t, testenv.WaitLong, "alice's session left the queue", func() bool {
		state, _, _ := e.sessionRow(t, as.ID)
		return state == sessions.Ended
	})
	if _, detail, _ := e.sessionRow(t, as.ID); !strings.Contains(detail, "signed out") {
		t.Fatalf("alice's detail %q", detail)
	}
	if state, _, _ := e.sessionRow(t, bs.ID); state != sessions.Queued {
		t.Fatalf("bob, still signed in and within the wait: %s", state)
	}
	eventually(t, testenv.WaitLong, "bob's session waited too long", func() bool {
		return bob.session(t, bs.ID).State == sessions.Ended
	})
	if d := bob.session(t, bs.ID).Detail; !strings.Contains(d, "no container was free within 3s") {
		t.Fatalf("bob's detail %q", d)
	}
}

// claimedContainers lists the containers claimed on n, in order (never the
// claims themselves: they carry credentials).
func claimedContainers(n *scriptedNode) []string {
	var out []string
	for _, a := range n.gotClaims() {
		out = append(out, a.Container)
	}
	return out
}
