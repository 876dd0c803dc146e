package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/testenv"
)

// syncBuffer is a bytes.Buffer safe for the serving goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// With GATEWAVE_INTERNAL_TOKEN, `cloud serve` opens an internal listener
// on a free 127.0.0.1 port, records its URL for the other replicas and
// refuses calls without the token; a short token is refused at start.
func TestServeInternalListener(t *testing.T) {
	u := dbtest.Empty(t, false)
	ctx := testenv.Context(t, testenv.WaitLong)
	var out bytes.Buffer
	if code := cli.Run(ctx, []string{"migrate"}, env(u, &out)); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, out.String())
	}
	withToken := func(tok string, w *syncBuffer) cli.Env {
		e := env(u, nil)
		e.Stdout, e.Stderr = w, w
		base := e.Getenv
		e.Getenv = func(k string) string {
			switch k {
			case "GATEWAVE_INTERNAL_TOKEN":
				return tok
			case "GATEWAVE_REPLICA":
				return "r-cli"
			}
			return base(k)
		}
		return e
	}
	var short syncBuffer
	if code := cli.Run(ctx, []string{"serve"}, withToken("short", &short)); code != 1 || !strings.Contains(short.String(), "at least 16 characters") {
		t.Fatalf("serve with a short internal token: exit %d: %s", code, short.String())
	}

	const tok = "cli-internal-token-0123456789"
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var logs syncBuffer
	done := make(chan int, 1)
	go func() { done <- cli.Run(sctx, []string{"serve"}, withToken(tok, &logs)) }()

	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var internalURL string
	for internalURL == "" {
		_ = conn.QueryRow(ctx, `SELECT internal_url FROM replicas WHERE name = 'r-cli'`).Scan(&internalURL)
		select {
		case <-ctx.Done():
			t.Fatalf("no replicas row; logs:\n%s", logs.String())
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(internalURL, "http://127.0.0.1:") {
		t.Fatalf("internal URL %q, want a 127.0.0.1 port", internalURL)
	}
	// Calls are signed with the shared token (fleet.SignInternal); the
	// token itself is never accepted as a bearer.
	post := func(auth string) int {
		body := []byte(`{"name":"session.save"}`)
		const uri = "/internal/v1/nodes/lab-1/commands"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, internalURL+uri, bytes.NewReader(body))
		if auth != "" {
			for k, v := range fleet.SignInternal(auth, http.MethodPost, uri, "", body, time.Now()) {
				req.Header[k] = v
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code := post("forged-token-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("forged token: %d, want 401", code)
	}
	if code := post(tok); code != http.StatusBadGateway {
		t.Fatalf("right token, node not connected: %d, want 502", code)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, internalURL+"/internal/v1/nodes/lab-1/commands", strings.NewReader(`{"name":"session.save"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the token as a bearer: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, logs.String())
	}
}
