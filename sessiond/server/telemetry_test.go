package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/telemetry"
)

func TestTelemetrySnapshotAndStream(t *testing.T) {
	ts := start(t)
	r := ts.get("/api/v1/telemetry")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var s telemetry.Snapshot
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatal(err)
	}
	if s.CPU.LimitCores <= 0 || s.Memory.LimitBytes <= 0 || s.Memory.UsedBytes <= 0 {
		t.Fatalf("implausible snapshot: %s", r.Body)
	}
	if s.Processes.Count < 2 || len(s.Processes.TopRSS) == 0 || s.Sessiond.RSSBytes <= 0 {
		t.Fatalf("process table missing: %s", r.Body)
	}

	if r := ts.get("/api/v1/telemetry/stream?interval_ms=abc"); r.Status != 400 {
		t.Fatalf("bad interval: %d", r.Status)
	}
	if r := ts.get("/api/v1/telemetry/stream"); r.Status != 426 {
		t.Fatalf("plain GET on a WebSocket route: %d", r.Status)
	}
	// Asking for 10 ms gets the 100 ms floor.
	c, _, err := ts.dialWS("/api/v1/telemetry/stream?interval_ms=10", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var times []time.Time
	for len(times) < 4 {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var snap telemetry.Snapshot
		if err := c.ReadJSON(&snap); err != nil {
			t.Fatal(err)
		}
		times = append(times, snap.Time)
	}
	for i := 2; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 90*time.Millisecond {
			t.Fatalf("snapshots %v apart; the floor is 100 ms", gap)
		}
	}

	m := ts.get("/metrics")
	for _, want := range []string{"gatewave_cpu_limit_cores", "gatewave_memory_used_bytes", "go_goroutines"} {
		if !strings.Contains(string(m.Body), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}
