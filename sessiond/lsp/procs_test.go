package lsp_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proc is one process as /proc shows it.
type proc struct {
	PID, PPID, PGID int
	State           byte // 'Z' for a zombie
	Comm            string
}

func procs(t testing.TB) []proc {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []proc
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 3 {
			continue
		}
		p := proc{Comm: s[open+1 : close], State: f[0][0]}
		p.PID, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
		p.PPID, _ = strconv.Atoi(f[1])
		p.PGID, _ = strconv.Atoi(f[2])
		out = append(out, p)
	}
	return out
}

// children lists this test process's child processes whose name starts
// with comm ("" for all), zombies included.
func children(t testing.TB, comm string) []proc {
	t.Helper()
	var out []proc
	self := os.Getpid()
	for _, p := range procs(t) {
		if p.PPID == self && strings.HasPrefix(p.Comm, comm) {
			out = append(out, p)
		}
	}
	return out
}

// inGroups lists live or zombie processes in any of the process groups.
func inGroups(t testing.TB, groups map[int]bool) []proc {
	t.Helper()
	var out []proc
	for _, p := range procs(t) {
		if groups[p.PGID] {
			out = append(out, p)
		}
	}
	return out
}

// eventually polls cond until it holds or ctx ends.
func eventually(ctx context.Context, cond func() bool) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-tick.C:
		}
	}
}

// waitChild waits for a new child named comm that is not in before.
func waitChild(t testing.TB, ctx context.Context, comm string, before []proc) proc {
	t.Helper()
	known := map[int]bool{}
	for _, p := range before {
		known[p.PID] = true
	}
	var found proc
	if !eventually(ctx, func() bool {
		for _, p := range children(t, comm) {
			if !known[p.PID] && p.State != 'Z' {
				found = p
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no new %s child process appeared", comm)
	}
	return found
}
