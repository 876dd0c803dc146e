package langserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatewave.dev/sessiond/hdl/corpus"
	"gatewave.dev/sessiond/hdl/langserver"
	"gatewave.dev/sessiond/lsp/jsonrpc"
)

// client is a test LSP client joined to an in-process server by pipes.
type client struct {
	t    testing.TB
	root string
	w    *jsonrpc.Writer
	wmu  sync.Mutex

	mu      sync.Mutex
	nextID  int
	pending map[int]chan *rpcMsg
	diags   map[string][]diag // by relative path, latest
	seq     map[string]int    // publishDiagnostics count by path
	notes   []*rpcMsg
	changed chan struct{}
	version map[string]int
	texts   map[string]string
	done    chan error
}

type rpcMsg struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type pos struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type rng struct {
	Start pos `json:"start"`
	End   pos `json:"end"`
}

type diag struct {
	Range    rng    `json:"range"`
	Severity int    `json:"severity"`
	Code     string `json:"code"`
	Source   string `json:"source"`
	Message  string `json:"message"`
}

type clientOptions struct {
	lint  bool
	watch bool
	delay time.Duration // diagnostics debounce; 0 = the server's default
}

// copyProject copies a corpus project into a temporary workspace.
func copyProject(t testing.TB, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := corpus.Dir(name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, text := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newClient(t testing.TB, root string, o clientOptions) *client {
	t.Helper()
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	cr, sw := io.Pipe()
	sr, cw := io.Pipe()
	f := false
	opts := langserver.Options{In: sr, Out: sw, Watch: &o.watch, Lint: &o.lint, DiagnosticDelay: o.delay}
	if !o.watch {
		opts.Watch = &f
	}
	srv := langserver.New(opts)
	c := &client{t: t, root: root, w: jsonrpc.NewWriter(cw), pending: map[int]chan *rpcMsg{}, diags: map[string][]diag{}, seq: map[string]int{},
		changed: make(chan struct{}, 1), version: map[string]int{}, texts: map[string]string{}, done: make(chan error, 1)}
	go func() { c.done <- srv.Run(); sw.Close() }()
	go c.readLoop(jsonrpc.NewReader(cr, jsonrpc.ReaderOptions{}))
	t.Cleanup(func() {
		c.notify("exit", nil)
		cw.Close()
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("server Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("server did not exit")
		}
	})
	res := c.request("initialize", map[string]any{"rootUri": "file://" + root, "capabilities": map[string]any{}})
	var init struct {
		ServerInfo struct{ Name string } `json:"serverInfo"`
	}
	_ = json.Unmarshal(res, &init)
	if init.ServerInfo.Name != langserver.Name {
		t.Fatalf("initialize: serverInfo %+v", init)
	}
	c.notify("initialized", map[string]any{})
	return c
}

func (c *client) readLoop(r *jsonrpc.Reader) {
	for {
		body, err := r.Read()
		if err != nil {
			return
		}
		var m rpcMsg
		if err := json.Unmarshal(body, &m); err != nil {
			c.t.Errorf("server sent non-JSON: %q", body)
			return
		}
		c.mu.Lock()
		if m.ID != nil && m.Method == "" {
			ch := c.pending[*m.ID]
			delete(c.pending, *m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- &m
			}
			continue
		}
		if m.Method == "textDocument/publishDiagnostics" {
			var p struct {
				URI         string `json:"uri"`
				Diagnostics []diag `json:"diagnostics"`
			}
			_ = json.Unmarshal(m.Params, &p)
			rel := strings.TrimPrefix(strings.TrimPrefix(p.URI, "file://"+c.root), "/")
			c.diags[rel] = p.Diagnostics
			c.seq[rel]++
		}
		c.notes = append(c.notes, &m)
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

func (c *client) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.w.Write(b)
}

func (c *client) notify(method string, params any) {
	c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// call sends a request and returns the result or the error message.
func (c *client) call(method string, params any) (json.RawMessage, string) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan *rpcMsg, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	c.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, m.Error.Message
		}
		return m.Result, ""
	case <-time.After(20 * time.Second):
		c.t.Fatalf("%s: no answer", method)
		return nil, ""
	}
}

func (c *client) request(method string, params any) json.RawMessage {
	c.t.Helper()
	res, e := c.call(method, params)
	if e != "" {
		c.t.Fatalf("%s: %s", method, e)
	}
	return res
}

func (c *client) uri(rel string) string { return "file://" + c.root + "/" + rel }

func (c *client) read(rel string) string {
	if t, ok := c.texts[rel]; ok {
		return t
	}
	b, err := os.ReadFile(filepath.Join(c.root, rel))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

func (c *client) open(rel string) {
	text := c.read(rel)
	lang := "verilog"
	switch filepath.Ext(rel) {
	case ".sv", ".svh":
		lang = "systemverilog"
	case ".vhd", ".vhdl":
		lang = "vhdl"
	}
	c.version[rel] = 1
	c.texts[rel] = text
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": c.uri(rel), "languageId": lang, "version": 1, "text": text}})
}

// change replaces the whole text of an open document.
func (c *client) change(rel, text string) {
	c.version[rel]++
	c.texts[rel] = text
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": c.uri(rel), "version": c.version[rel]},
		"contentChanges": []any{map[string]any{"text": text}},
	})
}

// edit sends one incremental change, as an editor does for a keystroke:
// the text between from and to (positions in the old text) becomes text.
func (c *client) edit(rel string, from, to pos, text, result string) {
	c.version[rel]++
	c.texts[rel] = result
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": c.uri(rel), "version": c.version[rel]},
		"contentChanges": []any{map[string]any{"range": rng{from, to}, "text": text}},
	})
}

// at is the position of the n-th (0-based) occurrence of marker in rel's
// text, plus offset characters into it.
func (c *client) at(rel, marker string, n, offset int) pos {
	c.t.Helper()
	text := c.read(rel)
	i := -1
	for k := 0; k <= n; k++ {
		j := strings.Index(text[i+1:], marker)
		if j < 0 {
			c.t.Fatalf("%q (#%d) not in %s", marker, n, rel)
		}
		i += 1 + j
	}
	i += offset
	line := strings.Count(text[:i], "\n")
	col := i - (strings.LastIndex(text[:i], "\n") + 1)
	return pos{line, col}
}

func (c *client) docPos(rel string, p pos) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": c.uri(rel)}, "position": p}
}

// waitDiags waits until rel's latest diagnostics satisfy ok.
func (c *client) waitDiags(rel string, what string, ok func([]diag) bool) []diag {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		d, have := c.diags[rel]
		c.mu.Unlock()
		if have && ok(d) || !have && ok(nil) {
			return d
		}
		select {
		case <-c.changed:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("%s: diagnostics never showed %s; last: %s", rel, what, dump(d))
			return nil
		}
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func hasCode(ds []diag, code, source string) *diag {
	for i := range ds {
		if ds[i].Code == code && (source == "" || ds[i].Source == source) {
			return &ds[i]
		}
	}
	return nil
}

func (c *client) textAt(rel string, r rng) string {
	text := c.read(rel)
	lines := strings.SplitAfter(text, "\n")
	if r.Start.Line != r.End.Line || r.Start.Line >= len(lines) {
		return fmt.Sprintf("<multi-line %v>", r)
	}
	l := lines[r.Start.Line]
	return l[min(r.Start.Character, len(l)):min(r.End.Character, len(l))]
}

// diagSeq is how many times rel's diagnostics were published so far.
func (c *client) diagSeq(rel string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq[rel]
}

// waitSeq waits for a publication of rel's diagnostics after seq.
func (c *client) waitSeq(rel string, seq int) {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for c.diagSeq(rel) <= seq {
		select {
		case <-c.changed:
		case <-time.After(time.Millisecond):
		case <-deadline:
			c.t.Fatalf("%s: no diagnostics published", rel)
		}
	}
}

// noteCount is how many times the server has sent method.
func (c *client) noteCount(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := 0
	for _, m := range c.notes {
		if m.Method == method {
			k++
		}
	}
	return k
}

// waitNote waits until the server has sent method n times in all.
func (c *client) waitNote(method string, n int) {
	c.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if c.noteCount(method) >= n {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("no %s from the server", method)
		}
	}
}

// beforeEndmodule is text with add inserted before its last endmodule, as
// a user typing at the end of the module would.
func beforeEndmodule(text, add string) string {
	end := strings.LastIndex(text, "endmodule")
	return text[:end] + add + text[end:]
}
