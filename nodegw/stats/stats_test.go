package stats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"gatewave.dev/nodegw/stats"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// The machine's figures come from /proc: the second sample has a CPU
// figure within the machine's cores and memory within its total.
func TestSampleNode(t *testing.T) {
	s := stats.New(stats.Options{})
	ctx := testenv.Context(t, testenv.WaitShort)
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // CPU time must pass between two samples
	st, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := st.Node
	if n.CPULimit < 1 || n.CPUCores < 0 || n.CPUCores > n.CPULimit || n.MemoryLimitBytes == 0 || n.MemoryBytes == 0 || n.MemoryBytes > n.MemoryLimitBytes {
		t.Fatalf("node: %+v", n)
	}
}

// Odd /proc files are errors, not figures.
func TestSampleNodeRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte("intr 1 2 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meminfo"), []byte("MemTotal: lots kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := stats.New(stats.Options{Proc: dir}).Sample(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cpu times") || !strings.Contains(err.Error(), "MemTotal") {
		t.Fatalf("err = %v", err)
	}
}

// A labelled container on a real dockerd is sampled with its limits and
// the CPU it burns; one without the label is not the gateway's and is
// left out. Every report decodes as the cloud decodes it.
func TestSampleContainers(t *testing.T) {
	docker := testenv.Docker(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	var b [4]byte
	_, _ = rand.Read(b[:])
	pool := "gw-stats-" + hex.EncodeToString(b[:])
	run := func(label string) string {
		args := []string{"run", "-d", "--network", "none", "--cpus", "1", "--memory", "64m", "--entrypoint", "/bin/busybox"}
		if label != "" {
			args = append(args, "--label", label)
		}
		args = append(args, "--name", pool+"-"+hex.EncodeToString(b[:2])+"-"+map[bool]string{true: "mine", false: "other"}[label != ""],
			"gatewave/sessiond-scratch", "sh", "-c", "while :; do :; done")
		out, err := exec.CommandContext(ctx, docker, args...).CombinedOutput()
		if err != nil {
			testenv.Missing(t, "the gatewave/sessiond-scratch image", "images/build.sh scratch: "+err.Error()+" "+string(out))
		}
		id := strings.TrimSpace(string(out))
		t.Cleanup(func() { _ = exec.Command(docker, "rm", "-f", id).Run() })
		return id
	}
	mine := run("dev.gatewave.pool=" + pool)
	other := run("")
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	s := stats.New(stats.Options{Docker: dc, Labels: map[string]string{"dev.gatewave.pool=" + pool: fleetproto.StatsSession}})
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	st, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Containers) != 1 {
		t.Fatalf("containers: %+v", st.Containers)
	}
	c := st.Containers[0]
	if c.ID != mine || c.ID == other || c.Kind != fleetproto.StatsSession || !strings.HasPrefix(c.Name, pool) {
		t.Fatalf("container: %+v", c)
	}
	if c.CPULimit != 1 || c.MemoryLimitBytes != 64<<20 || c.MemoryBytes == 0 || c.MemoryBytes > c.MemoryLimitBytes {
		t.Fatalf("limits and memory: %+v", c.Usage)
	}
	// A busy loop burns CPU; how much depends on the machine's load.
	if c.CPUCores <= 0 || c.CPUCores > 1 {
		t.Fatalf("cpu of a busy loop: %v", c.CPUCores)
	}
	b2, err := fleetproto.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fleetproto.Decode(b2); err != nil {
		t.Fatalf("the cloud would refuse the report: %v", err)
	}
}

func TestMemoryInUseAndCores(t *testing.T) {
	if got := stats.MemoryInUse(container.MemoryStats{Usage: 100, Stats: map[string]uint64{"inactive_file": 30}}); got != 70 {
		t.Errorf("v2: %d", got)
	}
	if got := stats.MemoryInUse(container.MemoryStats{Usage: 100, Stats: map[string]uint64{"total_inactive_file": 130}}); got != 100 {
		t.Errorf("cache over usage: %d", got)
	}
	if got := stats.CoresAllowed(container.Resources{CPUQuota: 150000, CPUPeriod: 100000}); got != 1.5 {
		t.Errorf("quota: %v", got)
	}
	if got := stats.CoresAllowed(container.Resources{}); got != 0 {
		t.Errorf("unlimited: %v", got)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"gw-1":                  "gw-1",
		"a\x00b\nc":             "a?b?c",
		`<x>"&\`:                "?x????",
		"\xff\xfeok":            "??ok",
		strings.Repeat("é", 70): strings.Repeat("é", 64),
	} {
		if got := stats.Printable(in, 128); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
