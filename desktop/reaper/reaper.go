//go:build linux

// Package reaper makes sure no process started by the desktop app outlives
// it. The app marks itself a child subreaper, so descendants orphaned by
// their parents (a shell's background job, a daemonising tool) are
// reparented to it instead of to init, and at exit it kills whatever is
// still running below it. This is a safety net behind sessiond's own
// Shutdown, which stops the processes its services started.
package reaper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// BecomeSubreaper marks the calling process a child subreaper
// (PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to it.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// Proc is one process as seen in /proc/PID/stat.
type Proc struct {
	PID, PPID int
	// State is the one-letter state; "Z" is a zombie, which runs nothing.
	State string
	// Start is the start time in clock ticks since boot; with PID it
	// identifies a process even after its PID is reused.
	Start uint64
	// Comm is the executable name (truncated to 15 bytes by the kernel).
	Comm string
}

// Alive reports whether p is still the same, non-zombie process.
func (p Proc) Alive() bool {
	q, err := Stat(p.PID)
	return err == nil && q.Start == p.Start && q.State != "Z"
}

// Stat reads /proc/PID/stat.
func Stat(pid int) (Proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, err
	}
	return parseStat(b)
}

// parseStat parses a stat line: "pid (comm) state ppid ... starttime ...".
// comm may hold spaces and parentheses, so split at the last ')'.
func parseStat(b []byte) (Proc, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Proc{}, fmt.Errorf("parse stat %q: no command name", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Proc{}, fmt.Errorf("parse stat pid: %w", err)
	}
	f := bytes.Fields(b[end+1:])
	// After comm: state(3) ppid(4) ... starttime(22); f[0] is field 3.
	if len(f) < 20 {
		return Proc{}, fmt.Errorf("parse stat of %d: %d fields", pid, len(f))
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return Proc{}, fmt.Errorf("parse stat ppid of %d: %w", pid, err)
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return Proc{}, fmt.Errorf("parse stat starttime of %d: %w", pid, err)
	}
	return Proc{PID: pid, PPID: ppid, State: string(f[0]), Start: start, Comm: string(b[open+1 : end])}, nil
}

// Descendants lists the live (non-zombie) processes below pid, parents
// before their children.
func Descendants(pid int) ([]Proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := map[int][]Proc{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := Stat(n)
		if err != nil {
			continue // exited meanwhile
		}
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []Proc
	queue := []int{pid}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range children[cur] {
			queue = append(queue, c.PID)
			if c.State != "Z" {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// KillDescendants stops every process below this one: SIGTERM first, then,
// for whatever still runs after grace, SIGKILL, repeating until none is
// left (killing a parent can orphan children, which a subreaper inherits)
// or ctx ends. It returns the processes it signalled. Zombies are left for
// their parents to reap: they run nothing, and reaping here could steal an
// exit status that an exec.Cmd is still waiting for.
func KillDescendants(ctx context.Context, grace time.Duration) ([]Proc, error) {
	self := os.Getpid()
	seen := map[int]Proc{}
	var order []Proc
	signal := func(sig syscall.Signal) (int, error) {
		ps, err := Descendants(self)
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			if _, ok := seen[p.PID]; !ok {
				seen[p.PID] = p
				order = append(order, p)
			}
			// A vanished process is what we want; ignore ESRCH.
			_ = syscall.Kill(p.PID, sig)
		}
		return len(ps), nil
	}
	n, err := signal(syscall.SIGTERM)
	if err != nil || n == 0 {
		return order, err
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return order, fmt.Errorf("kill descendants: %w", ctx.Err())
		case <-tick.C:
			ps, err := Descendants(self)
			if err != nil {
				return order, err
			}
			if len(ps) == 0 {
				return order, nil
			}
		case <-deadline.C:
			for {
				n, err := signal(syscall.SIGKILL)
				if err != nil || n == 0 {
					return order, err
				}
				select {
				case <-ctx.Done():
					return order, errors.Join(fmt.Errorf("kill descendants: %w", ctx.Err()), leftover(self))
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
}

func leftover(pid int) error {
	ps, _ := Descendants(pid)
	if len(ps) == 0 {
		return nil
	}
	return fmt.Errorf("%d processes survive, first %d (%s)", len(ps), ps[0].PID, ps[0].Comm)
}

// ReapOrphans reaps, every interval until ctx ends, the zombie children of
// this process that were already zombies at the previous scan. Orphans
// adopted as a subreaper have nobody else to wait for them and would stay
// in the process table until the app exits; an exec.Cmd's own child, by
// contrast, is reaped by its Wait the moment it exits, so a zombie that
// lingers a whole interval is not one whose exit status anybody awaits.
func ReapOrphans(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	seen := map[Proc]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seen = reapLingering(seen)
	}
}

// reapLingering reaps the zombie children in seen that are still zombies
// and returns the zombie children of this scan.
func reapLingering(seen map[Proc]bool) map[Proc]bool {
	self := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return seen
	}
	now := map[Proc]bool{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := Stat(n)
		if err != nil || p.PPID != self || p.State != "Z" {
			continue
		}
		if seen[p] {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(p.PID, &ws, syscall.WNOHANG, nil)
			continue
		}
		now[p] = true
	}
	return now
}
