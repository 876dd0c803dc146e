package tasks_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/shared/testenv"
)

func TestFailingBuildStreamsErrors(t *testing.T) {
	testenv.LookPath(t, "make")
	testenv.LookPath(t, "yosys")
	e := servertest.Start(t, nil)
	e.CopyDir("../../examples/blinky")
	// Break the design: a missing semicolon is a syntax error in yosys.
	src := filepath.Join(e.Dir, "blinky.v")
	v, _ := os.ReadFile(src)
	os.WriteFile(src, []byte(strings.Replace(string(v), "counter <= counter + 1;", "counter <= counter + 1", 1)), 0o644)

	var task servertest.Task
	if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "build"}, &task); code != http.StatusCreated {
		t.Fatalf("POST build: %d %+v", code, task)
	}
	if task.Name != "build" || strings.Join(task.Argv, " ") != "make" || task.State != "running" {
		t.Fatalf("started task = %+v, want the default build running make", task)
	}
	out, exit, closeCode := e.TaskLog(testenv.Context(t, testenv.WaitLong), task.ID, nil)
	if !strings.Contains(out, "yosys") || !strings.Contains(out, "ERROR") || !strings.Contains(out, "syntax error") {
		t.Errorf("log lacks the command and yosys's error:\n%s", out)
	}
	if exit.State != "failed" || exit.ExitCode == nil || *exit.ExitCode == 0 {
		t.Errorf("exit frame = %+v, want failed with a non-zero status", exit)
	}
	if closeCode != 1000 {
		t.Errorf("close code = %d, want 1000", closeCode)
	}
	var got servertest.Task
	e.Do("GET", "api/v1/tasks/"+task.ID, nil, &got)
	if got.State != "failed" || got.ExitCode == nil || *got.ExitCode != *exit.ExitCode || got.EndedAt == nil {
		t.Errorf("task JSON after the build = %+v", got)
	}
}

func TestLateJoinerGetsWholeLog(t *testing.T) {
	testenv.LookPath(t, "bash")
	e := servertest.Start(t, nil)
	// 3000 numbered lines, more than one frame's worth, then exit 3.
	var task servertest.Task
	e.Do("POST", "api/v1/tasks", map[string]any{"command": []string{"bash", "-c", "for i in $(seq 1 3000); do echo line-$i-ünïcödé; done; exit 3"}}, &task)
	ctx := testenv.Context(t, testenv.WaitShort)
	// Join only after the task has finished.
	for {
		var got servertest.Task
		e.Do("GET", "api/v1/tasks/"+task.ID, nil, &got)
		if got.State != "running" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("task did not finish")
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, joiner := range []string{"first", "second"} {
		out, exit, _ := e.TaskLog(ctx, task.ID, nil)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3000 || lines[0] != "line-1-ünïcödé" || lines[2999] != "line-3000-ünïcödé" {
			t.Errorf("%s late joiner got %d lines (first %q), want all 3000 intact", joiner, len(lines), lines[0])
		}
		if exit.State != "failed" || exit.ExitCode == nil || *exit.ExitCode != 3 {
			t.Errorf("exit = %+v, want failed 3", exit)
		}
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	testenv.LookPath(t, "bash")
	e := servertest.Start(t, nil)
	// The task starts a grandchild and reports its pid, then waits.
	var task servertest.Task
	e.Do("POST", "api/v1/tasks", map[string]any{"command": []string{"bash", "-c", "sleep 300 & echo child=$!; wait"}}, &task)
	ctx := testenv.Context(t, testenv.WaitShort)
	pidc := make(chan int, 1)
	done := make(chan servertest.Frame, 1)
	go func() {
		_, exit, _ := e.TaskLog(ctx, task.ID, func(s string) {
			if _, after, ok := strings.Cut(s, "child="); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(after))
				pidc <- n
			}
		})
		done <- exit
	}()
	var child int
	select {
	case child = <-pidc:
	case <-ctx.Done():
		t.Fatal("no child pid in the log")
	}
	var got servertest.Task
	if code := e.Do("DELETE", "api/v1/tasks/"+task.ID, nil, &got); code != 200 || got.State != "cancelled" {
		t.Fatalf("DELETE = %d %+v, want 200 cancelled", code, got)
	}
	exit := <-done
	if exit.State != "cancelled" {
		t.Errorf("exit frame = %+v, want cancelled", exit)
	}
	// Signals land asynchronously: give the kernel a moment, not forever.
	for alive(child) {
		select {
		case <-ctx.Done():
			t.Fatalf("grandchild %d survived the cancel", child)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && syscall.Kill(pid, 0) == nil
}

func TestNamedTasksFromConfig(t *testing.T) {
	testenv.LookPath(t, "sh")
	e := servertest.Start(t, map[string]string{
		".ide/tasks.toml": `
[tasks.hello]
command = ["sh", "-c", "echo hello from $PWD with $GREETING"]
dir = "sub"
env = { GREETING = "config" }
`,
		"sub/.keep": "",
		"Makefile":  "all:\n\t@echo made it\n",
	})
	var list struct {
		Defined []struct {
			Name    string   `json:"name"`
			Command []string `json:"command"`
			Default bool     `json:"default"`
		} `json:"defined"`
	}
	e.Do("GET", "api/v1/tasks", nil, &list)
	if len(list.Defined) != 2 || list.Defined[0].Name != "build" || !list.Defined[0].Default || list.Defined[1].Name != "hello" {
		t.Fatalf("defined tasks = %+v, want the default build and hello", list.Defined)
	}
	ctx := testenv.Context(t, testenv.WaitShort)
	tests := []struct{ task, want string }{
		{"hello", "hello from " + filepath.Join(e.Dir, "sub") + " with config"},
		{"build", "made it"},
	}
	for _, tc := range tests {
		var task servertest.Task
		e.Do("POST", "api/v1/tasks", map[string]any{"task": tc.task}, &task)
		out, exit, _ := e.TaskLog(ctx, task.ID, nil)
		if strings.TrimSpace(out) != tc.want || exit.State != "succeeded" {
			t.Errorf("task %s: output %q exit %+v, want %q succeeded", tc.task, out, exit, tc.want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	e := servertest.Start(t, map[string]string{"file.txt": "x", ".ide/tasks.toml": "[tasks.x\n"})
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"empty body", nil, 400, "bad_request"},
		{"neither", map[string]any{}, 400, "bad_request"},
		{"both", map[string]any{"task": "build", "command": []string{"true"}}, 400, "bad_request"},
		{"empty argv", map[string]any{"command": []string{}}, 400, "bad_request"},
		{"unknown program", map[string]any{"command": []string{"no-such-program-xyz"}}, 400, "command_not_found"},
		{"dir outside", map[string]any{"command": []string{"true"}, "dir": "../.."}, 403, "forbidden"},
		{"dir is a file", map[string]any{"command": []string{"true"}, "dir": "file.txt"}, 400, "bad_request"},
		{"broken config", map[string]any{"task": "x"}, 422, "bad_task_config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ae servertest.APIError
			if code := e.Do("POST", "api/v1/tasks", tc.body, &ae); code != tc.status || ae.Error.Code != tc.code || ae.Error.Message == "" {
				t.Errorf("got %d %+v, want %d %s", code, ae, tc.status, tc.code)
			}
		})
	}
	var ae servertest.APIError
	if code := e.Do("GET", "api/v1/tasks/nope", nil, &ae); code != 404 || ae.Error.Code != "not_found" {
		t.Errorf("unknown task: %d %+v", code, ae)
	}
	if code := e.Do("GET", "api/v1/tasks/nope/log", nil, &ae); code != 404 {
		t.Errorf("log of unknown task before upgrade: %d %+v, want 404", code, ae)
	}
	if code := e.Do("DELETE", "api/v1/tasks/nope", nil, &ae); code != 404 {
		t.Errorf("cancel unknown task: %d, want 404", code)
	}
}

func TestNoBuildTask(t *testing.T) {
	e := servertest.Start(t, nil)
	var ae servertest.APIError
	if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "build"}, &ae); code != 404 || !strings.Contains(ae.Error.Message, "Makefile") {
		t.Errorf("build without Makefile: %d %+v, want a 404 that mentions the Makefile", code, ae)
	}
}
