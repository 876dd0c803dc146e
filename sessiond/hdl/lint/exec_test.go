//go:build linux

package lint

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecKillsProcessGroup checks that cancelling kills the tool's
// children too (a grandchild holding the output pipe would otherwise keep
// Run waiting) and that the output is capped.
func TestExecKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	res, err := execTool(ctx, "sh", []string{"-c", "sleep 30 & echo $! > " + pidFile + "; echo started; wait"}, dir, os.Environ(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("cancel took %s", time.Since(start))
	}
	if res.exitErr == nil || !strings.Contains(string(res.out), "started") {
		t.Fatalf("res = %+v", res)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}

	res, err = execTool(context.Background(), "sh", []string{"-c", "yes"}, dir, os.Environ(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !res.truncated || len(res.out) != maxOutput {
		t.Fatalf("truncated=%v len=%d", res.truncated, len(res.out))
	}

	res, err = execTool(context.Background(), "sleep", []string{"30"}, dir, os.Environ(), 100*time.Millisecond)
	if err != nil || !res.timedOut {
		t.Fatalf("timeout: %+v %v", res, err)
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}
