package server_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/nixcache"
	"gatewave.dev/cloud/server"
	"gatewave.dev/shared/testenv"
)

// TestNixCacheRoutes: the cloud serves its cache to nodes (their real
// tokens) and admins, takes uploads from admins only, and lets a NAR past
// the small body limit.
func TestNixCacheRoutes(t *testing.T) {
	_, pool, st := newDB(t)
	dir := filepath.Join(t.TempDir(), "nix-cache")
	srv, err := server.New(server.Options{Pool: pool, AdminToken: adminToken, NixCache: dir, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()
	_, nodeTok := addNode(t, st, "nix-node", nil)
	_, revokedTok := addNode(t, st, "nix-revoked", nil)
	if _, err := st.Revoke(context.Background(), "nix-revoked", time.Now()); err != nil {
		t.Fatal(err)
	}

	do := func(method, path, tok string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(testenv.Context(t, testenv.WaitShort), method, base+path, bytes.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do("GET", "/nix-cache/nix-cache-info", nodeTok, nil); code != 200 {
		t.Fatalf("a node reading nix-cache-info: %d", code)
	}
	if code, _ := do("GET", "/nix-cache/nix-cache-info", revokedTok, nil); code != 401 {
		t.Fatalf("a revoked node reading: %d, want 401", code)
	}
	if code, _ := do("GET", "/nix-cache/nix-cache-info", "", nil); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
	code, key := do("GET", "/nix-cache/public-key", nodeTok, nil)
	if code != 200 || strings.TrimSpace(key) != srv.NixCache.PublicKey() || !strings.HasPrefix(key, "gatewave-1:") {
		t.Fatalf("public key: %d %q", code, key)
	}

	// A 1 MiB NAR: over the 64 KiB limit of other routes.
	nar := append([]byte{13, 0, 0, 0, 0, 0, 0, 0}, "nix-archive-1\x00\x00\x00"...)
	nar = append(nar, make([]byte, 1<<20)...)
	name := nixcache.NarFileName(nar)
	if code, _ := do("PUT", "/nix-cache/nar/"+name, nodeTok, nar); code != 403 {
		t.Fatalf("a node uploading: %d, want 403", code)
	}
	if code, body := do("PUT", "/nix-cache/nar/"+name, adminToken, nar); code != 201 {
		t.Fatalf("an admin uploading a 1 MiB NAR: %d %s", code, body)
	}
	if code, body := do("GET", "/nix-cache/nar/"+name, nodeTok, nil); code != 200 || len(body) != len(nar) {
		t.Fatalf("reading it back: %d, %d bytes", code, len(body))
	}
	// Large bodies are for NAR uploads only: the server answers 413 or
	// drops the connection while the body is still coming.
	req, _ := http.NewRequest("PUT", base+"/nix-cache/"+strings.Repeat("a", 32)+".narinfo", bytes.NewReader(make([]byte, 1<<20)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("a 1 MiB narinfo: %d, want 413", resp.StatusCode)
		}
	}
}
