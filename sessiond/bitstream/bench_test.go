package bitstream_test

import (
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatewave.dev/sessiond/server/servertest"
)

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkDownload compares fetching a 64 MiB bitstream through
// GET /api/v1/bitstream (loopback HTTP, token, ETag from the hash cache)
// with reading the same file directly, in the same run. ratio is API
// throughput over direct throughput (target ≥ 0.8). Since a page-cache read
// is far faster than any loopback TCP transfer, ratio_vs_nethttp compares
// with the standard library's http.ServeContent serving the same file, the
// ceiling for an HTTP download here.
func BenchmarkDownload(b *testing.B) {
	const size = 64 << 20
	e := servertest.Start(b, nil)
	data := make([]byte, size)
	rand.Read(data)
	p := filepath.Join(e.Dir, "big.bit")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	buf := make([]byte, 256<<10)
	direct := func() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if n, err := io.CopyBuffer(discard{}, f, buf); err != nil || n != size {
			b.Fatalf("direct read: %d, %v", n, err)
		}
	}
	api := func() {
		req, _ := http.NewRequest("GET", e.Base+"api/v1/bitstream?path=big.bit", nil)
		req.Header.Set("Authorization", "Bearer "+servertest.Token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if n, err := io.CopyBuffer(discard{}, resp.Body, buf); err != nil || n != size || resp.ContentLength != size {
			b.Fatalf("API download: %d (Content-Length %d), %v", n, resp.ContentLength, err)
		}
	}
	// The ceiling for any HTTP download over loopback: the standard
	// library's http.ServeContent on the same file, no auth, no hashing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	plainSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(p)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "big.bit", time.Time{}, f)
	})}
	go plainSrv.Serve(ln)
	defer plainSrv.Close()
	plain := func() {
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if n, err := io.CopyBuffer(discard{}, resp.Body, buf); err != nil || n != size {
			b.Fatalf("plain download: %d, %v", n, err)
		}
	}

	direct() // warm the page cache
	api()    // and the hash cache
	plain()
	const rounds = 8
	var dDirect, dAPI, dPlain time.Duration
	timed := func(f func(), d *time.Duration) {
		t0 := time.Now()
		f()
		*d += time.Since(t0)
	}
	b.ResetTimer()
	for range b.N {
		for range rounds {
			timed(direct, &dDirect)
			timed(api, &dAPI)
			timed(plain, &dPlain)
		}
	}
	mb := float64(size) * rounds * float64(b.N) / (1 << 20)
	b.ReportMetric(mb/dDirect.Seconds(), "direct_MiB/s")
	b.ReportMetric(mb/dPlain.Seconds(), "nethttp_MiB/s")
	b.ReportMetric(mb/dAPI.Seconds(), "api_MiB/s")
	b.ReportMetric(dDirect.Seconds()/dAPI.Seconds(), "ratio")
	b.ReportMetric(dPlain.Seconds()/dAPI.Seconds(), "ratio_vs_nethttp")
}
