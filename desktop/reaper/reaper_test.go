//go:build linux

package reaper

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 12345 0 0" // starttime is field 22
	tests := []struct {
		name, line string
		want       Proc
		wantErr    bool
	}{
		{"plain", "42 (sleep) S 7" + tail, Proc{PID: 42, PPID: 7, State: "S", Start: 12345, Comm: "sleep"}, false},
		{"comm with spaces and parens", "43 (a) b (c)) Z 1" + tail, Proc{PID: 43, PPID: 1, State: "Z", Start: 12345, Comm: "a) b (c)"}, false},
		{"truncated", "44 (x) S 1 0 0", Proc{}, true},
		{"no comm", "45 S 1", Proc{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestKillDescendants starts a process tree like the ones sessiond's
// services leave behind at worst: a background job, an orphan in its own
// session (its parent already exited) and a process that ignores SIGTERM.
func TestKillDescendants(t *testing.T) {
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `
		sleep 300 &
		setsid sh -c 'sleep 301 & exit 0'
		sh -c 'trap "" TERM; exec sleep 302' &
		wait`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	self := os.Getpid()
	var sleeps []Proc
	for len(sleeps) < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("the three sleeps never started; saw %+v", sleeps)
		case <-time.After(10 * time.Millisecond):
		}
		ps, err := Descendants(self)
		if err != nil {
			t.Fatal(err)
		}
		sleeps = sleeps[:0]
		for _, p := range ps {
			if p.Comm == "sleep" {
				sleeps = append(sleeps, p)
			}
		}
	}
	orphanAdopted := false
	for _, p := range sleeps {
		orphanAdopted = orphanAdopted || p.PPID == self
	}
	if !orphanAdopted {
		t.Errorf("no sleep was reparented to the subreaper: %+v", sleeps)
	}

	killed, err := KillDescendants(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) < 4 { // sh and three sleeps at least
		t.Errorf("signalled %d processes, want >= 4: %+v", len(killed), killed)
	}
	for _, p := range append(sleeps, Proc{PID: cmd.Process.Pid}) {
		if p.Start == 0 {
			p, _ = Stat(p.PID)
		}
		if p.Alive() {
			t.Errorf("process %d (%s) survived", p.PID, p.Comm)
		}
	}
	if left, _ := Descendants(self); len(left) != 0 {
		t.Errorf("descendants left: %+v", left)
	}
}

// TestReapOrphans adopts an orphan (a shell's background job that outlives
// the shell), lets it exit, and checks it does not stay a zombie.
func TestReapOrphans(t *testing.T) {
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "sleep 0.3 >/dev/null & echo $!")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	orphan, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ReapOrphans(ctx, 200*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	sawZombie := false
	for {
		p, err := Stat(orphan)
		if err != nil {
			if !sawZombie {
				t.Log("the orphan was reaped before it was seen as a zombie")
			}
			return
		}
		if p.PPID != os.Getpid() {
			t.Fatalf("orphan %d was not adopted (parent %d)", orphan, p.PPID)
		}
		sawZombie = sawZombie || p.State == "Z"
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d still %s after 5 s", orphan, p.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
