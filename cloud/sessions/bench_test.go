package sessions_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sort"
	"testing"
	"time"
)

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkAllocation measures POST /api/v1/sessions until sessiond answers
// through the tunnel, over 200 allocations from a warm pool.
func BenchmarkAllocation(b *testing.B) {
	const allocations = 200
	e := newEnv(b, envOpts{containers: 6})
	alice := e.addUser(b, "alice")
	alice.signIn(b)
	var lat []time.Duration
	for range b.N {
		for range allocations {
			e.waitIdleInDB(b, 1)
			start := time.Now()
			code, se := alice.allocate(b)
			if code != http.StatusCreated {
				b.Fatalf("allocate: %d %+v", code, se)
			}
			resp, body := alice.do(b, http.MethodGet, se.URL+"api/v1/files?path=.", nil, nil)
			lat = append(lat, time.Since(start))
			if resp.StatusCode != 200 {
				b.Fatalf("through the tunnel: %s %s", resp.Status, body)
			}
			resp, body = alice.do(b, http.MethodDelete, "/api/v1/sessions/"+se.ID, nil, map[string]string{"X-CSRF-Token": alice.csrf})
			if resp.StatusCode != 200 {
				b.Fatalf("end: %s %s", resp.Status, body)
			}
		}
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkTunnel compares sessiond through the tunnel (browser → cloud →
// yamux over the node link → nodegw → unix socket) with sessiond's socket
// directly, in the same run: throughput of an 8 MiB download and the added
// p50 latency of a small request.
func BenchmarkTunnel(b *testing.B) {
	e := newEnv(b, envOpts{containers: 1})
	alice := e.addUser(b, "alice")
	alice.signIn(b)
	e.waitIdleInDB(b, 1)
	code, se := alice.allocate(b)
	if code != http.StatusCreated {
		b.Fatalf("allocate: %d", code)
	}
	var containerID string
	if err := e.db.QueryRow(context.Background(), `SELECT container_id FROM sessions WHERE id = $1`, se.ID).Scan(&containerID); err != nil {
		b.Fatal(err)
	}
	c, ok := e.nodeGW.pool.Get(containerID)
	if !ok {
		b.Fatal("container not in the pool")
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	if resp, body := alice.do(b, http.MethodPut, se.URL+"api/v1/file?path=big.bin", bytes.NewReader(big), nil); resp.StatusCode != 201 {
		b.Fatalf("upload: %s %s", resp.Status, body)
	}
	direct := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket)
	}}}
	get := func(hc *http.Client, u string, auth bool) (time.Duration, int64) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		return timedGet(b, hc, req)
	}
	tunnelURL := func(p string) string { return e.url(se.URL + p) }
	directURL := func(p string) string { return "http://sessiond/" + p }
	for range b.N {
		// Interleaved rounds, medians: load from elsewhere on the machine
		// falls on both sides alike.
		get(direct, directURL("api/v1/file?path=big.bin"), true) // warm
		get(alice.hc, tunnelURL("api/v1/file?path=big.bin"), false)
		var dd, td []time.Duration
		var size int64
		for range 15 {
			d, n := get(direct, directURL("api/v1/file?path=big.bin"), true)
			dd = append(dd, d)
			d, _ = get(alice.hc, tunnelURL("api/v1/file?path=big.bin"), false)
			td = append(td, d)
			size = n
		}
		dt := float64(size) / percentile(dd, 0.5).Seconds()
		tt := float64(size) / percentile(td, 0.5).Seconds()
		var dl, tl []time.Duration
		for range 300 {
			d, _ := get(direct, directURL("api/v1/file?path=blinky.v"), true)
			dl = append(dl, d)
			d, _ = get(alice.hc, tunnelURL("api/v1/file?path=blinky.v"), false)
			tl = append(tl, d)
		}
		b.ReportMetric(dt/(1<<20), "direct_MiB/s")
		b.ReportMetric(tt/(1<<20), "tunnel_MiB/s")
		b.ReportMetric(tt/dt, "ratio")
		b.ReportMetric(ms(percentile(tl, 0.5)-percentile(dl, 0.5)), "p50_added_ms")
		b.ReportMetric(ms(percentile(dl, 0.5)), "direct_p50_ms")
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkTunnelViaOtherReplica compares the tunnel through the replica
// holding the node's link with the tunnel through another replica (which
// forwards each stream to the holder), in the same run: throughput of an
// 8 MiB download and the added p50 latency of a small request.
func BenchmarkTunnelViaOtherReplica(b *testing.B) {
	e := newEnv(b, envOpts{containers: 1, internalToken: internalToken})
	other := e.startReplica("replica-b")
	alice := e.addUser(b, "alice")
	alice.signIn(b)
	e.waitIdleInDB(b, 1)
	code, se := alice.allocate(b)
	if code != http.StatusCreated {
		b.Fatalf("allocate: %d", code)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	if resp, body := alice.do(b, http.MethodPut, se.URL+"api/v1/file?path=big.bin", bytes.NewReader(big), nil); resp.StatusCode != 201 {
		b.Fatalf("upload: %s %s", resp.Status, body)
	}
	get := func(base, p string) (time.Duration, int64) {
		req, _ := http.NewRequest(http.MethodGet, base+se.URL+p, nil)
		return timedGet(b, alice.hc, req)
	}
	holder, forwarded := "http://"+e.addr, "http://"+other.addr
	for range b.N {
		throughput := func(base string) float64 {
			get(base, "api/v1/file?path=big.bin") // warm
			var total time.Duration
			var n int64
			for range 10 {
				d, k := get(base, "api/v1/file?path=big.bin")
				total += d
				n += k
			}
			return float64(n) / total.Seconds()
		}
		ht, ft := throughput(holder), throughput(forwarded)
		var hl, fl []time.Duration
		for range 300 {
			d, _ := get(holder, "api/v1/file?path=blinky.v")
			hl = append(hl, d)
			d, _ = get(forwarded, "api/v1/file?path=blinky.v")
			fl = append(fl, d)
		}
		b.ReportMetric(ht/(1<<20), "holder_MiB/s")
		b.ReportMetric(ft/(1<<20), "forwarded_MiB/s")
		b.ReportMetric(ft/ht, "ratio")
		b.ReportMetric(ms(percentile(fl, 0.5)-percentile(hl, 0.5)), "p50_added_ms")
		b.ReportMetric(ms(percentile(hl, 0.5)), "holder_p50_ms")
	}
	b.ReportMetric(0, "ns/op")
}

// timedGet sends req, reads the whole body and returns how long that took
// and how many bytes came; anything but 200 fails the benchmark.
func timedGet(b *testing.B, hc *http.Client, req *http.Request) (time.Duration, int64) {
	b.Helper()
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", req.URL, resp.Status)
	}
	return time.Since(start), n
}
