package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/store"
	"gatewave.dev/nodegw/gateway"
)

const childEnv = "GATEWAVE_BENCH_CLOUD_CHILD"

// TestBenchCloudChild is the cloud process of BenchmarkFleet: the bench
// re-executes the test binary with this test selected, so the cloud's CPU
// time is measured apart from the simulated gateways'. It does nothing in
// a normal run.
func TestBenchCloudChild(t *testing.T) {
	u := os.Getenv(childEnv)
	if u == "" {
		return
	}
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	c := startCloud(t, pool, "", func(o *fleet.Options) { o.MaxHandshakes = 512 })
	fmt.Printf("READY %s\n", c.addr)
	_, _ = io.Copy(io.Discard, os.Stdin) // the bench closes stdin to stop us
	c.Stop(t)
}

func raiseNoFile(b *testing.B) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		b.Fatal(err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		b.Fatal(err)
	}
	if l.Cur < 25000 {
		b.Logf("RLIMIT_NOFILE is %d; 10,000 gateways need ~20,000 descriptors", l.Cur)
	}
}

// cpuSeconds reads a process's user+system CPU time from /proc.
func cpuSeconds(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

func xactCommit(b *testing.B, pool *pgxpool.Pool) int64 {
	var n int64
	if err := pool.QueryRow(context.Background(), `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkFleet runs the cloud (as a child process) against N gateways
// simulated in this process with the real gateway code, at the real 15 s
// heartbeat, for two heartbeat rounds (30 s), and reports the cloud's CPU,
// p99 heartbeat round trip and Postgres transactions per second.
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for b.Loop() {
				benchFleet(b, n, 30*time.Second)
			}
		})
	}
}

func benchFleet(b *testing.B, n int, window time.Duration) {
	raiseNoFile(b)
	u, pool := dbtest.New(b)
	st := store.New(pool)
	ctx := context.Background()

	// Issue N node tokens in one statement-per-node transaction.
	tokens := make([]string, n)
	tx, err := pool.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		tokens[i] = fmt.Sprintf("%s%043d", store.TokenPrefix, i)
		if _, err := tx.Exec(ctx, `INSERT INTO nodes (name, token_hash) VALUES ($1, $2)`, fmt.Sprintf("sim-%05d", i), store.HashToken(tokens[i])); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	_ = st

	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchCloudChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+u)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		b.Fatal("cloud child did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	var connected atomic.Int64
	var measuring atomic.Bool
	var mu sync.Mutex
	var rtts []time.Duration
	allUp := make(chan struct{})
	gctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		g, err := gateway.New(gateway.Options{
			CloudURL: "http://" + addr, Token: tokens[i], Name: fmt.Sprintf("sim-%05d", i), Logger: logger(b),
			OnEvent: func(e gateway.Event) {
				switch e.Kind {
				case "connected":
					if connected.Add(1) == int64(n) {
						close(allUp)
					}
				case "heartbeat_ack":
					if measuring.Load() {
						mu.Lock()
						rtts = append(rtts, e.RTT)
						mu.Unlock()
					}
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = g.Run(gctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	select {
	case <-allUp:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d gateways connected", connected.Load(), n)
	}
	connectTime := time.Since(start)

	cpu0, x0, t0 := cpuSeconds(b, cmd.Process.Pid), xactCommit(b, pool), time.Now()
	measuring.Store(true)
	time.Sleep(window) // the measurement window: real 15 s heartbeats, two rounds
	measuring.Store(false)
	cpu1, x1, wall := cpuSeconds(b, cmd.Process.Pid), xactCommit(b, pool), time.Since(t0)

	mu.Lock()
	slices.Sort(rtts)
	got := len(rtts)
	var p50, p99 time.Duration
	if got > 0 {
		p50, p99 = rtts[got/2], rtts[min(got-1, got*99/100)]
	}
	mu.Unlock()
	if want := int(float64(n) * window.Seconds() / 15 * 0.9); got < want {
		b.Errorf("%d heartbeats acked in %v, want at least %d", got, wall, want)
	}
	b.ReportMetric((cpu1-cpu0)/wall.Seconds(), "cloud_cpu_cores")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_heartbeat_ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99_heartbeat_ms")
	b.ReportMetric(float64(x1-x0)/wall.Seconds(), "pg_xact/s")
	b.ReportMetric(float64(got)/wall.Seconds(), "heartbeats/s")
	b.ReportMetric(connectTime.Seconds(), "connect_all_s")
}
