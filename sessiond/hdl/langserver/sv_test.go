package langserver_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/lint"
	"gatewave.dev/shared/testenv"
)

func TestSystemVerilogPackagesStructsInterfaces(t *testing.T) {
	c := newClient(t, copyProject(t, "soc_sv"), clientOptions{})
	c.open("rtl/soc_top.sv")
	text := c.read("rtl/soc_top.sv")
	c.change("rtl/soc_top.sv", beforeEndmodule(text, "    assign x = bus_pkg::NU + cpu_req_i.ad + u_bus.re;\n"))
	// pkg:: items.
	items := c.complete("rtl/soc_top.sv", c.at("rtl/soc_top.sv", "bus_pkg::NU", 0, 11))
	if it := item(items, "NUM_REGS"); it == nil {
		t.Errorf("pkg:: completion = %v", labels(items))
	}
	// Struct members through a typedef from an imported package.
	items = c.complete("rtl/soc_top.sv", c.at("rtl/soc_top.sv", "cpu_req_i.ad", 0, 12))
	if it := item(items, "addr"); it == nil || !strings.Contains(it.Detail, "addr_t") {
		t.Errorf("struct member completion = %v", items)
	}
	// An interface instance's signals (hierarchical).
	items = c.complete("rtl/soc_top.sv", c.at("rtl/soc_top.sv", "u_bus.re", 0, 8))
	if got := labels(items); !slices.Contains(got, "req") {
		t.Errorf("interface member completion = %v", got)
	}
	// Hover resolves the package parameter and the struct width.
	h := c.hover("rtl/soc_top.sv", c.at("rtl/soc_top.sv", "NUM_REGS)", 0, 1))
	if !strings.Contains(h, "value `8`") {
		t.Errorf("hover on bus_pkg::NUM_REGS:\n%s", h)
	}
	h = c.hover("rtl/soc_top.sv", c.at("rtl/soc_top.sv", "cpu_req_i,", 0, 1))
	// req_t = op (2) + addr (16) + wdata (32).
	if !strings.Contains(h, "50 bits") {
		t.Errorf("hover on a req_t port:\n%s", h)
	}
	// Type definition of a struct-typed port.
	ls := c.locations("textDocument/typeDefinition", "rtl/soc_top.sv", c.at("rtl/soc_top.sv", "cpu_req_i,", 0, 1), nil)
	if len(ls) != 1 || c.relOf(ls[0].URI) != "pkg/bus_pkg.sv" || c.textAt("pkg/bus_pkg.sv", ls[0].Range) != "req_t" {
		t.Errorf("type definition of cpu_req_i: %v", ls)
	}
	// Definition of a struct member goes to the field.
	ls = c.locations("textDocument/definition", "rtl/soc_top.sv", c.at("rtl/soc_top.sv", "u_bus.master", 0, 7), nil)
	if len(ls) != 1 || c.relOf(ls[0].URI) != "rtl/bus_if.sv" || c.textAt("rtl/bus_if.sv", ls[0].Range) != "master" {
		t.Errorf("definition of u_bus.master: %v", ls)
	}
}

func TestSignatureHelpInPortList(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.open("rtl/top.v")
	var sh struct {
		Signatures []struct {
			Label      string `json:"label"`
			Parameters []struct {
				Label [2]int `json:"label"`
			} `json:"parameters"`
		} `json:"signatures"`
		ActiveParameter int `json:"activeParameter"`
	}
	p := c.at("rtl/top.v", "(tx_start)", 0, 3)
	if err := json.Unmarshal(c.request("textDocument/signatureHelp", c.docPos("rtl/top.v", p)), &sh); err != nil {
		t.Fatal(err)
	}
	if len(sh.Signatures) != 1 || !strings.HasPrefix(sh.Signatures[0].Label, "uart_tx (input wire clk") {
		t.Fatalf("signature help: %s", dump(sh))
	}
	lab := sh.Signatures[0].Label
	act := sh.Signatures[0].Parameters[sh.ActiveParameter].Label
	if got := lab[act[0]:act[1]]; got != "input wire start" {
		t.Errorf("active parameter %q, want the start port", got)
	}
}

func TestConfigDefinesIncludeDirsAndExcludes(t *testing.T) {
	c := newClient(t, copyProject(t, "ifdefs"), clientOptions{})
	c.open("rtl/chip.v")
	// rtl/legacy/fifo.v (a second module fifo) is excluded: definition has
	// exactly one target and no duplicate is reported.
	text := c.read("rtl/chip.v")
	i := strings.Index(text, "fifo ")
	if i < 0 {
		t.Fatalf("chip.v has no fifo instance:\n%s", text)
	}
	ls := c.locations("textDocument/definition", "rtl/chip.v", c.at("rtl/chip.v", "fifo ", 0, 1), nil)
	if len(ls) != 1 || c.relOf(ls[0].URI) != "rtl/fifo.v" {
		t.Errorf("definition of fifo: %v (legacy must be excluded)", ls)
	}
	// USE_FIFO is defined by .ide/hdl.toml, so its branch is active and
	// the others are not: the semantic tokens mark the `else branch.
	var toks struct {
		Data []int `json:"data"`
	}
	_ = json.Unmarshal(c.request("textDocument/semanticTokens/full", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/chip.v")}}), &toks)
	inactive := map[int]bool{}
	line := 0
	for k := 0; k < len(toks.Data); k += 5 {
		line += toks.Data[k]
		if toks.Data[k+4]&4 != 0 {
			inactive[line] = true
		}
	}
	lines := strings.Split(text, "\n")
	in := false
	for n, l := range lines {
		tl := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(tl, "`ifdef USE_FIFO"):
			in = true
			continue
		case strings.HasPrefix(tl, "`elsif"), strings.HasPrefix(tl, "`else"), strings.HasPrefix(tl, "`endif"):
			in = false
		}
		if in && tl != "" && inactive[n] {
			t.Errorf("line %d %q is in the active `ifdef USE_FIFO branch but marked inactive", n+1, tl)
		}
	}
	if len(inactive) == 0 {
		t.Errorf("no inactive lines at all in chip.v")
	}
	ds := c.waitDiags("rtl/chip.v", "no problems", func(d []diag) bool { return true })
	if len(ds) > 0 {
		t.Errorf("chip.v: %s", dump(ds))
	}
}

func TestOnSaveRunsTheRealTools(t *testing.T) {
	testenv.LookPath(t, "verilator")
	root := copyProject(t, "uart")
	c := newClient(t, root, clientOptions{lint: true})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	bad := beforeEndmodule(text, "    wire [7:0] spare_bus;\n")
	writeFiles(t, root, map[string]string{"rtl/top.v": bad})
	c.change("rtl/top.v", bad)
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}})
	ds := c.waitDiags("rtl/top.v", "verilator's UNUSEDSIGNAL", func(d []diag) bool { return hasCode(d, "UNUSEDSIGNAL", lint.Verilator) != nil })
	d := hasCode(ds, "UNUSEDSIGNAL", lint.Verilator)
	if c.textAt("rtl/top.v", d.Range) != "spare_bus" {
		t.Errorf("verilator's warning covers %q, want spare_bus", c.textAt("rtl/top.v", d.Range))
	}
	// Fixed and saved again: the tool's warning goes.
	writeFiles(t, root, map[string]string{"rtl/top.v": text})
	c.change("rtl/top.v", text)
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("rtl/top.v")}})
	c.waitDiags("rtl/top.v", "no tool warnings", func(d []diag) bool { return hasCode(d, "UNUSEDSIGNAL", "") == nil })
}

func TestMixedDesignOnSaveHasNoCrossLanguageNoise(t *testing.T) {
	testenv.LookPath(t, "verilator")
	testenv.LookPath(t, "ghdl")
	c := newClient(t, copyProject(t, "mixed"), clientOptions{lint: true})
	c.open("verilog/wrapper.v")
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("verilog/wrapper.v")}})
	// The tools ran (a second save then finds nothing new to say); the
	// VHDL counter that verilator cannot see is not an error.
	c.waitNote("gatewave/lintDone", 1)
	c.mu.Lock()
	for rel, ds := range c.diags {
		for _, d := range ds {
			if d.Severity == 1 {
				t.Errorf("%s: %s", rel, dump(d))
			}
		}
	}
	c.mu.Unlock()
	// wrapper.v instantiates the VHDL counter: the Verilog tools leave it
	// out (so they still check the rest) and the file says so.
	ds := c.waitDiags("verilog/wrapper.v", "the note", func(d []diag) bool { return hasCode(d, "not-tool-checked", "hdl") != nil })
	if n := hasCode(ds, "not-tool-checked", "hdl"); c.textAt("verilog/wrapper.v", n.Range) != "counter" || n.Severity != 3 {
		t.Errorf("note: %s", dump(n))
	}
}

// The Verilog tools still check every other file of a mixed workspace.
func TestMixedDesignToolsStillCheckTheRest(t *testing.T) {
	testenv.LookPath(t, "verilator")
	root := copyProject(t, "mixed")
	pwm := filepath.Join(root, "verilog/pwm.v")
	data, err := os.ReadFile(pwm)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	text = beforeEndmodule(text, "    wire [7:0] spare_bus;\n")
	writeFiles(t, root, map[string]string{"verilog/pwm.v": text})
	c := newClient(t, root, clientOptions{lint: true})
	c.open("verilog/pwm.v")
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri("verilog/pwm.v")}})
	c.waitDiags("verilog/pwm.v", "verilator's UNUSEDSIGNAL", func(d []diag) bool { return hasCode(d, "UNUSEDSIGNAL", lint.Verilator) != nil })
}

// A problem both the server and a tool see is shown once, the server's.
func TestToolAndServerDiagnosticsAreMerged(t *testing.T) {
	testenv.LookPath(t, "verilator")
	root := copyProject(t, "uart")
	c := newClient(t, root, clientOptions{lint: true})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	bad := beforeEndmodule(text, "    no_such_block u_x (.a(clk));\n")
	writeFiles(t, root, map[string]string{"rtl/top.v": bad})
	c.change("rtl/top.v", bad)
	c.saveAndLint("rtl/top.v")
	ds := c.waitDiags("rtl/top.v", "the unknown module", func(d []diag) bool { return hasCode(d, "unknown-module", "hdl") != nil })
	for _, d := range ds {
		if d.Severity == 1 && d.Source != "hdl" && d.Range.Start.Line == hasCode(ds, "unknown-module", "hdl").Range.Start.Line {
			t.Errorf("the unknown module is reported twice: %s", dump(ds))
		}
	}
}

// verilator's WIDTH warning sits on another token of the line than the
// server's width-mismatch; it is still the same problem, shown once.
func TestWidthWarningShownOnce(t *testing.T) {
	testenv.LookPath(t, "verilator")
	root := copyProject(t, "uart")
	c := newClient(t, root, clientOptions{lint: true})
	c.open("rtl/top.v")
	text := c.read("rtl/top.v")
	bad := beforeEndmodule(text, "    wire [3:0] four;\n    wire one;\n    assign four = 4'd3;\n    assign one = four;\n")
	writeFiles(t, root, map[string]string{"rtl/top.v": bad})
	c.change("rtl/top.v", bad)
	c.saveAndLint("rtl/top.v")
	ds := c.waitDiags("rtl/top.v", "the width mismatch", func(d []diag) bool { return hasCode(d, "width-mismatch", "hdl") != nil })
	line := hasCode(ds, "width-mismatch", "hdl").Range.Start.Line
	for _, d := range ds {
		if d.Source != "hdl" && d.Range.Start.Line == line && d.Severity == 2 {
			t.Errorf("also from %s: %s", d.Source, d.Message)
		}
	}
}

// saveAndLint says rel was saved and waits until the tools have run.
func (c *client) saveAndLint(rel string) {
	c.t.Helper()
	n := c.noteCount("gatewave/lintDone")
	c.notify("textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": c.uri(rel)}})
	c.waitNote("gatewave/lintDone", n+1)
}
