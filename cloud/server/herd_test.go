package server_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"gatewave.dev/cloud/fleet"
	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/testenv"
)

// 500 gateways connect at once and all register; after a cloud restart
// their reconnects spread out over time instead of arriving together.
func Test500GatewaysRegisterAndReconnectSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("500 gateways: skipped with -short")
	}
	const n = 500
	_, pool, st := newDB(t)
	ctx := testenv.Context(t, 2*testenv.WaitLong)
	opts := func(o *fleet.Options) {
		o.HeartbeatInterval = 5 * time.Second
		o.OfflineAfter = 30 * time.Second
		o.FlushInterval = 200 * time.Millisecond
	}
	c := startCloud(t, pool, "", opts)

	var mu sync.Mutex
	var downAt time.Time
	var firstAttempt, reconnected []time.Duration
	seen := map[int]bool{}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		name := fmt.Sprintf("sim-%03d", i)
		_, tok := addNode(t, st, name, nil)
		registered := false
		startGateway(t, c.URL(), name, tok, func(o *gateway.Options) {
			o.Backoff = backoff.Policy{} // the real defaults: 0.5 s base, 60 s cap
			o.Logger = logger(t)
			o.OnEvent = func(e gateway.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case e.Kind == "connected" && !registered:
					registered = true
					wg.Done()
				case e.Kind == "attempt" && !downAt.IsZero() && !seen[i]:
					seen[i] = true
					firstAttempt = append(firstAttempt, e.At.Sub(downAt))
				case e.Kind == "connected" && !downAt.IsZero():
					reconnected = append(reconnected, e.At.Sub(downAt))
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("only %d of %d gateways registered", len(c.srv.Hub.Connected()), n)
	}
	eventually(t, ctx, "all nodes online in Postgres", func() bool {
		var online int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE status = 'online' AND replica IS NOT NULL`).Scan(&online)
		return online == n
	})

	c.Stop(t)
	mu.Lock()
	downAt = time.Now()
	mu.Unlock()
	c2 := startCloud(t, pool, c.addr, opts)
	eventually(t, ctx, "all gateways reconnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reconnected) >= n
	})
	if got := len(c2.srv.Hub.Connected()); got != n {
		t.Fatalf("%d connected after restart, want %d", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(reconnected)
	pct := func(p float64) time.Duration { return reconnected[int(p*float64(len(reconnected)-1))] }
	var mean, sd float64
	for _, d := range firstAttempt {
		mean += d.Seconds()
	}
	mean /= float64(len(firstAttempt))
	for _, d := range firstAttempt {
		sd += (d.Seconds() - mean) * (d.Seconds() - mean)
	}
	sd = math.Sqrt(sd / float64(len(firstAttempt)))
	t.Logf("reconnects after restart: p10 %v, p50 %v, p90 %v, max %v (spread p10–p90 %v); first-attempt delay mean %.3fs sd %.3fs",
		pct(.1).Round(time.Millisecond), pct(.5).Round(time.Millisecond), pct(.9).Round(time.Millisecond),
		reconnected[len(reconnected)-1].Round(time.Millisecond), (pct(.9) - pct(.1)).Round(time.Millisecond), mean, sd)
	// With full jitter the first retries are uniform over the retry-after
	// window plus [0, 0.5 s): an sd near zero would mean a herd.
	if sd < 0.1 {
		t.Fatalf("reconnect attempts are not spread: sd %.3fs over %d gateways", sd, len(firstAttempt))
	}
	if pct(.9)-pct(.1) < 200*time.Millisecond {
		t.Fatalf("reconnects bunched: p10 %v p90 %v", pct(.1), pct(.9))
	}
}
