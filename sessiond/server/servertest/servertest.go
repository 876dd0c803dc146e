// Package servertest starts a real sessiond on 127.0.0.1 over a temporary
// workspace for the tests of sessiond's packages, and speaks its API
// (tasks in particular) to it.
package servertest

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

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/server"
	"gatewave.dev/shared/testenv"
)

// Token is the API token of every test server.
const Token = "test-token"

// Env is a running sessiond serving a temporary workspace.
type Env struct {
	T testing.TB
	// Dir is the workspace on disk.
	Dir string
	// Base is the server's base URL, "http://127.0.0.1:PORT/".
	Base string
	// Server is the running server.
	Server *server.Server
}

// Start serves a new workspace holding files (name → contents) and stops
// the server, and every process it started, when the test ends.
func Start(t testing.TB, files map[string]string) *Env {
	t.Helper()
	return StartWith(t, server.Options{Logger: slog.New(slog.DiscardHandler)}, files)
}

// StartWith is Start with options: Root defaults to a new temporary
// directory and Token to the package's Token.
func StartWith(t testing.TB, opts server.Options, files map[string]string) *Env {
	t.Helper()
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	if opts.Token == "" {
		opts.Token = Token
	}
	dir, err := filepath.EvalSymlinks(opts.Root)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(opts)
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
	return &Env{T: t, Dir: dir, Base: "http://" + ln.Addr().String() + "/", Server: srv}
}

// CopyDir copies the directory src (a sample project) into the workspace.
func (e *Env) CopyDir(src string) {
	e.T.Helper()
	if err := os.CopyFS(e.Dir, os.DirFS(src)); err != nil {
		e.T.Fatal(err)
	}
}

// Do sends an authenticated request with body as JSON and decodes a JSON
// answer into out (when not nil). It returns the status code.
func (e *Env) Do(method, path string, body any, out any) int {
	e.T.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.Base+path, r)
	req.Header.Set("Authorization", "Bearer "+Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.T.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// WSURL is the WebSocket URL of path with the token in the query.
func (e *Env) WSURL(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "ws://" + strings.TrimPrefix(e.Base, "http://") + path + sep + "access_token=" + Token
}

// Task is the task JSON.
type Task struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Argv     []string `json:"argv"`
	State    string   `json:"state"`
	ExitCode *int     `json:"exit_code"`
	EndedAt  *string  `json:"ended_at"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// APIError is the JSON error shape.
type APIError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details any    `json:"details"`
	} `json:"error"`
}

// Frame is one message of a task log.
type Frame struct {
	Type     string `json:"type"`
	Data     string `json:"data"`
	State    string `json:"state"`
	ExitCode *int   `json:"exit_code"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// TaskLog reads task id's log WebSocket to its end and returns the output,
// the exit frame and the close code. onOutput, when set, sees each output
// frame as it arrives.
func (e *Env) TaskLog(ctx context.Context, id string, onOutput func(string)) (output string, exit Frame, closeCode int) {
	e.T.Helper()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, e.WSURL("api/v1/tasks/"+id+"/log"), nil)
	if err != nil {
		e.T.Fatalf("dial log: %v", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	var out strings.Builder
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return out.String(), exit, ce.Code
			}
			e.T.Fatalf("read log: %v (so far: %s)", err, out.String())
		}
		var f Frame
		if err := json.Unmarshal(msg, &f); err != nil {
			e.T.Fatalf("bad frame %q: %v", msg, err)
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
			e.T.Fatalf("unexpected frame %q", msg)
		}
	}
}
