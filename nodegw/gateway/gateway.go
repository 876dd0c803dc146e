// Package gateway is the node side of the fleet link. It dials OUT to the
// cloud (the cloud never connects to a node), registers, heartbeats at the
// interval the cloud dictates, answers commands on the control stream,
// hands streams the cloud opens to per-kind handlers, and reconnects with
// full-jitter exponential backoff, honouring the cloud's 1013 retry-after.
//
// Keepalive belongs to yamux (fleetproto.MuxConfig); no WebSocket pings.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/hashicorp/yamux"

	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/wsconn"
)

// StreamHandler serves one stream the cloud opened, after the gateway has
// accepted it. It owns conn and must close it.
type StreamHandler func(ctx context.Context, hdr fleetproto.StreamHeader, conn net.Conn)

// CommandHandler runs a command from the cloud and returns its result.
type CommandHandler func(ctx context.Context, cmd *fleetproto.Command) (result []byte, err error)

// Event reports what the gateway is doing, for logs, tests and benches.
type Event struct {
	Kind string // "attempt", "connected", "disconnected", "heartbeat_ack"
	At   time.Time
	// RTT is a heartbeat's round trip (heartbeat_ack only).
	RTT time.Duration
	// Err says why a connection ended or an attempt failed.
	Err error
	// Wait is the delay before the next attempt (disconnected only).
	Wait time.Duration
}

// Options configures a Gateway. CloudURL, Token and Name are required.
type Options struct {
	// CloudURL is the cloud's base URL, http(s):// or ws(s)://.
	CloudURL string
	// Token is the node token from `cloud node add`.
	Token string
	// Name is the node's name; it must match the token's node.
	Name string
	// Version is reported at registration. Empty means "dev".
	Version string
	// Labels are reported at registration.
	Labels map[string]string
	// Resources returns what to report at each registration. Nil means
	// report nothing (zeros); cmd/nodegw passes resources.Probe.
	Resources func(ctx context.Context) (fleetproto.Resources, error)
	// Streams maps a stream kind to its handler; other kinds are refused.
	Streams map[string]StreamHandler
	// Commands maps a command name to its handler; other names get a
	// failed ack.
	Commands map[string]CommandHandler
	// Backoff is the reconnect policy (zero: 0.5 s base, 60 s cap).
	Backoff backoff.Policy
	// HealthyAfter resets the backoff once a connection has lasted this
	// long. Zero means 30 s.
	HealthyAfter time.Duration
	// Keepalive is the yamux ping interval. Zero means 30 s.
	Keepalive time.Duration
	// Dialer dials the WebSocket. Nil means a dialer with a 15 s handshake
	// timeout.
	Dialer *websocket.Dialer
	// OnEvent, if set, is called synchronously for every Event.
	OnEvent func(Event)
	// Logger receives logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Errors that end Run.
var (
	ErrRevoked = errors.New("node token revoked by the cloud")
)

// errUnauthorized is a 401 from the cloud: wrong or revoked token.
var errUnauthorized = errors.New("cloud refused the node token (401)")

// Gateway is one node's link to the cloud.
type Gateway struct {
	opts  Options
	log   *slog.Logger
	wsURL string

	mu    sync.Mutex
	ctl   *control         // the live control stream, nil between connections
	pool  *fleetproto.Pool // the last pool report, resent after each reconnect
	tasks map[int64]taskReport
}

// taskReport is the latest state reported for a task, resent after each
// reconnect so the cloud learns what happened while the link was down.
type taskReport struct {
	u  *fleetproto.TaskUpdate
	at time.Time
}

// keepTerminal is how long a task's final report is resent on reconnects.
const keepTerminal = 15 * time.Minute

// ErrOffline is returned by Send when the node has no link to the cloud.
var ErrOffline = errors.New("gateway: not connected to the cloud")

// ReportTask sends a task's new state now if connected, and again after
// every reconnect (the final state for keepTerminal, the others until the
// task ends), so no state change is lost to a dropped link.
func (g *Gateway) ReportTask(u *fleetproto.TaskUpdate) {
	now := time.Now()
	g.mu.Lock()
	if g.tasks == nil {
		g.tasks = map[int64]taskReport{}
	}
	for id, r := range g.tasks {
		if fleetproto.TaskTerminal(r.u.State) && now.Sub(r.at) > keepTerminal {
			delete(g.tasks, id)
		}
	}
	if old, ok := g.tasks[u.ID]; !ok || old.u.Attempt <= u.Attempt {
		g.tasks[u.ID] = taskReport{u: u, at: now}
	}
	c := g.ctl
	g.mu.Unlock()
	if c != nil {
		if err := c.send(u); err != nil {
			g.log.Warn("report task", "task", u.ID, "err", err)
		}
	}
}

// Send writes one message on the control stream now; it returns
// ErrOffline between connections (task logs use it: a chunk lost to a
// dropped link is not resent).
func (g *Gateway) Send(m fleetproto.Message) error {
	g.mu.Lock()
	c := g.ctl
	g.mu.Unlock()
	if c == nil {
		return ErrOffline
	}
	return c.send(m)
}

// ReportPool sends the warm pool's state to the cloud now if connected, and
// again after every reconnect.
func (g *Gateway) ReportPool(p *fleetproto.Pool) {
	g.mu.Lock()
	g.pool = p
	c := g.ctl
	g.mu.Unlock()
	if c != nil {
		if err := c.send(p); err != nil {
			g.log.Warn("report pool", "err", err)
		}
	}
}

// New checks opts and returns a Gateway.
func New(opts Options) (*Gateway, error) {
	if opts.Token == "" {
		return nil, errors.New("gateway: no node token (NODEGW_TOKEN or --token-file)")
	}
	if !fleetproto.ValidNodeName(opts.Name) {
		return nil, fmt.Errorf("gateway: node name %q is not valid", opts.Name)
	}
	if err := fleetproto.ValidateLabels(opts.Labels); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	u, err := ConnectURL(opts.CloudURL)
	if err != nil {
		return nil, err
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.HealthyAfter <= 0 {
		opts.HealthyAfter = 30 * time.Second
	}
	if opts.Dialer == nil {
		opts.Dialer = &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 4096,
			WriteBufferSize: wsconn.WriteBufferSize, WriteBufferPool: wsconn.WriteBufferPool}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Gateway{opts: opts, log: opts.Logger.With("node", opts.Name), wsURL: u}, nil
}

// ConnectURL turns the cloud's base URL into its node-link WebSocket URL.
func ConnectURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("cloud URL %q: want http(s)://host[:port][/prefix]", base)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("cloud URL %q: scheme must be http, https, ws or wss", base)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/nodes/connect"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

func (g *Gateway) emit(e Event) {
	if g.opts.OnEvent != nil {
		if e.At.IsZero() {
			e.At = time.Now()
		}
		g.opts.OnEvent(e)
	}
}

// Run keeps the node connected until ctx ends (returning nil) or the cloud
// revokes the node (returning ErrRevoked).
func (g *Gateway) Run(ctx context.Context) error {
	attempt := 0
	for {
		g.emit(Event{Kind: "attempt"})
		start := time.Now()
		retryAfter, err := g.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRevoked) {
			g.log.Error("the cloud revoked this node; stopping")
			g.emit(Event{Kind: "disconnected", Err: err})
			return err
		}
		if time.Since(start) >= g.opts.HealthyAfter {
			attempt = 0
		}
		wait := retryAfter + g.opts.Backoff.Delay(attempt)
		attempt++
		if errors.Is(err, errUnauthorized) {
			g.log.Error("cloud refused the node token; check NODEGW_TOKEN / --token-file", "retry_in", wait)
		} else {
			g.log.Warn("cloud link down", "err", err, "retry_in", wait)
		}
		g.emit(Event{Kind: "disconnected", Err: err, Wait: wait})
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session runs one connection to its end. retryAfter is what the cloud
// asked for with close code 1013.
func (g *Gateway) session(ctx context.Context) (retryAfter time.Duration, err error) {
	hdr := http.Header{"Authorization": {"Bearer " + g.opts.Token}}
	ws, resp, err := g.opts.Dialer.DialContext(ctx, g.wsURL, hdr)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return 0, errUnauthorized
		}
		if resp != nil {
			return 0, fmt.Errorf("dial %s: %w (HTTP %d)", g.wsURL, err, resp.StatusCode)
		}
		return 0, fmt.Errorf("dial %s: %w", g.wsURL, err)
	}
	ws.SetReadLimit(fleetproto.MaxWSMessage)
	conn := wsconn.New(ws)
	defer conn.Close()
	sess, err := yamux.Client(conn, fleetproto.MuxConfig(g.opts.Keepalive, nil))
	if err != nil {
		return 0, fmt.Errorf("yamux: %w", err)
	}
	defer sess.Close()

	// Whatever ends the session, a close frame from the cloud says why.
	defer func() {
		if code, _ := conn.CloseStatus(); code == 0 && err != nil {
			// A write can fail on the closed socket before the reader has
			// taken the close frame in: give yamux's reader a moment to
			// reach it (it ends the session when it does).
			select {
			case <-sess.CloseChan():
			case <-time.After(250 * time.Millisecond):
			}
		}
		code, reason := conn.CloseStatus()
		switch code {
		case fleetproto.CloseRevoked:
			err = ErrRevoked
		case fleetproto.CloseTryAgainLater:
			retryAfter, _ = fleetproto.ParseRetryAfter(reason)
			err = fmt.Errorf("cloud asked to retry later (%s): %w", reason, err)
		case 0:
		default:
			err = fmt.Errorf("cloud closed the link (%d %s): %w", code, reason, err)
		}
	}()

	c, reg, err := g.register(ctx, sess)
	if err != nil {
		return 0, err
	}
	g.log.Info("connected", "node_id", reg.NodeID, "replica", reg.Replica, "heartbeat", time.Duration(reg.HeartbeatIntervalMS)*time.Millisecond)
	g.mu.Lock()
	g.ctl = c
	pool := g.pool
	reports := make([]*fleetproto.TaskUpdate, 0, len(g.tasks))
	for _, r := range g.tasks {
		reports = append(reports, r.u)
	}
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.ctl = nil; g.mu.Unlock() }()
	if pool != nil {
		if err := c.send(pool); err != nil {
			return 0, fmt.Errorf("report pool: %w", err)
		}
	}
	for _, u := range reports {
		if err := c.send(u); err != nil {
			return 0, fmt.Errorf("report task %d: %w", u.ID, err)
		}
	}
	g.emit(Event{Kind: "connected"})

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-sctx.Done(); _ = sess.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { g.acceptStreams(sctx, sess) })
	wg.Go(func() { c.heartbeat(sctx, time.Duration(reg.HeartbeatIntervalMS)*time.Millisecond) })
	err = c.readLoop(sctx)
	cancel()
	return 0, err
}

// control is the gateway's end of the control stream.
type control struct {
	g   *Gateway
	s   net.Conn
	wmu sync.Mutex

	smu  sync.Mutex
	sent map[uint64]time.Time // heartbeat seq → send time
}

func (c *control) send(m fleetproto.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.s.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return fleetproto.WriteMessage(c.s, m)
}

func (g *Gateway) register(ctx context.Context, sess *yamux.Session) (*control, *fleetproto.Registered, error) {
	s, err := sess.OpenStream()
	if err != nil {
		return nil, nil, fmt.Errorf("open control stream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = s.SetDeadline(time.Now()) })
	defer stop()
	_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	if err := fleetproto.WriteFrame(s, fleetproto.StreamHeader{Kind: fleetproto.KindControl}); err != nil {
		return nil, nil, fmt.Errorf("open control stream: %w", err)
	}
	if err := fleetproto.ReadStreamReply(s); err != nil {
		return nil, nil, fmt.Errorf("open control stream: %w", err)
	}
	var res fleetproto.Resources
	if g.opts.Resources != nil {
		if res, err = g.opts.Resources(ctx); err != nil {
			g.log.Warn("resource probe incomplete", "err", err)
		}
	}
	c := &control{g: g, s: s, sent: map[uint64]time.Time{}}
	if err := c.send(&fleetproto.Register{Name: g.opts.Name, Version: g.opts.Version, Protocol: fleetproto.Version,
		Resources: res, Labels: g.opts.Labels}); err != nil {
		return nil, nil, fmt.Errorf("register: %w", err)
	}
	m, err := fleetproto.ReadMessage(s)
	if err != nil {
		return nil, nil, fmt.Errorf("registration reply: %w", err)
	}
	switch m := m.(type) {
	case *fleetproto.Registered:
		_ = s.SetDeadline(time.Time{})
		return c, m, nil
	case *fleetproto.Error:
		return nil, nil, fmt.Errorf("registration refused: %s: %s", m.Code, m.Message)
	default:
		return nil, nil, fmt.Errorf("registration reply: unexpected %s", fleetproto.TypeOf(m))
	}
}

func (c *control) heartbeat(ctx context.Context, interval time.Duration) {
	// A random phase keeps gateways that connected together from
	// heartbeating together.
	t := time.NewTimer(time.Duration(rand.Int64N(int64(interval))))
	defer t.Stop()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq++
		c.smu.Lock()
		c.sent[seq] = time.Now()
		c.smu.Unlock()
		if err := c.send(&fleetproto.Heartbeat{Seq: seq}); err != nil {
			_ = c.s.Close()
			return
		}
		t.Reset(interval)
	}
}

func (c *control) readLoop(ctx context.Context) error {
	protocolError := func(err error) error {
		_ = c.send(&fleetproto.Error{Code: "protocol_error", Message: err.Error()})
		return fmt.Errorf("protocol error from cloud: %w", err)
	}
	for {
		b, err := fleetproto.ReadFrame(c.s)
		if errors.Is(err, fleetproto.ErrFrameTooLarge) {
			return protocolError(err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("control stream: %w", err)
		}
		m, err := fleetproto.Decode(b)
		if err != nil {
			return protocolError(err)
		}
		switch m := m.(type) {
		case *fleetproto.HeartbeatAck:
			c.smu.Lock()
			sent, ok := c.sent[m.Seq]
			delete(c.sent, m.Seq)
			c.smu.Unlock()
			if ok {
				c.g.emit(Event{Kind: "heartbeat_ack", RTT: time.Since(sent)})
			}
		case *fleetproto.Command:
			go c.runCommand(ctx, m)
		case *fleetproto.Error:
			return fmt.Errorf("cloud reported %s: %s", m.Code, m.Message)
		default:
			_ = c.send(&fleetproto.Error{Code: "protocol_error", Message: fmt.Sprintf("message type %q is not accepted from the cloud", fleetproto.TypeOf(m))})
			return fmt.Errorf("protocol error: unexpected %s from cloud", fleetproto.TypeOf(m))
		}
	}
}

func (c *control) runCommand(ctx context.Context, cmd *fleetproto.Command) {
	h := c.g.opts.Commands[cmd.Name]
	ack := &fleetproto.Ack{ID: cmd.ID}
	if h == nil {
		ack.Error = fmt.Sprintf("unknown command %q", cmd.Name)
	} else if res, err := h(ctx, cmd); err != nil {
		ack.Error = err.Error()
	} else {
		ack.OK, ack.Result = true, res
	}
	if err := c.send(ack); err != nil {
		c.g.log.Warn("send ack", "command", cmd.Name, "err", err)
	}
}

// acceptStreams serves streams the cloud opens, one handler per stream.
func (g *Gateway) acceptStreams(ctx context.Context, sess *yamux.Session) {
	for {
		s, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go func() {
			_ = s.SetDeadline(time.Now().Add(10 * time.Second))
			hdr, err := fleetproto.ReadStreamHeader(s)
			if err != nil {
				_ = fleetproto.WriteFrame(s, fleetproto.StreamReply{Error: err.Error()})
				_ = s.Close()
				return
			}
			h := g.opts.Streams[hdr.Kind]
			if h == nil || hdr.Kind == fleetproto.KindControl {
				_ = fleetproto.WriteFrame(s, fleetproto.StreamReply{Error: fmt.Sprintf("no handler for stream kind %q", hdr.Kind)})
				_ = s.Close()
				return
			}
			if err := fleetproto.WriteFrame(s, fleetproto.StreamReply{OK: true}); err != nil {
				_ = s.Close()
				return
			}
			_ = s.SetDeadline(time.Time{})
			h(ctx, hdr, s)
		}()
	}
}
