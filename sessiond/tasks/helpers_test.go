package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/server"
	"gatewave.dev/shared/testenv"
)

const token = "test-token"

// env is a real sessiond serving a temporary workspace on 127.0.0.1.
type env struct {
	t    *testing.T
	dir  string
	base string // http://127.0.0.1:PORT/
}

func start(t *testing.T, files map[string]string) *env {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(server.Options{Root: dir, Token: token, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitShort)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &env{t: t, dir: dir, base: "http://" + ln.Addr().String() + "/"}
}

// copyDir copies the sample project src into the workspace.
func (e *env) copyDir(src string) {
	e.t.Helper()
	if err := os.CopyFS(e.dir, os.DirFS(src)); err != nil {
		e.t.Fatal(err)
	}
}

// do sends an authenticated request and decodes a JSON answer into out.
func (e *env) do(method, path string, body any, out any) int {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

type taskInfo struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Argv     []string `json:"argv"`
	State    string   `json:"state"`
	ExitCode *int     `json:"exit_code"`
	EndedAt  *string  `json:"ended_at"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details any    `json:"details"`
	} `json:"error"`
}

type logFrame struct {
	Type     string `json:"type"`
	Data     string `json:"data"`
	State    string `json:"state"`
	ExitCode *int   `json:"exit_code"`
}

// taskLog reads a task's log WebSocket to the end: the output, the exit
// frame and the close code.
func (e *env) taskLog(ctx context.Context, id string, onOutput func(string)) (output string, exit logFrame, closeCode int) {
	e.t.Helper()
	u := "ws://" + strings.TrimPrefix(e.base, "http://") + "api/v1/tasks/" + id + "/log?access_token=" + token
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		e.t.Fatalf("dial log: %v", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	var out strings.Builder
	for {
		var f logFrame
		_, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return out.String(), exit, ce.Code
			}
			e.t.Fatalf("read log: %v (so far: %s)", err, out.String())
		}
		if err := json.Unmarshal(msg, &f); err != nil {
			e.t.Fatalf("bad frame %q: %v", msg, err)
		}
		switch f.Type {
		case "output":
			out.WriteString(f.Data)
			if onOutput != nil {
				onOutput(f.Data)
			}
		case "exit":
			exit = f
		default:
			e.t.Fatalf("unexpected frame %q", msg)
		}
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context { return testenv.Context(t, d) }
