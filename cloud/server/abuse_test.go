package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/server"
	"gatewave.dev/shared/testenv"
)

// startFullCloud runs a replica with accounts and git hosting, trusting
// 127.0.0.1 as its reverse proxy (so tests name clients in
// X-Forwarded-For), with the user alice:alice-password.
func startFullCloud(t *testing.T) *cloud {
	t.Helper()
	testenv.LookPath(t, "git")
	_, pool, _ := newDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := accounts.ParseProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{
		Pool: pool, AdminToken: adminToken, Logger: logger(t), Fleet: fleet.Options{Replica: "replica-a"},
		GitRoot: t.TempDir(), GitURL: "http://" + ln.Addr().String() + "/git",
		Accounts: accounts.Options{Argon2: accounts.Argon2Params{MemoryKiB: 64, Time: 1}, Proxies: proxies},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Accounts.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Git.Create(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cloud{srv: srv, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// rawRequest sends head (request line and headers, without the blank
// line) and then body, and reads the response.
func rawRequest(t *testing.T, addr, head string, body []byte) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(testenv.WaitShort))
	if _, err := io.WriteString(conn, head+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if _, err := conn.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", strings.SplitN(head, "\r\n", 2)[0], err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// Bodies are limited by route before they are read: a sign-in or API
// request announcing a large body is answered 413 without the body ever
// being sent (so nothing reads it, let alone authenticates), while git
// pushes keep their larger limit and reach authentication.
func TestBodiesLimitedBeforeAuth(t *testing.T) {
	c := startFullCloud(t)
	big := server.SmallBodyLimit + 1
	for _, path := range []string{"/signin", "/signout", "/api/v1/sessions"} {
		resp := rawRequest(t, c.addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d", path, c.addr, big), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("POST %s with %d bytes announced: %d %s, want 413", path, big, resp.StatusCode, b)
		}
	}
	// This cloud serves no Nix cache, so a NAR upload gets no large limit.
	resp := rawRequest(t, c.addr, fmt.Sprintf("PUT /nix-cache/nar/x.nar HTTP/1.1\r\nHost: %s\r\nContent-Length: %d", c.addr, big), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT of a NAR to a cloud without a cache, %d bytes announced: %d, want 413", big, resp.StatusCode)
	}
	// A chunked sign-in body over the limit is cut off too.
	chunk := bytes.Repeat([]byte("a"), big)
	body := fmt.Appendf(nil, "%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk)
	if resp := rawRequest(t, c.addr, "POST /signin HTTP/1.1\r\nHost: "+c.addr+"\r\nTransfer-Encoding: chunked", body); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized sign-in: %d, want 413", resp.StatusCode)
	}
	// The same size to git is read and goes on to authentication.
	resp = rawRequest(t, c.addr, fmt.Sprintf("POST /git/alice.git/git-receive-pack HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-git-receive-pack-request\r\nContent-Length: %d", c.addr, big),
		bytes.Repeat([]byte{0}, big))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("git push body of %d bytes without credentials: %d, want 401", big, resp.StatusCode)
	}
	// A small sign-in still works.
	if resp := rawRequest(t, c.addr, "POST /signin HTTP/1.1\r\nHost: "+c.addr+"\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("empty sign-in without CSRF: %d, want 403", resp.StatusCode)
	}
}

// Git's password check is limited per client address too: a flood of wrong
// passwords from one address does not stop the user cloning from another.
func TestGitPasswordFloodFromOneIPLocksOutNoOneElse(t *testing.T) {
	c := startFullCloud(t)
	get := func(ip, password string) int {
		req, _ := http.NewRequest(http.MethodGet, c.URL()+"/git/alice.git/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth("alice", password)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 40 {
		if code := get("203.0.113.66", fmt.Sprintf("guess-%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code := get("203.0.113.66", "alice-password"); code != http.StatusUnauthorized {
		t.Fatalf("right password from the flooding address: %d, want 401 (rate-limited)", code)
	}
	if code := get("198.51.100.20", "alice-password"); code != http.StatusOK {
		t.Fatalf("alice from another address: %d, want 200", code)
	}
}

// Admin and node tokens are taken from the Authorization header only; a
// token in the query string is refused even when it is right.
func TestTokensOnlyInHeaders(t *testing.T) {
	_, pool, st := newDB(t)
	_, nodeTok := addNode(t, st, "fpga-01", nil)
	c := startCloud(t, pool, "")
	do := func(path, bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, c.URL()+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, path, bearer string
		want               int
	}{
		{"admin in header", "/api/v1/nodes", adminToken, 200},
		{"admin in access_token", "/api/v1/nodes?access_token=" + adminToken, "", 401},
		{"admin in token", "/api/v1/nodes?token=" + adminToken, "", 401},
		{"admin in both", "/api/v1/nodes?access_token=" + adminToken, adminToken, 401},
		{"admin on one node in query", "/api/v1/nodes/fpga-01?access_token=" + adminToken, "", 401},
		{"metrics in query", "/metrics?access_token=" + adminToken, "", 401},
		{"metrics in header", "/metrics", adminToken, 200},
		{"node token in access_token", "/api/v1/nodes/connect?access_token=" + nodeTok, "", 401},
		{"node token in token", "/api/v1/nodes/connect?token=" + nodeTok, "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(tt.path, tt.bearer)
			if code != tt.want {
				t.Fatalf("%d %s, want %d", code, body, tt.want)
			}
			if tt.want == 401 && !strings.Contains(body, "Authorization: Bearer header") {
				t.Fatalf("refusal %s does not say where the token goes", body)
			}
		})
	}
	// Nothing connected with the query token.
	n, err := st.Get(t.Context(), "fpga-01")
	if err != nil || n.Status == "online" {
		t.Fatalf("node after query-token attempts: %+v, %v", n, err)
	}
}
