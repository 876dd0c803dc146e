package sessions_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// The tunnel forwards only sessiond's routes. Behind the container's
// socket is whatever the user put there (here: something that answers
// Docker API paths, as dockerd would): paths sessiond does not serve, and
// disguised spellings of them, get 404 from the cloud and never reach it.
// What is forwarded carries the sessiond token, never the user's cloud
// cookie, Authorization or CSRF token.
func TestTunnelForwardsOnlySessiondRoutes(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	n := e.startScripted("node-1", "", nil)
	n.set(container(ctrA, "standard", fleetproto.PoolIdle, ""))
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)

	refused := []string{"version", "_ping", "containers/json", "v1.43/info", "api/v2/x", "api/v1", "assets",
		"api/v1/../../version", "api/v1/%2e%2e/%2e%2e/version", "api/v1/..%2fversion", "assets/..%5cversion",
		"/version", "api/v1//../version", "./version", "index.html/../version", "api/v1/files%00"}
	before := len(n.gotRequests())
	for _, p := range refused {
		resp, b := alice.do(t, http.MethodGet, se.URL+p, nil, nil)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(b), "dockerd") {
			t.Errorf("GET %s%s: %s %s, want 404 from the cloud", se.URL, p, resp.Status, b)
		}
	}
	// A WebSocket upgrade to a Docker path is refused the same way.
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testenv.WaitShort))
	var cookie []string
	for _, c := range alice.hc.Jar.Cookies(mustURL(e.url("/"))) {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	fmt.Fprintf(conn, "GET %sversion HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: %s\r\n\r\n", se.URL, e.addr, e.addr, strings.Join(cookie, "; "))
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("WebSocket to %sversion: %v %v, want 404", se.URL, resp, err)
	}
	if got := n.gotRequests()[before:]; len(got) != 0 {
		t.Fatalf("%d refused requests reached the socket, first %s %s", len(got), got[0].method, got[0].uri)
	}

	for _, p := range []string{"", "index.html", "healthz", "metrics", "assets/index.js", "api/v1/files?path=.", "api/v1/telemetry"} {
		resp, _ := alice.do(t, http.MethodGet, se.URL+p, nil, map[string]string{"Authorization": "Basic YWxpY2U6cHc=", "X-CSRF-Token": alice.csrf})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s%s: %s", se.URL, p, resp.Status)
		}
		got := n.gotRequests()
		last := got[len(got)-1]
		if want := "/" + p; last.uri != want {
			t.Fatalf("forwarded %q, want %q", last.uri, want)
		}
		if a := last.header.Get("Authorization"); a != "Bearer tok-"+ctrA {
			t.Fatalf("the socket saw Authorization %q, want the sessiond token only", a)
		}
		for _, h := range []string{"Cookie", "X-Csrf-Token"} {
			if v := last.header.Get(h); v != "" {
				t.Fatalf("the socket saw %s %q", h, v)
			}
		}
	}
}
