package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatewave.dev/shared/testenv"
)

// syncBuffer is a bytes.Buffer safe for the gateway's logger and the test.
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

func env(stderr io.Writer) Env {
	return Env{Stderr: stderr, Getenv: func(k string) string {
		if k == "NODEGW_TOKEN" {
			return "gwn_test"
		}
		return ""
	}}
}

// --metrics-listen takes a loopback address only: the endpoint has no token.
func TestMetricsListenRefusesOtherAddresses(t *testing.T) {
	var out syncBuffer
	code := Run(context.Background(), []string{"--cloud", "http://127.0.0.1:1", "--name", "n1", "--pool=false", "--metrics-listen", "0.0.0.0:0"}, env(&out))
	if code != 2 || !strings.Contains(out.String(), "only a loopback address") {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
}

var failedRE = regexp.MustCompile(`(?m)^gatewave_gateway_disconnects_total [1-9]`)

// A node that cannot reach its cloud serves its metrics all the same: the
// link down, the attempts that failed, and the machine's live figures.
func TestMetricsListenServes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out syncBuffer
	go func() {
		done <- Run(ctx, []string{"--cloud", "http://127.0.0.1:1", "--name", "n1", "--pool=false", "--metrics-listen", addr, "--stats-interval", "100ms"}, env(&out))
	}()
	t.Cleanup(func() { cancel(); <-done })
	wctx := testenv.Context(t, testenv.WaitLong)
	for {
		var body string
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		if strings.Contains(body, "\ngatewave_gateway_connected 0\n") && failedRE.MatchString(body) &&
			strings.Contains(body, "\ngatewave_gateway_node_memory_bytes ") && !strings.Contains(body, "\ngatewave_gateway_node_memory_bytes 0\n") {
			return
		}
		select {
		case <-wctx.Done():
			t.Fatalf("metrics never showed the failed link and the node's memory:\n%s\n--- log\n%s", body, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
