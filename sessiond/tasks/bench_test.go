package tasks_test

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/shared/testenv"
)

// stamper prints its wall clock in microseconds, once every 5 ms.
var stamper = []string{"bash", "-c", `for i in $(seq 1 200); do echo "t=${EPOCHREALTIME/./}"; sleep 0.005; done`}

// latencies turns "t=<µs>" lines received at the given times into delays.
type latencies struct {
	partial string
	ms      []float64
}

func (l *latencies) feed(data string, at time.Time) {
	l.partial += data
	for {
		line, rest, ok := strings.Cut(l.partial, "\n")
		if !ok {
			return
		}
		l.partial = rest
		if us, err := strconv.ParseInt(strings.TrimPrefix(line, "t="), 10, 64); err == nil {
			l.ms = append(l.ms, float64(at.UnixMicro()-us)/1000)
		}
	}
}

func pct(v []float64, p float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

// BenchmarkTaskOutputLatency measures how long a task's output line takes
// to reach a client of the log WebSocket, against the same program's line
// read straight from its stdout pipe, in the same run.
func BenchmarkTaskOutputLatency(b *testing.B) {
	testenv.LookPath(b, "bash")
	e := servertest.Start(b, nil)
	ctx := testenv.Context(b, testenv.WaitLong)
	var direct, api latencies
	b.ResetTimer()
	for range b.N {
		cmd := exec.CommandContext(ctx, stamper[0], stamper[1:]...)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			direct.feed(sc.Text()+"\n", time.Now())
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}

		var task servertest.Task
		if code := e.Do("POST", "api/v1/tasks", map[string]any{"command": stamper}, &task); code != http.StatusCreated {
			b.Fatalf("POST = %d", code)
		}
		e.TaskLog(ctx, task.ID, func(s string) { api.feed(s, time.Now()) })
	}
	b.StopTimer()
	if len(direct.ms) == 0 || len(api.ms) < len(direct.ms) {
		b.Fatalf("got %d direct and %d API samples", len(direct.ms), len(api.ms))
	}
	b.ReportMetric(pct(direct.ms, .5), "direct_p50_ms")
	b.ReportMetric(pct(api.ms, .5), "p50_ms")
	b.ReportMetric(pct(api.ms, .99), "p99_ms")
	b.ReportMetric(pct(api.ms, .5)-pct(direct.ms, .5), "p50_added_ms")
	b.ReportMetric(pct(api.ms, .99)-pct(direct.ms, .99), "p99_added_ms")
}

// BenchmarkBuildTask builds the sample iCE40 blinky with make directly and
// as the "build" task through the API (start to exit frame), alternating,
// from clean each time. ratio is API wall time over direct (target ≤ 1.1).
func BenchmarkBuildTask(b *testing.B) {
	for _, tool := range []string{"make", "yosys", "nextpnr-ice40", "icepack"} {
		testenv.LookPath(b, tool)
	}
	e := servertest.Start(b, nil)
	e.CopyDir("../../examples/blinky")
	plain := b.TempDir()
	if err := os.CopyFS(plain, os.DirFS("../../examples/blinky")); err != nil {
		b.Fatal(err)
	}
	ctx := testenv.Context(b, 5*time.Minute)
	clean := func(dir string) {
		if err := os.RemoveAll(dir + "/build"); err != nil {
			b.Fatal(err)
		}
	}
	var dDirect, dAPI time.Duration
	direct := func() {
		clean(plain)
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, "make")
		cmd.Dir = plain
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("make: %v\n%s", err, out)
		}
		dDirect += time.Since(t0)
	}
	api := func() {
		clean(e.Dir)
		t0 := time.Now()
		var task servertest.Task
		if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "build"}, &task); code != http.StatusCreated {
			b.Fatalf("POST build = %d", code)
		}
		if _, exit, _ := e.TaskLog(ctx, task.ID, nil); exit.State != "succeeded" {
			b.Fatalf("build task: %+v", exit)
		}
		dAPI += time.Since(t0)
	}
	// Alternate which goes first, so load from elsewhere on the machine
	// and cache warmth fall on both alike.
	const rounds = 4
	b.ResetTimer()
	for range b.N {
		for i := range rounds {
			if i%2 == 0 {
				direct()
				api()
			} else {
				api()
				direct()
			}
		}
	}
	n := float64(rounds * b.N)
	b.ReportMetric(dDirect.Seconds()/n, "direct_s")
	b.ReportMetric(dAPI.Seconds()/n, "api_s")
	b.ReportMetric(dAPI.Seconds()/dDirect.Seconds(), "ratio")
}
