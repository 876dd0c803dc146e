package lsp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/shared/testenv"
)

func TestListLanguages(t *testing.T) {
	requireBinary(t, "clangd")
	ts := startServer(t, map[string]string{
		".ide/languages.toml": `
[languages.go]
disabled = true
[languages.c]
args = ["--log=error", "--background-index=false"]
[languages.amaranth]
command = "no-such-language-server-xyz"
extensions = [".py"]
`,
	}, lsp.Config{})
	status, body := ts.get("/api/v1/lsp", true)
	if status != 200 {
		t.Fatalf("GET api/v1/lsp: %d %s", status, body)
	}
	var res struct {
		Languages []lsp.LanguageInfo `json:"languages"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]lsp.LanguageInfo{}
	var ids []string
	for _, l := range res.Languages {
		got[l.ID] = l
		ids = append(ids, l.ID)
	}
	if strings.Join(ids, ",") != "amaranth,c,cpp,hdl" {
		t.Errorf("languages = %v (sorted, go disabled, amaranth added)", ids)
	}
	if h := got["hdl"]; h.Command != "gatewave-hdl" || !h.Available || !contains(h.Extensions, ".vhd") || !contains(h.Extensions, ".sv") {
		t.Errorf("hdl = %+v, want the built-in gatewave-hdl, available, for Verilog, SystemVerilog and VHDL", h)
	}
	if c := got["c"]; c.Command != "clangd" || !c.Available || !contains(c.Extensions, ".c") {
		t.Errorf("c = %+v, want clangd, available, .c", c)
	}
	if a := got["amaranth"]; a.Available || a.Command != "no-such-language-server-xyz" {
		t.Errorf("amaranth = %+v, want unavailable", a)
	}
}

func TestUpgradeErrors(t *testing.T) {
	ts := startServer(t, map[string]string{
		".ide/languages.toml": "[languages.amaranth]\ncommand = \"no-such-language-server-xyz\"\n[languages.plain]\ncommand = \"cat\"\n",
	}, lsp.Config{})
	tests := []struct {
		name     string
		path     string
		auth     bool
		status   int
		code     string
		contains string
	}{
		{"no token", "/api/v1/lsp/c", false, 401, "unauthorized", ""},
		{"unknown language", "/api/v1/lsp/cobol", true, 404, "not_found", "cobol"},
		{"missing binary", "/api/v1/lsp/amaranth", true, 503, "language_server_missing", "no-such-language-server-xyz"},
		{"not a websocket", "/api/v1/lsp/c", true, 426, "upgrade_required", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "not a websocket" {
				requireBinary(t, "clangd")
			}
			status, body := ts.get(tt.path, tt.auth)
			var e apiErr
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not the JSON error shape: %q", body)
			}
			if status != tt.status || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.contains) {
				t.Fatalf("got %d %+v, want %d %s mentioning %q", status, e.Error, tt.status, tt.code, tt.contains)
			}
			if tt.code == "not_found" {
				langs, _ := e.Error.Details["languages"].([]any)
				if len(langs) == 0 || !strings.Contains(e.Error.Message, "amaranth") {
					t.Errorf("404 does not list the configured languages: %+v", e.Error)
				}
			}
		})
	}

	// A WebSocket client sees the same JSON error in the failed handshake.
	_, res, err := websocket.DefaultDialer.Dial(ts.wsURL("cobol"), nil)
	if err == nil || res == nil || res.StatusCode != 404 {
		t.Fatalf("dial unknown language: %v %v", err, res)
	}
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), `"not_found"`) {
		t.Errorf("handshake body %q", b)
	}

	// A foreign Origin is refused before anything starts.
	_, res, err = websocket.DefaultDialer.Dial(ts.wsURL("plain"), map[string][]string{"Origin": {"https://evil.example"}})
	if err == nil || res == nil || res.StatusCode != 403 {
		t.Fatalf("dial from a foreign origin: %v %v", err, res)
	}
}

// TestInvalidMessage checks that a frame that is not JSON-RPC is answered
// with a JSON-RPC error and loses nothing: the session goes on.
func TestInvalidMessage(t *testing.T) {
	requireBinary(t, "clangd")
	ts := startServer(t, clangdWorkspace(), lsp.Config{})
	ctx := testenv.Context(t, testenv.WaitLong)
	c := ts.dial("c")
	if err := c.send([]byte("this is not json")); err != nil {
		t.Fatal(err)
	}
	// The error response has id null, so the helper routes it nowhere; look
	// at the raw frame.
	if !eventually(ctx, func() bool {
		for _, f := range c.drainRaw() {
			var r struct {
				ID    any `json:"id"`
				Error struct {
					Code int `json:"code"`
				} `json:"error"`
			}
			if json.Unmarshal(f, &r) == nil && r.ID == nil && r.Error.Code == -32700 {
				return true
			}
		}
		return false
	}) {
		t.Fatal("no parse error response")
	}
	c.initialize(ctx)
	c.didOpen("file:///workspace/main.c", "c", mainC)
	if labels := c.completionLabels(ctx, "file:///workspace/main.c", mainC, "return comp"); !contains(labels, "compute_checksum") {
		t.Fatalf("session broken after a bad frame: %v", labels)
	}
}

// TestMisbehavingServer runs a real process that writes stray text and
// frames in odd shapes: stray output is skipped, and a message over the
// limit ends the session with the distinct close code.
func TestMisbehavingServer(t *testing.T) {
	sh := testenv.LookPath(t, "sh")
	script := `echo "banner: starting up"
printf 'content-length: 24\r\ncontent-type: application/vscode-jsonrpc\r\n\r\n{"jsonrpc":"2.0","id":7}'
echo "more noise"
printf 'Content-Length: 999999999\r\n\r\n'
cat >/dev/null`
	ts := startServer(t, nil, lsp.Config{
		Languages:      map[string]lsp.Language{"noisy": {Command: sh, Args: []string{"-c", script}}},
		MaxMessageSize: 1 << 20,
	})
	ctx := testenv.Context(t, testenv.WaitShort)
	c := ts.dial("noisy")
	ce := c.waitClosed(ctx)
	frames := c.drainRaw()
	if len(frames) == 0 || string(frames[0]) != `{"jsonrpc":"2.0","id":7}` {
		t.Fatalf("frames = %q; want the framed message, byte for byte, first", frames)
	}
	if !anyContains(frames, "window/showMessage") || !anyContains(frames, "limit") {
		t.Errorf("no showMessage about the size limit in %q", frames)
	}
	if ce == nil || ce.Code != lsp.CloseServerDied {
		t.Fatalf("close = %v, want %d", ce, lsp.CloseServerDied)
	}
}

var _ = context.Background

// TestOrderAndInitialize uses cat as a loopback "server" (it echoes each
// framed message) to see exactly what the proxy hands a server: processId
// is sessiond's, and messages keep their order in both directions.
func TestOrderAndInitialize(t *testing.T) {
	cat := testenv.LookPath(t, "cat")
	ts := startServer(t, nil, lsp.Config{Languages: map[string]lsp.Language{"echo": {Command: cat}}})
	ctx := testenv.Context(t, testenv.WaitShort)
	c := ts.dial("echo")

	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"rootPath":"/workspace","rootUri":"file:///workspace","capabilities":{},"x-extension":{"keep":true}}}`
	if err := c.send([]byte(init)); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///workspace/a.c","version":%d},"contentChanges":[{"text":"v%d"}]}}`, i, i)
		if err := c.send([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	// The echo of initialize arrives as a "request" from the server and is
	// answered by the helper; look at the raw frames instead.
	var frames, changes [][]byte
	if !eventually(ctx, func() bool {
		for _, f := range c.drainRaw() {
			frames = append(frames, f)
			if strings.Contains(string(f), "didChange") {
				changes = append(changes, f)
			}
		}
		return len(changes) >= n
	}) {
		t.Fatalf("got %d of %d echoed didChange frames", len(changes), n)
	}
	var got struct {
		Params struct {
			ProcessID int             `json:"processId"`
			RootPath  string          `json:"rootPath"`
			RootURI   string          `json:"rootUri"`
			Extension json.RawMessage `json:"x-extension"`
		} `json:"params"`
	}
	if err := json.Unmarshal(frames[0], &got); err != nil {
		t.Fatal(err)
	}
	if got.Params.ProcessID != os.Getpid() {
		t.Errorf("processId = %d, want sessiond's pid %d", got.Params.ProcessID, os.Getpid())
	}
	if got.Params.RootURI != "file:///workspace" || got.Params.RootPath != "/workspace" || string(got.Params.Extension) != `{"keep":true}` {
		t.Errorf("initialize after the round trip: %s", frames[0])
	}
	for i, f := range changes {
		if want := fmt.Sprintf(`"version":%d}`, i); !strings.Contains(string(f), want) {
			t.Fatalf("frame %d out of order: %s", i, f)
		}
	}
}
