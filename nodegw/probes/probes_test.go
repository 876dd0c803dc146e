package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	osexec "os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

func TestLogRingBounds(t *testing.T) {
	t.Run("lines", func(t *testing.T) {
		r := NewLogRing(3, 1<<20)
		for i := range 10 {
			fmt.Fprintf(r, "line %d\n", i)
		}
		if got := r.Lines(); strings.Join(got, ",") != "line 7,line 8,line 9" {
			t.Fatalf("lines = %q", got)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		r := NewLogRing(100, 20)
		for i := range 10 {
			fmt.Fprintf(r, "%08d\n", i) // 8 bytes a line, kept without its newline
		}
		got := r.Lines()
		if strings.Join(got, ",") != "00000008,00000009" {
			t.Fatalf("lines = %q", got)
		}
	})
	t.Run("partial lines wait for their newline", func(t *testing.T) {
		r := NewLogRing(10, 1<<20)
		r.Write([]byte("a"))
		r.Write([]byte("b\nc"))
		if got := r.Lines(); len(got) != 1 || got[0] != "ab" {
			t.Fatalf("lines = %q", got)
		}
		r.Write([]byte("d\n\n"))
		if got := r.Lines(); strings.Join(got, "|") != "ab|cd|" {
			t.Fatalf("lines = %q", got)
		}
	})
	t.Run("a huge line is cut, in one write or many", func(t *testing.T) {
		r := NewLogRing(10, 1<<20)
		r.Write([]byte(strings.Repeat("x", 100_000) + "\n"))
		for range 100 {
			r.Write([]byte(strings.Repeat("y", 1000)))
		}
		r.Write([]byte("\n"))
		got := r.Lines()
		if len(got) != 2 {
			t.Fatalf("%d lines", len(got))
		}
		for _, l := range got {
			if len(l) != maxLogLine+len(cutMarker) || !strings.HasSuffix(l, cutMarker) {
				t.Fatalf("line of %d bytes, suffix %q", len(l), l[len(l)-20:])
			}
		}
	})
	t.Run("memory stays bounded", func(t *testing.T) {
		r := NewLogRing(50, 4096)
		for i := range 100_000 {
			fmt.Fprintf(r, "entry %d %s\n", i, strings.Repeat("z", i%300))
		}
		got := r.Lines()
		total := 0
		for _, l := range got {
			total += len(l)
		}
		if len(got) > 50 || total > 4096 || !strings.HasPrefix(got[len(got)-1], "entry 99999 ") {
			t.Fatalf("%d lines, %d bytes, last %q", len(got), total, got[len(got)-1])
		}
	})
	t.Run("tail keeps the newest lines", func(t *testing.T) {
		r := NewLogRing(0, 0)
		for i := range 10 {
			fmt.Fprintf(r, "l%d\n", i)
		}
		s, cut := r.Tail(9)
		if s != "l7\nl8\nl9\n" || !cut {
			t.Fatalf("tail = %q %v", s, cut)
		}
		if s, cut := r.Tail(1 << 20); !strings.HasPrefix(s, "l0\n") || cut {
			t.Fatalf("tail = %q %v", s, cut)
		}
	})
}

func command(t *testing.T, name string, args any) *fleetproto.Command {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return &fleetproto.Command{ID: 1, Name: name, Args: b}
}

// result decodes a handler's answer: result(t)(p.Probe(...)).
func result(t *testing.T) func([]byte, error) fleetproto.HostProbeResult {
	return func(b []byte, err error) fleetproto.HostProbeResult {
		t.Helper()
		return decodeResult(t, b, err)
	}
}

func decodeResult(t *testing.T, b []byte, err error) fleetproto.HostProbeResult {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > fleetproto.MaxFrame-1024 {
		t.Fatalf("result of %d bytes would not fit a control frame", len(b))
	}
	var r fleetproto.HostProbeResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProbeArguments(t *testing.T) {
	p := New(Options{})
	ctx := testenv.Context(t, testenv.WaitShort)
	for _, tc := range []struct{ args, want string }{
		{`{"probe":"nope"}`, "want one of uptime, disk, docker, logs"},
		{`{"probe":"uptime","extra":1}`, "unknown field"},
		{`{"probe":"uptime"} {}`, "trailing data"},
		{``, "missing arguments"},
		{`[]`, "arguments"},
	} {
		_, err := p.Probe(ctx, &fleetproto.Command{Name: fleetproto.CommandHostProbe, Args: json.RawMessage(tc.args)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("args %s: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	r := result(t)(p.Probe(ctx, command(t, fleetproto.CommandHostProbe, fleetproto.HostProbeArgs{Probe: "docker"})))
	if !strings.Contains(r.Output, "dockerd is not used") {
		t.Fatalf("docker without a client: %q", r.Output)
	}
	r = result(t)(p.Probe(ctx, command(t, fleetproto.CommandHostProbe, fleetproto.HostProbeArgs{Probe: "logs"})))
	if !strings.Contains(r.Output, "keeps no log lines") {
		t.Fatalf("logs without a ring: %q", r.Output)
	}
	r = result(t)(New(Options{DiskPaths: []string{"/", "/does/not/exist"}}).Probe(ctx, command(t, fleetproto.CommandHostProbe, fleetproto.HostProbeArgs{Probe: "disk"})))
	if r.ExitCode != 1 || !strings.Contains(r.Output, "/does/not/exist") || !strings.Contains(r.Output, "no such file") {
		t.Fatalf("disk with a missing path: %+v", r)
	}
}

// The logs probe answers within a control frame however the log lines
// escape in JSON, keeping the newest.
func TestLogsProbeFitsFrame(t *testing.T) {
	ring := NewLogRing(0, 0)
	for i := range 3000 {
		fmt.Fprintf(ring, "{\"msg\":\"<&>\x01\x02 %d\"}\n", i)
	}
	r := result(t)(New(Options{Logs: ring}).Probe(context.Background(), command(t, fleetproto.CommandHostProbe, fleetproto.HostProbeArgs{Probe: "logs"})))
	if !r.Truncated || !strings.HasSuffix(r.Output, " 2999\"}\n") {
		t.Fatalf("truncated %v, output ends %q", r.Truncated, r.Output[max(0, len(r.Output)-40):])
	}
}

func TestExecRefusedUnlessAllowed(t *testing.T) {
	p := New(Options{})
	_, err := p.Exec(context.Background(), command(t, fleetproto.CommandHostExec, fleetproto.HostExecArgs{Argv: []string{"true"}, TimeoutMS: 1000}))
	if err == nil || !strings.HasPrefix(err.Error(), ExecRefused) || !strings.Contains(err.Error(), "--allow-exec") {
		t.Fatalf("err = %v", err)
	}
}

func TestExecLimits(t *testing.T) {
	p := New(Options{AllowExec: true})
	ctx := testenv.Context(t, testenv.WaitLong)
	exec := func(timeoutMS int64, argv ...string) fleetproto.HostProbeResult {
		t.Helper()
		return result(t)(p.Exec(ctx, command(t, fleetproto.CommandHostExec, fleetproto.HostExecArgs{Argv: argv, TimeoutMS: timeoutMS})))
	}

	t.Run("output and exit code, both streams", func(t *testing.T) {
		r := exec(5000, "sh", "-c", "echo out; echo err >&2; exit 3")
		if r.Output != "out\nerr\n" || r.ExitCode != 3 || r.TimedOut || r.Truncated {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("timeout kills the whole group", func(t *testing.T) {
		start := time.Now()
		r := exec(500, "sh", "-c", "sleep 30 & echo $!; wait")
		if !r.TimedOut || r.ExitCode != 137 || time.Since(start) > 10*time.Second {
			t.Fatalf("%+v after %v", r, time.Since(start))
		}
		pid, err := strconv.Atoi(strings.TrimSpace(r.Output))
		if err != nil {
			t.Fatalf("output %q", r.Output)
		}
		assertGone(t, pid)
	})
	t.Run("what the command leaves behind is killed", func(t *testing.T) {
		r := exec(5000, "sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!")
		if r.TimedOut || r.ExitCode != 0 {
			t.Fatalf("%+v", r)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(r.Output))
		assertGone(t, pid)
	})
	t.Run("output over the cap is truncated", func(t *testing.T) {
		r := exec(10000, "head", "-c", "1000000", "/dev/zero")
		if !r.Truncated || r.ExitCode != 0 {
			t.Fatalf("truncated %v exit %d", r.Truncated, r.ExitCode)
		}
		// NUL bytes escape to six bytes each: the output is cut further
		// so the answer still fits a control frame.
		if len(r.Output) == 0 || len(r.Output) > fleetproto.MaxProbeOutput {
			t.Fatalf("%d bytes of output", len(r.Output))
		}
		r = exec(10000, "sh", "-c", "yes abcdefg | head -c 100000")
		if !r.Truncated || len(r.Output) != fleetproto.MaxProbeOutput || !strings.HasPrefix(r.Output, "abcdefg\n") {
			t.Fatalf("truncated %v, %d bytes", r.Truncated, len(r.Output))
		}
	})
	t.Run("environment is PATH only, stdin is empty", func(t *testing.T) {
		t.Setenv("NODEGW_TOKEN", "gwn_secret_must_not_leak")
		t.Setenv("PROBES_CANARY", "canary-value")
		r := exec(5000, "env")
		if r.Output != "PATH="+ExecPath+"\n" {
			t.Fatalf("env = %q", r.Output)
		}
		r = exec(5000, "sh", "-c", "cat; echo end; pwd")
		if r.Output != "end\n/\n" || r.ExitCode != 0 {
			t.Fatalf("stdin/pwd: %+v", r)
		}
	})
	t.Run("no shell, and commands that cannot start", func(t *testing.T) {
		r := exec(5000, "echo", "$HOME", ";", "id")
		if r.Output != "$HOME ; id\n" {
			t.Fatalf("%q", r.Output)
		}
		if r := exec(5000, "no-such-command-xyz"); r.ExitCode != 127 || !strings.Contains(r.Output, "not found") {
			t.Fatalf("%+v", r)
		}
		if r := exec(5000, "./relative"); r.ExitCode != 127 || !strings.Contains(r.Output, "absolute") {
			t.Fatalf("%+v", r)
		}
		if r := exec(5000, "/etc/hostname"); r.ExitCode != 126 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("arguments are checked", func(t *testing.T) {
		for _, a := range []fleetproto.HostExecArgs{
			{Argv: []string{"true"}, TimeoutMS: fleetproto.MaxExecTimeoutMS + 1},
			{Argv: []string{"true"}},
			{Argv: nil, TimeoutMS: 1000},
		} {
			if _, err := p.Exec(ctx, command(t, fleetproto.CommandHostExec, a)); err == nil || !strings.Contains(err.Error(), "host.exec") {
				t.Errorf("%+v: err = %v", a, err)
			}
		}
		if _, err := p.Exec(ctx, &fleetproto.Command{Args: json.RawMessage(`{"argv":["true"],"timeout_ms":100,"shell":true}`)}); err == nil ||
			!strings.Contains(err.Error(), "unknown field") {
			t.Errorf("unknown field: %v", err)
		}
	})
	t.Run("concurrent execs are bounded", func(t *testing.T) {
		p := New(Options{AllowExec: true, MaxConcurrentExec: 1})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = p.Exec(ctx, command(t, fleetproto.CommandHostExec, fleetproto.HostExecArgs{Argv: []string{"sleep", "1"}, TimeoutMS: 5000}))
		}()
		deadline := time.Now().Add(testenv.WaitShort)
		for len(p.sem) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := p.Exec(ctx, command(t, fleetproto.CommandHostExec, fleetproto.HostExecArgs{Argv: []string{"true"}, TimeoutMS: 1000})); err == nil ||
			!strings.Contains(err.Error(), "already running") {
			t.Errorf("second exec: %v", err)
		}
		<-done
	})
}

// assertGone checks that pid no longer runs (a zombie waiting for a
// reaper that is not us counts as gone: it runs nothing).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitShort)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && len(b) > i+2 && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs: %s", pid, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFitJSON(t *testing.T) {
	for _, s := range []string{strings.Repeat("\x00", 40000), strings.Repeat("é<\"\n", 20000), strings.Repeat("\xff", 40000)} {
		got, cut := fitJSON(s, 1000, false)
		b, _ := json.Marshal(got)
		if !cut || len(b) > 1002 || len(b) < 990 {
			t.Errorf("prefix of %q…: %d encoded bytes, cut %v", s[:4], len(b), cut)
		}
		got, _ = fitJSON(s, 1000, true)
		if b, _ := json.Marshal(got); len(b) > 1002 || !strings.HasSuffix(s, got) {
			t.Errorf("suffix: %d encoded bytes", len(b))
		}
	}
	if got, cut := fitJSON("short", 1000, false); got != "short" || cut {
		t.Errorf("%q %v", got, cut)
	}
}

// Every probe answers from the real machine: /proc, statfs, dockerd.
func TestProbesAnswer(t *testing.T) {
	docker := testenv.Docker(t)
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	ctx := testenv.Context(t, testenv.WaitShort)
	ver, err := osexec.CommandContext(ctx, docker, "version", "--format", "{{.Server.Version}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	ring := NewLogRing(0, 0)
	log := slog.New(slog.NewJSONHandler(ring, nil))
	p := New(Options{Docker: dc, DiskPaths: []string{"/", t.TempDir()}, Logs: ring, Logger: log})
	probe := func(name string) fleetproto.HostProbeResult {
		t.Helper()
		r := result(t)(p.Probe(ctx, command(t, fleetproto.CommandHostProbe, fleetproto.HostProbeArgs{Probe: name})))
		if r.ExitCode != 0 || r.Truncated || r.TimedOut {
			t.Fatalf("%s: %+v", name, r)
		}
		t.Logf("%s:\n%s", name, r.Output)
		return r
	}
	if r := probe("uptime"); !regexp.MustCompile(`^up \d+d \d+h \d+m \(\d+ s\)\nload average: [\d.]+ [\d.]+ [\d.]+ \(1, 5, 15 min\)\nprocesses: \d+ running, \d+ total\n$`).MatchString(r.Output) {
		t.Errorf("uptime: %q", r.Output)
	}
	if r := probe("disk"); !regexp.MustCompile(`(?m)^/ +[\d.]+ GiB +[\d.]+ GiB +[\d.]+%$`).MatchString(r.Output) || strings.Count(r.Output, "\n") != 3 {
		t.Errorf("disk: %q", r.Output)
	}
	r := probe("docker")
	if !strings.Contains(r.Output, "server version: "+strings.TrimSpace(string(ver))+"\n") ||
		!regexp.MustCompile(`containers: \d+ running, \d+ total`).MatchString(r.Output) ||
		!regexp.MustCompile(`storage driver: \S+\ncgroup driver: \S+ \(cgroup v\d\)`).MatchString(r.Output) {
		t.Errorf("docker: %q", r.Output)
	}
	// The probes above were logged into the ring: the logs probe shows them.
	r = probe("logs")
	if !strings.Contains(r.Output, `"msg":"host probe","probe":"docker"`) {
		t.Errorf("logs: %q", r.Output)
	}
}
