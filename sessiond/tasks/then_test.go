package tasks_test

import (
	"strings"
	"testing"

	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/testenv"
)

// TestThenAndResult runs a task of several commands: the log has every
// command's output in order, the first failure ends the task, and Result
// sees which command ran last and may fail a task whose commands all
// exited 0.
func TestThenAndResult(t *testing.T) {
	testenv.LookPath(t, "sh")
	ws, err := workspace.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	svc, err := tasks.New(tasks.Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	type seen struct{ step, code int }
	cases := []struct {
		name      string
		then      [][]string
		verdict   bool
		wantState tasks.State
		wantSeen  seen
		wantLog   string
	}{
		{"all pass", [][]string{{"sh", "-c", "echo two"}, {"sh", "-c", "echo three"}}, false, tasks.Succeeded, seen{2, 0}, "one\n$ sh -c echo two\ntwo\n$ sh -c echo three\nthree\n"},
		{"second fails", [][]string{{"sh", "-c", "echo two; exit 4"}, {"sh", "-c", "echo three"}}, false, tasks.Failed, seen{1, 4}, "one\n$ sh -c echo two; exit 4\ntwo\n"},
		{"result fails", [][]string{{"sh", "-c", "echo two"}}, true, tasks.Failed, seen{1, 0}, "one\n$ sh -c echo two\ntwo\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got seen
			task, err := svc.Start(tasks.Spec{Argv: []string{"sh", "-c", "echo one"}, Then: c.then,
				Result: func(step, code int, out []byte) (any, bool) {
					got = seen{step, code}
					return map[string]any{"lines": strings.Count(string(out), "\n")}, c.verdict
				}})
			if err != nil {
				t.Fatal(err)
			}
			info, err := task.Wait(testenv.Context(t, testenv.WaitShort))
			if err != nil {
				t.Fatal(err)
			}
			if info.State != c.wantState || got != c.wantSeen {
				t.Errorf("state %s, Result saw %+v; want %s, %+v", info.State, got, c.wantState, c.wantSeen)
			}
			if out := string(task.Output()); out != c.wantLog {
				t.Errorf("log = %q, want %q", out, c.wantLog)
			}
			if r, ok := info.Result.(map[string]any); !ok || r["lines"] != strings.Count(c.wantLog, "\n") {
				t.Errorf("Info.Result = %#v", info.Result)
			}
		})
	}
	if _, err := svc.Start(tasks.Spec{Argv: []string{"true"}, Then: [][]string{{"no-such-program-xyz"}}}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a missing further program: err = %v, want not found", err)
	}
}
