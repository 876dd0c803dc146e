package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/server"
	"gatewave.dev/cloud/store"
	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const adminToken = "test-admin-token-0123456789"

func logger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("GATEWAVE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// clock is an injectable clock whose offset from real time tests can jump.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// cloud is one running cloud replica.
type cloud struct {
	srv    *server.Server
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (c *cloud) URL() string { return "http://" + c.addr }

func (c *cloud) Stop(t testing.TB) {
	t.Helper()
	c.once.Do(func() {
		c.cancel()
		select {
		case err := <-c.done:
			if err != nil {
				t.Logf("cloud stopped: %v", err)
			}
		case <-time.After(testenv.WaitLong):
			t.Fatal("cloud did not stop")
		}
	})
}

// fast are liveness settings short enough for tests.
func fast(o *fleet.Options) {
	o.HeartbeatInterval = 200 * time.Millisecond
	o.OfflineAfter = 2 * time.Second
	o.SweepInterval = 100 * time.Millisecond
	o.FlushInterval = 50 * time.Millisecond
}

// startCloud runs a cloud replica on addr ("" = a free 127.0.0.1 port).
func startCloud(t testing.TB, pool *pgxpool.Pool, addr string, opts ...func(*fleet.Options)) *cloud {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	// The previous replica on this port may still be closing.
	ctx := testenv.Context(t, testenv.WaitShort)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	fo := fleet.Options{Replica: "replica-a"}
	for _, o := range opts {
		o(&fo)
	}
	srv, err := server.New(server.Options{Pool: pool, AdminToken: adminToken, Fleet: fo, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	c := &cloud{srv: srv, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// gw is one running gateway with its event log.
type gw struct {
	name   string
	cancel context.CancelFunc
	done   chan error
	events chan gateway.Event

	mu  sync.Mutex
	log []gateway.Event
}

func (g *gw) all() []gateway.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gateway.Event(nil), g.log...)
}

// waitEvent waits for the next event of kind.
func (g *gw) waitEvent(t testing.TB, ctx context.Context, kind string) gateway.Event {
	t.Helper()
	for {
		select {
		case e := <-g.events:
			if e.Kind == kind {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("gateway %s: no %q event: %v", g.name, kind, ctx.Err())
		}
	}
}

func startGateway(t testing.TB, cloudURL, name, token string, opts ...func(*gateway.Options)) *gw {
	t.Helper()
	g := &gw{name: name, done: make(chan error, 1), events: make(chan gateway.Event, 1024)}
	o := gateway.Options{
		CloudURL: cloudURL, Token: token, Name: name, Version: "test-1",
		Labels:  map[string]string{"arch": "amd64"},
		Backoff: backoff.Policy{Base: 200 * time.Millisecond, Cap: 2 * time.Second},
		Resources: func(context.Context) (fleetproto.Resources, error) {
			return fleetproto.Resources{CPUCores: 4, MemoryBytes: 8 << 30, DiskBytes: 100 << 30}, nil
		},
		Logger: logger(t),
		OnEvent: func(e gateway.Event) {
			g.mu.Lock()
			g.log = append(g.log, e)
			g.mu.Unlock()
			select {
			case g.events <- e:
			default:
			}
		},
	}
	for _, f := range opts {
		f(&o)
	}
	gg, err := gateway.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { g.done <- gg.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-g.done })
	return g
}

// addNode pre-issues a node and returns its token.
func addNode(t testing.TB, st *store.Store, name string, labels map[string]string) (store.Node, string) {
	t.Helper()
	n, tok, err := st.AddNode(context.Background(), name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return n, tok
}

// eventually polls cond until it holds or ctx ends.
func eventually(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-tk.C:
		}
	}
}

func newDB(t testing.TB) (string, *pgxpool.Pool, *store.Store) {
	u, pool := dbtest.New(t)
	return u, pool, store.New(pool)
}

func eventKinds(t testing.TB, st *store.Store, id int64) []string {
	t.Helper()
	ev, err := st.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var k []string
	for _, e := range ev {
		k = append(k, e.Kind)
	}
	return k
}
