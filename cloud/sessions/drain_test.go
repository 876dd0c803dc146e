package sessions_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/cloud/store"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/testenv"
)

// clock is a hand-moved clock for elastic pools.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// poolTotal counts a pool's live containers (starting, idle, claimed), its idle and its claimed ones.
func poolTotal(n *node) (total, idle, claimed int) {
	for _, c := range n.pool.Snapshot() {
		switch c.State {
		case pool.Idle:
			total++
			idle++
		case pool.Claimed:
			total++
			claimed++
		case pool.Starting:
			total++
		}
	}
	return total, idle, claimed
}

func (u *user) mustRead(t testing.TB, se sessions.Session, path, want string) {
	t.Helper()
	resp, b := u.do(t, http.MethodGet, se.URL+"api/v1/file?path="+path, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		t.Fatalf("read %s: %s %q, want %q", path, resp.Status, b, want)
	}
}

// An elastic pool (1 to 3 containers) on the real dockerd: a queue makes
// it grow to its maximum, and once the sessions are gone and the claim
// window and cool-down have passed on the pool's clock it shrinks back,
// retiring idle containers only: the session still open keeps its
// container and its work.
func TestElasticPoolGrowsAndShrinks(t *testing.T) {
	e := newEnv(t, envOpts{})
	clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	const coolDown, window = time.Minute, 2 * time.Minute
	n := e.startNodeWith("node-1", 3, func(o *pool.Options) {
		o.Classes[0].Min = 1
		o.Elastic = &pool.Elastic{CoolDown: coolDown, Window: window, Now: clk.Now}
	})
	n.waitIdle(t, 1)
	if total, _, _ := poolTotal(n); total != 1 {
		t.Fatalf("an idle elastic pool holds %d containers, want its minimum 1", total)
	}
	alice, bob, carol := e.addUser(t, "alice"), e.addUser(t, "bob"), e.addUser(t, "carol")
	for _, u := range []*user{alice, bob, carol} {
		u.signIn(t)
	}
	as := alice.mustAllocate(t)
	alice.mustPut(t, as, "kept.txt", "alice's work")
	_, bs := bob.allocate(t)
	_, cs := carol.allocate(t)
	// The claim and the queue are demand: the pool grows to its maximum
	// and serves everyone.
	for _, w := range []struct {
		u  *user
		id string
	}{{bob, bs.ID}, {carol, cs.ID}} {
		eventually(t, testenv.WaitLong, w.u.name+"'s session ready", func() bool { return w.u.session(t, w.id).State == sessions.Ready })
	}
	if got := n.pool.Targets().Classes[0]; got.Target != 3 || got.Min != 1 || got.Max != 3 {
		t.Fatalf("targets under demand: %+v, want 3 of 1..3", got)
	}
	if _, _, claimed := poolTotal(n); claimed != 3 {
		t.Fatalf("%d claimed containers, want 3", claimed)
	}
	for _, w := range []struct {
		u  *user
		id string
	}{{bob, bs.ID}, {carol, cs.ID}} {
		if resp, b := w.u.do(t, http.MethodDelete, "/api/v1/sessions/"+w.id, nil, map[string]string{"X-CSRF-Token": w.u.csrf}); resp.StatusCode != http.StatusOK {
			t.Fatalf("end: %s %s", resp.Status, b)
		}
	}
	// The claims stay demand for the window: the pool refills to 3.
	eventually(t, testenv.WaitLong, "the pool refilled while the claims are recent", func() bool {
		total, idle, _ := poolTotal(n)
		return total == 3 && idle == 2
	})
	// Past the window the demand is alice's session alone; the pool
	// shrinks only once that has lasted the cool-down.
	clk.Advance(window)
	eventually(t, testenv.WaitLong, "the pool shrunk to alice's container", func() bool {
		clk.Advance(coolDown / 4)
		total, idle, claimed := poolTotal(n)
		return total == 1 && idle == 0 && claimed == 1
	})
	if got := alice.session(t, as.ID); got.State != sessions.Ready {
		t.Fatalf("alice's session after the shrink: %+v", got)
	}
	alice.mustRead(t, as, "kept.txt", "alice's work")
}

// Draining a node: it gets no new claims, its session is saved and moved
// to the other node with its work (the IDE's URL stays), its pool empties
// and it shows drained; undrained, it fills again and takes claims.
func TestDrainMovesSessions(t *testing.T) {
	e := newEnv(t, envOpts{})
	n1, n2 := e.startNode("node-1", 2), e.startNode("node-2", 2)
	e.waitIdleInDB(t, 4)
	st := store.New(e.db)
	alice, bob, carol := e.addUser(t, "alice"), e.addUser(t, "bob"), e.addUser(t, "carol")
	for _, u := range []*user{alice, bob, carol} {
		u.signIn(t)
	}
	as := alice.mustAllocate(t)
	alice.mustPut(t, as, "moved.txt", "work before the drain")
	from, to := n1, n2
	if as.Node == n2.name {
		from, to = n2, n1
	}
	ctx := context.Background()
	if err := st.SetDrain(ctx, from.name, true); err != nil {
		t.Fatal(err)
	}
	// No new claim lands on the draining node, even while it still has
	// an idle container.
	bsess := bob.mustAllocate(t)
	if bsess.Node != to.name {
		t.Fatalf("bob's session on %s, want %s (the other is draining)", bsess.Node, to.name)
	}
	eventually(t, testenv.WaitLong, "alice's session moved", func() bool {
		got := alice.session(t, as.ID)
		return got.State == sessions.Ready && got.Node == to.name
	})
	alice.mustRead(t, as, "moved.txt", "work before the drain")
	var restarts int
	if err := e.db.QueryRow(ctx, `SELECT restarts FROM sessions WHERE id = $1`, as.ID).Scan(&restarts); err != nil {
		t.Fatal(err)
	}
	if restarts != 0 {
		t.Fatalf("a move counted as %d restarts", restarts)
	}
	eventually(t, testenv.WaitLong, from.name+" drained", func() bool {
		d, err := st.Drains(ctx)
		return err == nil && d[from.name].State() == "drained" && len(from.pool.Snapshot()) == 0
	})
	// The other node is full: carol waits rather than land on the drained one.
	if code, cs := carol.allocate(t); code != http.StatusAccepted || cs.State != sessions.Queued {
		t.Fatalf("carol: %d %+v, want queued", code, cs)
	}
	if err := st.SetDrain(ctx, from.name, false); err != nil {
		t.Fatal(err)
	}
	var cid string
	if err := e.db.QueryRow(ctx, `SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = 'carol' AND s.state <> 'ended'`).Scan(&cid); err != nil {
		t.Fatal(err)
	}
	eventually(t, testenv.WaitLong, "carol served by the undrained node", func() bool {
		got := carol.session(t, cid)
		return got.State == sessions.Ready && got.Node == from.name
	})
	if d, err := st.Drains(ctx); err != nil || d[from.name].State() != "" {
		t.Fatalf("after undrain: %+v %v", d[from.name], err)
	}
}

// A draining node gets no claim even with an idle container (a scripted
// node keeps reporting it), and gets claims again once undrained; a
// session whose save fails is not moved.
func TestDrainingNodeGetsNoClaims(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	n := e.startScripted("node-1", "", nil)
	n.set(container(ctrA, "standard", "idle", ""))
	e.waitIdleInDB(t, 1)
	st := store.New(e.db)
	ctx := context.Background()
	if err := st.SetDrain(ctx, "node-1", true); err != nil {
		t.Fatal(err)
	}
	code, se := alice.allocate(t)
	if code != http.StatusAccepted || se.State != sessions.Queued {
		t.Fatalf("allocate on a draining node: %d %+v, want queued", code, se)
	}
	if d, err := st.Drains(ctx); err != nil || d["node-1"].State() != "draining" {
		t.Fatalf("drain: %+v %v, want draining (it still reports a container)", d["node-1"], err)
	}
	if got := n.gotClaims(); len(got) != 0 {
		t.Fatalf("claims sent to a draining node: %+v", got)
	}
	if err := st.SetDrain(ctx, "node-1", false); err != nil {
		t.Fatal(err)
	}
	eventually(t, testenv.WaitLong, "alice served once undrained", func() bool { return alice.session(t, se.ID).State == sessions.Ready })

	// Drained again, alice's session cannot be saved (this node answers
	// no save): it stays where it is, working, and both her session and
	// the drain say why; nothing is released.
	n.set(container(ctrA, "standard", "claimed", se.ID))
	if err := st.SetDrain(ctx, "node-1", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, testenv.WaitLong, "the failed save reported", func() bool {
		d, err := st.Drains(ctx)
		return err == nil && strings.Contains(d["node-1"].Detail, "not moved: save failed") &&
			strings.Contains(alice.session(t, se.ID).Detail, "saving your work failed")
	})
	if got := alice.session(t, se.ID); got.State != sessions.Ready || got.Node != "node-1" {
		t.Fatalf("alice after a failed save: %+v, want ready where she was", got)
	}
	n.mu.Lock()
	released := len(n.releases)
	n.mu.Unlock()
	if released != 0 {
		t.Fatalf("%d releases after a failed save", released)
	}
	// Undrained, the session stays for good: its detail no longer says
	// "for now".
	if err := st.SetDrain(ctx, "node-1", false); err != nil {
		t.Fatal(err)
	}
	if got := alice.session(t, se.ID); got.State != sessions.Ready || got.Detail != "" {
		t.Fatalf("alice after the undrain: %+v, want ready without the failed move's detail", got)
	}
}

// A move cut short after its save (the replica died between marking the
// session moving and releasing its container) is finished by a later
// sweep: the container is released and the session queued to continue
// from that save, not counted as a restart; left alone it would show
// "restarting" for good.
func TestDrainFinishesAnInterruptedMove(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	n := e.startScripted("node-1", "", nil)
	n.set(container(ctrA, "standard", "idle", ""))
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)
	e.waitContainers(t, "node-1", map[string]string{ctrA: "claimed"})
	ctx := context.Background()
	// What move leaves when its replica dies right after the save.
	if _, err := e.db.Exec(ctx, `UPDATE sessions SET state = 'restarting', moving_from = node_id, detail = 'moving' WHERE id = $1`, se.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.New(e.db).SetDrain(ctx, "node-1", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, testenv.WaitLong, "the interrupted move's container released", func() bool {
		for _, r := range n.gotReleases() {
			if r.Session == se.ID && r.Container == ctrA {
				return true
			}
		}
		return false
	})
	n.set() // the node saved and removed it
	var state string
	var restarts int
	eventually(t, testenv.WaitLong, "alice queued to continue elsewhere", func() bool {
		err := e.db.QueryRow(ctx, `SELECT state, restarts FROM sessions WHERE id = $1`, se.ID).Scan(&state, &restarts)
		return err == nil && state == "queued"
	})
	if restarts != 0 {
		t.Fatalf("the move counted as %d restarts", restarts)
	}
	if got := alice.session(t, se.ID); got.Detail != "moved to another node; continuing from your last save" {
		t.Fatalf("alice after the move: %+v", got)
	}
}
