package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// benchPayload is the artifact the bench uploads: 64 MiB of random bytes
// (incompressible, as a bitstream or a log archive is).
const benchPayload = 64 << 20

// BenchmarkArtifactUpload uploads the same payload through a presigned PUT
// URL with plain net/http (how a node pushes an artifact) and directly with
// the store's client (Store.Put, minio-go with the credentials), rounds
// alternating so both see the same machine, and reports the MB/s of each
// and presigned/direct throughput as "presigned_vs_direct_ratio" (issue
// 16's target: ≥ 0.9).
func BenchmarkArtifactUpload(b *testing.B) {
	s, _, taskID := newStore(b)
	data := make([]byte, benchPayload)
	rand.Read(data)
	id := taskID()
	presignedKey := mustKey(b)(TaskArtifactKey(id, 1, "presigned.bin"))
	directKey := mustKey(b)(TaskArtifactKey(id, 1, "direct.bin"))
	ctx := context.Background()
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

	presigned := func() time.Duration {
		u, err := s.PresignPut(ctx, presignedKey, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("presigned PUT: %d %s", resp.StatusCode, body)
		}
		return d
	}
	direct := func() time.Duration {
		start := time.Now()
		if err := s.Put(ctx, directKey, bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}

	// One untimed upload each warms the connections and the file system.
	presigned()
	direct()
	const rounds = 5
	var tp, td []time.Duration
	b.ResetTimer()
	for i := range rounds {
		if i%2 == 0 {
			tp, td = append(tp, presigned()), append(td, direct())
		} else {
			td, tp = append(td, direct()), append(tp, presigned())
		}
	}
	b.StopTimer()
	for _, k := range []string{presignedKey, directKey} {
		if n, err := s.Stat(ctx, k); err != nil || n != benchPayload {
			b.Fatalf("Stat(%s) = %d, %v; want %d", k, n, err, benchPayload)
		}
	}
	// Medians, so one upload slowed by a neighbour on the shared machine
	// does not decide the ratio.
	mbps := func(ds []time.Duration) float64 {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return float64(benchPayload) / (1 << 20) / ds[len(ds)/2].Seconds()
	}
	p, d := mbps(tp), mbps(td)
	b.ReportMetric(p, "presigned_MB/s")
	b.ReportMetric(d, "direct_MB/s")
	b.ReportMetric(p/d, "presigned_vs_direct_ratio")
}
