package waves

import (
	"bufio"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/workspace"
)

// BenchmarkHugeVCD measures the targets on a VCD of about 1 GiB
// (WAVES_BENCH_MB overrides the size) from a Verilator simulation of
// testdata/bench.sv: 64 LFSR lanes that change every cycle.
func BenchmarkHugeVCD(b *testing.B) {
	mb := 1024
	if v, err := strconv.Atoi(os.Getenv("WAVES_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	dir := b.TempDir()
	src, _ := filepath.Abs("testdata/bench.sv")
	start := time.Now()
	runTool(b, dir, "verilator", "--binary", "--trace", "-j", "2", "--top-module", "bench", src, "-Mdir", "obj")
	b.Logf("verilator build: %v", time.Since(start).Round(time.Millisecond))
	// 10,000 cycles make about 14.6 MB.
	cycles := int64(mb) << 20 / 1460
	start = time.Now()
	runTool(b, dir, filepath.Join(dir, "obj", "Vbench"), fmt.Sprintf("+cycles=%d", cycles))
	vcd := filepath.Join(dir, "bench.vcd")
	fi, err := os.Stat(vcd)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("simulation: %d cycles, %d MiB VCD in %v", cycles, fi.Size()>>20, time.Since(start).Round(time.Millisecond))
	b.ReportMetric(float64(fi.Size())/(1<<20), "vcd_MiB")

	start = time.Now()
	runTool(b, dir, "vcd2fst", vcd, filepath.Join(dir, "bench.fst"))
	fstTime := time.Since(start)
	os.Remove(filepath.Join(dir, "bench.fst"))

	ws, err := workspace.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	cache := b.TempDir()
	log := slog.New(slog.DiscardHandler)
	s, _ := New(Options{Workspace: ws, CacheDir: cache, Logger: log})
	b.ResetTimer()
	start = time.Now()
	d, err := s.Open("bench.vcd")
	if err != nil {
		b.Fatal(err)
	}
	<-d.Done()
	indexTime := time.Since(start)
	if st := d.Status(); st.State != StateReady {
		b.Fatalf("index: %+v", st)
	}
	peak := procStatusKB("VmHWM")
	s.Close()
	b.Logf("index %v, vcd2fst %v", indexTime.Round(time.Millisecond), fstTime.Round(time.Millisecond))
	b.ReportMetric(indexTime.Seconds(), "index_s")
	b.ReportMetric(fstTime.Seconds(), "vcd2fst_s")
	b.ReportMetric(indexTime.Seconds()/fstTime.Seconds(), "index/vcd2fst")

	// Open again once indexed: a new service finds the index on disk.
	s, _ = New(Options{Workspace: ws, CacheDir: cache, Logger: log})
	defer s.Close()
	start = time.Now()
	d, err = s.Open("bench.vcd")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Scopes(); err != nil {
		b.Fatal(err)
	}
	st := d.Status()
	hits, _ := d.Search("lfsr", 20)
	ids := make([]int, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	// 50,000 cycles (100,000 time units) of 20 lanes: a million changes.
	span := uint64(100000)
	first, err := d.Window(ids, st.Start, st.Start+span, 1920)
	if err != nil {
		b.Fatal(err)
	}
	_ = first.AppendJSON(nil)
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "first_window_ms")

	var lat []time.Duration
	inView := 0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		t0 := st.Start + rng.Uint64N(st.End-st.Start-span)
		q := time.Now()
		w, err := d.Window(ids, t0, t0+span, 1920)
		if err != nil {
			b.Fatal(err)
		}
		_ = w.AppendJSON(nil)
		lat = append(lat, time.Since(q))
		if i == 0 {
			inView = changesIn(b, s, d, ids, t0, t0+span)
		}
	}
	slices.Sort(lat)
	b.Logf("window: %d signals, %d changes in view, p50 %v p99 %v", len(ids), inView, lat[len(lat)/2], lat[len(lat)*99/100])
	b.ReportMetric(float64(inView), "changes_in_view")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "window_p99_ms")
	b.ReportMetric(float64(procStatusKB("VmRSS"))/1024, "rss_serving_MB")
	b.ReportMetric(float64(peak)/1024, "rss_peak_indexing_MB")
}

// changesIn counts the changes in a window with one pixel per time unit.
func changesIn(b *testing.B, s *Service, d *Dump, ids []int, t0, t1 uint64) int {
	n := 0
	for t := t0; t < t1; t += MaxPixels {
		e := min(t+MaxPixels, t1)
		w, err := d.Window(ids, t, e, int(e-t))
		if err != nil {
			b.Fatal(err)
		}
		for _, sw := range w.Signals {
			n += len(sw.Changes)
		}
	}
	return n
}

// procStatusKB reads a field of /proc/self/status, in kB.
func procStatusKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}
