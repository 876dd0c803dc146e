package sessions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// scriptedNode is a node the test speaks for: the real gateway (link,
// registration, heartbeats, commands, streams) with pool reports and
// command answers the test writes. It plays what a real nodegw does not
// do on cue: a node that lies about its containers, one that stalls, a
// container that dies mid-session. Its "socket" (the sessiond streams) is
// an HTTP server that answers whatever it is asked, as anything a user put
// behind the socket (dockerd, say) would, and records what reached it.
type scriptedNode struct {
	t    testing.TB
	name string
	gw   *gateway.Gateway
	up   chan struct{}

	mu         sync.Mutex
	containers []fleetproto.PoolContainer
	claims     []fleetproto.ClaimArgs
	releases   []fleetproto.ReleaseArgs
	seen       []seenRequest

	// onClaim and onRelease answer the commands; nil: a claim succeeds
	// with token "tok-CONTAINER", a release saves nothing and succeeds.
	onClaim   func(ctx context.Context, a fleetproto.ClaimArgs) (fleetproto.ClaimResult, error)
	onRelease func(ctx context.Context, a fleetproto.ReleaseArgs) (fleetproto.SaveResult, error)
}

// seenRequest is one HTTP request that reached a container's socket.
type seenRequest struct {
	container, method, uri string
	header                 http.Header
}

type targetKey struct{}

type targetConn struct {
	net.Conn
	target string
}

// chanListener hands the sessiond streams to an http.Server.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *chanListener) Addr() net.Addr { return &net.UnixAddr{Name: "scripted", Net: "unix"} }

// startScripted adds node name, links it to the replica at cloudAddr ("" =
// the first) and waits until it is connected. Set the hooks before
// reporting.
func (e *env) startScripted(name, cloudAddr string, setup func(*scriptedNode)) *scriptedNode {
	t := e.t
	t.Helper()
	_, tok, err := e.st.AddNode(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &scriptedNode{t: t, name: name, up: make(chan struct{})}
	if setup != nil {
		setup(n)
	}
	ln := &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(n.serveSocket),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*targetConn); ok {
				return context.WithValue(ctx, targetKey{}, tc.target)
			}
			return ctx
		},
	}
	go func() { _ = srv.Serve(ln) }()
	url := e.url("")
	if cloudAddr != "" {
		url = "http://" + cloudAddr
	}
	var once sync.Once
	g, err := gateway.New(gateway.Options{
		CloudURL: url, Token: tok, Name: name, Logger: logger(),
		Backoff: backoff.Policy{Base: 100 * time.Millisecond, Cap: 500 * time.Millisecond},
		Streams: map[string]gateway.StreamHandler{fleetproto.KindSessiond: func(ctx context.Context, hdr fleetproto.StreamHeader, c net.Conn) {
			select {
			case ln.ch <- &targetConn{Conn: c, target: hdr.Target}:
			case <-ln.closed:
				c.Close()
			}
		}},
		Commands: map[string]gateway.CommandHandler{
			fleetproto.CommandClaim:   n.claim,
			fleetproto.CommandRelease: n.release,
		},
		OnEvent: func(ev gateway.Event) {
			if ev.Kind == "connected" {
				once.Do(func() { close(n.up) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.gw = g
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; ln.Close(); srv.Close() })
	select {
	case <-n.up:
	case <-time.After(testenv.WaitLong):
		t.Fatalf("scripted node %s did not connect", name)
	}
	return n
}

func (n *scriptedNode) serveSocket(w http.ResponseWriter, r *http.Request) {
	target, _ := r.Context().Value(targetKey{}).(string)
	n.mu.Lock()
	n.seen = append(n.seen, seenRequest{container: target, method: r.Method, uri: r.RequestURI, header: r.Header.Clone()})
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/version", "/_ping", "/containers/json", "/v1.43/info":
		_, _ = w.Write([]byte(`{"ApiVersion":"1.43","Os":"linux","Note":"dockerd answered"}`)) // what took over the socket
	default:
		_, _ = w.Write([]byte(`[]`))
	}
}

// set replaces the node's pool and reports it.
func (n *scriptedNode) set(cs ...fleetproto.PoolContainer) {
	n.mu.Lock()
	n.containers = append([]fleetproto.PoolContainer(nil), cs...)
	n.mu.Unlock()
	n.report()
}

func (n *scriptedNode) report() {
	n.mu.Lock()
	p := &fleetproto.Pool{Containers: append([]fleetproto.PoolContainer{}, n.containers...)}
	n.mu.Unlock()
	n.gw.ReportPool(p)
}

func (n *scriptedNode) claim(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.ClaimArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.claims = append(n.claims, a)
	hook := n.onClaim
	n.mu.Unlock()
	res := fleetproto.ClaimResult{Token: "tok-" + a.Container, Commit: "0123456789abcdef0123456789abcdef01234567"}
	if hook != nil {
		var err error
		if res, err = hook(ctx, a); err != nil {
			return nil, err
		}
	}
	n.mu.Lock()
	for i := range n.containers {
		if n.containers[i].ID == a.Container {
			n.containers[i].State, n.containers[i].Session = fleetproto.PoolClaimed, a.Session
		}
	}
	n.mu.Unlock()
	n.report()
	return json.Marshal(res)
}

func (n *scriptedNode) release(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.ReleaseArgs
	if err := json.Unmarshal(cmd.Args, &a); err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.releases = append(n.releases, a)
	hook := n.onRelease
	n.mu.Unlock()
	var res fleetproto.SaveResult
	if hook != nil {
		var err error
		if res, err = hook(ctx, a); err != nil {
			return nil, err
		}
	}
	return json.Marshal(res)
}

func (n *scriptedNode) gotClaims() []fleetproto.ClaimArgs {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]fleetproto.ClaimArgs(nil), n.claims...)
}

func (n *scriptedNode) gotReleases() []fleetproto.ReleaseArgs {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]fleetproto.ReleaseArgs(nil), n.releases...)
}

func (n *scriptedNode) gotRequests() []seenRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seenRequest(nil), n.seen...)
}

// container is a pool entry for set.
func container(id, class, state, session string) fleetproto.PoolContainer {
	return fleetproto.PoolContainer{ID: id, Name: "gw-" + id[:6], Class: class, State: state, Session: session}
}

// nodeID returns the database id of node name.
func (e *env) nodeID(t testing.TB, name string) int64 {
	t.Helper()
	n, err := e.st.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return n.ID
}

// waitContainers waits until node's pool rows match want (container → state).
func (e *env) waitContainers(t testing.TB, node string, want map[string]string) {
	t.Helper()
	id := e.nodeID(t, node)
	eventually(t, testenv.WaitLong, fmt.Sprintf("pool of %s recorded as %v", node, want), func() bool {
		rows, err := e.db.Query(context.Background(), `SELECT container_id, state FROM pool_containers WHERE node_id = $1`, id)
		if err != nil {
			return false
		}
		got := map[string]string{}
		for rows.Next() {
			var c, s string
			if rows.Scan(&c, &s) == nil {
				got[c] = s
			}
		}
		rows.Close()
		if len(got) != len(want) {
			return false
		}
		for c, s := range want {
			if got[c] != s {
				return false
			}
		}
		return true
	})
}

// insertSession writes a session row as the cloud would have, for states a
// test cannot reach through the API quickly (a session that ended while
// its node was away, one being released).
func (e *env) insertSession(t testing.TB, id, user, state, node, containerID string) {
	t.Helper()
	u, err := e.srv.Accounts.UserByName(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	var nodeID *int64
	var cid *string
	if node != "" {
		v := e.nodeID(t, node)
		nodeID, cid = &v, &containerID
	}
	if _, err := e.db.Exec(context.Background(), `INSERT INTO sessions (id, user_id, state, node_id, container_id, started_at, ended_at, sessiond_token)
		VALUES ($1, $2, $3, $4, $5, now(), CASE WHEN $3 = 'ended' THEN now() END, CASE WHEN $3 <> 'ended' THEN 'tok-' || $5 END)`,
		id, u.ID, state, nodeID, cid); err != nil {
		t.Fatal(err)
	}
	if nodeID != nil && state != "ended" {
		if _, err := e.db.Exec(context.Background(), `UPDATE pool_containers SET session_id = $3 WHERE node_id = $1 AND container_id = $2`,
			*nodeID, containerID, id); err != nil {
			t.Fatal(err)
		}
	}
}

var errStalled = errors.New("stalled until the test ended")

func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
