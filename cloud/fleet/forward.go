package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/pipe"
)

// Replica-to-replica forwarding. A node's link lives on one replica (the
// nodes table says which); any other replica that needs a stream to the
// node or a command run on it calls that replica's internal listener,
// each call signed with the shared internal token (sign.go):
//
//	GET  /internal/v1/nodes/{node}/stream    Upgrade: gatewave-stream,
//	     X-Gatewave-Stream: base64url(JSON StreamHeader). After
//	     "101 Switching Protocols" the TCP connection is the stream.
//	POST /internal/v1/nodes/{node}/commands  {"name","args","timeout_ms"}
//	     → the node's Ack as JSON.
//
// The internal handlers only ever use the local link, so a stale holder
// record cannot make two replicas forward to each other in a loop.

const (
	streamUpgrade = "gatewave-stream"
	headerStream  = "X-Gatewave-Stream"
	// holderTTL bounds how long a holder lookup is trusted; a node that
	// moved is found again after a failed forward or this long.
	holderTTL = time.Second
)

type holderEntry struct {
	url string
	exp time.Time
}

type holders struct {
	mu sync.Mutex
	m  map[string]holderEntry
}

func (h *Hub) forwarding() bool { return h.opts.InternalToken != "" }

// holder returns the internal URL of the replica holding node's link, from
// a short cache. It fails with ErrNotConnected when no other replica holds it.
func (h *Hub) holder(ctx context.Context, node string) (string, error) {
	now := time.Now()
	h.hold.mu.Lock()
	e, ok := h.hold.m[node]
	h.hold.mu.Unlock()
	if ok && now.Before(e.exp) {
		if e.url == "" {
			return "", fmt.Errorf("node %q: %w", node, ErrNotConnected)
		}
		return e.url, nil
	}
	replica, u, err := h.store.Holder(ctx, node)
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = ""
	case err != nil:
		return "", err
	case replica == h.opts.Replica:
		u = "" // the record is stale: the link is not here
	}
	h.hold.mu.Lock()
	if h.hold.m == nil || len(h.hold.m) > 100000 {
		h.hold.m = map[string]holderEntry{}
	}
	h.hold.m[node] = holderEntry{u, now.Add(holderTTL)}
	h.hold.mu.Unlock()
	if u == "" {
		return "", fmt.Errorf("node %q: %w", node, ErrNotConnected)
	}
	return u, nil
}

func (h *Hub) forgetHolder(node string) {
	h.hold.mu.Lock()
	delete(h.hold.m, node)
	h.hold.mu.Unlock()
}

// Reachable reports whether node's link is up on this replica or, with
// forwarding configured, on another one.
func (h *Hub) Reachable(ctx context.Context, node string) bool {
	if _, err := h.lookup(node); err == nil {
		return true
	}
	if !h.forwarding() {
		return false
	}
	_, err := h.holder(ctx, node)
	return err == nil
}

// bufConn is a net.Conn whose first bytes come from a bufio.Reader that
// read past the HTTP response.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the TCP connection, so pipe.Join can signal EOF.
func (c *bufConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// forwardDial opens a stream to node through the replica at base.
func (h *Hub) forwardDial(ctx context.Context, base, node string, hdr fleetproto.StreamHeader) (net.Conn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("replica internal URL %q is not valid", base)
	}
	hj, _ := json.Marshal(hdr)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("dial replica %s: %w", u.Host, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	uri := u.EscapedPath() + "/internal/v1/nodes/" + url.PathEscape(node) + "/stream"
	shdr := base64.RawURLEncoding.EncodeToString(hj)
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\n%s: %s\r\n",
		uri, u.Host, streamUpgrade, headerStream, shdr)
	for k, vs := range SignInternal(h.opts.InternalToken, http.MethodGet, uri, shdr, nil, time.Now()) {
		fmt.Fprintf(&b, "%s: %s\r\n", k, vs[0])
	}
	b.WriteString("\r\n")
	if _, err := conn.Write(b.Bytes()); err != nil {
		conn.Close()
		return nil, fmt.Errorf("forward stream to %q via %s: %w", node, u.Host, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("forward stream to %q via %s: %w", node, u.Host, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		msg := apiErrorMessage(resp)
		conn.Close()
		return nil, fmt.Errorf("forward stream to %q via %s: %s: %s", node, u.Host, resp.Status, msg)
	}
	if !stop() {
		conn.Close()
		return nil, fmt.Errorf("forward stream to %q: %w", node, ctx.Err())
	}
	return &bufConn{Conn: conn, r: br}, nil
}

func apiErrorMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return string(b)
}

type forwardedCommand struct {
	Name      string          `json:"name"`
	Args      json.RawMessage `json:"args,omitempty"`
	TimeoutMS int64           `json:"timeout_ms"`
}

// maxForwardedCommand bounds how long a forwarded command may run.
const maxForwardedCommand = 5 * time.Minute

func (h *Hub) forwardCommand(ctx context.Context, base, node, name string, args []byte) (*fleetproto.Ack, error) {
	timeout := maxForwardedCommand
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	body, _ := json.Marshal(forwardedCommand{Name: name, Args: args, TimeoutMS: timeout.Milliseconds()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/internal/v1/nodes/"+url.PathEscape(node)+"/commands", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("command %s to %q: %w", name, node, err)
	}
	for k, vs := range SignInternal(h.opts.InternalToken, http.MethodPost, req.URL.RequestURI(), "", body, time.Now()) {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.internalClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("command %s to %q via %s: %w", name, node, base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("command %s to %q via %s: %s: %s", name, node, base, resp.Status, apiErrorMessage(resp))
	}
	var ack fleetproto.Ack
	if err := json.NewDecoder(io.LimitReader(resp.Body, fleetproto.MaxFrame)).Decode(&ack); err != nil {
		return nil, fmt.Errorf("command %s to %q via %s: decode ack: %w", name, node, base, err)
	}
	return &ack, nil
}

// MountInternal adds the replica-to-replica endpoints to app, the internal
// listener's app. Every call must be signed with the internal token and
// is taken once (verifyInternal); without a token configured nothing is
// mounted.
func (h *Hub) MountInternal(app fiber.Router) {
	if !h.forwarding() {
		return
	}
	g := app.Group("/internal/v1", h.verifyInternal)
	g.Get("/nodes/:node/stream", h.internalStream)
	g.Post("/nodes/:node/commands", h.internalCommand)
}

func (h *Hub) internalStream(c *fiber.Ctx) error {
	node := c.Params("node")
	if !fleetproto.ValidNodeName(node) {
		return apierr.BadRequest("node name %q is not valid", node)
	}
	if !bytes.EqualFold(c.Request().Header.Peek(fiber.HeaderUpgrade), []byte(streamUpgrade)) {
		return apierr.BadRequest("want Upgrade: %s", streamUpgrade)
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Get(headerStream))
	if err != nil {
		return apierr.BadRequest("%s: not base64url", headerStream)
	}
	var hdr fleetproto.StreamHeader
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return apierr.BadRequest("%s: %v", headerStream, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	s, err := h.dialLocal(ctx, node, hdr)
	cancel()
	if errors.Is(err, ErrNotConnected) {
		return apierr.New(fiber.StatusBadGateway, "not_connected", "node %q is not connected to replica %s", node, h.opts.Replica)
	}
	if err != nil {
		return apierr.New(fiber.StatusBadGateway, "stream", "%v", err)
	}
	c.Context().HijackSetNoResponse(true)
	c.Context().Hijack(func(conn net.Conn) {
		_ = conn.SetDeadline(time.Time{})
		if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+streamUpgrade+"\r\n\r\n"); err != nil {
			conn.Close()
			s.Close()
			return
		}
		pipe.Join(conn, s)
	})
	return nil
}

func (h *Hub) internalCommand(c *fiber.Ctx) error {
	node := c.Params("node")
	if !fleetproto.ValidNodeName(node) {
		return apierr.BadRequest("node name %q is not valid", node)
	}
	var fc forwardedCommand
	if err := json.Unmarshal(c.Body(), &fc); err != nil || fc.Name == "" {
		return apierr.BadRequest("want {\"name\", \"args\", \"timeout_ms\"}")
	}
	timeout := time.Duration(fc.TimeoutMS) * time.Millisecond
	if timeout <= 0 || timeout > maxForwardedCommand {
		timeout = maxForwardedCommand
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ack, err := h.commandLocal(ctx, node, fc.Name, fc.Args)
	if errors.Is(err, ErrNotConnected) {
		return apierr.New(fiber.StatusBadGateway, "not_connected", "node %q is not connected to replica %s", node, h.opts.Replica)
	}
	if err != nil {
		return apierr.New(fiber.StatusBadGateway, "command", "%v", err)
	}
	return c.JSON(ack)
}
