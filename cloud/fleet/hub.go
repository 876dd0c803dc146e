// Package fleet is the cloud's side of the node link: it authenticates
// gateways that dial in, runs yamux over their WebSocket, handles
// registration and heartbeats on the control stream, batches heartbeat
// writes, marks silent nodes offline, and keeps a registry of connected
// nodes through which other features open streams to a node (Dial).
//
// Keepalive belongs to yamux (fleetproto.MuxConfig); no WebSocket pings.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/hashicorp/yamux"
	"github.com/prometheus/client_golang/prometheus"

	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/httpauth"
	"gatewave.dev/shared/wsconn"
	"gatewave.dev/shared/wsorigin"
)

// Options configures a Hub. Only Store is required; every zero value has a
// working default.
type Options struct {
	// Store is the database. Required.
	Store *store.Store
	// Replica names this cloud process in the nodes table. Empty means the
	// host name. Keep it stable across restarts of the same replica so a
	// restart can release the connections its previous run left behind.
	Replica string
	// HeartbeatInterval is sent to gateways at registration. Zero means 15 s.
	HeartbeatInterval time.Duration
	// OfflineAfter marks a node offline when its last heartbeat is older.
	// Zero means 90 s.
	OfflineAfter time.Duration
	// Grace is how long after start this replica marks nobody offline, so
	// nodes can reconnect after a cloud restart. Zero means OfflineAfter.
	Grace time.Duration
	// SweepInterval is how often to look for silent nodes. Zero means
	// OfflineAfter/6.
	SweepInterval time.Duration
	// FlushInterval is how often batched heartbeats are written. Zero means 1 s.
	FlushInterval time.Duration
	// MaxHandshakes bounds registrations in progress; more are refused with
	// close code 1013 and a jittered retry-after. Zero means 256.
	MaxHandshakes int
	// Keepalive is the yamux ping interval. Zero means 30 s.
	Keepalive time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives the hub's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the hub's Prometheus metrics. Nil means none.
	Registerer prometheus.Registerer
	// OnPool, when set, receives each warm-pool report a node sends
	// (the sessions service stores it). It runs on the node's read loop,
	// so it must not block for long.
	OnPool func(nodeID int64, node string, p *fleetproto.Pool)
	// OnTaskUpdate and OnTaskLog, when set, receive a node's task
	// reports (the tasks service stores them); like OnPool they run on
	// the read loop. A node without them set has its reports dropped.
	OnTaskUpdate func(nodeID int64, node string, u *fleetproto.TaskUpdate)
	OnTaskLog    func(nodeID int64, node string, l *fleetproto.TaskLog)
	// OnStats, when set, receives a node's live CPU and memory samples
	// (cloud/ops stores them); it runs on the read loop and must not block.
	OnStats func(nodeID int64, node string, st *fleetproto.Stats)
	// InternalToken is the secret every replica shares for
	// replica-to-replica calls. Empty means this replica neither forwards
	// to nor serves other replicas: it reaches only nodes linked to it.
	InternalToken string
	// InternalURL is where other replicas reach this one's internal
	// listener (MountInternal), e.g. http://10.0.0.5:8481. It is recorded
	// in the replicas table. Required with InternalToken.
	InternalURL string
}

// DefaultOfflineAfter is Options.OfflineAfter's default.
const DefaultOfflineAfter = 90 * time.Second

// Hub is the set of node connections held by this replica.
type Hub struct {
	opts    Options
	log     *slog.Logger
	store   *store.Store
	now     func() time.Time
	started time.Time
	sem     chan struct{}
	hb      chan store.Heartbeat
	flushRq chan chan error

	mu     sync.RWMutex
	byID   map[int64]*nodeConn
	byName map[string]*nodeConn
	closed bool

	wg       sync.WaitGroup // connection handlers
	prepOnce sync.Once

	hold           holders // node → replica holding its link, briefly cached
	internalClient *http.Client
	nonces         nonces // of accepted replica-to-replica calls

	m metrics
}

type metrics struct {
	connected     prometheus.Gauge
	heartbeats    prometheus.Counter
	hbLatency     prometheus.Histogram
	authRefused   prometheus.Counter
	protocolError prometheus.Counter
	refused1013   prometheus.Counter
	flushes       prometheus.Counter
	offline       prometheus.Counter
}

// New returns a Hub. Call Run to start its background work.
func New(opts Options) (*Hub, error) {
	if opts.Store == nil {
		return nil, errors.New("fleet: Options.Store is required")
	}
	if opts.Replica == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("fleet: replica name: %w", err)
		}
		opts.Replica = h
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 15 * time.Second
	}
	if opts.OfflineAfter <= 0 {
		opts.OfflineAfter = DefaultOfflineAfter
	}
	if opts.OfflineAfter <= opts.HeartbeatInterval {
		return nil, fmt.Errorf("fleet: offline-after (%v) must exceed the heartbeat interval (%v)", opts.OfflineAfter, opts.HeartbeatInterval)
	}
	if opts.Grace <= 0 {
		opts.Grace = opts.OfflineAfter
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = opts.OfflineAfter / 6
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MaxHandshakes <= 0 {
		opts.MaxHandshakes = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.InternalToken != "" {
		if len(opts.InternalToken) < 16 {
			return nil, errors.New("fleet: the internal token must have at least 16 characters")
		}
		if opts.InternalURL == "" {
			return nil, errors.New("fleet: InternalURL is required with InternalToken")
		}
		opts.InternalURL = strings.TrimRight(opts.InternalURL, "/")
	}
	h := &Hub{
		opts:    opts,
		log:     opts.Logger.With("replica", opts.Replica),
		store:   opts.Store,
		now:     opts.Now,
		started: opts.Now(),
		sem:     make(chan struct{}, opts.MaxHandshakes),
		hb:      make(chan store.Heartbeat, 16384),
		flushRq: make(chan chan error),
		byID:    map[int64]*nodeConn{},
		byName:  map[string]*nodeConn{},
		// Forwarded commands carry their own timeout.
		internalClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}},
	}
	h.m = metrics{
		connected:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatewave_fleet_connected_nodes", Help: "Nodes connected to this replica."}),
		heartbeats:    prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_fleet_heartbeats_total", Help: "Heartbeats received."}),
		hbLatency:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gatewave_fleet_heartbeat_handling_seconds", Help: "Time from reading a heartbeat to writing its ack.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		authRefused:   prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_fleet_auth_refused_total", Help: "Connect attempts refused with 401."}),
		protocolError: prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_fleet_protocol_errors_total", Help: "Connections closed for malformed, oversized or unknown input."}),
		refused1013:   prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_fleet_try_later_total", Help: "Connections refused with close code 1013."}),
		flushes:       prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_fleet_heartbeat_flushes_total", Help: "Batched heartbeat writes."}),
		offline:       prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_fleet_marked_offline_total", Help: "Nodes this replica marked offline."}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{h.m.connected, h.m.heartbeats, h.m.hbLatency, h.m.authRefused, h.m.protocolError, h.m.refused1013, h.m.flushes, h.m.offline} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("fleet: register metrics: %w", err)
			}
		}
	}
	return h, nil
}

// Replica returns this replica's name.
func (h *Hub) Replica() string { return h.opts.Replica }

// Run releases connections a previous run of this replica left in the
// database, then batches heartbeats, sweeps for offline nodes and listens
// for revocations until ctx ends. It then closes every node connection with
// 1013 (so gateways come back, jittered, to whichever replica is up) and
// writes the last heartbeats.
func (h *Hub) Run(ctx context.Context) error {
	if err := h.Prepare(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	bctx, bcancel := context.WithCancel(context.Background())
	wg.Go(func() { h.runBatcher(bctx) })
	wg.Go(func() { h.runSweeper(ctx) })
	wg.Go(func() { h.runListener(ctx) })
	<-ctx.Done()
	h.closeAll(fleetproto.CloseTryAgainLater, func() string {
		return fleetproto.RetryAfterReason(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
	})
	h.wg.Wait()
	bcancel() // the batcher drains and flushes before it returns
	wg.Wait()
	return nil
}

// Prepare releases the connections a previous run of this replica left in
// the database. Run calls it; call it before accepting connections so a
// node that connects early is not released by it. It runs once.
func (h *Hub) Prepare(ctx context.Context) error {
	var err error
	h.prepOnce.Do(func() {
		var n int64
		if n, err = h.store.ReleaseReplica(ctx, h.opts.Replica, h.now()); err == nil && n > 0 {
			h.log.Info("released connections left by a previous run", "nodes", n)
		}
		if err == nil {
			// Every replica records its liveness, forwarding or not: one
			// that dies is found by the others (SweepReplicas).
			err = h.store.RegisterReplica(ctx, h.opts.Replica, h.opts.InternalURL, h.now())
		}
	})
	return err
}

// Handler authenticates a gateway by its node token and upgrades to the
// WebSocket link. Mount it at GET /api/v1/nodes/connect.
func (h *Hub) Handler() fiber.Handler {
	up := wsorigin.Policy{}.Upgrade(h.serveWS, websocket.Config{ReadBufferSize: 4096, WriteBufferSize: wsconn.WriteBufferSize, WriteBufferPool: wsconn.WriteBufferPool})
	return func(c *fiber.Ctx) error {
		tok := httpauth.Token(c)
		if tok == "" {
			h.m.authRefused.Inc()
			h.log.Warn("node connect refused: no token", "remote", c.IP())
			return apierr.Write(c, apierr.Unauthorized("missing node token: send Authorization: Bearer <token>"))
		}
		n, err := h.store.Authenticate(c.UserContext(), tok)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrRevoked):
			h.m.authRefused.Inc()
			h.log.Warn("node connect refused", "remote", c.IP(), "node", n.Name, "reason", err)
			return apierr.Write(c, apierr.Unauthorized("invalid or revoked node token"))
		case err != nil:
			h.log.Error("node connect: token lookup failed", "err", err)
			return apierr.Write(c, apierr.New(fiber.StatusServiceUnavailable, "unavailable", "cannot check the token now; retry later"))
		}
		c.Locals(localNode, n)
		return up(c)
	}
}

const localNode = "gatewave.fleet.node"

// nodeConn is one connected gateway.
type nodeConn struct {
	id          int64
	name        string
	connectedAt time.Time
	ws          *wsconn.Conn
	sess        *yamux.Session
	ctl         net.Conn

	wmu sync.Mutex // one writer on the control stream

	pmu     sync.Mutex
	pending map[uint64]chan *fleetproto.Ack
	nextID  atomic.Uint64

	closeOnce sync.Once
	reason    atomic.Pointer[string]
}

func (c *nodeConn) send(m fleetproto.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ctl.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return fleetproto.WriteMessage(c.ctl, m)
}

func (c *nodeConn) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.reason.Store(&reason)
		_ = c.ws.CloseWithCode(code, reason)
		_ = c.sess.Close()
	})
}

// refuse closes a fresh WebSocket with code and reason.
func refuse(ws *wsconn.Conn, code int, reason string) {
	_ = ws.CloseWithCode(code, reason)
}

func (h *Hub) serveWS(c *websocket.Conn) {
	n, _ := c.Locals(localNode).(store.Node)
	log := h.log.With("node", n.Name, "remote", c.RemoteAddr().String())
	c.SetReadLimit(fleetproto.MaxWSMessage)
	ws := wsconn.New(c.Conn)

	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		h.m.refused1013.Inc()
		refuse(ws, fleetproto.CloseTryAgainLater, fleetproto.RetryAfterReason(time.Second))
		return
	}
	select {
	case h.sem <- struct{}{}:
	default:
		h.m.refused1013.Inc()
		log.Debug("too many registrations in progress: try later")
		refuse(ws, fleetproto.CloseTryAgainLater, fleetproto.RetryAfterReason(time.Duration(1000+rand.IntN(4000))*time.Millisecond))
		return
	}
	nc, err := h.handshake(ws, n)
	<-h.sem
	if err != nil {
		log.Warn("node handshake failed", "err", err)
		return
	}
	h.wg.Add(1)
	defer h.wg.Done()
	h.serveConn(nc, log)
}

// handshake accepts the control stream and the registration, records the
// connection and answers with the heartbeat interval.
func (h *Hub) handshake(ws *wsconn.Conn, n store.Node) (*nodeConn, error) {
	sess, err := yamux.Server(ws, fleetproto.MuxConfig(h.opts.Keepalive, nil))
	if err != nil {
		refuse(ws, 1011, "mux setup failed")
		return nil, fmt.Errorf("yamux: %w", err)
	}
	fail := func(code int, msg string, err error) (*nodeConn, error) {
		_ = ws.CloseWithCode(code, msg)
		_ = sess.Close()
		if code == fleetproto.CloseProtocolError {
			h.m.protocolError.Inc()
		}
		return nil, err
	}
	type accepted struct {
		s   net.Conn
		err error
	}
	ach := make(chan accepted, 1)
	go func() { s, err := sess.Accept(); ach <- accepted{s, err} }()
	var ctl net.Conn
	select {
	case a := <-ach:
		if a.err != nil {
			return fail(fleetproto.CloseProtocolError, "no control stream", fmt.Errorf("accept control stream: %w", a.err))
		}
		ctl = a.s
	case <-time.After(10 * time.Second):
		return fail(fleetproto.CloseProtocolError, "no control stream", errors.New("no control stream within 10s"))
	}
	_ = ctl.SetDeadline(time.Now().Add(10 * time.Second))
	hdr, err := fleetproto.ReadStreamHeader(ctl)
	if err != nil || hdr.Kind != fleetproto.KindControl {
		_ = fleetproto.WriteFrame(ctl, fleetproto.StreamReply{Error: "the first stream must be the control stream"})
		return fail(fleetproto.CloseProtocolError, "first stream must be control", fmt.Errorf("control stream header: %v (kind %q)", err, hdr.Kind))
	}
	if err := fleetproto.WriteFrame(ctl, fleetproto.StreamReply{OK: true}); err != nil {
		return fail(fleetproto.CloseProtocolError, "write failed", err)
	}
	m, err := fleetproto.ReadMessage(ctl)
	if err != nil {
		_ = fleetproto.WriteMessage(ctl, &fleetproto.Error{Code: "bad_register", Message: err.Error()})
		return fail(fleetproto.CloseProtocolError, "bad register", fmt.Errorf("read register: %w", err))
	}
	reg, ok := m.(*fleetproto.Register)
	if !ok {
		_ = fleetproto.WriteMessage(ctl, &fleetproto.Error{Code: "bad_register", Message: "the first control message must be register"})
		return fail(fleetproto.CloseProtocolError, "expected register", fmt.Errorf("first message is %s, not register", fleetproto.TypeOf(m)))
	}
	if reg.Name != n.Name {
		_ = fleetproto.WriteMessage(ctl, &fleetproto.Error{Code: "name_mismatch", Message: "this token belongs to another node"})
		return fail(fleetproto.CloseProtocolError, "name mismatch", fmt.Errorf("registered as %q with the token of %q", reg.Name, n.Name))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	connectedAt := h.now().Round(time.Microsecond) // Postgres keeps microseconds
	if err := h.store.Connect(ctx, n.ID, h.opts.Replica, reg, connectedAt); err != nil {
		if errors.Is(err, store.ErrRevoked) {
			return fail(fleetproto.CloseRevoked, "revoked", err)
		}
		return fail(fleetproto.CloseTryAgainLater, fleetproto.RetryAfterReason(time.Duration(1000+rand.IntN(4000))*time.Millisecond), err)
	}
	if !buildinfo.Matches(reg.Version) {
		// Served anyway: an upgrade rolls node by node. Operators see it in
		// `cloud node list` and the node's version_mismatch.
		h.log.Warn("node gateway version differs from the cloud's", "node", n.Name, "gateway", reg.Version, "cloud", buildinfo.Version)
	}
	nc := &nodeConn{id: n.ID, name: n.Name, connectedAt: connectedAt, ws: ws, sess: sess, ctl: ctl, pending: map[uint64]chan *fleetproto.Ack{}}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return fail(fleetproto.CloseTryAgainLater, fleetproto.RetryAfterReason(time.Second), errors.New("shutting down"))
	}
	old := h.byID[n.ID]
	h.byID[n.ID], h.byName[n.Name] = nc, nc
	h.mu.Unlock()
	if old != nil {
		old.close(fleetproto.CloseReplaced, "replaced by a newer connection")
	} else {
		h.m.connected.Inc()
	}
	if err := nc.send(&fleetproto.Registered{NodeID: n.ID, HeartbeatIntervalMS: h.opts.HeartbeatInterval.Milliseconds(), Replica: h.opts.Replica}); err != nil {
		h.remove(nc)
		nc.close(1011, "write failed")
		return nil, fmt.Errorf("write registered: %w", err)
	}
	_ = ctl.SetDeadline(time.Time{})
	return nc, nil
}

func (h *Hub) remove(nc *nodeConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byID[nc.id] != nc {
		return false
	}
	delete(h.byID, nc.id)
	delete(h.byName, nc.name)
	h.m.connected.Dec()
	return true
}

// serveConn reads the control stream until the link ends.
func (h *Hub) serveConn(nc *nodeConn, log *slog.Logger) {
	log.Info("node connected", "node_id", nc.id)
	// The cloud serves no streams opened by the gateway besides control.
	go func() {
		for {
			s, err := nc.sess.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = s.SetDeadline(time.Now().Add(10 * time.Second))
				_ = fleetproto.WriteFrame(s, fleetproto.StreamReply{Error: "the cloud accepts no streams from a node"})
				_ = s.Close()
			}()
		}
	}()
	detail := h.readLoop(nc, log)
	if r := nc.reason.Load(); r != nil {
		detail = *r
	}
	h.remove(nc)
	nc.close(websocket.CloseNormalClosure, "")
	nc.pmu.Lock()
	for id, ch := range nc.pending {
		close(ch)
		delete(nc.pending, id)
	}
	nc.pmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.store.Disconnect(ctx, nc.id, h.opts.Replica, nc.connectedAt, detail, h.now()); err != nil {
		log.Error("record disconnect", "err", err)
	}
	log.Info("node disconnected", "node_id", nc.id, "detail", detail)
}

// readLoop handles control messages; it returns why the link ended.
func (h *Hub) readLoop(nc *nodeConn, log *slog.Logger) string {
	protocolError := func(err error) string {
		h.m.protocolError.Inc()
		log.Warn("closing node connection: protocol error", "err", err)
		_ = nc.send(&fleetproto.Error{Code: "protocol_error", Message: err.Error()})
		nc.close(fleetproto.CloseProtocolError, "protocol error")
		return "protocol error: " + err.Error()
	}
	for {
		b, err := fleetproto.ReadFrame(nc.ctl)
		if err != nil {
			if errors.Is(err, fleetproto.ErrFrameTooLarge) {
				return protocolError(err)
			}
			return "connection lost: " + err.Error()
		}
		start := time.Now()
		m, err := fleetproto.Decode(b)
		if err != nil {
			return protocolError(err)
		}
		switch m := m.(type) {
		case *fleetproto.Heartbeat:
			select {
			case h.hb <- store.Heartbeat{NodeID: nc.id, At: h.now()}:
			default:
				// The batcher is behind; block rather than drop liveness.
				h.hb <- store.Heartbeat{NodeID: nc.id, At: h.now()}
			}
			h.m.heartbeats.Inc()
			if err := nc.send(&fleetproto.HeartbeatAck{Seq: m.Seq}); err != nil {
				return "connection lost: " + err.Error()
			}
			h.m.hbLatency.Observe(time.Since(start).Seconds())
		case *fleetproto.Ack:
			nc.pmu.Lock()
			ch := nc.pending[m.ID]
			delete(nc.pending, m.ID)
			nc.pmu.Unlock()
			if ch == nil {
				return protocolError(fmt.Errorf("ack for unknown command %d", m.ID))
			}
			ch <- m
		case *fleetproto.Status:
			log.Debug("node status", "load1", m.Load1)
		case *fleetproto.Pool:
			if h.opts.OnPool != nil {
				h.opts.OnPool(nc.id, nc.name, m)
			}
		case *fleetproto.TaskUpdate:
			if h.opts.OnTaskUpdate != nil {
				h.opts.OnTaskUpdate(nc.id, nc.name, m)
			}
		case *fleetproto.TaskLog:
			if h.opts.OnTaskLog != nil {
				h.opts.OnTaskLog(nc.id, nc.name, m)
			}
		case *fleetproto.Stats:
			if h.opts.OnStats != nil {
				h.opts.OnStats(nc.id, nc.name, m)
			}
		case *fleetproto.Error:
			log.Warn("node reported an error", "code", m.Code, "message", m.Message)
			nc.close(websocket.CloseNormalClosure, "")
			return "node error: " + m.Code
		default:
			return protocolError(fmt.Errorf("message type %q is not accepted from a node", fleetproto.TypeOf(m)))
		}
	}
}

// Connected returns the names of nodes connected to this replica.
func (h *Hub) Connected() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	names := make([]string, 0, len(h.byName))
	for n := range h.byName {
		names = append(names, n)
	}
	return names
}

// ErrNotConnected is returned for a node with no connection on this replica.
var ErrNotConnected = errors.New("node not connected to this replica")

func (h *Hub) lookup(node string) (*nodeConn, error) {
	h.mu.RLock()
	nc := h.byName[node]
	h.mu.RUnlock()
	if nc == nil {
		return nil, fmt.Errorf("node %q: %w", node, ErrNotConnected)
	}
	return nc, nil
}

// Session returns the yamux session of a node connected to this replica.
func (h *Hub) Session(node string) (*yamux.Session, error) {
	nc, err := h.lookup(node)
	if err != nil {
		return nil, err
	}
	return nc.sess, nil
}

// Dial opens a new stream to node for hdr's purpose and returns it once the
// gateway has accepted it. Every tunnelled connection gets its own stream.
//
// A node linked to another replica is reached through that replica when
// Options.InternalToken is set.
func (h *Hub) Dial(ctx context.Context, node string, hdr fleetproto.StreamHeader) (net.Conn, error) {
	s, err := h.dialLocal(ctx, node, hdr) // validates hdr first
	if err != nil && !errors.Is(err, ErrNotConnected) {
		return nil, err
	}
	if err == nil || !h.forwarding() {
		return s, err
	}
	base, herr := h.holder(ctx, node)
	if herr != nil {
		return nil, herr
	}
	s, err = h.forwardDial(ctx, base, node, hdr)
	if err != nil {
		h.forgetHolder(node)
	}
	return s, err
}

func (h *Hub) dialLocal(ctx context.Context, node string, hdr fleetproto.StreamHeader) (net.Conn, error) {
	if err := hdr.Validate(); err != nil {
		return nil, err
	}
	if hdr.Kind == fleetproto.KindControl {
		return nil, errors.New("dial: the control stream is opened by the gateway only")
	}
	nc, err := h.lookup(node)
	if err != nil {
		return nil, err
	}
	s, err := nc.sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("open stream to %q: %w", node, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.SetDeadline(time.Now()) })
	defer stop()
	if err := fleetproto.WriteFrame(s, hdr); err != nil {
		s.Close()
		return nil, fmt.Errorf("open stream to %q: %w", node, err)
	}
	if err := fleetproto.ReadStreamReply(s); err != nil {
		s.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("open stream to %q: %w", node, ctx.Err())
		}
		return nil, fmt.Errorf("open stream to %q: %w", node, err)
	}
	if !stop() {
		s.Close()
		return nil, fmt.Errorf("open stream to %q: %w", node, ctx.Err())
	}
	return s, nil
}

// Command sends a command on node's control stream and waits for its ack.
// A node linked to another replica is reached through that replica when
// Options.InternalToken is set.
func (h *Hub) Command(ctx context.Context, node, name string, args []byte) (*fleetproto.Ack, error) {
	ack, err := h.commandLocal(ctx, node, name, args)
	if !errors.Is(err, ErrNotConnected) || !h.forwarding() {
		return ack, err
	}
	base, herr := h.holder(ctx, node)
	if herr != nil {
		return nil, herr
	}
	ack, err = h.forwardCommand(ctx, base, node, name, args)
	if err != nil {
		h.forgetHolder(node)
	}
	return ack, err
}

func (h *Hub) commandLocal(ctx context.Context, node, name string, args []byte) (*fleetproto.Ack, error) {
	nc, err := h.lookup(node)
	if err != nil {
		return nil, err
	}
	id := nc.nextID.Add(1)
	ch := make(chan *fleetproto.Ack, 1)
	nc.pmu.Lock()
	nc.pending[id] = ch
	nc.pmu.Unlock()
	defer func() { nc.pmu.Lock(); delete(nc.pending, id); nc.pmu.Unlock() }()
	if err := nc.send(&fleetproto.Command{ID: id, Name: name, Args: args}); err != nil {
		return nil, fmt.Errorf("command %s to %q: %w", name, node, err)
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("command %s to %q: connection closed", name, node)
		}
		return a, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("command %s to %q: %w", name, node, ctx.Err())
	}
}

// Disconnect closes node's connection on this replica, if any, with code.
func (h *Hub) Disconnect(nodeID int64, code int, reason string) bool {
	h.mu.RLock()
	nc := h.byID[nodeID]
	h.mu.RUnlock()
	if nc == nil {
		return false
	}
	nc.close(code, reason)
	return true
}

func (h *Hub) closeAll(code int, reason func() string) {
	h.mu.Lock()
	h.closed = true
	all := make([]*nodeConn, 0, len(h.byID))
	for _, nc := range h.byID {
		all = append(all, nc)
	}
	h.mu.Unlock()
	for _, nc := range all {
		nc.close(code, reason())
	}
}
