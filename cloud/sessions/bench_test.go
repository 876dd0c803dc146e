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
		return e.nodeGW.pool.Dial(ctx, containerID) // the node's own way to the socket
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
		c := compare(
			func(p string) (time.Duration, int64) { return get(direct, directURL(p), true) },
			func(p string) (time.Duration, int64) { return get(alice.hc, tunnelURL(p), false) })
		b.ReportMetric(c.baseMiBs, "direct_MiB/s")
		b.ReportMetric(c.oursMiBs, "tunnel_MiB/s")
		b.ReportMetric(c.oursMiBs/c.baseMiBs, "ratio")
		b.ReportMetric(ms(c.oursP50-c.baseP50), "p50_added_ms")
		b.ReportMetric(ms(c.baseP50), "direct_p50_ms")
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
		c := compare(
			func(p string) (time.Duration, int64) { return get(holder, p) },
			func(p string) (time.Duration, int64) { return get(forwarded, p) })
		b.ReportMetric(c.baseMiBs, "holder_MiB/s")
		b.ReportMetric(c.oursMiBs, "forwarded_MiB/s")
		b.ReportMetric(c.oursMiBs/c.baseMiBs, "ratio")
		b.ReportMetric(ms(c.oursP50-c.baseP50), "p50_added_ms")
		b.ReportMetric(ms(c.baseP50), "holder_p50_ms")
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

// comparison is a baseline path and ours measured in the same rounds.
type comparison struct {
	baseMiBs, oursMiBs float64       // median throughput of the 8 MiB download
	baseP50, oursP50   time.Duration // median latency of a small request
}

// compare downloads big.bin and blinky.v through both paths in interleaved
// rounds and takes medians, so load from elsewhere on the machine falls on
// both sides alike.
func compare(base, ours func(path string) (time.Duration, int64)) comparison {
	const big, small = "api/v1/file?path=big.bin", "api/v1/file?path=blinky.v"
	base(big) // warm both
	ours(big)
	var bd, od, bl, ol []time.Duration
	var size int64
	for range 15 {
		d, n := base(big)
		bd, size = append(bd, d), n
		d, _ = ours(big)
		od = append(od, d)
	}
	for range 300 {
		d, _ := base(small)
		bl = append(bl, d)
		d, _ = ours(small)
		ol = append(ol, d)
	}
	mib := func(d time.Duration) float64 { return float64(size) / d.Seconds() / (1 << 20) }
	return comparison{
		baseMiBs: mib(percentile(bd, 0.5)), oursMiBs: mib(percentile(od, 0.5)),
		baseP50: percentile(bl, 0.5), oursP50: percentile(ol, 0.5),
	}
}
