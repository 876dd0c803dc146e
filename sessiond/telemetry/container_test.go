package telemetry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/telemetry"
	"gatewave.dev/shared/testenv"
)

// TestTelemetryInsideContainer runs sessiond in a real container limited to
// 2 CPUs and 256 MiB and checks that it reports the container's limits, not
// the host's, and that a busy loop inside shows up as CPU.
func TestTelemetryInsideContainer(t *testing.T) {
	docker := testenv.Docker(t)
	ctx := testenv.Context(t, 3*time.Minute)
	dir := t.TempDir()
	build := func(out, pkg string) {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	build("sessiond", "gatewave.dev/sessiond/cmd/sessiond")
	build("busy", "./testdata/busy")
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY sessiond busy /\nENTRYPOINT [\"/sessiond\"]\n"), 0o644)
	image := "gatewave/sessiond-telemetry-test:latest"
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, docker, args...)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return strings.TrimSpace(string(b))
	}
	run("build", "-q", "-t", image, dir)

	sockDir, ws := t.TempDir(), t.TempDir()
	name := fmt.Sprintf("gw-telemetry-test-%d", time.Now().UnixNano())
	run("run", "-d", "--name", name, "--cpus", "2", "--memory", "256m", "--network", "none",
		"-v", sockDir+":/run/gw", "-v", ws+":/workspace", "-e", "SESSIOND_TOKEN=tok",
		image, "serve", "--root", "/workspace", "--listen", "unix:/run/gw/sessiond.sock")
	t.Cleanup(func() { exec.Command(docker, "rm", "-f", name).Run() })

	sock := filepath.Join(sockDir, "sessiond.sock")
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	snapshot := func() telemetry.Snapshot {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://sessiond/api/v1/telemetry", nil)
		req.Header.Set("Authorization", "Bearer tok")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("telemetry over the container's socket: %v", err)
		}
		defer res.Body.Close()
		var s telemetry.Snapshot
		if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode != 200 {
			t.Fatalf("telemetry: %d %v", res.StatusCode, err)
		}
		return s
	}
	// Wait for the socket.
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sessiond never listened; logs:\n%s", run("logs", name))
		case <-time.After(50 * time.Millisecond):
		}
	}

	s := snapshot()
	if s.CPU.LimitCores != 2 {
		t.Errorf("limit_cores = %v, want 2", s.CPU.LimitCores)
	}
	if s.Memory.LimitBytes != 256<<20 {
		t.Errorf("memory limit = %d, want %d", s.Memory.LimitBytes, 256<<20)
	}
	if !strings.HasPrefix(s.Source, "cgroup") {
		t.Errorf("source = %q, want the container's cgroup", s.Source)
	}
	if s.Memory.UsedBytes <= 0 || s.Memory.UsedBytes > 256<<20 {
		t.Errorf("memory used = %d: not the container's figure", s.Memory.UsedBytes)
	}
	if s.Processes.Count > 5 {
		t.Errorf("sees %d processes: not the container's own", s.Processes.Count)
	}
	idle := s.CPU.UsedCores

	busy := exec.CommandContext(ctx, docker, "exec", name, "/busy", "6s")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer busy.Wait()
	deadline := time.Now().Add(6 * time.Second)
	for {
		time.Sleep(700 * time.Millisecond)
		s = snapshot()
		top := len(s.Processes.TopCPU) > 0 && s.Processes.TopCPU[0].Name == "busy" && s.Processes.TopCPU[0].CPUPercent > 50
		if s.CPU.UsedCores > 0.6 && s.CPU.Percent > 30 && top {
			t.Logf("idle %.2f cores, busy %.2f cores (%.0f%% of the 2-core limit)", idle, s.CPU.UsedCores, s.CPU.Percent)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("busy loop never showed up as CPU: last %+v, top %+v", s.CPU, s.Processes.TopCPU)
		}
	}
}
