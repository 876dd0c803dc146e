package lsp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gatewave.dev/sessiond/server/servertest"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/sessiond/server"
	"gatewave.dev/shared/testenv"
)

const testToken = "lsp-test-token-0123456789"

// testServer is a real sessiond on 127.0.0.1 serving a temporary workspace.
type testServer struct {
	t    testing.TB
	URL  string
	Root string // the workspace's real path on disk
	srv  *server.Server
}

// logWriter sends sessiond's log to the test log while the test runs.
type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && testing.Verbose() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func startServer(t testing.TB, files map[string]string, cfg lsp.Config) *testServer {
	t.Helper()
	lw := &logWriter{t: t}
	// Registered first, so it runs after the server's own shutdown.
	t.Cleanup(func() {
		lw.mu.Lock()
		lw.done = true
		lw.mu.Unlock()
	})
	env := servertest.StartWith(t, server.Options{
		Token:  testToken,
		UI:     os.DirFS(t.TempDir()),
		Logger: slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LSP:    cfg,
	}, files)
	return &testServer{t: t, URL: strings.TrimSuffix(env.Base, "/"), Root: env.Dir, srv: env.Server}
}

type apiErr struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// get does an authenticated GET and returns status and body.
func (ts *testServer) get(path string, auth bool) (int, []byte) {
	ts.t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// client is a WebSocket LSP client, one JSON-RPC message per text frame,
// answering the server's own requests the way an editor would.
type client struct {
	t    testing.TB
	conn *websocket.Conn

	wmu    sync.Mutex
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[string]chan json.RawMessage
	notes   chan note
	raw     chan []byte // every frame, for tests that look at bytes
	closed  chan struct{}
	closeCE *websocket.CloseError
	readErr error
}

type note struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (ts *testServer) wsURL(lang string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/lsp/" + lang + "?access_token=" + testToken
}

func (ts *testServer) dial(lang string) *client {
	ts.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: testenv.WaitShort, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	conn, res, err := d.Dial(ts.wsURL(lang), nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		ts.t.Fatalf("dial %s: %v (HTTP %d)", lang, err, status)
	}
	c := &client{
		t:       ts.t,
		conn:    conn,
		pending: make(map[string]chan json.RawMessage),
		notes:   make(chan note, 1024),
		raw:     make(chan []byte, 4096),
		closed:  make(chan struct{}),
	}
	go c.readLoop()
	ts.t.Cleanup(func() { conn.Close() })
	return c
}

func (c *client) readLoop() {
	defer close(c.closed)
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCE = ce
			}
			c.readErr = err
			return
		}
		select {
		case c.raw <- msg:
		default:
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			c.t.Errorf("server sent a frame that is not one JSON message: %q", trunc(msg))
			continue
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			c.answer(m.ID, m.Method, m.Params)
		case m.Method != "":
			select {
			case c.notes <- note{m.Method, m.Params}:
			default:
			}
		default:
			c.mu.Lock()
			ch := c.pending[string(m.ID)]
			delete(c.pending, string(m.ID))
			c.mu.Unlock()
			if ch != nil {
				ch <- msg
			}
		}
	}
}

// answer replies to server-to-client requests as a minimal editor does.
func (c *client) answer(id json.RawMessage, method string, params json.RawMessage) {
	result := "null"
	if method == "workspace/configuration" {
		var p struct {
			Items []json.RawMessage `json:"items"`
		}
		_ = json.Unmarshal(params, &p)
		result = "[" + strings.TrimSuffix(strings.Repeat("{},", len(p.Items)), ",") + "]"
	}
	_ = c.send([]byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":` + result + `}`))
}

func trunc(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

func (c *client) send(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteMessage(websocket.TextMessage, msg)
}

// call sends a request and waits for its response; it returns the whole
// response message.
func (c *client) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := strconv.FormatInt(c.nextID.Add(1), 10)
	ch := make(chan json.RawMessage, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	if err := c.send([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":` + string(p) + `}`)); err != nil {
		return nil, err
	}
	select {
	case msg := <-ch:
		return msg, nil
	case <-c.closed:
		return nil, fmt.Errorf("%s: connection closed: %v", method, c.readErr)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// result calls and decodes the result into v, failing the test on errors.
func (c *client) result(ctx context.Context, method string, params, v any) {
	c.t.Helper()
	msg, err := c.call(ctx, method, params)
	if err != nil {
		c.t.Fatal(err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg, &r); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	if r.Error != nil {
		c.t.Fatalf("%s: error %d %s", method, r.Error.Code, r.Error.Message)
	}
	if v != nil {
		if err := json.Unmarshal(r.Result, v); err != nil {
			c.t.Fatalf("%s result %s: %v", method, trunc(r.Result), err)
		}
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	p, err := json.Marshal(params)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.send([]byte(`{"jsonrpc":"2.0","method":"` + method + `","params":` + string(p) + `}`)); err != nil {
		c.t.Fatal(err)
	}
}

// waitNote waits for a notification for which match returns true.
func (c *client) waitNote(ctx context.Context, method string, match func(json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	for {
		select {
		case n := <-c.notes:
			if n.Method == method && (match == nil || match(n.Params)) {
				return n.Params
			}
		case <-c.closed:
			c.t.Fatalf("waiting for %s: connection closed: %v", method, c.readErr)
		case <-ctx.Done():
			c.t.Fatalf("waiting for %s: %v", method, ctx.Err())
		}
	}
}

// waitClosed waits for the server to close the socket and returns the
// close frame it sent.
func (c *client) waitClosed(ctx context.Context) *websocket.CloseError {
	c.t.Helper()
	select {
	case <-c.closed:
		return c.closeCE
	case <-ctx.Done():
		c.t.Fatalf("socket still open: %v", ctx.Err())
		return nil
	}
}

// initialize performs the LSP handshake with the workspace as
// file:///workspace, as the browser IDE does.
func (c *client) initialize(ctx context.Context) json.RawMessage {
	c.t.Helper()
	var res json.RawMessage
	c.result(ctx, "initialize", map[string]any{
		"processId": nil,
		"rootUri":   "file:///workspace",
		"rootPath":  "/workspace",
		"capabilities": map[string]any{
			"textDocument": map[string]any{
				"completion":         map[string]any{"completionItem": map[string]any{"snippetSupport": false}},
				"publishDiagnostics": map[string]any{"relatedInformation": true},
				"definition":         map[string]any{"linkSupport": false},
			},
			"workspace": map[string]any{"workspaceFolders": true, "configuration": true},
		},
		"workspaceFolders": []map[string]string{{"uri": "file:///workspace", "name": "workspace"}},
	}, &res)
	c.notify("initialized", map[string]any{})
	return res
}

func (c *client) didOpen(uri, lang, text string) {
	c.t.Helper()
	c.notify("textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": lang, "version": 1, "text": text},
	})
}

// position returns the LSP position just after the first occurrence of
// marker in text.
func position(text, marker string) map[string]int {
	i := strings.Index(text, marker)
	if i < 0 {
		panic("marker not in text: " + marker)
	}
	i += len(marker)
	line := strings.Count(text[:i], "\n")
	col := i - (strings.LastIndex(text[:i], "\n") + 1)
	return map[string]int{"line": line, "character": col}
}

// completionLabels asks for completion at marker and returns the labels.
func (c *client) completionLabels(ctx context.Context, uri, text, marker string) []string {
	c.t.Helper()
	var res json.RawMessage
	c.result(ctx, "textDocument/completion", map[string]any{
		"textDocument": map[string]string{"uri": uri},
		"position":     position(text, marker),
	}, &res)
	var list struct {
		Items []struct {
			Label      string `json:"label"`
			FilterText string `json:"filterText"`
		} `json:"items"`
	}
	if len(res) > 0 && res[0] == '[' {
		_ = json.Unmarshal(res, &list.Items)
	} else {
		_ = json.Unmarshal(res, &list)
	}
	var labels []string
	for _, it := range list.Items {
		labels = append(labels, strings.TrimSpace(it.Label), it.FilterText)
	}
	return labels
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.HasPrefix(x, s+"(") {
			return true
		}
	}
	return false
}

// rawContains reports whether any frame received so far contains s.
func (c *client) drainRaw() [][]byte {
	var out [][]byte
	for {
		select {
		case b := <-c.raw:
			out = append(out, b)
		default:
			return out
		}
	}
}

func anyContains(frames [][]byte, s string) bool {
	for _, f := range frames {
		if bytes.Contains(f, []byte(s)) {
			return true
		}
	}
	return false
}

// requireBinary returns the path of a language server, looking on PATH and
// in the Go bin directory as sessiond does; missing is fatal under CI=true.
func requireBinary(t testing.TB, name string) string {
	t.Helper()
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	return testenv.LookPath(t, name)
}
