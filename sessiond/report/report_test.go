package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatewave.dev/shared/testenv"
)

func needTools(t testing.TB) {
	for _, tool := range []string{"make", "yosys", "nextpnr-ice40", "icepack"} {
		testenv.LookPath(t, tool)
	}
}

// copyBlinky copies the sample project into a fresh directory.
func copyBlinky(t testing.TB) string {
	dir := t.TempDir()
	for _, f := range []string{"Makefile", "blinky.v", "icestick.pcf"} {
		b, err := os.ReadFile(filepath.Join("../../examples/blinky", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustMake(t testing.TB, dir string, args ...string) string {
	cmd := exec.Command("make", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func sampleOptions(dir string) Options {
	return Options{Root: dir, Dir: dir, NextpnrReport: "build/report.json", Netlist: "build/blinky.json", Stat: "build/stat.json", Device: "hx1k", Package: "tq144"}
}

var lcLine = regexp.MustCompile(`ICESTORM_LC:\s+(\d+)/\s*(\d+)`)

func TestSampleReport(t *testing.T) {
	needTools(t)
	dir := copyBlinky(t)
	log := mustMake(t, dir)
	r, err := Build(sampleOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	m := lcLine.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("nextpnr printed no LC utilisation:\n%s", log)
	}
	used, _ := strconv.Atoi(m[1])
	avail, _ := strconv.Atoi(m[2])
	if len(r.Utilization) == 0 || r.Utilization[0].Resource != "LC" || r.Utilization[0].Used != used || r.Utilization[0].Available != avail || r.Utilization[0].Delta != nil {
		t.Errorf("utilization = %+v, want LC %d/%d first and no delta", r.Utilization, used, avail)
	}
	names := map[string]Resource{}
	for _, u := range r.Utilization {
		names[u.Resource] = u
	}
	for _, want := range []string{"BRAM", "IO", "PLL", "GB"} {
		if _, ok := names[want]; !ok {
			t.Errorf("no %s in %+v", want, r.Utilization)
		}
	}
	if names["IO"].Used != 6 || names["GB"].Used != 1 {
		t.Errorf("IO %+v GB %+v, want 6 IOs (clk + 5 LEDs) and the clock's global buffer", names["IO"], names["GB"])
	}
	if len(r.Clocks) != 1 || r.Clocks[0].ConstraintMHz != 12 || !r.Clocks[0].Pass || r.Clocks[0].FmaxMHz < 12 {
		t.Errorf("clocks = %+v, want one passing at 12 MHz", r.Clocks)
	}
	// The Fmax the log prints last is the report's.
	fm := regexp.MustCompile(`Max frequency for clock '[^']+': ([0-9.]+) MHz`).FindAllStringSubmatch(log, -1)
	if want, _ := strconv.ParseFloat(fm[len(fm)-1][1], 64); len(r.Clocks) == 1 && r.Clocks[0].FmaxMHz-want > 0.01 || len(r.Clocks) == 1 && want-r.Clocks[0].FmaxMHz > 0.01 {
		t.Errorf("fmax %v, log says %v", r.Clocks[0].FmaxMHz, want)
	}
	if len(r.CriticalPaths) == 0 || len(r.CriticalPaths[0].Steps) == 0 || r.CriticalPaths[0].DelayNs <= 0 {
		t.Fatalf("critical paths = %+v", r.CriticalPaths)
	}
	// The counter's carry chain is blinky.v line 9; library files are left out.
	found := false
	for _, s := range r.CriticalPaths[0].Steps {
		for _, l := range s.Src {
			if l.File != "blinky.v" {
				t.Errorf("location outside the workspace kept: %+v", l)
			}
			found = found || l.Line == 9
		}
	}
	if !found {
		t.Errorf("no step of the critical path points at blinky.v:9: %+v", r.CriticalPaths[0].Steps)
	}
	if r.Synthesis == nil || r.Synthesis.Cells == 0 || r.Synthesis.CellsByType["SB_LUT4"] == 0 {
		t.Errorf("synthesis = %+v", r.Synthesis)
	}

	// A wider counter costs LCs: the next report says how many.
	src := filepath.Join(dir, "blinky.v")
	v, _ := os.ReadFile(src)
	os.WriteFile(src, []byte(strings.Replace(string(v), "reg [23:0] counter", "reg [27:0] counter", 1)), 0o644)
	time.Sleep(10 * time.Millisecond)
	log2 := mustMake(t, dir)
	r2, err := Build(sampleOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	m2 := lcLine.FindStringSubmatch(log2)
	used2, _ := strconv.Atoi(m2[1])
	lc := r2.Utilization[0]
	if lc.Used != used2 || lc.Delta == nil || *lc.Delta != used2-used || *lc.Delta <= 0 {
		t.Errorf("after widening: LC %+v (delta %v), want %d used, delta %d", lc, lc.Delta, used2, used2-used)
	}
	if r2.PreviousAt == nil || r2.Clocks[0].DeltaMHz == nil || r2.Synthesis.Delta == nil || *r2.Synthesis.Delta <= 0 {
		t.Errorf("second report lacks deltas: %+v", r2)
	}
}

func TestMissingReport(t *testing.T) {
	if _, err := Build(Options{Dir: t.TempDir(), NextpnrReport: "nope.json"}); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("err = %v, want one naming the file", err)
	}
	if _, err := Build(Options{}); err == nil {
		t.Error("no report path: want an error")
	}
}

func TestLocations(t *testing.T) {
	o := Options{Root: "/w", Dir: "/w/hw"}
	got := o.locations(map[string]any{"src": "blinky.v:9.20-9.31|/usr/bin/../share/yosys/ice40/arith_map.v:51.21-51.22|blinky.v:9.20-9.31|bad"})
	if len(got) != 1 || got[0] != (Location{File: "hw/blinky.v", Line: 9, Column: 20}) {
		t.Errorf("locations = %+v", got)
	}
}

// BenchmarkSampleBuild builds the sample with the report (make writing
// nextpnr's report and yosys' stat, then Build) and without it (make
// REPORT=), alternating, from clean, in the same run. ratio is the fastest
// build with over the fastest without (target ≤ 1.05): the fastest of
// several is what the work costs, the others also measure what else the
// machine was doing.
func BenchmarkSampleBuild(b *testing.B) {
	needTools(b)
	with, without := copyBlinky(b), copyBlinky(b)
	var bestWith, bestWithout time.Duration
	best := func(d *time.Duration, t time.Duration) {
		if *d == 0 || t < *d {
			*d = t
		}
	}
	runWith := func() {
		os.RemoveAll(filepath.Join(with, "build"))
		t0 := time.Now()
		mustMake(b, with)
		if _, err := Build(sampleOptions(with)); err != nil {
			b.Fatal(err)
		}
		best(&bestWith, time.Since(t0))
	}
	runWithout := func() {
		os.RemoveAll(filepath.Join(without, "build"))
		t0 := time.Now()
		mustMake(b, without, "REPORT=")
		best(&bestWithout, time.Since(t0))
	}
	const rounds = 6
	b.ResetTimer()
	for range b.N {
		for i := range rounds {
			if i%2 == 0 {
				runWith()
				runWithout()
			} else {
				runWithout()
				runWith()
			}
		}
	}
	b.ReportMetric(bestWith.Seconds(), "with_s")
	b.ReportMetric(bestWithout.Seconds(), "without_s")
	b.ReportMetric(bestWith.Seconds()/bestWithout.Seconds(), "ratio")
}
