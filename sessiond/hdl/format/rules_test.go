package format

import (
	"bytes"
	"strings"
	"testing"
)

func fmtV(t *testing.T, src string, st Style) string {
	t.Helper()
	return string(formatAll(t, "sv", []byte(src), st))
}

func TestVerilogRules(t *testing.T) {
	cases := []struct {
		name    string
		st      Style
		in, out string
	}{
		{
			name: "directives at column 0 stay, indented ones follow the code",
			in:   "module m;\n`ifdef A\n      `define X 1\nwire a;\n`endif\nendmodule\n",
			out:  "module m;\n`ifdef A\n  `define X 1\n  wire a;\n`endif\nendmodule\n",
			st:   Style{Defines: []string{"A"}},
		},
		{
			name: "an indented directive is re-indented",
			in:   "module m;\n    `ifdef A\n wire a;\n      `endif\nendmodule\n",
			out:  "module m;\n  `ifdef A\n wire a;\n  `endif\nendmodule\n",
		},
		{
			name: "inactive branch kept, active one formatted",
			in:   "module m;\n`ifdef A\n      wire   a;\n   wire b;\n`else\n      wire c;\n`endif\nendmodule\n",
			out:  "module m;\n`ifdef A\n      wire   a;\n   wire b;\n`else\n  wire c;\n`endif\nendmodule\n",
		},
		{
			name: "Defines selects the branch",
			st:   Style{Defines: []string{"A"}},
			in:   "module m;\n`ifdef A\n      wire a;\n`else\n      wire   c;\n`endif\nendmodule\n",
			out:  "module m;\n`ifdef A\n  wire a;\n`else\n      wire   c;\n`endif\nendmodule\n",
		},
		{
			name: "a define in the file selects the branch; define bodies untouched",
			in:   "`define A\n`define M(x) \\\n   begin   \\\n x;   \\\n     end\nmodule m;\n`ifdef A\n      wire a;\n`endif\nendmodule\n",
			out:  "`define A\n`define M(x) \\\n   begin   \\\n x;   \\\n     end\nmodule m;\n`ifdef A\n  wire a;\n`endif\nendmodule\n",
		},
		{
			name: "strings and comments untouched; trailing whitespace removed",
			in:   "module m;   \ninitial $display(\"a   b  \");  \n/* x   \n      y   */\n   // c   d   \nendmodule\n",
			out:  "module m;\n  initial $display(\"a   b  \");\n  /* x   \n      y   */\n  // c   d\nendmodule\n",
		},
		{
			name: "labels unchanged",
			in:   "module m;\ninitial begin:blk\nend:blk\nendmodule:m\n",
			out:  "module m;\n  initial begin:blk\n  end:blk\nendmodule:m\n",
		},
		{
			name: "continuation lines one level deeper",
			in:   "module m;\nassign a = b &\nc &\nd;\nassign e = f;\nendmodule\n",
			out:  "module m;\n  assign a = b &\n    c &\n    d;\n  assign e = f;\nendmodule\n",
		},
		{
			name: "CRLF kept",
			in:   "module m;\r\nwire a;  \r\nendmodule\r\n",
			out:  "module m;\r\n  wire a;\r\nendmodule\r\n",
		},
		{
			name: "blank lines emptied, not removed",
			in:   "module m;\n   \n\t\nendmodule\n",
			out:  "module m;\n\n\nendmodule\n",
		},
		{
			name: "tabs",
			st:   Style{UseTabs: true},
			in:   "module m;\nalways @* begin\nx = 1;\nend\nendmodule\n",
			out:  "module m;\n\talways @* begin\n\t\tx = 1;\n\tend\nendmodule\n",
		},
		{
			name: "indent width 4",
			st:   Style{IndentWidth: 4},
			in:   "module m;\nalways @* begin\nx = 1;\nend\nendmodule\n",
			out:  "module m;\n    always @* begin\n        x = 1;\n    end\nendmodule\n",
		},
		{
			name: "declaration runs align; a blank line or other statement ends a run",
			in:   "module m;\nwire [7:0] a;\nlogic b;\n\nreg [1:0] cc;\nassign a = 0;\ninteger i;\nendmodule\n",
			out:  "module m;\n  wire  [7:0] a;\n  logic       b;\n\n  reg [1:0] cc;\n  assign a = 0;\n  integer i;\nendmodule\n",
		},
		{
			name: "no alignment",
			st:   Style{NoAlign: true},
			in:   "module m (\ninput a,\noutput  [1:0] bb\n);\nwire [7:0] x;\nreg y;\nendmodule\n",
			out:  "module m (\n  input a,\n  output  [1:0] bb\n);\n  wire [7:0] x;\n  reg y;\nendmodule\n",
		},
		{
			name: "macro statements end at the line end",
			in:   "class c;\n`uvm_object_utils(c)\nfunction new();\nendfunction\nendclass\n",
			out:  "class c;\n  `uvm_object_utils(c)\n  function new();\n  endfunction\nendclass\n",
		},
		{
			name: "a unit header over several lines",
			in:   "module m\nimport p::*;\n#(\nparameter W = 1\n)\n(\ninput a,\n`ifdef A\noutput  [1:0] bb,\n`endif\ninout c\n);\nendmodule\n",
			out:  "module m\n  import p::*;\n#(\n  parameter W = 1\n)\n(\n  input a,\n`ifdef A\noutput  [1:0] bb,\n`endif\n  inout c\n);\nendmodule\n",
		},
		{
			name: "nested if without begin and dangling else",
			in:   "module m;\nalways @*\nif (a)\nif (b)\nx = 1;\nelse\nx = 2;\nelse\nx = 3;\nendmodule\n",
			out:  "module m;\n  always @*\n    if (a)\n      if (b)\n        x = 1;\n      else\n        x = 2;\n    else\n      x = 3;\nendmodule\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fmtV(t, c.in, c.st)
			if got != c.out {
				t.Errorf("got\n%s\nwant\n%s", got, c.out)
			}
			checkProperties(t, "sv", []byte(c.in), c.st)
		})
	}
}

func TestSVKeywordsOnlyInSV(t *testing.T) {
	// in Verilog-2005 "logic" and "class" are names: "class" opens nothing
	src := "module m;\nclass x;\n\nwire a;\nendmodule\n"
	got := string(formatAll(t, "v", []byte(src), Style{}))
	want := "module m;\n  class x;\n\n  wire a;\nendmodule\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	got = string(formatAll(t, "sv", []byte(src), Style{}))
	want = "module m;\n  class x;\n\n    wire a;\nendmodule\n"
	if got != want {
		t.Errorf("sv: got\n%s\nwant\n%s", got, want)
	}
}

func TestRangeFormatting(t *testing.T) {
	src := []byte("module m;\nwire a;\n      wire b;\n wire c;\nalways @* begin\nx = 1;\nend\nendmodule\n")
	full := formatAll(t, "sv", src, Style{})
	lines := strings.SplitAfter(string(src), "\n")
	off := func(line int) int { // byte offset of the start of line (0-based)
		n := 0
		for _, l := range lines[:line] {
			n += len(l)
		}
		return n
	}
	fullLines := strings.SplitAfter(string(full), "\n")
	for _, r := range []struct{ lo, hi int }{
		{off(1), off(3)},         // lines 1-2
		{off(2) + 3, off(2) + 3}, // a cursor in line 2
		{off(4), off(6) + 2},     // lines 4-6
		{off(3) - 1, off(3)},     // just the end of line 2
		{0, len(src)},            // everything
		{len(src), len(src)},     // at the end
	} {
		edits, err := Verilog(src, true, r.lo, r.hi, Style{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Apply(src, edits)
		if err != nil {
			t.Fatal(err)
		}
		outLines := strings.SplitAfter(string(out), "\n")
		for i := range lines {
			s, e := off(i), off(i)+len(lines[i])
			in := r.lo == r.hi && s <= r.lo && r.lo < e || r.lo != r.hi && s < r.hi && r.lo < e
			want := lines[i]
			if in {
				want = fullLines[i]
			}
			if outLines[i] != want {
				t.Errorf("range [%d,%d) line %d: got %q want %q", r.lo, r.hi, i, outLines[i], want)
			}
		}
	}
	if _, err := Verilog(src, true, -1, 3, Style{}); err == nil {
		t.Error("negative lo accepted")
	}
	if _, err := Verilog(src, true, 5, 3, Style{}); err == nil {
		t.Error("lo > hi accepted")
	}
	if _, err := VHDL(src, 0, len(src)+1, Style{}); err == nil {
		t.Error("hi past the end accepted")
	}
}

func TestRangeFormattingVHDL(t *testing.T) {
	src := []byte("entity e is\nport (\na : in bit;\nbb : out bit\n);\nend entity;\n")
	i := bytes.Index(src, []byte("a : in"))
	edits, err := VHDL(src, i, i+1, Style{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Apply(src, edits)
	want := "entity e is\nport (\n    a  : in  bit;\nbb : out bit\n);\nend entity;\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestMinimalEdits(t *testing.T) {
	src := []byte("module m;\n wire a;\nendmodule\n")
	edits, err := Verilog(src, true, 0, len(src), Style{})
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) != 1 || edits[0].Start != edits[0].End || edits[0].Text != " " {
		t.Errorf("edits %+v, want one insertion of a space", edits)
	}
	if edits, _ := Verilog([]byte("module m;\nendmodule\n"), true, 0, 20, Style{}); len(edits) != 0 {
		t.Errorf("formatted input got edits %+v", edits)
	}
}

func TestDefineEndingInCRLFString(t *testing.T) {
	// a string left open runs to the \r of a CRLF line ending
	src := []byte("`define A \"x\r\nmodule m;\r\nwire a;\r\nendmodule\r\n")
	checkProperties(t, "sv", src, Style{})
	got := string(formatAll(t, "sv", src, Style{}))
	if want := "`define A \"x\r\nmodule m;\r\n  wire a;\r\nendmodule\r\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestVHDLRules(t *testing.T) {
	cases := []struct{ name, in, out string }{
		{
			name: "conditional assignment else is no if separator",
			in:   "architecture a of e is\nbegin\nprocess begin\nif c then\nx <= a when s else\nb;\nelse\ny <= 1;\nend if;\nwait;\nend process;\nend;\n",
			out:  "architecture a of e is\nbegin\n  process begin\n    if c then\n      x <= a when s else\n        b;\n    else\n      y <= 1;\n    end if;\n    wait;\n  end process;\nend;\n",
		},
		{
			name: "declarations without a body and package instances open nothing",
			in:   "package p is\nfunction f(a : bit) return bit;\nprocedure q;\nend package;\npackage i is new work.g generic map (N => 1);\nentity e is\nend;\n",
			out:  "package p is\n  function f(a : bit) return bit;\n  procedure q;\nend package;\npackage i is new work.g generic map (N => 1);\nentity e is\nend;\n",
		},
		{
			name: "configuration",
			in:   "configuration c of e is\nfor rtl\nfor u1 : comp\nuse entity work.x(rtl);\nend for;\nend for;\nend configuration;\n",
			out:  "configuration c of e is\n  for rtl\n    for u1 : comp\n      use entity work.x(rtl);\n    end for;\n  end for;\nend configuration;\n",
		},
		{
			name: "comments and strings untouched, loops and case generate",
			in:   "architecture a of e is\nbegin\n-- note   \ng: case sel generate\nwhen A =>\ns <= \"x  y\";  -- t\nwhen others =>\nl: for i in 0 to 1 generate\nend generate;\nend generate;\n/* b  \n   c */\nend;\n",
			out:  "architecture a of e is\nbegin\n  -- note\n  g: case sel generate\n    when A =>\n      s <= \"x  y\";  -- t\n    when others =>\n      l: for i in 0 to 1 generate\n      end generate;\n  end generate;\n  /* b  \n   c */\nend;\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(formatAll(t, "vhdl", []byte(c.in), Style{}))
			if got != c.out {
				t.Errorf("got\n%s\nwant\n%s", got, c.out)
			}
			checkProperties(t, "vhdl", []byte(c.in), Style{})
		})
	}
}
