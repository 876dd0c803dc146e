package langserver_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type hoverResult struct {
	Contents struct {
		Value string `json:"value"`
	} `json:"contents"`
}

func (c *client) hover(rel string, p pos) string {
	c.t.Helper()
	var h *hoverResult
	if err := json.Unmarshal(c.request("textDocument/hover", c.docPos(rel, p)), &h); err != nil {
		c.t.Fatal(err)
	}
	if h == nil {
		return ""
	}
	return h.Contents.Value
}

type location struct {
	URI   string `json:"uri"`
	Range rng    `json:"range"`
}

func (c *client) locations(method, rel string, p pos, extra map[string]any) []location {
	c.t.Helper()
	params := c.docPos(rel, p)
	for k, v := range extra {
		params[k] = v
	}
	var ls []location
	if err := json.Unmarshal(c.request(method, params), &ls); err != nil {
		c.t.Fatal(err)
	}
	return ls
}

func (c *client) relOf(uri string) string {
	return strings.TrimPrefix(strings.TrimPrefix(uri, "file://"+c.root), "/")
}

type completionItem struct {
	Label      string `json:"label"`
	Kind       int    `json:"kind"`
	Detail     string `json:"detail"`
	InsertText string `json:"insertText"`
}

func (c *client) complete(rel string, p pos) []completionItem {
	c.t.Helper()
	var l struct {
		Items []completionItem `json:"items"`
	}
	if err := json.Unmarshal(c.request("textDocument/completion", c.docPos(rel, p)), &l); err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

func labels(items []completionItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Label)
	}
	return out
}

func item(items []completionItem, label string) *completionItem {
	for i := range items {
		if items[i].Label == label {
			return &items[i]
		}
	}
	return nil
}

// The corpus is valid: the server must not report a single problem of
// its own on any of it.
func TestCorpusHasNoFalseErrors(t *testing.T) {
	for _, name := range []string{"uart", "soc_sv", "mixed", "tb", "ifdefs"} {
		t.Run(name, func(t *testing.T) {
			root := copyProject(t, name)
			c := newClient(t, root, clientOptions{})
			var files []string
			_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.Contains(".v.vh.sv.svh.vhd", filepath.Ext(p)) && filepath.Ext(p) != "" {
					rel, _ := filepath.Rel(root, p)
					files = append(files, filepath.ToSlash(rel))
				}
				return nil
			})
			for _, rel := range files {
				if strings.Contains(rel, "legacy/") {
					continue // excluded by .ide/hdl.toml
				}
				c.open(rel)
			}
			// Opening publishes each file's diagnostics; give them a moment
			// and then require silence.
			symbols := c.request("workspace/symbol", map[string]any{"query": ""})
			if len(symbols) < 10 {
				t.Fatalf("workspace/symbol: %s", symbols)
			}
			for _, rel := range files {
				if strings.Contains(rel, "legacy/") {
					continue
				}
				ds := c.waitDiags(rel, "no problems", func(d []diag) bool { return true })
				if len(ds) > 0 {
					t.Errorf("%s: false problems: %s", rel, dump(ds))
				}
			}
		})
	}
}

func TestHoverResolvesWidthsAndOverrides(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	// A port connection at an instance whose DATA_BITS is overridden.
	h := c.hover("rtl/top.v", c.at("rtl/top.v", ".data (tx_data)", 0, 1))
	for _, want := range []string{"input", "[DATA_BITS-1:0]", "[7:0]", "Data to send."} {
		if !strings.Contains(h, want) {
			t.Errorf("hover on .data: missing %q in\n%s", want, h)
		}
	}
	// The top's own port, its parameter known from the default.
	h = c.hover("rtl/top.v", c.at("rtl/top.v", "tx_data,", 0, 0))
	if !strings.Contains(h, "[7:0]") || !strings.Contains(h, "Word to transmit.") {
		t.Errorf("hover on tx_data:\n%s", h)
	}
	// A parameter's value.
	h = c.hover("rtl/top.v", c.at("rtl/top.v", "DATA_BITS = 8", 0, 0))
	if !strings.Contains(h, "value `8`") {
		t.Errorf("hover on DATA_BITS:\n%s", h)
	}
	// A macro.
	h = c.hover("rtl/top.v", c.at("rtl/top.v", "`UART_OVERSAMPLE", 0, 2))
	if !strings.Contains(h, "16") || !strings.Contains(h, "include/uart_defs.vh") {
		t.Errorf("hover on `UART_OVERSAMPLE:\n%s", h)
	}
	// A module name at its instance.
	h = c.hover("rtl/top.v", c.at("rtl/top.v", "uart_tx #(", 0, 1))
	if !strings.Contains(h, "module uart_tx") || !strings.Contains(h, "output reg txd") {
		t.Errorf("hover on uart_tx:\n%s", h)
	}
}

func TestDefinitionAcrossFiles(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	cases := []struct {
		marker string
		off    int
		file   string
		text   string
	}{
		{"uart_tx #(", 0, "rtl/uart_tx.v", "uart_tx"},
		{".busy (tx_busy)", 1, "rtl/uart_tx.v", "busy"},
		{".DATA_BITS(DATA_BITS)", 1, "rtl/uart_tx.v", "DATA_BITS"},
		{"`UART_OVERSAMPLE", 1, "include/uart_defs.vh", "UART_OVERSAMPLE"},
		{"(tx_busy)", 1, "rtl/top.v", "tx_busy"},
	}
	for _, tc := range cases {
		ls := c.locations("textDocument/definition", "rtl/top.v", c.at("rtl/top.v", tc.marker, 0, tc.off), nil)
		if len(ls) == 0 {
			t.Errorf("definition at %q: none", tc.marker)
			continue
		}
		if got := c.relOf(ls[0].URI); got != tc.file || c.textAt(got, ls[0].Range) != tc.text {
			t.Errorf("definition at %q: %s %q, want %s %q", tc.marker, got, c.textAt(got, ls[0].Range), tc.file, tc.text)
		}
	}
	// Include names jump to the header.
	ls := c.locations("textDocument/definition", "rtl/top.v", c.at("rtl/top.v", `"uart_defs.vh"`, 0, 3), nil)
	if len(ls) != 1 || c.relOf(ls[0].URI) != "include/uart_defs.vh" {
		t.Errorf("definition on the include: %v", ls)
	}
}

func TestCompletionNamedPortsFromAnotherFile(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	typed := beforeEndmodule(text, "    uart_tx #(.DATA_BITS(16)) u_tx2 (\n        .clk(clk),\n        .\n")
	c.change("rtl/top.v", typed)
	items := c.complete("rtl/top.v", c.at("rtl/top.v", "        .\n", 0, 9))
	got := labels(items)
	want := []string{"rst", "tick", "start", "data", "txd", "busy"}
	if !slices.Equal(got, want) {
		t.Fatalf("port completion = %v, want the unconnected ports %v in order", got, want)
	}
	d := item(items, "data")
	if !strings.Contains(d.Detail, "input") || !strings.Contains(d.Detail, "16 bits") {
		t.Errorf("data detail %q: want direction and the 16-bit width from the override", d.Detail)
	}
	if r := item(items, "rst"); r.InsertText != "rst(rst)" {
		t.Errorf("rst inserts %q, want it connected to the same-named signal", r.InsertText)
	}
	if b := item(items, "busy"); b.InsertText != "busy(${1})" {
		t.Errorf("busy inserts %q, want an empty connection to fill (no signal named busy here)", b.InsertText)
	}
	// Parameters after #(.
	typed2 := beforeEndmodule(text, "    uart_rx #(.\n")
	c.change("rtl/top.v", typed2)
	items = c.complete("rtl/top.v", c.at("rtl/top.v", "uart_rx #(.\n", 0, 11))
	if got := labels(items); !slices.Contains(got, "DATA_BITS") || !slices.Contains(got, "SYNC_STAGES") || slices.Contains(got, "clk") {
		t.Errorf("parameter completion = %v", got)
	}
}

func TestCompletionModuleExpandsToInstantiation(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", beforeEndmodule(text, "    uart_t\n"))
	items := c.complete("rtl/top.v", c.at("rtl/top.v", "    uart_t\n", 0, 10))
	it := item(items, "uart_tx")
	if it == nil {
		t.Fatalf("no uart_tx in %v", labels(items))
	}
	for _, want := range []string{"uart_tx #(", ".DATA_BITS (${2:8})", ".PARITY    (${3:0})", ") ${1:u_uart_tx} (", ".clk   (clk)", ".rst   (rst)", ".start (${4})", ".data  (${5})", ");"} {
		if !strings.Contains(it.InsertText, want) {
			t.Errorf("instantiation snippet lacks %q:\n%s", want, it.InsertText)
		}
	}
}

func TestCompletionMacrosSystemTasksAndScope(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", beforeEndmodule(text, "    assign x = `UART_S + $clo + tx_b + DIV_;\n"))
	if got := labels(c.complete("rtl/top.v", c.at("rtl/top.v", "`UART_S", 0, 7))); !slices.Contains(got, "UART_STOP_BITS") || !slices.Contains(got, "UART_START") {
		t.Errorf("macro completion = %v", got)
	}
	if got := labels(c.complete("rtl/top.v", c.at("rtl/top.v", "$clo", 0, 4))); !slices.Contains(got, "$clog2") {
		t.Errorf("system task completion = %v", got)
	}
	items := c.complete("rtl/top.v", c.at("rtl/top.v", "tx_b ", 0, 4))
	if it := item(items, "tx_busy"); it == nil || !strings.Contains(it.Detail, "output") {
		t.Errorf("scope completion: tx_busy %+v in %v", it, labels(items))
	}
	if item(items, "DIV_WIDTH") != nil {
		t.Errorf("completion after tx_b offers DIV_WIDTH: the prefix filters")
	}
	items = c.complete("rtl/top.v", c.at("rtl/top.v", "DIV_;", 0, 4))
	if it := item(items, "DIV_WIDTH"); it == nil || !strings.Contains(it.Detail, "localparam") {
		t.Errorf("scope completion lacks the localparam DIV_WIDTH: %v", items)
	}
}

func TestReferencesAndRenameAcrossFiles(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/uart_tx.v")
	p := c.at("rtl/uart_tx.v", "busy\n", 0, 0)
	refs := c.locations("textDocument/references", "rtl/uart_tx.v", p, map[string]any{"context": map[string]any{"includeDeclaration": true}})
	files := map[string]int{}
	for _, r := range refs {
		rel := c.relOf(r.URI)
		if c.textAt(rel, r.Range) != "busy" {
			t.Errorf("reference %s %v is %q", rel, r.Range, c.textAt(rel, r.Range))
		}
		files[rel]++
	}
	if files["rtl/top.v"] != 1 || files["rtl/uart_tx.v"] < 2 {
		t.Errorf("references of busy: %v", files)
	}
	var edit struct {
		Changes map[string][]struct {
			Range   rng    `json:"range"`
			NewText string `json:"newText"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(c.request("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")}, "position": p, "newName": "tx_active"}), &edit); err != nil {
		t.Fatal(err)
	}
	top := edit.Changes[c.uri("rtl/top.v")]
	if len(top) != 1 || c.textAt("rtl/top.v", top[0].Range) != "busy" || top[0].NewText != "tx_active" {
		t.Errorf("rename edits in top.v: %v", top)
	}
	// Refused: a keyword, a name outside the workspace, a bad identifier.
	if _, e := c.call("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")}, "position": c.at("rtl/uart_tx.v", "module uart_tx", 0, 2), "newName": "x"}); !strings.Contains(e, "keyword") {
		t.Errorf("rename of a keyword: %q", e)
	}
	if _, e := c.call("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")}, "position": p, "newName": "always"}); !strings.Contains(e, "keyword") {
		t.Errorf("rename to a keyword: %q", e)
	}
	if _, e := c.call("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")}, "position": p, "newName": "9lives"}); !strings.Contains(e, "identifier") {
		t.Errorf("rename to a bad name: %q", e)
	}
	// A macro: its `define in the header and every use, the backtick kept.
	edit.Changes = nil
	if err := json.Unmarshal(c.request("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")},
		"position": c.at("rtl/uart_tx.v", "`UART_STOP_BITS;", 0, 3), "newName": "STOP_BITS"}), &edit); err != nil {
		t.Fatal(err)
	}
	n := 0
	for uri, es := range edit.Changes {
		for _, e := range es {
			if got := c.textAt(c.relOf(uri), e.Range); got != "UART_STOP_BITS" || e.NewText != "STOP_BITS" {
				t.Errorf("macro rename edit in %s: %q -> %q", c.relOf(uri), got, e.NewText)
			}
			n++
		}
	}
	if len(edit.Changes[c.uri("include/uart_defs.vh")]) != 1 || n < 3 {
		t.Errorf("macro rename: %d edits, %v", n, edit.Changes)
	}
	// A module: its declaration and every instance.
	edit.Changes = nil
	if err := json.Unmarshal(c.request("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")},
		"position": c.at("rtl/uart_tx.v", "module uart_tx", 0, 9), "newName": "serial_tx"}), &edit); err != nil {
		t.Fatal(err)
	}
	if len(edit.Changes[c.uri("rtl/top.v")]) != 1 || len(edit.Changes[c.uri("rtl/uart_tx.v")]) != 1 {
		t.Errorf("module rename: %v", edit.Changes)
	}
}

func TestProjectDiagnosticsAsYouType(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	bad := beforeEndmodule(text, `    wire [3:0] narrow;
    wire [7:0] wide;
    assign narrow = wide;
    no_such_mod u_x (.a(1'b0));
    baud_gen u_b2 (.clk(clk), .rst(rst), .tick(tick), .bogus(tick));
    uart_tx u_t3 (.clk(clk), .rst(rst), .tick(tick), .start(1'b0), .data(narrow), .txd(), .busy());
    assign wide = undeclared_thing;
`)
	c.change("rtl/top.v", bad)
	ds := c.waitDiags("rtl/top.v", "the five problems", func(d []diag) bool { return len(d) >= 5 })
	checks := []struct{ code, text string }{
		{"unknown-module", "no_such_mod"},
		{"unknown-port", "bogus"},
		{"missing-port", "u_b2"},
		{"width-mismatch", "wide"},
		{"width-mismatch", "narrow"},
		{"undeclared", "undeclared_thing"},
	}
	for _, ck := range checks {
		found := false
		for _, d := range ds {
			if d.Code == ck.code && c.textAt("rtl/top.v", d.Range) == ck.text {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s on %q in %s", ck.code, ck.text, dump(ds))
		}
	}
	// A syntax error as you type, and recovery when it is fixed.
	c.change("rtl/top.v", beforeEndmodule(text, "    wire [7:0] oops\n    assign tx_busy = 1'b0;\n"))
	c.waitDiags("rtl/top.v", "a syntax error", func(d []diag) bool { return hasCode(d, "syntax", "hdl") != nil })
	c.change("rtl/top.v", text)
	c.waitDiags("rtl/top.v", "no problems", func(d []diag) bool { return len(d) == 0 })
}

func TestHierarchy(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	var res struct {
		Tops []struct {
			Name     string `json:"name"`
			Children []struct {
				Name   string `json:"name"`
				Module string `json:"module"`
				URI    string `json:"uri"`
				Params []struct{ Name, Value string }
			} `json:"children"`
		} `json:"tops"`
	}
	if err := json.Unmarshal(c.request("gatewave/hierarchy", map[string]any{}), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Tops) != 1 || res.Tops[0].Name != "top" {
		t.Fatalf("tops: %s", dump(res))
	}
	var got []string
	for _, ch := range res.Tops[0].Children {
		got = append(got, ch.Name+":"+ch.Module)
		if ch.Module == "uart_tx" {
			vals := map[string]string{}
			for _, p := range ch.Params {
				vals[p.Name] = p.Value
			}
			if vals["DATA_BITS"] != "8" || vals["PARITY"] != "0" {
				t.Errorf("u_tx params %v", vals)
			}
			if c.relOf(ch.URI) != "rtl/top.v" {
				t.Errorf("u_tx at %s", ch.URI)
			}
		}
	}
	if !slices.Equal(got, []string{"u_baud:baud_gen", "u_tx:uart_tx", "u_rx:uart_rx"}) {
		t.Errorf("children %v", got)
	}
	// Typing that leaves the structure alone announces nothing; a new
	// instance does.
	c.waitNote("gatewave/hierarchyChanged", 1)
	count := func() int { return c.noteCount("gatewave/hierarchyChanged") }
	n := count()
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", "// a comment\n"+text)
	c.waitDiags("rtl/top.v", "the edit processed", func([]diag) bool { return true })
	c.request("textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}})
	time.Sleep(100 * time.Millisecond)
	if count() != n {
		t.Errorf("a comment announced a hierarchy change")
	}
	c.change("rtl/top.v", beforeEndmodule(text, "    baud_gen u_b2 ();\n"))
	c.waitNote("gatewave/hierarchyChanged", n+1)
}

func TestMixedLanguage(t *testing.T) {
	c := newClient(t, copyProject(t, "mixed"), clientOptions{})
	c.open("verilog/wrapper.v")
	ls := c.locations("textDocument/definition", "verilog/wrapper.v", c.at("verilog/wrapper.v", "counter #(", 0, 1), nil)
	if len(ls) == 0 || c.relOf(ls[0].URI) != "vhdl/counter.vhd" {
		t.Fatalf("definition of the VHDL counter from Verilog: %v", ls)
	}
	h := c.hover("verilog/wrapper.v", c.at("verilog/wrapper.v", ".count(count)", 0, 1))
	if !strings.Contains(h, "std_logic_vector") || !strings.Contains(h, "(19 downto 0)") {
		t.Errorf("hover on the VHDL port at a Verilog instance (WIDTH=20):\n%s", h)
	}
}

func TestInlayHintsSemanticTokensFoldingSymbols(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	var hints []struct {
		Position pos    `json:"position"`
		Label    string `json:"label"`
	}
	if err := json.Unmarshal(c.request("textDocument/inlayHint", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")},
		"range": rng{pos{0, 0}, pos{1000, 0}}}), &hints); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range hints {
		if h.Label == "input [7:0]" && h.Position == c.at("rtl/top.v", "tx_data),", 0, 0) {
			found = true
		}
	}
	if !found {
		t.Errorf("no 'input [7:0]' hint at .data (tx_data): %s", dump(hints))
	}
	var toks struct {
		Data []int `json:"data"`
	}
	if err := json.Unmarshal(c.request("textDocument/semanticTokens/full", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}}), &toks); err != nil {
		t.Fatal(err)
	}
	if len(toks.Data) == 0 || len(toks.Data)%5 != 0 {
		t.Fatalf("semantic tokens: %d numbers", len(toks.Data))
	}
	// The `else branch of `ifdef SIMULATION is active, the `ifdef one not:
	// a token with the inactive modifier (bit 2) sits on the $display line.
	line, inactive := 0, false
	dl := c.at("rtl/top.v", "$display", 0, 0).Line
	for i := 0; i < len(toks.Data); i += 5 {
		line += toks.Data[i]
		if line == dl && toks.Data[i+4]&4 != 0 {
			inactive = true
		}
	}
	if !inactive {
		t.Errorf("the `ifdef SIMULATION body is not marked inactive")
	}
	// A file that is not open gets its tokens too (the index drops them).
	var closed struct {
		Data []int `json:"data"`
	}
	_ = json.Unmarshal(c.request("textDocument/semanticTokens/full", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/uart_tx.v")}}), &closed)
	if len(closed.Data) < 100 {
		t.Errorf("semantic tokens of a file not open: %d numbers", len(closed.Data))
	}
	var folds []struct{ StartLine, EndLine int }
	_ = json.Unmarshal(c.request("textDocument/foldingRange", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}}), &folds)
	if len(folds) < 4 {
		t.Errorf("folding ranges: %v", folds)
	}
	var syms []struct {
		Name     string `json:"name"`
		Children []struct {
			Name string `json:"name"`
		} `json:"children"`
	}
	_ = json.Unmarshal(c.request("textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}}), &syms)
	if len(syms) != 1 || syms[0].Name != "top" {
		t.Fatalf("document symbols: %s", dump(syms))
	}
	var kids []string
	for _, k := range syms[0].Children {
		kids = append(kids, k.Name)
	}
	for _, want := range []string{"CLK_HZ", "clk", "tx_data", "DIV_WIDTH", "tick", "u_baud", "u_tx", "u_rx"} {
		if !slices.Contains(kids, want) {
			t.Errorf("document symbols of top lack %s: %v", want, kids)
		}
	}
}

func TestCodeActions(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", beforeEndmodule(text, "    baud_gen u_b2 (\n        .clk(clk),\n        .tick_os(extra_os)\n    );\n"))
	ds := c.waitDiags("rtl/top.v", "missing ports and an undeclared name", func(d []diag) bool {
		return hasCode(d, "missing-port", "") != nil && hasCode(d, "undeclared", "") != nil
	})
	_ = ds
	var actions []struct {
		Title string `json:"title"`
		Edit  struct {
			Changes map[string][]struct {
				Range   rng    `json:"range"`
				NewText string `json:"newText"`
			} `json:"changes"`
		} `json:"edit"`
	}
	p := c.at("rtl/top.v", "u_b2", 0, 1)
	if err := json.Unmarshal(c.request("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")},
		"range": rng{p, c.at("rtl/top.v", "extra_os", 0, 2)}, "context": map[string]any{"diagnostics": []any{}}}), &actions); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range actions {
		titles = append(titles, a.Title)
		edits := a.Edit.Changes[c.uri("rtl/top.v")]
		if len(edits) != 1 {
			t.Errorf("%s: edits %v", a.Title, edits)
			continue
		}
		switch {
		case strings.HasPrefix(a.Title, "Add the missing port connections"):
			// rst and tick exist in top: connected; baud_gen's other
			// ports have no same-named signal: left empty, not guessed.
			if !strings.Contains(edits[0].NewText, ".rst(rst)") || !strings.Contains(edits[0].NewText, ".tick(tick)") {
				t.Errorf("missing ports edit: %q", edits[0].NewText)
			}
			fixed := applyEdits(c.read("rtl/top.v"), []textEdit{{Range: edits[0].Range, NewText: edits[0].NewText}})
			if !strings.Contains(fixed, "        .tick_os(extra_os),\n        .rst(rst),\n        .tick(tick)\n    );") {
				t.Errorf("after the fix:\n%s", fixed[strings.Index(fixed, "u_b2"):])
			}
		case strings.HasPrefix(a.Title, "Declare"):
			if edits[0].NewText != "    wire extra_os;\n" {
				t.Errorf("declare edit: %q", edits[0].NewText)
			}
		}
	}
	if len(actions) != 2 {
		t.Errorf("actions %v", titles)
	}
}

type textEdit struct {
	Range   rng    `json:"range"`
	NewText string `json:"newText"`
}

// applyEdits applies LSP edits (ASCII text: columns are bytes) to text.
func applyEdits(text string, edits []textEdit) string {
	lines := strings.SplitAfter(text, "\n")
	off := func(p pos) int {
		n := 0
		for i := 0; i < p.Line && i < len(lines); i++ {
			n += len(lines[i])
		}
		return n + p.Character
	}
	slices.SortFunc(edits, func(a, b textEdit) int { return off(b.Range.Start) - off(a.Range.Start) })
	for _, e := range edits {
		text = text[:off(e.Range.Start)] + e.NewText + text[off(e.Range.End):]
	}
	return text
}

func TestFormattingIsIdempotent(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	messy := "module m(input a,\n output [3:0] bb);\nwire x;\n  wire [7:0] longer_name;\nassign bb=a;\n   always @(*) begin\nif (a)\n$display(\"x\");\n end\nendmodule\n"
	c.change("rtl/top.v", messy)
	format := func() []textEdit {
		var edits []textEdit
		if err := json.Unmarshal(c.request("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}, "options": map[string]any{"tabSize": 4, "insertSpaces": true}}), &edits); err != nil {
			t.Fatal(err)
		}
		return edits
	}
	edits := format()
	if len(edits) == 0 {
		t.Fatal("no formatting edits for a badly indented module")
	}
	got := applyEdits(messy, edits)
	if !strings.Contains(got, "    wire       x;\n    wire [7:0] longer_name;\n") || !strings.Contains(got, "        if (a)\n            $display") {
		t.Errorf("formatted:\n%s", got)
	}
	if strings.ReplaceAll(strings.Join(strings.Fields(got), ""), " ", "") != strings.Join(strings.Fields(messy), "") {
		t.Errorf("formatting changed more than whitespace:\n%s", got)
	}
	c.change("rtl/top.v", got)
	if again := format(); len(again) != 0 {
		t.Errorf("formatting the result again changes it: %v", again)
	}
	// Range formatting touches only the lines in range.
	c.change("rtl/top.v", messy)
	var edits2 []textEdit
	if err := json.Unmarshal(c.request("textDocument/rangeFormatting", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")},
		"range": rng{pos{5, 0}, pos{6, 0}}, "options": map[string]any{"tabSize": 4, "insertSpaces": true}}), &edits2); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits2 {
		if e.Range.Start.Line < 5 || e.Range.End.Line > 6 {
			t.Errorf("range formatting edited outside lines 5-6: %v", e)
		}
	}
	if len(edits2) == 0 {
		t.Errorf("range formatting of a mis-indented always line made no edit")
	}
}

func TestDiskChangesAreWatched(t *testing.T) {
	root := copyProject(t, "uart")
	c := newClient(t, root, clientOptions{watch: true})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", beforeEndmodule(text, "    fresh u_f (.a(clk));\n"))
	c.waitDiags("rtl/top.v", "unknown module fresh", func(d []diag) bool { return hasCode(d, "unknown-module", "") != nil })
	// A netlist written into build/ (tool output) is not part of the
	// design; a generator writing the module into the sources is.
	writeFiles(t, root, map[string]string{"build/fresh.v": "module fresh(input a);\nendmodule\n"})
	time.Sleep(500 * time.Millisecond)
	c.waitDiags("rtl/top.v", "still unknown", func(d []diag) bool { return hasCode(d, "unknown-module", "") != nil })
	writeFiles(t, root, map[string]string{"gen/fresh.v": "module fresh(input a);\nendmodule\n"})
	c.waitDiags("rtl/top.v", "no unknown module", func(d []diag) bool { return hasCode(d, "unknown-module", "") == nil })
}

func TestHighlightsAndWorkspaceSymbols(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	var hl []struct {
		Range rng `json:"range"`
		Kind  int `json:"kind"`
	}
	if err := json.Unmarshal(c.request("textDocument/documentHighlight", c.docPos("rtl/top.v", c.at("rtl/top.v", "tick_os;", 0, 2))), &hl); err != nil {
		t.Fatal(err)
	}
	writes := 0
	for _, h := range hl {
		if got := c.textAt("rtl/top.v", h.Range); got != "tick_os" {
			t.Errorf("highlight covers %q", got)
		}
		if h.Kind == 3 {
			writes++
		}
	}
	// The declaration, u_baud's .tick_os(tick_os) and u_rx's .tick_os(tick_os):
	// the connection names are the ports of other modules, not this wire.
	if len(hl) != 3 || writes != 1 {
		t.Errorf("highlights of tick_os: %s", dump(hl))
	}
	var syms []struct {
		Name          string   `json:"name"`
		ContainerName string   `json:"containerName"`
		Location      location `json:"location"`
	}
	if err := json.Unmarshal(c.request("workspace/symbol", map[string]any{"query": "uart_rx"}), &syms); err != nil {
		t.Fatal(err)
	}
	if len(syms) == 0 || syms[0].Name != "uart_rx" || c.relOf(syms[0].Location.URI) != "rtl/uart_rx.v" || syms[0].ContainerName != "" {
		t.Errorf("workspace symbol uart_rx: %s", dump(syms))
	}
	if err := json.Unmarshal(c.request("workspace/symbol", map[string]any{"query": "UART_OVERS"}), &syms); err != nil {
		t.Fatal(err)
	}
	if len(syms) != 1 || syms[0].Name != "`UART_OVERSAMPLE" || c.relOf(syms[0].Location.URI) != "include/uart_defs.vh" {
		t.Errorf("workspace symbol for a macro: %s", dump(syms))
	}
}

// Ports with no same-named signal are left empty, never guessed.
func TestAddMissingPortsLeavesUnknownSignalsOpen(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", beforeEndmodule(text, "    uart_tx u_t3 (.clk(clk));\n"))
	c.waitDiags("rtl/top.v", "missing ports", func(d []diag) bool { return hasCode(d, "missing-port", "") != nil })
	var actions []struct {
		Title string `json:"title"`
		Edit  struct {
			Changes map[string][]textEdit `json:"changes"`
		} `json:"edit"`
	}
	p := c.at("rtl/top.v", "u_t3", 0, 1)
	if err := json.Unmarshal(c.request("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")},
		"range": rng{p, p}, "context": map[string]any{"diagnostics": []any{}}}), &actions); err != nil {
		t.Fatal(err)
	}
	if len(actions) != 1 {
		t.Fatalf("actions: %s", dump(actions))
	}
	fixed := applyEdits(c.read("rtl/top.v"), actions[0].Edit.Changes[c.uri("rtl/top.v")])
	for _, s := range []string{".rst(rst)", ".tick(tick)", ".start()", ".data()", ".txd()", ".busy()\n    );"} {
		if !strings.Contains(fixed, s) {
			t.Errorf("fixed text lacks %q:\n%s", s, fixed[strings.Index(fixed, "u_t3"):])
		}
	}
	c.change("rtl/top.v", fixed)
	ds := c.waitDiags("rtl/top.v", "no missing ports", func(d []diag) bool { return hasCode(d, "missing-port", "") == nil })
	if d := hasCode(ds, "undeclared", ""); d != nil {
		t.Errorf("the fix made an undeclared name: %s", dump(d))
	}
}

// Macros of another core's headers and include guards are not offered.
func TestMacroCompletionOffersWhatTheFileCanSee(t *testing.T) {
	root := copyProject(t, "uart")
	writeFiles(t, root, map[string]string{
		"other/inc/other_defs.vh": "`ifndef OTHER_DEFS_VH\n`define OTHER_DEFS_VH\n`define OTHER_WIDTH 12\n`endif\n",
		"other/rtl/o.v":           "`include \"other_defs.vh\"\nmodule o (output [`OTHER_WIDTH-1:0] y);\n  assign y = 0;\nendmodule\n",
	})
	c := newClient(t, root, clientOptions{})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	c.change("rtl/top.v", beforeEndmodule(text, "    assign x = `\n"))
	got := labels(c.complete("rtl/top.v", c.at("rtl/top.v", "assign x = `", 0, 12)))
	if !slices.Contains(got, "UART_OVERSAMPLE") {
		t.Errorf("the included header's macros are missing: %v", got)
	}
	for _, no := range []string{"OTHER_WIDTH", "OTHER_DEFS_VH", "UART_DEFS_VH"} {
		if slices.Contains(got, no) {
			t.Errorf("%s offered in top.v: %v", no, got)
		}
	}
	c.open("other/rtl/o.v")
	if got := labels(c.complete("other/rtl/o.v", c.at("other/rtl/o.v", "[`", 0, 2))); !slices.Contains(got, "OTHER_WIDTH") || slices.Contains(got, "UART_IDLE") {
		t.Errorf("o.v completion: %v", got)
	}
}
