package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/hashicorp/yamux"

	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
	"gatewave.dev/shared/wsconn"
)

const testToken = "gwn_test-token"

// fakeCloud is a small cloud speaking fleetproto over a real WebSocket on
// 127.0.0.1: it checks the node token, then hands each connection (in
// order of arrival) to serve.
type fakeCloud struct {
	t        *testing.T
	srv      *httptest.Server
	attempts atomic.Int32
	serve    func(n int, c *cloudConn)
}

// cloudConn is the cloud's end of one gateway connection.
type cloudConn struct {
	ws   *wsconn.Conn
	sess *yamux.Session
	ctl  net.Conn
}

func newFakeCloud(t *testing.T, serve func(n int, c *cloudConn)) *fakeCloud {
	f := &fakeCloud{t: t, serve: serve}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.attempts.Add(1))
		if r.URL.Path != "/api/v1/nodes/connect" || r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, `{"error":{"code":"unauthorized","message":"invalid or revoked node token"}}`, http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		ws.SetReadLimit(fleetproto.MaxWSMessage)
		c := &cloudConn{ws: wsconn.New(ws)}
		defer c.ws.Close()
		f.serve(n, c)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// accept runs the cloud's side of the handshake up to the register message.
func (c *cloudConn) accept(t *testing.T) *fleetproto.Register {
	t.Helper()
	var err error
	if c.sess, err = yamux.Server(c.ws, fleetproto.MuxConfig(0, nil)); err != nil {
		t.Error(err)
		return nil
	}
	if c.ctl, err = c.sess.Accept(); err != nil {
		t.Error(err)
		return nil
	}
	_ = c.ctl.SetDeadline(time.Now().Add(testenv.WaitShort))
	hdr, err := fleetproto.ReadStreamHeader(c.ctl)
	if err != nil || hdr.Kind != fleetproto.KindControl {
		t.Errorf("control stream header %+v: %v", hdr, err)
		return nil
	}
	if err := fleetproto.WriteFrame(c.ctl, fleetproto.StreamReply{OK: true}); err != nil {
		t.Error(err)
		return nil
	}
	m, err := fleetproto.ReadMessage(c.ctl)
	if err != nil {
		t.Errorf("read register: %v", err)
		return nil
	}
	reg, ok := m.(*fleetproto.Register)
	if !ok {
		t.Errorf("first message %T, want register", m)
		return nil
	}
	return reg
}

func (c *cloudConn) send(t *testing.T, m fleetproto.Message) {
	t.Helper()
	if err := fleetproto.WriteMessage(c.ctl, m); err != nil {
		t.Errorf("send %s: %v", fleetproto.TypeOf(m), err)
	}
}

func (c *cloudConn) read(t *testing.T) fleetproto.Message {
	t.Helper()
	m, err := fleetproto.ReadMessage(c.ctl)
	if err != nil {
		t.Errorf("read: %v", err)
		return nil
	}
	return m
}

// noWait is a backoff that never waits, so only the cloud's retry-after
// shows in the delay.
var noWait = backoff.Policy{Base: time.Millisecond, Cap: time.Millisecond, Rand: func() float64 { return 0 }}

type events struct {
	mu  sync.Mutex
	all []Event
	ch  chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 1024)} }

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

// next waits for the next event of kind.
func (e *events) next(t *testing.T, ctx context.Context, kind string) Event {
	t.Helper()
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %q event", kind)
		}
	}
}

func run(t *testing.T, opts Options) (*Gateway, *events, <-chan error, context.CancelFunc) {
	t.Helper()
	ev := newEvents()
	opts.OnEvent = ev.add
	if opts.Name == "" {
		opts.Name = "node-1"
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() { done <- g.Run(ctx); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return g, ev, done, cancel
}

// Registration carries the node's identity, then the pool report; commands
// get acks; heartbeats follow the interval the cloud's reply sets.
func TestRegisterCommandsAndHeartbeatCadence(t *testing.T) {
	const interval = 100 * time.Millisecond
	type got struct {
		reg   *fleetproto.Register
		pool  fleetproto.Message
		acks  map[uint64]*fleetproto.Ack
		beats []time.Time
		seqs  []uint64
	}
	result := make(chan got, 1)
	f := newFakeCloud(t, func(n int, c *cloudConn) {
		if n > 1 {
			return // only the first connection is examined
		}
		var g got
		defer func() { result <- g }()
		if g.reg = c.accept(t); g.reg == nil {
			return
		}
		c.send(t, &fleetproto.Registered{NodeID: 7, HeartbeatIntervalMS: interval.Milliseconds(), Replica: "r1"})
		g.pool = c.read(t)
		c.send(t, &fleetproto.Command{ID: 1, Name: "echo", Args: json.RawMessage(`{"x":1}`)})
		c.send(t, &fleetproto.Command{ID: 2, Name: "reboot"})
		g.acks = map[uint64]*fleetproto.Ack{}
		for len(g.beats) < 5 || len(g.acks) < 2 {
			switch m := c.read(t).(type) {
			case *fleetproto.Heartbeat:
				g.beats = append(g.beats, time.Now())
				g.seqs = append(g.seqs, m.Seq)
				c.send(t, &fleetproto.HeartbeatAck{Seq: m.Seq})
			case *fleetproto.Ack:
				g.acks[m.ID] = m
			case nil:
				return
			default:
				t.Errorf("unexpected %T", m)
				return
			}
		}
	})
	g, err := New(Options{CloudURL: f.srv.URL, Token: testToken, Name: "node-1", Version: "1.2.3",
		Labels: map[string]string{"zone": "a"}, Backoff: noWait,
		Resources: func(context.Context) (fleetproto.Resources, error) {
			return fleetproto.Resources{CPUCores: 4, MemoryBytes: 8 << 30, DiskBytes: 1 << 40}, nil
		},
		Commands: map[string]CommandHandler{"echo": func(_ context.Context, c *fleetproto.Command) ([]byte, error) { return c.Args, nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	g.ReportPool(&fleetproto.Pool{Containers: []fleetproto.PoolContainer{{ID: "0123456789ab", State: fleetproto.PoolIdle}}})
	ev := newEvents()
	g.opts.OnEvent = ev.add
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wctx := testenv.Context(t, testenv.WaitShort)
	var r got
	select {
	case r = <-result:
	case <-wctx.Done():
		t.Fatal("the fake cloud saw no complete session")
	}
	if r.reg == nil {
		t.FailNow()
	}
	want := fleetproto.Register{Name: "node-1", Version: "1.2.3", Protocol: fleetproto.Version,
		Resources: fleetproto.Resources{CPUCores: 4, MemoryBytes: 8 << 30, DiskBytes: 1 << 40}, Labels: map[string]string{"zone": "a"}}
	if b1, b2 := mustJSON(r.reg), mustJSON(&want); b1 != b2 {
		t.Fatalf("register = %s, want %s", b1, b2)
	}
	if p, ok := r.pool.(*fleetproto.Pool); !ok || len(p.Containers) != 1 {
		t.Fatalf("after registration: %#v, want the pool report", r.pool)
	}
	if a := r.acks[1]; a == nil || !a.OK || string(a.Result) != `{"x":1}` {
		t.Fatalf("echo ack = %+v", a)
	}
	if a := r.acks[2]; a == nil || a.OK || !strings.Contains(a.Error, "unknown command") {
		t.Fatalf("unknown command ack = %+v", a)
	}
	for i, s := range r.seqs {
		if s != uint64(i+1) {
			t.Fatalf("heartbeat seqs %v, want 1, 2, 3, ...", r.seqs)
		}
	}
	// The cloud's interval, not the 15 s default, and not faster than it
	// (the first heartbeat has a random phase, so it is left out).
	if span := r.beats[len(r.beats)-1].Sub(r.beats[1]); span < interval*time.Duration(len(r.beats)-3) {
		t.Fatalf("%d heartbeats in %v: faster than every %v", len(r.beats)-1, span, interval)
	}
	ev.next(t, wctx, "heartbeat_ack")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A 1013 close with retry-after makes the gateway wait at least that long
// (on top of its backoff) before the next attempt; other closes do not.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		reason string
		want   time.Duration
	}{
		{"try again later", fleetproto.CloseTryAgainLater, fleetproto.RetryAfterReason(300 * time.Millisecond), 300 * time.Millisecond},
		{"1013 without a delay", fleetproto.CloseTryAgainLater, "busy", 0},
		{"internal error", 1011, "retry-after=5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCloud(t, func(n int, c *cloudConn) {
				if n == 1 {
					_ = c.ws.CloseWithCode(tt.code, tt.reason)
					return
				}
				if c.accept(t) == nil {
					return
				}
				c.send(t, &fleetproto.Registered{NodeID: 1, HeartbeatIntervalMS: 60000, Replica: "r"})
				_, _ = fleetproto.ReadFrame(c.ctl) // until the gateway goes
			})
			_, ev, _, _ := run(t, Options{CloudURL: f.srv.URL, Backoff: noWait})
			ctx := testenv.Context(t, testenv.WaitShort)
			d := ev.next(t, ctx, "disconnected")
			if d.Wait != tt.want {
				t.Fatalf("wait after close %d %q = %v, want %v", tt.code, tt.reason, d.Wait, tt.want)
			}
			a := ev.next(t, ctx, "attempt")
			if gap := a.At.Sub(d.At); gap < tt.want {
				t.Fatalf("next attempt after %v, want at least %v", gap, tt.want)
			}
			ev.next(t, ctx, "connected")
		})
	}
}

// Close code 4003 (revoked) stops the gateway for good.
func TestRevokedStops(t *testing.T) {
	f := newFakeCloud(t, func(n int, c *cloudConn) {
		if c.accept(t) == nil {
			return
		}
		c.send(t, &fleetproto.Registered{NodeID: 1, HeartbeatIntervalMS: 60000, Replica: "r"})
		_ = c.ws.CloseWithCode(fleetproto.CloseRevoked, "node revoked")
	})
	_, ev, done, _ := run(t, Options{CloudURL: f.srv.URL, Backoff: noWait})
	ctx := testenv.Context(t, testenv.WaitShort)
	ev.next(t, ctx, "connected")
	select {
	case err := <-done:
		if !errors.Is(err, ErrRevoked) {
			t.Fatalf("Run = %v, want ErrRevoked", err)
		}
	case <-ctx.Done():
		t.Fatal("the gateway did not stop after 4003")
	}
	if n := f.attempts.Load(); n != 1 {
		t.Fatalf("%d connection attempts, want 1", n)
	}
}

// A refused token (401) is retried with backoff, not fatal, and a
// cancelled context ends Run cleanly.
func TestUnauthorizedRetries(t *testing.T) {
	f := newFakeCloud(t, func(int, *cloudConn) { t.Error("upgraded with a wrong token") })
	_, ev, done, cancel := run(t, Options{CloudURL: f.srv.URL, Token: "gwn_wrong", Backoff: noWait})
	ctx := testenv.Context(t, testenv.WaitShort)
	for range 3 {
		if d := ev.next(t, ctx, "disconnected"); !errors.Is(d.Err, errUnauthorized) {
			t.Fatalf("disconnected: %v, want the 401", d.Err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after cancel")
	}
}

func TestConnectURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8480", "ws://127.0.0.1:8480/api/v1/nodes/connect"},
		{"https://cloud.example/prefix/", "wss://cloud.example/prefix/api/v1/nodes/connect"},
		{"ws://h?x=1#f", "ws://h/api/v1/nodes/connect"},
		{"ftp://h", ""},
		{"127.0.0.1:8480", ""},
	}
	for _, tt := range tests {
		got, err := ConnectURL(tt.in)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("ConnectURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
