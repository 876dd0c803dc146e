package tasks_test

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/testenv"
)

// TestProgressLines runs a real command that redraws a bar with '\r',
// mixes '\n' lines, splits lines across writes and ends without a newline,
// and checks Spec.Progress sees each line once and Info carries the last.
func TestProgressLines(t *testing.T) {
	ws, err := workspace.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	svc, err := tasks.New(tasks.Options{Workspace: ws, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var (
		mu    sync.Mutex
		lines []string
	)
	script := `printf 'start\n'; printf 'bar 10\r'; printf 'bar 2'; sleep 0.05; printf '0\rbar 30\r\n'; ` +
		`head -c 5000 /dev/zero | tr '\0' x; printf '\nbar 90'`
	tk, err := svc.Start(tasks.Spec{
		Name: "progress",
		Argv: []string{"sh", "-c", script},
		Progress: func(line []byte) (tasks.Progress, bool) {
			mu.Lock()
			lines = append(lines, string(line))
			mu.Unlock()
			if n, ok := bytes.CutPrefix(line, []byte("bar ")); ok {
				v, err := strconv.Atoi(string(n))
				return tasks.Progress{Phase: "writing", Done: int64(v), Total: 100}, err == nil
			}
			return tasks.Progress{}, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := tk.Wait(testenv.Context(t, testenv.WaitLong))
	if err != nil || info.State != tasks.Succeeded {
		t.Fatalf("task = %+v, %v", info, err)
	}
	if info.Progress == nil || *info.Progress != (tasks.Progress{Phase: "writing", Done: 90, Total: 100}) {
		t.Errorf("progress = %+v, want the last line's", info.Progress)
	}
	// The 5000-byte line is longer than a progress line can be and is skipped.
	want := "start|bar 10|bar 20|bar 30|bar 90"
	if got := strings.Join(lines, "|"); got != want {
		t.Errorf("lines = %q, want %q", got, want)
	}
	if out := string(tk.Output()); !strings.Contains(out, "bar 10\rbar 20\rbar 30\r\n") {
		t.Errorf("the log is not the raw output: %q", out)
	}
}

// TestNoProgress: tasks without Spec.Progress have no progress field.
func TestNoProgress(t *testing.T) {
	ws, _ := workspace.Open(t.TempDir())
	defer ws.Close()
	svc, _ := tasks.New(tasks.Options{Workspace: ws, Logger: slog.New(slog.DiscardHandler)})
	defer svc.Close()
	tk, err := svc.Start(tasks.Spec{Argv: []string{"echo", "Writing: [==] 50.00%"}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := tk.Wait(testenv.Context(t, testenv.WaitLong))
	if info.Progress != nil {
		t.Errorf("progress = %+v", info.Progress)
	}
}
