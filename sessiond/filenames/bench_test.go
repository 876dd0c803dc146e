package filenames

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// The quick-open target (issue 15): first results in < 50 ms on a
// 100,000-file tree. The tree is built once per run: 20 top-level
// directories x 10 x 10 = 2,000 leaf directories of 50 files, with names
// made of a few common words so that queries match many paths.
var (
	bigOnce sync.Once
	bigDir  string
	bigErr  error
)

const bigFiles = 100_000

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

var words = []string{"alu", "fifo", "uart", "spi", "ctrl", "core", "top", "bus", "mem", "dma", "pll", "timer", "irq", "regs", "axi", "cache", "decode", "fetch", "pipe", "util"}
var exts = []string{".v", ".sv", ".vhd", ".ts", ".go", ".md", ".json", ".c", ".h", ".py"}

func bigTree(b *testing.B) string {
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "filenames-bench-")
		if bigErr != nil {
			return
		}
		n := 0
		for a := range 20 {
			for c := range 10 {
				for d := range 10 {
					dir := filepath.Join(bigDir, fmt.Sprintf("%s_%d", words[a], a), fmt.Sprintf("%s%d", words[(a+c)%20], c), fmt.Sprintf("%sBlock%d", words[(a+c+d)%20], d))
					if bigErr = os.MkdirAll(dir, 0o755); bigErr != nil {
						return
					}
					for f := range 50 {
						name := fmt.Sprintf("%s_%s%d%s", words[(f+a)%20], words[(f*7+d)%20], f, exts[(f+c)%10])
						if bigErr = os.WriteFile(filepath.Join(dir, name), nil, 0o644); bigErr != nil {
							return
						}
						n++
					}
				}
			}
		}
		if n != bigFiles {
			bigErr = fmt.Errorf("built %d files, want %d", n, bigFiles)
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigDir
}

// BenchmarkBuild reports the time to index the 100k-file tree.
func BenchmarkBuild(b *testing.B) {
	dir := bigTree(b)
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	b.ResetTimer()
	for b.Loop() {
		x, err := Build(root, BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if x.Len() != bigFiles {
			b.Fatalf("indexed %d files", x.Len())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "build-ms")
}

// BenchmarkQuery types queries one character at a time, as a user does,
// and reports the latency of each answer (50 results) as p50 and p99.
func BenchmarkQuery(b *testing.B) {
	dir := bigTree(b)
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	x, err := Build(root, BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var queries []string
	for _, full := range []string{"uartfifo", "alu_core.v", "ctrl/dma", "fetchBlock3", "zzz", "pipetimer17sv", "a"} {
		for i := 1; i <= len(full); i++ {
			queries = append(queries, full[:i])
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, q := range queries {
			t0 := time.Now()
			res, _ := x.Query(q, 50)
			lat = append(lat, time.Since(t0))
			if q == "a" && len(res) != 50 {
				b.Fatalf("Query(a): %d results", len(res))
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(x.Len()), "files")
}
