package lint

import (
	"os"
	"path/filepath"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

// The testdata/*.out files were printed by verilator 5.006 (Debian
// 5.006-3), Icarus Verilog 11.0, Yosys 0.23 (git sha1 7ce5011c24b) and
// GHDL 2.0.0 (mcode) on Debian bookworm, with the commands in
// testdata/capture.sh (the flags Run uses), over testdata/broken.

func readOut(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseVerilator(t *testing.T) {
	read := readUnder(brokenRoot(t))
	E, W := design.Error, design.Warning
	cases := map[string][]want{
		"verilator_unknown_module": {{"unknown_module.v", 5, "nosuch_block", E, Verilator, "", "Cannot find file containing module: 'nosuch_block'", nil}},
		"verilator_multitop": {
			{"leaf.v", 1, "leaf", W, Verilator, "MULTITOP", "Multiple top level modules", nil},
			{"unknown_module.v", 5, "nosuch_block", E, Verilator, "", "Cannot find file containing module: 'nosuch_block'", nil},
		},
		"verilator_missing_port": {{"missing_port.v", 5, "bogus_pin", E, Verilator, "PINNOTFOUND", "Pin not found: 'bogus_pin'", nil}},
		"verilator_width": {
			{"width.v", 4, "=", W, Verilator, "WIDTH", "Operator ASSIGNW expects 4 bits on the Assign RHS, but Assign RHS's VARREF 'a' generates 8 bits.", nil},
			{"width.v", 1, "a", W, Verilator, "UNUSEDSIGNAL", "Bits of signal are not used: 'a'[7:4]", nil},
		},
		"verilator_undeclared": {{"undeclared.v", 4, "not_declared_sig", E, Verilator, "", "Can't find definition of variable: 'not_declared_sig'", nil}},
		"verilator_syntax":     {{"syntax.v", 5, "wire", E, Verilator, "", "syntax error, unexpected wire, expecting ',' or ';'", nil}},
		"verilator_unused":     {{"unused.v", 4, "spare_sig", W, Verilator, "UNUSEDSIGNAL", "Signal is not driven, nor used: 'spare_sig'", nil}},
		"verilator_comment_shift": {
			{"comment_shift.v", 4, "spare_tab", W, Verilator, "UNUSEDSIGNAL", "'spare_tab'", nil},
			{"comment_shift.v", 5, "spare_after_comment", W, Verilator, "UNUSEDSIGNAL", "'spare_after_comment'", nil},
		},
		"verilator_defines": {
			{"defines.v", 0, `"widths.vh"`, E, Verilator, "", "Cannot find include file: widths.vh", nil},
			{"defines.v", 4, "`BUS_W", E, Verilator, "", "Define or directive not defined: '`BUS_W'", nil},
			{"defines.v", 5, "`BUS_W", E, Verilator, "", "Define or directive not defined: '`BUS_W'", nil},
			{"defines.v", 12, "`DEPTH_VAL", E, Verilator, "", "Define or directive not defined: '`DEPTH_VAL'", nil},
			{"defines.v", 12, ";", E, Verilator, "", "syntax error, unexpected ';'", nil},
		},
		"verilator_include_note": {{"../outside/outside.vh", 1, "bad_decl", E, Verilator, "", "syntax error, unexpected IDENTIFIER", nil}},
	}
	for name, wants := range cases {
		t.Run(name, func(t *testing.T) {
			checkDiags(t, read, ParseVerilator(readOut(t, name), read), wants)
		})
	}
}

func TestParseIverilog(t *testing.T) {
	read := readUnder(brokenRoot(t))
	E, W := design.Error, design.Warning
	cases := map[string][]want{
		"iverilog_unknown_module": {{"unknown_module.v", 5, "nosuch_block", E, Iverilog, "", "Unknown module type: nosuch_block", nil}},
		"iverilog_missing_port":   {{"missing_port.v", 5, "bogus_pin", E, Iverilog, "", "port ``bogus_pin'' is not a port of u_leaf.", nil}},
		"iverilog_undeclared": {
			{"undeclared.v", 4, "not_declared_sig", E, Iverilog, "", "Unable to bind wire/reg/memory `not_declared_sig' in `undeclared'", nil},
			{"undeclared.v", 4, "assign y = a & not_declared_sig;", E, Iverilog, "", "Unable to elaborate r-value: (a)&(not_declared_sig)", nil},
		},
		"iverilog_syntax": {
			{"syntax.v", 5, "wire oops;", E, Iverilog, "", "syntax error", nil},
			{"syntax.v", 4, "assign y = a", E, Iverilog, "", "syntax error in continuous assignment", nil},
		},
		// iverilog says line 2 for the `include on line 1.
		"iverilog_defines": {{"defines.v", 0, `widths.vh`, E, Iverilog, "", "Include file widths.vh not found", nil}},
		"iverilog_port_width": {
			{"leaf.v", 1, "module leaf (", W, Iverilog, "", "timescale for leaf inherited from another file.", nil},
			{"port_width.v", 6, "leaf u_narrow (.clk(clk), .d(d4), .q(q));", W, Iverilog, "", "Port 2 (d) of leaf expects 8 bits, got 4.", nil},
		},
		"iverilog_include_note": {
			{"../outside/outside.vh", 1, "wire bad_decl bad_decl;", E, Iverilog, "", "syntax error", nil},
			{"../outside/outside.vh", 1, "wire bad_decl bad_decl;", E, Iverilog, "", "invalid module item.", nil},
		},
	}
	for name, wants := range cases {
		t.Run(name, func(t *testing.T) {
			checkDiags(t, read, ParseIverilog(readOut(t, name), read), wants)
		})
	}
}

func TestParseYosys(t *testing.T) {
	read := readUnder(brokenRoot(t))
	E, W := design.Error, design.Warning
	cases := map[string]struct {
		files []string
		wants []want
	}{
		"yosys_unknown_module": {[]string{"unknown_module.v"}, []want{{"unknown_module.v", 5, "nosuch_block", E, Yosys, "", "Module `nosuch_block' referenced in module `unknown_module' in cell `u_missing' is not part of the design.", nil}}},
		"yosys_missing_port":   {[]string{"missing_port.v", "leaf.v"}, []want{{"missing_port.v", 5, "bogus_pin", E, Yosys, "", "does not have a port named 'bogus_pin'", nil}}},
		"yosys_undeclared":     {[]string{"undeclared.v"}, []want{{"undeclared.v", 4, "not_declared_sig", W, Yosys, "", "Identifier `not_declared_sig' is implicitly declared.", nil}}},
		"yosys_syntax":         {[]string{"syntax.v"}, []want{{"syntax.v", 5, "wire oops;", E, Yosys, "", "syntax error, unexpected TOK_WIRE", nil}}},
		"yosys_defines":        {[]string{"defines.v"}, []want{{"defines.v", 0, `"widths.vh"`, E, Yosys, "", "Can't open include file `widths.vh'!", nil}}},
		"yosys_reg_assign":     {[]string{"reg_assign.v"}, []want{{"reg_assign.v", 5, "r = a", W, Yosys, "", "reg 'r' is assigned in a continuous assignment at reg_assign.v:6.12-6.17.", nil}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			checkDiags(t, read, ParseYosys(readOut(t, name), read, c.files), c.wants)
		})
	}
}

func TestParseGHDL(t *testing.T) {
	read := readUnder(brokenRoot(t))
	E, W := design.Error, design.Warning
	cases := map[string][]want{
		"ghdl_type_error":     {{"type_error.vhd", 9, "a", E, GHDL, "", "can't match 'a' with type integer", nil}},
		"ghdl_unknown_signal": {{"unknown_signal.vhd", 9, "no_such_signal", E, GHDL, "", `no declaration for "no_such_signal"`, nil}},
		// tab-indented: ghdl's columns count tabs to multiples of 8.
		"ghdl_hides": {
			{"hides.vhd", 11, "a", W, GHDL, "hide", `declaration of "a" hides port "a"`, nil},
			{"hides.vhd", 11, "a", W, GHDL, "unused", `variable "a" is never referenced`, nil},
			{"hides.vhd", 8, "never_used", W, GHDL, "unused", `signal "never_used" is never referenced`, nil},
		},
	}
	for name, wants := range cases {
		t.Run(name, func(t *testing.T) {
			checkDiags(t, read, ParseGHDL(readOut(t, name), read), wants)
		})
	}
}

func TestParseUnreadableFile(t *testing.T) {
	// Without the source the range still is one character at the column.
	out := []byte("%Warning-UNUSEDSIGNAL: gone.v:3:7: Signal is not used: 'x'\n")
	ds := ParseVerilator(out, func(string) []byte { return nil })
	if len(ds) != 1 || ds[0].StartLine != 2 || ds[0].StartCol != 6 || ds[0].EndCol != 7 {
		t.Fatalf("got %+v", ds)
	}
}

func TestMerge(t *testing.T) {
	E, W := design.Error, design.Warning
	ds := Merge([]Diagnostic{
		{Path: "b.v", StartLine: 1, StartCol: 0, EndCol: 3, Severity: E, Source: Yosys, Message: "y"},
		{Path: "b.v", StartLine: 1, StartCol: 4, EndCol: 7, Severity: E, Source: Verilator, Message: "v"},
		{Path: "b.v", StartLine: 1, StartCol: 0, EndCol: 9, Severity: E, Source: Iverilog, Message: "i"},
		{Path: "b.v", StartLine: 1, StartCol: 0, EndCol: 9, Severity: E, Source: Iverilog, Message: "i"},
		// a warning on the line does not swallow an error from another tool
		{Path: "a.v", StartLine: 2, StartCol: 0, EndCol: 1, Severity: W, Source: Verilator, Message: "w"},
		{Path: "a.v", StartLine: 2, StartCol: 0, EndCol: 5, Severity: E, Source: Iverilog, Message: "e"},
		{Path: "a.v", StartLine: 2, StartCol: 0, EndCol: 5, Severity: W, Source: Yosys, Message: "w2"},
	})
	if len(ds) != 3 {
		t.Fatalf("got %d: %+v", len(ds), ds)
	}
	if ds[0].Source != Verilator || ds[0].Path != "a.v" || len(ds[0].Also) != 1 || ds[0].Also[0] != Yosys {
		t.Errorf("0: %+v", ds[0])
	}
	if ds[1].Source != Iverilog || ds[1].Path != "a.v" || len(ds[1].Also) != 0 {
		t.Errorf("1: %+v", ds[1])
	}
	if ds[2].Source != Verilator || ds[2].Path != "b.v" || len(ds[2].Also) != 2 || ds[2].Also[0] != Iverilog || ds[2].Also[1] != Yosys {
		t.Errorf("2: %+v", ds[2])
	}
}
