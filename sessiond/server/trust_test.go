package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/server"
	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/shared/testenv"
)

// hostileConfig is a checkout whose .ide files try to run a program as soon
// as the IDE lists tasks, builds or opens a file. Each program leaves a
// marker file behind, so the test sees whether it ran.
var hostileConfig = map[string]string{
	"Makefile": "all:\n\t@echo built\n",
	".ide/tasks.toml": `
[tasks.build]
command = ["sh", "-c", "echo pwned > tasks-build.marker"]
[tasks.mark]
command = ["sh", "-c", "echo pwned > tasks-mark.marker"]
`,
	".ide/languages.toml": `
[languages.evil]
command = "sh"
args = ["-c", "echo pwned > lsp.marker"]
extensions = [".v"]
[languages.verilog]
command = "sh"
args = ["-c", "echo pwned > lsp.marker"]
`,
}

var markers = []string{"tasks-build.marker", "tasks-mark.marker", "lsp.marker"}

// TestRestrictedWorkspaceRunsNothing attacks restricted mode from the
// workspace's side: nothing its .ide files name may run until the host
// trusts it, and trusting it takes effect without a restart.
func TestRestrictedWorkspaceRunsNothing(t *testing.T) {
	testenv.LookPath(t, "sh")
	testenv.LookPath(t, "make")
	var trusted atomic.Bool
	e := servertest.StartWith(t, server.Options{TrustWorkspaceConfig: trusted.Load}, hostileConfig)
	ctx := testenv.Context(t, testenv.WaitLong)

	var tr server.Trust
	if code := e.Do("GET", "api/v1/workspace/trust", nil, &tr); code != 200 || tr.Trusted ||
		!slices.Equal(tr.ConfigFiles, []string{".ide/languages.toml", ".ide/tasks.toml"}) {
		t.Fatalf("GET workspace/trust: %d %+v; want untrusted with both config files", code, tr)
	}
	for _, m := range []string{"POST", "PUT", "PATCH"} {
		if code := e.Do(m, "api/v1/workspace/trust", map[string]any{"trusted": true}, nil); code != 404 && code != 405 {
			t.Errorf("%s workspace/trust: %d; sessiond must offer no way to trust itself", m, code)
		}
	}
	if e.Server.Trust().Trusted {
		t.Fatal("a request changed the trust")
	}

	t.Run("restricted", func(t *testing.T) {
		var list struct {
			Defined []struct {
				Name    string   `json:"name"`
				Command []string `json:"command"`
				Default bool     `json:"default"`
			} `json:"defined"`
		}
		e.Do("GET", "api/v1/tasks", nil, &list)
		if len(list.Defined) != 1 || list.Defined[0].Name != "build" || !list.Defined[0].Default || !slices.Equal(list.Defined[0].Command, []string{"make"}) {
			t.Errorf("defined tasks %+v; want only the default build running make", list.Defined)
		}
		var ae servertest.APIError
		if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "mark"}, &ae); code != 403 || ae.Error.Code != "workspace_restricted" {
			t.Errorf("POST task mark: %d %+v; want 403 workspace_restricted", code, ae)
		}
		var task servertest.Task
		if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "build"}, &task); code != 201 || !slices.Equal(task.Argv, []string{"make"}) {
			t.Fatalf("POST task build: %d %+v; want the default make", code, task)
		}
		out, exit, _ := e.TaskLog(ctx, task.ID, nil)
		if exit.State != "succeeded" || out != "built\n" {
			t.Errorf("build: %q, %+v; want make's own output", out, exit)
		}

		var langs struct {
			Languages []struct{ ID, Command string } `json:"languages"`
		}
		e.Do("GET", "api/v1/lsp", nil, &langs)
		for _, l := range langs.Languages {
			if l.ID == "evil" || l.Command == "sh" {
				t.Errorf("language %+v comes from the untrusted languages.toml", l)
			}
		}
		c, res, err := websocket.DefaultDialer.DialContext(ctx, e.WSURL("api/v1/lsp/evil"), nil)
		if c != nil {
			c.Close()
		}
		if err == nil || res == nil || res.StatusCode != 404 {
			t.Errorf("dial lsp/evil: %v, %v; want 404", res, err)
		}
		for _, m := range markers {
			if _, err := os.Stat(filepath.Join(e.Dir, m)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s exists (%v): a program from the untrusted config ran", m, err)
			}
		}
	})

	// The same requests once the host trusts the folder: the config is read
	// on every use, so the attacks above would have left their markers.
	trusted.Store(true)
	t.Run("trusted", func(t *testing.T) {
		if code := e.Do("GET", "api/v1/workspace/trust", nil, &tr); code != 200 || !tr.Trusted {
			t.Fatalf("GET workspace/trust after trusting: %d %+v", code, tr)
		}
		for _, name := range []string{"mark", "build"} {
			var task servertest.Task
			if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": name}, &task); code != 201 {
				t.Fatalf("POST task %s: %d", name, code)
			}
			if _, exit, _ := e.TaskLog(ctx, task.ID, nil); exit.State != "succeeded" {
				t.Errorf("task %s: %+v", name, exit)
			}
		}
		c, _, err := websocket.DefaultDialer.DialContext(ctx, e.WSURL("api/v1/lsp/evil"), http.Header{})
		if err != nil {
			t.Fatalf("dial lsp/evil once trusted: %v", err)
		}
		defer c.Close()
		// sh writes its marker and exits; sessiond then closes the socket.
		c.SetReadDeadline(time.Now().Add(testenv.WaitShort))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				break
			}
		}
		for _, m := range markers {
			waitFile(ctx, t, filepath.Join(e.Dir, m))
		}
	})
}

// waitFile waits for path to exist (a process that the test cannot wait on
// directly writes it).
func waitFile(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("%s was never written", path)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestTrustedByDefault: with no TrustWorkspaceConfig (the cloud container)
// the workspace's config is used.
func TestTrustedByDefault(t *testing.T) {
	e := servertest.Start(t, map[string]string{".ide/tasks.toml": "[tasks.hello]\ncommand = [\"true\"]\n"})
	var tr server.Trust
	if code := e.Do("GET", "api/v1/workspace/trust", nil, &tr); code != 200 || !tr.Trusted || !slices.Equal(tr.ConfigFiles, []string{".ide/tasks.toml"}) {
		t.Fatalf("GET workspace/trust: %d %+v; want trusted, tasks.toml", code, tr)
	}
	raw := map[string]json.RawMessage{}
	e.Do("GET", "api/v1/tasks", nil, &raw)
	var defined []struct{ Name string }
	_ = json.Unmarshal(raw["defined"], &defined)
	if len(defined) != 1 || defined[0].Name != "hello" {
		t.Errorf("defined tasks %s; want hello", raw["defined"])
	}
}
