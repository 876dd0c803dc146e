package lint

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/hdl/design"
)

// rawOutput runs tool on opts the way Run does, for comparing Run's
// diagnostics with what the tool itself printed.
func rawOutput(t *testing.T, tool string, o Options) string {
	t.Helper()
	tmp := t.TempDir()
	var args []string
	switch tool {
	case Verilator:
		var err error
		if args, _, err = verilatorArgs(&o, tmp); err != nil {
			t.Fatal(err)
		}
	case Iverilog:
		args = iverilogArgs(&o)
	case Yosys:
		var err error
		if args, _, err = yosysArgs(&o, tmp); err != nil {
			t.Fatal(err)
		}
	case GHDL:
		args = ghdlArgs(&o, tmp)
	}
	cmd := exec.Command(tool, args...)
	cmd.Dir = o.Root
	out, _ := cmd.CombinedOutput()
	return strings.ReplaceAll(string(out), "\\", "")
}

// checkAgainstTools asserts that every tool a diagnostic names printed its
// message (the first tool verbatim) on that file and line.
func checkAgainstTools(t *testing.T, o Options, ds []Diagnostic) {
	t.Helper()
	raw := map[string]string{}
	for _, d := range ds {
		for i, tool := range append([]string{d.Source}, d.Also...) {
			if _, ok := raw[tool]; !ok {
				raw[tool] = rawOutput(t, tool, o)
			}
			out := raw[tool]
			msg, where := d.Message, fmt.Sprintf("%s:%d", d.Path, d.StartLine+1)
			if strings.HasPrefix(msg, "in ") { // attached from a file outside the root
				loc, rest, _ := strings.Cut(msg[3:], ": ")
				msg, where = rest, loc
			}
			if i > 0 { // a merged tool: it reports the line or names the token
				tok := strings.Trim(covered(readUnder(o.Root), d), `"`)
				if !strings.Contains(out, where+":") && !strings.Contains(out, where+".") && !strings.Contains(out, tok) {
					t.Errorf("%s reported nothing at %s about %q:\n%s", tool, where, tok, out)
				}
				continue
			}
			if !strings.Contains(out, strings.ReplaceAll(msg, "\\", "")) {
				t.Errorf("%s did not print %q:\n%s", tool, msg, out)
			}
			if !strings.Contains(out, where) {
				t.Errorf("%s printed nothing at %s:\n%s", tool, where, out)
			}
		}
	}
}

func TestRunGolden(t *testing.T) {
	needTools(t, Verilator, Iverilog, Yosys, GHDL)
	root := brokenRoot(t)
	read := readUnder(root)
	E, W := design.Error, design.Warning
	vi := []string{Iverilog, Yosys}
	cases := []struct {
		name  string
		opts  Options
		wants []want
	}{
		{"unknown module", Options{Verilog: []string{"unknown_module.v"}}, []want{
			{"unknown_module.v", 5, "nosuch_block", E, Verilator, "", "Cannot find file containing module: 'nosuch_block'", vi},
		}},
		{"missing port", Options{Verilog: []string{"missing_port.v", "leaf.v"}}, []want{
			{"missing_port.v", 5, "bogus_pin", E, Verilator, "PINNOTFOUND", "Pin not found: 'bogus_pin'", vi},
		}},
		{"width mismatch", Options{Verilog: []string{"width.v"}}, []want{
			{"width.v", 1, "a", W, Verilator, "UNUSEDSIGNAL", "Bits of signal are not used: 'a'[7:4]", nil},
			{"width.v", 4, "=", W, Verilator, "WIDTH", "expects 4 bits on the Assign RHS, but Assign RHS's VARREF 'a' generates 8 bits", nil},
		}},
		{"port width", Options{Verilog: []string{"port_width.v", "leaf.v"}}, []want{
			{"leaf.v", 1, "module leaf (", W, Iverilog, "", "timescale for leaf inherited from another file.", nil},
			{"port_width.v", 6, "d", W, Verilator, "WIDTH", "Input port connection 'd' expects 8 bits", []string{Iverilog}},
		}},
		{"undeclared", Options{Verilog: []string{"undeclared.v"}}, []want{
			{"undeclared.v", 4, "not_declared_sig", E, Verilator, "", "Can't find definition of variable: 'not_declared_sig'", vi},
		}},
		{"syntax error", Options{Verilog: []string{"syntax.v"}}, []want{
			{"syntax.v", 4, "assign y = a", E, Iverilog, "", "syntax error in continuous assignment", nil},
			{"syntax.v", 5, "wire", E, Verilator, "", "syntax error, unexpected wire, expecting ',' or ';'", vi},
		}},
		{"unused signal", Options{Verilog: []string{"unused.v"}}, []want{
			{"unused.v", 4, "spare_sig", W, Verilator, "UNUSEDSIGNAL", "Signal is not driven, nor used: 'spare_sig'", nil},
		}},
		{"columns after tabs and comments", Options{Verilog: []string{"comment_shift.v"}}, []want{
			{"comment_shift.v", 4, "spare_tab", W, Verilator, "UNUSEDSIGNAL", "'spare_tab'", nil},
			{"comment_shift.v", 5, "spare_after_comment", W, Verilator, "UNUSEDSIGNAL", "'spare_after_comment'", nil},
		}},
		{"reg driven by assign", Options{Verilog: []string{"reg_assign.v"}}, []want{
			{"reg_assign.v", 5, "assign r = a;", E, Iverilog, "", "reg r; cannot be driven by primitives or continuous assignment.", []string{Yosys}},
		}},
		{"define and include dir", Options{Verilog: []string{"defines.v"}, IncludeDirs: []string{"inc"},
			Defines: map[string]string{"USE_INV": "", "DEPTH_VAL": "(2 + 2)"}}, []want{
			{"defines.v", 8, "inv_only_sig", E, Verilator, "", "Can't find definition of variable: 'inv_only_sig'", vi},
		}},
		{"without the include dir", Options{Verilog: []string{"defines.v"}}, []want{
			{"defines.v", 0, `"widths.vh"`, E, Verilator, "", "Cannot find include file: widths.vh", vi},
			{"defines.v", 4, "`BUS_W", E, Verilator, "", "Define or directive not defined: '`BUS_W'", nil},
			{"defines.v", 5, "`BUS_W", E, Verilator, "", "Define or directive not defined: '`BUS_W'", nil},
			{"defines.v", 12, "`DEPTH_VAL", E, Verilator, "", "Define or directive not defined: '`DEPTH_VAL'", nil},
			{"defines.v", 12, ";", E, Verilator, "", "syntax error, unexpected ';'", nil},
		}},
		{"header outside the root", Options{Verilog: []string{"include_outside.v"}, IncludeDirs: []string{"../outside"}}, []want{
			{"include_outside.v", 4, `"outside.vh"`, E, Verilator, "", "in ../outside/outside.vh:2: syntax error, unexpected IDENTIFIER", vi},
		}},
		{"vhdl type error", Options{VHDL: []string{"type_error.vhd"}}, []want{
			{"type_error.vhd", 9, "a", E, GHDL, "", "can't match 'a' with type integer", nil},
		}},
		{"vhdl unknown signal", Options{VHDL: []string{"unknown_signal.vhd"}}, []want{
			{"unknown_signal.vhd", 9, "no_such_signal", E, GHDL, "", `no declaration for "no_such_signal"`, nil},
		}},
		{"vhdl warnings", Options{VHDL: []string{"hides.vhd"}}, []want{
			{"hides.vhd", 8, "never_used", W, GHDL, "unused", `signal "never_used" is never referenced`, nil},
			{"hides.vhd", 11, "a", W, GHDL, "hide", `declaration of "a" hides port "a"`, nil},
			{"hides.vhd", 11, "a", W, GHDL, "unused", `variable "a" is never referenced`, nil},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			o.Root = root
			ds, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			checkDiags(t, read, ds, c.wants)
			checkAgainstTools(t, o, ds)
		})
	}
}

func TestRunSystemVerilogNoNoise(t *testing.T) {
	needTools(t, Verilator, Iverilog, Yosys)
	root, _ := filepath.Abs("testdata/sv")
	o := Options{Root: root, Verilog: []string{"cfg_pkg.sv", "bus_if.sv", "sv_top.sv", "sv_tb.sv"}}
	if got := o.selectTools(); strings.Join(got, ",") != "verilator,yosys" {
		t.Fatalf("tools %v, want verilator and yosys (iverilog skipped for SV)", got)
	}
	ds, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Source != Verilator || d.Severity == design.Error {
			t.Errorf("noise: %+v", d)
		}
	}
	// yosys alone still reports its (unsupported-construct) syntax error.
	o.Tools = []string{Yosys}
	ds, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Path != "sv_top.sv" || ds[0].Severity != design.Error || !strings.Contains(ds[0].Message, "syntax error") {
		t.Errorf("yosys alone: %+v", ds)
	}
}

// TestRunAwkwardNames runs the tools on files whose names would be
// options ("-x.v") or split by yosys' tokenizer ("a b.v").
func TestRunAwkwardNames(t *testing.T) {
	needTools(t, Verilator, Iverilog, Yosys)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "my inc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("my inc/w.vh", "`define W 4\n")
	write("-dash.v", "module dash(input wire a, output wire y);\n  assign y = a & dash_missing;\nendmodule\n")
	write("sp ace.v", "`include \"w.vh\"\nmodule space(input wire [`W-1:0] a, output wire [`W-1:0] y);\n  assign y = a & space_missing;\nendmodule\n")
	o := Options{Root: root, Verilog: []string{"-dash.v", "sp ace.v"}, IncludeDirs: []string{"my inc"}, Defines: map[string]string{"SPACED": "a b \"c\""}}
	for _, tool := range []string{Verilator, Iverilog, Yosys} {
		o.Tools = []string{tool}
		ds, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		read := readUnder(root)
		seen := map[string]bool{}
		for _, d := range ds {
			seen[d.Path+" "+covered(read, d)] = true
		}
		if tool == Yosys {
			// yosys stops at nothing here: both are implicit-wire warnings
			if !seen["-dash.v dash_missing"] || !seen["sp ace.v space_missing"] {
				t.Errorf("%s: %+v", tool, ds)
			}
			continue
		}
		if !seen["-dash.v dash_missing"] || !seen["sp ace.v space_missing"] {
			t.Errorf("%s: %+v", tool, ds)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	needTools(t, Verilator)
	root := brokenRoot(t)
	start := time.Now()
	ds, err := Run(context.Background(), Options{Root: root, Verilog: []string{"unused.v"}, Tools: []string{Verilator}, Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Severity != design.Warning || !strings.Contains(ds[0].Message, "timed out") || ds[0].Path != "unused.v" || ds[0].EndCol <= ds[0].StartCol {
		t.Fatalf("got %+v", ds)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestRunCancelled(t *testing.T) {
	needTools(t, Verilator)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Root: brokenRoot(t), Verilog: []string{"unused.v"}})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{Root: "relative", Verilog: []string{"a.v"}},
		{Root: "/x", Verilog: []string{"a.v"}, Defines: map[string]string{"A B": ""}},
		{Root: "/x", Verilog: []string{"a.v"}, Top: "top; shell"},
		{Root: "/x", Verilog: []string{"a.v"}, Tools: []string{"vcs"}},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if ds, err := Run(context.Background(), Options{}); err != nil || ds != nil {
		t.Errorf("zero Options: %v %v", ds, err)
	}
}

func TestAvailable(t *testing.T) {
	needTools(t, Verilator, Iverilog, Yosys, GHDL)
	if got := strings.Join(Available(), ","); got != "verilator,iverilog,yosys,ghdl" {
		t.Errorf("Available() = %s", got)
	}
}
