package metrics_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/metrics"
	"gatewave.dev/shared/fleetproto"
)

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// scrape reads the endpoint and parses the text exposition.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[m[1]] = v
	}
	return out
}

// The endpoint follows the link, heartbeats, the pool and the live
// samples as they change.
func TestGatewayMetrics(t *testing.T) {
	mx := metrics.New()
	ln, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mx.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + ln.Addr().String() + "/metrics"

	m := scrape(t, url)
	if m["gatewave_gateway_connected"] != 0 || m["gatewave_gateway_reconnects_total"] != 0 || m[`gatewave_gateway_pool_containers{state="idle"}`] != 0 {
		t.Fatalf("fresh: %v", m)
	}
	mx.OnEvent(gateway.Event{Kind: "connected"})
	mx.OnEvent(gateway.Event{Kind: "heartbeat_ack", RTT: 3 * time.Millisecond})
	mx.OnEvent(gateway.Event{Kind: "heartbeat_ack", RTT: 5 * time.Millisecond})
	mx.OnPool(&fleetproto.Pool{Containers: []fleetproto.PoolContainer{{ID: "aaaaaaaaaaaa", State: "idle"}, {ID: "bbbbbbbbbbbb", State: "claimed"}, {ID: "cccccccccccc", State: "idle"}}})
	mx.OnStats(&fleetproto.Stats{Node: fleetproto.Usage{CPUCores: 1.25, MemoryBytes: 1 << 30, MemoryLimitBytes: 4 << 30},
		Containers: []fleetproto.ContainerStats{{ID: "aaaaaaaaaaaa", Name: "gw-1", Kind: "session", Usage: fleetproto.Usage{CPUCores: 0.5, MemoryBytes: 1 << 20, MemoryLimitBytes: 512 << 20}}}})
	m = scrape(t, url)
	want := map[string]float64{
		"gatewave_gateway_connected": 1, "gatewave_gateway_connects_total": 1, "gatewave_gateway_reconnects_total": 0,
		"gatewave_gateway_heartbeats_total": 2, "gatewave_gateway_heartbeat_rtt_seconds": 0.005,
		`gatewave_gateway_pool_containers{state="idle"}`: 2, `gatewave_gateway_pool_containers{state="claimed"}`: 1,
		"gatewave_gateway_node_cpu_usage_cores": 1.25, "gatewave_gateway_node_memory_usage_bytes": 1 << 30, "gatewave_gateway_node_memory_bytes": 4 << 30,
		`gatewave_gateway_container_cpu_usage_cores{container="aaaaaaaaaaaa",kind="session",name="gw-1"}`:    0.5,
		`gatewave_gateway_container_memory_usage_bytes{container="aaaaaaaaaaaa",kind="session",name="gw-1"}`: 1 << 20,
		`gatewave_gateway_container_memory_limit_bytes{container="aaaaaaaaaaaa",kind="session",name="gw-1"}`: 512 << 20,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	// The link drops and comes back; the container is gone.
	mx.OnEvent(gateway.Event{Kind: "disconnected"})
	if m := scrape(t, url); m["gatewave_gateway_connected"] != 0 || m["gatewave_gateway_disconnects_total"] != 1 {
		t.Fatalf("after a drop: %v", m)
	}
	mx.OnEvent(gateway.Event{Kind: "connected"})
	mx.OnStats(&fleetproto.Stats{})
	m = scrape(t, url)
	if m["gatewave_gateway_connected"] != 1 || m["gatewave_gateway_reconnects_total"] != 1 || m["gatewave_gateway_connects_total"] != 2 {
		t.Fatalf("after a reconnect: %v", m)
	}
	for k := range m {
		if strings.HasPrefix(k, "gatewave_gateway_container_") {
			t.Errorf("a gone container is still reported: %s", k)
		}
	}
}

// The endpoint has no token, so it binds loopback only.
func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:9480", "[::]:0", "example.com:80", "nonsense"} {
		if ln, err := metrics.Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted", addr)
		}
	}
	ln, err := metrics.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}
