package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"
	"github.com/hashicorp/yamux"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/store"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
	"gatewave.dev/shared/wsconn"
)

func TestRegisterOnlineHeartbeatsAdvance(t *testing.T) {
	_, pool, st := newDB(t)
	n, tok := addNode(t, st, "fpga-01", map[string]string{"site": "lab"})
	c := startCloud(t, pool, "", fast)
	g := startGateway(t, c.URL(), "fpga-01", tok)
	ctx := testenv.Context(t, testenv.WaitShort)
	g.waitEvent(t, ctx, "connected")

	var first time.Time
	eventually(t, ctx, "node is online with a heartbeat", func() bool {
		got, err := st.Get(ctx, "fpga-01")
		if err != nil || got.Status != "online" || got.LastHeartbeatAt == nil {
			return false
		}
		first = *got.LastHeartbeatAt
		return true
	})
	got, _ := st.Get(ctx, "fpga-01")
	if got.Replica == nil || *got.Replica != "replica-a" || got.Version != "test-1" ||
		got.Resources.CPUCores != 4 || got.ReportedLabels["arch"] != "amd64" || got.Labels["site"] != "lab" {
		t.Fatalf("registered node = %+v", got)
	}
	g.waitEvent(t, ctx, "heartbeat_ack")
	eventually(t, ctx, "last heartbeat advances", func() bool {
		got, err := st.Get(ctx, "fpga-01")
		return err == nil && got.LastHeartbeatAt != nil && got.LastHeartbeatAt.After(first)
	})
	if k := eventKinds(t, st, n.ID); !slices.Equal(k, []string{"connected"}) {
		t.Fatalf("events = %v, want [connected]", k)
	}

	// The operator API lists it, with the admin token only.
	resp, err := http.Get(c.URL() + "/api/v1/nodes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("GET /api/v1/nodes without token = %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", c.URL()+"/api/v1/nodes", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Nodes []store.Node }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Nodes) != 1 || body.Nodes[0].Status != "online" {
		t.Fatalf("GET /api/v1/nodes = %d %+v %v", resp.StatusCode, body, err)
	}
	// And so does `cloud node list`.
	var out bytes.Buffer
	u, _ := pool.Config().ConnString(), 0
	if code := cli.Run(ctx, []string{"node", "list", "--database-url", u}, cli.Env{Stdout: &out, Stderr: io.Discard}); code != 0 {
		t.Fatalf("node list exit %d", code)
	}
	if !strings.Contains(out.String(), "fpga-01") || !strings.Contains(out.String(), "online") || !strings.Contains(out.String(), "site=lab") {
		t.Fatalf("node list:\n%s", out.String())
	}
}

// A killed gateway (TCP gone, no close frame) is marked offline once the
// shortened window passes, and not before.
func TestKilledGatewayGoesOffline(t *testing.T) {
	_, pool, st := newDB(t)
	n, tok := addNode(t, st, "node-k", nil)
	c := startCloud(t, pool, "", fast, func(o *fleet.Options) { o.Grace = time.Millisecond })
	var tcp net.Conn
	conns := make(chan net.Conn, 4)
	g := startGateway(t, c.URL(), "node-k", tok, func(o *gateway.Options) {
		o.Dialer = &fws.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				conns <- cn
			}
			return cn, err
		}}
	})
	ctx := testenv.Context(t, testenv.WaitShort)
	g.waitEvent(t, ctx, "connected")
	tcp = <-conns
	g.cancel() // stop it reconnecting...
	_ = tcp.Close()
	killed := time.Now()
	eventually(t, ctx, "node is offline", func() bool {
		got, err := st.Get(ctx, "node-k")
		return err == nil && got.Status == "offline"
	})
	if since := time.Since(killed); since < 2*time.Second-500*time.Millisecond {
		t.Fatalf("marked offline %v after the kill, before the 2 s window", since)
	}
	// The sweep goes by heartbeats alone, so on a busy machine it can
	// come before the replica has written its disconnect: both are
	// recorded, in either order, after the connect.
	eventually(t, ctx, "connected, then disconnected and offline", func() bool {
		k := eventKinds(t, st, n.ID)
		if len(k) != 3 || k[0] != "connected" {
			return false
		}
		rest := slices.Clone(k[1:])
		slices.Sort(rest)
		return slices.Equal(rest, []string{"disconnected", "offline"})
	})
}

// Restarting the cloud (even after a long outage) brings the gateway back
// within its backoff and marks nobody offline.
func TestCloudRestartNoFalseOffline(t *testing.T) {
	_, pool, st := newDB(t)
	n, tok := addNode(t, st, "node-r", nil)
	clk := &clock{}
	withClock := func(o *fleet.Options) {
		o.Now = clk.Now
		o.OfflineAfter, o.Grace = 10*time.Second, 4*time.Second
	}
	c := startCloud(t, pool, "", fast, withClock)
	g := startGateway(t, c.URL(), "node-r", tok)
	ctx := testenv.Context(t, testenv.WaitLong)
	g.waitEvent(t, ctx, "connected")
	g.waitEvent(t, ctx, "heartbeat_ack")
	if err := c.srv.Hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	c.Stop(t)
	d := g.waitEvent(t, ctx, "disconnected")
	// The outage lasts longer than offline-after, as far as the cloud's
	// clock can tell.
	clk.Advance(15 * time.Second)
	c2 := startCloud(t, pool, c.addr, fast, withClock)
	if ids, err := c2.srv.Hub.Sweep(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("sweep during grace marked %v (err %v)", ids, err)
	}
	back := g.waitEvent(t, ctx, "connected")
	// Retry-after (≤ 2 s) plus one full-jitter delay, plus a few retries
	// while the port was closed: the gateway's ceiling is 2 s per attempt.
	if gap := back.At.Sub(d.At); gap > 10*time.Second {
		t.Fatalf("gateway took %v to return", gap)
	}
	t.Logf("gateway back %v after the disconnect (first wait %v)", back.At.Sub(d.At).Round(time.Millisecond), d.Wait.Round(time.Millisecond))
	g.waitEvent(t, ctx, "heartbeat_ack")
	if err := c2.srv.Hub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second) // past the grace period, within offline-after
	if ids, err := c2.srv.Hub.Sweep(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("sweep after reconnect marked %v (err %v)", ids, err)
	}
	got, _ := st.Get(ctx, "node-r")
	if got.Status != "online" {
		t.Fatalf("status = %s", got.Status)
	}
	for _, k := range eventKinds(t, st, n.ID) {
		if k == "offline" {
			t.Fatalf("false offline: events %v", eventKinds(t, st, n.ID))
		}
	}
}

// Offline marking with a fake clock: no sleeping 90 s, and two replicas
// sweeping at once mark each node exactly once.
func TestSweepWithInjectedClockAndReplicas(t *testing.T) {
	_, _, st := newDB(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	clk := &clock{}
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		n, _ := addNode(t, st, name, nil)
		ids = append(ids, n.ID)
		if err := st.Connect(ctx, n.ID, "r0", &fleetproto.Register{Name: name, Protocol: 1}, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(replica string) *fleet.Hub {
		h, err := fleet.New(fleet.Options{Store: st, Replica: replica, Now: clk.Now, Grace: time.Millisecond, Logger: logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1, h2 := mk("r1"), mk("r2")
	clk.Advance(89 * time.Second)
	if got, _ := h1.Sweep(ctx); len(got) != 0 {
		t.Fatalf("offline after 89 s: %v", got)
	}
	// A heartbeat for "c" keeps it online.
	if err := st.RecordHeartbeats(ctx, []store.Heartbeat{{NodeID: ids[2], At: clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	res := make(chan []int64, 2)
	for _, h := range []*fleet.Hub{h1, h2} {
		go func() {
			got, err := h.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			res <- got
		}()
	}
	all := append(<-res, <-res...)
	slices.Sort(all)
	if !slices.Equal(all, ids[:2]) {
		t.Fatalf("marked %v, want %v exactly once", all, ids[:2])
	}
	for i, id := range ids {
		want := []string{"connected", "offline"}
		if i == 2 {
			want = want[:1]
		}
		if k := eventKinds(t, st, id); !slices.Equal(k, want) {
			t.Fatalf("node %d events %v, want %v", id, k, want)
		}
	}
}

func TestRevokeDisconnectsAndRefuses(t *testing.T) {
	u, pool, st := newDB(t)
	n, tok := addNode(t, st, "node-x", nil)
	c := startCloud(t, pool, "", fast)
	g := startGateway(t, c.URL(), "node-x", tok)
	ctx := testenv.Context(t, testenv.WaitShort)
	g.waitEvent(t, ctx, "connected")

	var out bytes.Buffer
	if code := cli.Run(ctx, []string{"node", "revoke", "node-x"}, cli.Env{Stdout: &out, Stderr: &out,
		Getenv: func(k string) string {
			if k == "DATABASE_URL" {
				return u
			}
			return ""
		}}); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, out.String())
	}
	select {
	case err := <-g.done:
		if err != gateway.ErrRevoked {
			t.Fatalf("gateway ended with %v, want ErrRevoked", err)
		}
		g.done <- err // for the cleanup
	case <-ctx.Done():
		t.Fatal("gateway still connected after revoke")
	}
	eventually(t, ctx, "hub drops the node", func() bool { return len(c.srv.Hub.Connected()) == 0 })
	status, _ := dial(ctx, c.addr, tok)
	if status != 401 {
		t.Fatalf("reconnect with revoked token: HTTP %d, want 401", status)
	}
	got, _ := st.Get(ctx, "node-x")
	if got.Status != "revoked" || got.RevokedAt == nil {
		t.Fatalf("node = %+v", got)
	}
	k := eventKinds(t, st, n.ID)
	if !slices.Contains(k, "revoked") || !slices.Contains(k, "disconnected") {
		t.Fatalf("events %v", k)
	}
}

// dial opens the node link by hand and returns the HTTP status of a
// refused upgrade, or 101 and the connection.
func dial(ctx context.Context, addr, token string) (int, *fws.Conn) {
	ws, resp, err := fws.DefaultDialer.DialContext(ctx, "ws://"+addr+"/api/v1/nodes/connect",
		http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			return resp.StatusCode, nil
		}
		return 0, nil
	}
	return 101, ws
}

// rawLink is a hand-driven gateway that can send bad input.
func rawLink(t *testing.T, ctx context.Context, addr, token, name string) (*wsconn.Conn, net.Conn) {
	t.Helper()
	status, ws := dial(ctx, addr, token)
	if status != 101 {
		t.Fatalf("dial: %d", status)
	}
	ws.SetReadLimit(fleetproto.MaxWSMessage)
	conn := wsconn.New(ws)
	t.Cleanup(func() { conn.Close() })
	sess, err := yamux.Client(conn, fleetproto.MuxConfig(0, nil))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_ = fleetproto.WriteFrame(s, fleetproto.StreamHeader{Kind: fleetproto.KindControl})
	if err := fleetproto.ReadStreamReply(s); err != nil {
		t.Fatal(err)
	}
	_ = fleetproto.WriteMessage(s, &fleetproto.Register{Name: name, Protocol: fleetproto.Version})
	if m, err := fleetproto.ReadMessage(s); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*fleetproto.Registered); !ok {
		t.Fatalf("got %T", m)
	}
	return conn, s
}

func TestBadInput(t *testing.T) {
	_, pool, st := newDB(t)
	_, goodTok := addNode(t, st, "good", nil)
	_, badTok := addNode(t, st, "bad", nil)
	c := startCloud(t, pool, "", fast)
	good := startGateway(t, c.URL(), "good", goodTok)
	ctx := testenv.Context(t, testenv.WaitLong)
	good.waitEvent(t, ctx, "connected")

	countEvents := func() int {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM node_events`).Scan(&n)
		return n
	}

	t.Run("wrong token gets 401 and changes nothing", func(t *testing.T) {
		before := countEvents()
		for _, tok := range []string{"", "gwn_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-token"} {
			if status, _ := dial(ctx, c.addr, tok); status != 401 {
				t.Fatalf("token %q: HTTP %d, want 401", tok, status)
			}
		}
		if after := countEvents(); after != before {
			t.Fatalf("events %d → %d", before, after)
		}
		if got, _ := st.Get(ctx, "bad"); got.Status != "new" {
			t.Fatalf("status changed to %s", got.Status)
		}
	})

	cases := []struct {
		name string
		send func(conn *wsconn.Conn, ctl net.Conn)
	}{
		{"malformed JSON", func(_ *wsconn.Conn, ctl net.Conn) { _, _ = ctl.Write(append([]byte{0, 0, 0, 8}, `{"type":`...)) }},
		{"unknown message type", func(_ *wsconn.Conn, ctl net.Conn) {
			_ = fleetproto.WriteFrame(ctl, json.RawMessage(`{"type":"format_disk","data":{}}`))
		}},
		{"oversized control frame", func(_ *wsconn.Conn, ctl net.Conn) {
			_, _ = ctl.Write([]byte{0x7f, 0xff, 0xff, 0xff})
		}},
		{"oversized WebSocket message", func(conn *wsconn.Conn, _ net.Conn) { _, _ = conn.Write(make([]byte, fleetproto.MaxWSMessage+1)) }},
		{"garbage instead of yamux", func(conn *wsconn.Conn, _ net.Conn) { _, _ = conn.Write([]byte("hello, this is not yamux at all")) }},
		{"cloud-only message type", func(_ *wsconn.Conn, ctl net.Conn) {
			_ = fleetproto.WriteMessage(ctl, &fleetproto.Registered{NodeID: 1, HeartbeatIntervalMS: 1})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, ctl := rawLink(t, ctx, c.addr, badTok, "bad")
			tc.send(conn, ctl)
			_, _ = io.Copy(io.Discard, ctl) // ends when the cloud closes the link
			eventually(t, ctx, "cloud drops the bad connection", func() bool {
				return !slices.Contains(c.srv.Hub.Connected(), "bad")
			})
			// The well-behaved node is unaffected: still connected, still acked.
			if !slices.Contains(c.srv.Hub.Connected(), "good") {
				t.Fatal("good node lost its connection")
			}
			good.waitEvent(t, ctx, "heartbeat_ack")
		})
	}
	for _, e := range good.all() {
		if e.Kind == "disconnected" {
			t.Fatalf("good gateway disconnected: %v", e.Err)
		}
	}
}

// Streams for other features (sessions): the cloud dials a node through
// the registry; each connection gets its own stream (window StreamWindow),
// unknown kinds are refused, and commands get acks.
func TestDialStreamsAndCommands(t *testing.T) {
	_, pool, st := newDB(t)
	_, tok := addNode(t, st, "node-s", nil)
	c := startCloud(t, pool, "", fast)
	g := startGateway(t, c.URL(), "node-s", tok, func(o *gateway.Options) {
		o.Streams = map[string]gateway.StreamHandler{"echo": func(_ context.Context, _ fleetproto.StreamHeader, s net.Conn) {
			defer s.Close()
			_, _ = io.Copy(s, s)
		}}
		o.Commands = map[string]gateway.CommandHandler{"hello": func(_ context.Context, cmd *fleetproto.Command) ([]byte, error) {
			return []byte(`"hi"`), nil
		}}
	})
	ctx := testenv.Context(t, testenv.WaitShort)
	g.waitEvent(t, ctx, "connected")

	payload := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := c.srv.Hub.Dial(ctx, "node-s", fleetproto.StreamHeader{Kind: "echo"})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			go func() { _, _ = s.Write(payload) }()
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(s, got); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, payload) {
				errs <- io.ErrUnexpectedEOF
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.srv.Hub.Dial(ctx, "node-s", fleetproto.StreamHeader{Kind: "ssh"}); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := c.srv.Hub.Dial(ctx, "nobody", fleetproto.StreamHeader{Kind: "echo"}); err == nil {
		t.Fatal("dial to an unconnected node succeeded")
	}
	ack, err := c.srv.Hub.Command(ctx, "node-s", "hello", nil)
	if err != nil || !ack.OK || string(ack.Result) != `"hi"` {
		t.Fatalf("command: %+v %v", ack, err)
	}
	ack, err = c.srv.Hub.Command(ctx, "node-s", "reboot", nil)
	if err != nil || ack.OK || !strings.Contains(ack.Error, "unknown command") {
		t.Fatalf("unknown command: %+v %v", ack, err)
	}
}
