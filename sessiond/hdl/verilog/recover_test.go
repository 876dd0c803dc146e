package verilog

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func hasDiag(f *design.File, sub string) bool {
	for _, d := range f.Diags {
		if strings.Contains(d.Message, sub) {
			return true
		}
	}
	return false
}

func TestRecoverHalfTypedInstance(t *testing.T) {
	src := `module top(input clk, output [7:0] q);
  wire [7:0] x;
  assign x = q &;
  fifo #(.DEPTH(4)) u1 (.clk(clk), .din(x), .dout(`
	f := parseString(src, false)
	u := unit(t, f, "top")
	eq(t, "ports", len(u.Ports), 2)
	if lookupDecl(u.Body, "x") == nil {
		t.Error("no decl x")
	}
	in := findInst(u.Body, "u1")
	if in == nil {
		t.Fatalf("no instance u1; diags:\n%s", diagString(f, src))
	}
	eq(t, "module", in.Module, "fifo")
	eq(t, "params", len(in.Params), 1)
	if len(in.Ports) < 2 || in.Ports[0].Name != "clk" || in.Ports[1].Name != "din" {
		t.Errorf("conns = %+v", in.Ports)
	}
	eq(t, "port list end", in.PortList.End, len(src))
	eq(t, "unit full end", u.Full.End, len(src))
	if len(f.Diags) == 0 {
		t.Fatal("no diagnostics")
	}
	for _, d := range f.Diags {
		eq(t, "code", d.Code, "syntax")
		if d.Span.Start > d.Span.End || d.Span.End > len(src) {
			t.Errorf("bad span %+v", d.Span)
		}
	}
	if !hasDiag(f, "expected an expression") {
		t.Errorf("diags:\n%s", diagString(f, src))
	}
}

func TestRecoverMissingSemicolon(t *testing.T) {
	src := "module m(input a, output b);\n  wire x\n  wire y;\n  assign b = a\n  assign x = y;\nendmodule\n"
	f := parseString(src, false)
	u := unit(t, f, "m")
	for _, n := range []string{"x", "y"} {
		if lookupDecl(u.Body, n) == nil {
			t.Errorf("no decl %s", n)
		}
	}
	eq(t, "assigns", len(u.Body.Assigns), 2)
	if !hasDiag(f, "expected ';' after the declaration") || !hasDiag(f, "expected ';' after the continuous assignment") {
		t.Errorf("diags:\n%s", diagString(f, src))
	}
	// the error points at the end of the line missing the ';'
	d := f.Diags[0]
	eq(t, "diag at", txt(src, d.Span), "x")
}

func TestRecoverUnterminatedUnits(t *testing.T) {
	src := "module a(input i);\n  wire w;\n  always @(posedge i) begin\n    w <= 1;\n\nmodule b;\n  wire v;\nendmodule\n"
	f := parseString(src, false)
	a, b := unit(t, f, "a"), unit(t, f, "b")
	if !strings.HasPrefix(txt(src, a.Full), "module a") || strings.Contains(txt(src, a.Full), "module b") {
		t.Errorf("a full = %q", txt(src, a.Full))
	}
	if lookupDecl(b.Body, "v") == nil {
		t.Error("b has no v")
	}
	if !hasDiag(f, "expected 'end'") || !hasDiag(f, "expected 'endmodule'") {
		t.Errorf("diags:\n%s", diagString(f, src))
	}
	// module at EOF without endmodule
	src = "module c(input x, output y);\n  assign y = x;\n"
	f = parseString(src, false)
	c := unit(t, f, "c")
	eq(t, "c ports", len(c.Ports), 2)
	eq(t, "c full end", c.Full.End, len(src)-1)
}

func TestRecoverStatements(t *testing.T) {
	src := `module m(input clk);
  reg [3:0] a, b;
  always @(posedge clk) begin
    a <= ;
    if (a == ) b <= 1;
    case (a)
      1: b <= 2
      default: b <= 0;
    endcase
    b <= a + 1;
  end
  initial begin
    foo(1, 2;
    $display("x")
  end
  wire z;
endmodule`
	f := parseString(src, false)
	u := unit(t, f, "m")
	if lookupDecl(u.Body, "z") == nil {
		t.Errorf("recovery lost wire z; diags:\n%s", diagString(f, src))
	}
	var nb int
	for _, a := range allAssigns(u.Body) {
		if a.Kind == design.AssignNonblocking {
			nb++
		}
	}
	if nb < 4 {
		t.Errorf("nonblocking assigns = %d; diags:\n%s", nb, diagString(f, src))
	}
	if len(f.Diags) < 4 {
		t.Errorf("diags:\n%s", diagString(f, src))
	}
}

func TestRecoverPortList(t *testing.T) {
	src := "module m(input a, output [3:0] , input c\n  wire w;\nendmodule"
	f := parseString(src, false)
	u := unit(t, f, "m")
	if len(u.Ports) < 2 {
		t.Errorf("ports = %d", len(u.Ports))
	}
	if lookupDecl(u.Body, "w") == nil {
		t.Errorf("no w; diags:\n%s", diagString(f, src))
	}
}

func TestRecoverGarbage(t *testing.T) {
	for _, src := range []string{
		"", "module", "module (", "endmodule", ")))", "module m; (((((((( endmodule",
		"module m; assign a = {{{{{{{{; endmodule", "`define", "`ifdef", "`define A(", "`A(",
		"module m #(parameter", "class", "class c; function", "module m; always begin", "\\",
		"module m; initial begin if (a) else; end endmodule", "package p; typedef enum {", "'{'{'{",
		"module m; m2 #(.A(1) u(.b(c)); endmodule", "interface i; modport m(input", "`include",
		strings.Repeat("(", 100000), strings.Repeat("begin ", 20000), strings.Repeat("-", 50000),
		"module m; always " + strings.Repeat("if (a) ", 5000) + "; endmodule",
	} {
		f := parseString(src, true)
		_ = f
		f = parseString(src, false)
		for _, d := range f.Diags {
			if d.Span.Start < 0 || d.Span.Start > d.Span.End || d.Span.End > len(src) {
				t.Errorf("%.30q: bad diag span %+v", src, d)
			}
		}
	}
}

func TestLex(t *testing.T) {
	src := "module m; // c\n wire [7:0] a = 8'hFF + 'z; `define X 1\n $display(\"s\\\"\"); `X \\esc+id  /* b */ a <= b ? c : d; logic x;"
	toks := Lex([]byte(src), false)
	var got []string
	for _, tk := range toks {
		got = append(got, tk.Kind.String()+":"+src[tk.Start:tk.End])
	}
	want := "Keyword:module Ident:m Op:; Comment:// c Keyword:wire Op:[ Number:7 Op:: Number:0 Op:] Ident:a Op:= Number:8'hFF Op:+ Number:'z Op:; " +
		"Directive:`define Ident:X Number:1 SystemName:$display Op:( String:\"s\\\"\" Op:) Op:; MacroUse:`X Ident:\\esc+id Comment:/* b */ " +
		"Ident:a Op:<= Ident:b Op:? Ident:c Op:: Ident:d Op:; Ident:logic Ident:x Op:; EOF:"
	eq(t, "tokens", strings.Join(got, " "), want)
	if !IsKeyword("logic", true) || IsKeyword("logic", false) || !IsKeyword("wire", false) || IsKeyword("foo", true) {
		t.Error("IsKeyword")
	}
	toks = Lex([]byte("logic"), true)
	eq(t, "sv keyword", toks[0].Kind, Keyword)
}

func TestSemanticTokens(t *testing.T) {
	src := "`define W 8\nmodule m; // hi\n  wire [`W-1:0] a = $clog2(4);\nendmodule\n"
	f := parseString(src, false)
	var got []string
	for _, tk := range f.Tokens {
		got = append(got, itoa(int(tk.Kind))+":"+src[tk.Start:tk.End])
	}
	want := "6:`define 7:W 3:8 1:module 2:m 9:; 5:// hi 1:wire 9:[ 7:`W 9:- 3:1 9:: 3:0 9:] 2:a 9:= 8:$clog2 9:( 3:4 9:) 9:; 1:endmodule"
	eq(t, "tokens", strings.Join(got, " "), want)
}

// allInsts returns the instances of s and its descendants.
func allInsts(s *design.Scope) []*design.Instance {
	return collect(s, func(s *design.Scope) []*design.Instance { return s.Instances })
}

// TestRecoverCutAtNewItem: a construct left unfinished at the end of a
// line ends where the next line starts an item, which is then parsed.
func TestRecoverCutAtNewItem(t *testing.T) {
	for _, c := range []struct {
		name, body string
		insts      []string // module:instance, in order
		diag, at   string   // message substring, text of its span
	}{
		{"assign operand", "  assign x = a +\n  arbiter u_arb (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected ';' after the continuous assignment", "+"},
		{"port list", "  foo u_f (.a(\n  arbiter u_arb (.a(b));\n",
			[]string{"foo:u_f", "arbiter:u_arb"}, "unterminated port list of instance 'u_f'", "("},
		{"port list after conn", "  foo u_f (.a(x),\n  arbiter u_arb (.a(b));\n",
			[]string{"foo:u_f", "arbiter:u_arb"}, "unterminated port list of instance 'u_f'", ","},
		{"port list implicit", "  foo u_f (.a\n  arbiter u_arb (.a(b));\n",
			[]string{"foo:u_f", "arbiter:u_arb"}, "unterminated port list of instance 'u_f'", "a"},
		{"port list keyword", "  foo u_f (.a(x),\n  logic y;\n  arbiter u_arb (.a(b));\n",
			[]string{"foo:u_f", "arbiter:u_arb"}, "unterminated port list of instance 'u_f'", ","},
		{"nonblocking rhs", "  always_ff @(posedge clk) q <= \n  fifo u_f (.clk(clk));\n",
			[]string{"fifo:u_f"}, "expected ';' after the assignment", "="},
		{"decl init", "  wire [7:0] w = \n  fifo #(.W(8)) u_f ();\n",
			[]string{"fifo:u_f"}, "expected ';' after the declaration", "="},
		{"param list", "  fifo #(.W(\n  arbiter u_arb (.a(b));\n",
			[]string{"fifo:", "arbiter:u_arb"}, "unterminated parameter list of 'fifo'", "("},
		{"instance array", "  assign x = a &\n  arbiter u_arb [3:0] (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected ';' after the continuous assignment", "&"},
		{"scoped type decl", "  assign x = a |\n  my_pkg::word_t w;\n  arbiter u_arb (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected ';' after the continuous assignment", "|"},
		{"define", "  assign x = a +\n`define W 8\n  arbiter u_arb (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected ';' after the continuous assignment", "+"},
		{"endmodule", "  foo u_f (.a(x),\n", []string{"foo:u_f"}, "unterminated port list of instance 'u_f'", ","},
		{"statement missing", "  always_ff @(posedge clk)\n  fifo u_f (.clk(clk));\n",
			[]string{"fifo:u_f"}, "expected a statement", ")"},
		{"unclosed begin", "  always_ff @(posedge clk) begin\n    q <= d;\n  fifo u_f (.clk(clk));\n",
			[]string{"fifo:u_f"}, "expected 'end' to close the 'begin'", ";"},
		// already fine before: keep them fine
		{"scoped missing name", "  assign x = bus_pkg::;\n  arbiter u_arb (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected a name after '::'", ""},
		{"empty rhs", "  assign x = ;\n  arbiter u_arb (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected an expression", ";"},
		{"decl no semi", "  wire [7:0] oops\n  arbiter u_arb (.a(b));\n",
			[]string{"arbiter:u_arb"}, "expected ';' after the declaration", "s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := "module m;\n" + c.body + "endmodule\n"
			f := parseString(src, true)
			u := unit(t, f, "m")
			var got []string
			for _, in := range allInsts(u.Body) {
				got = append(got, in.Module+":"+in.Name)
			}
			eq(t, "instances", strings.Join(got, " "), strings.Join(c.insts, " "))
			var d *design.Diag
			for i := range f.Diags {
				if strings.Contains(f.Diags[i].Message, c.diag) {
					d = &f.Diags[i]
					break
				}
			}
			if d == nil {
				t.Fatalf("no diag %q; diags:\n%s", c.diag, diagString(f, src))
			}
			if c.at != "" {
				eq(t, "diag at", txt(src, d.Span), c.at)
			}
			// the unit and its end are intact
			eq(t, "unit end", txt(src, u.Full)[len(txt(src, u.Full))-len("endmodule"):], "endmodule")
			for _, d := range f.Diags {
				if strings.Contains(d.Message, "endmodule") {
					t.Errorf("endmodule lost: %s", diagString(f, src))
				}
			}
		})
	}
}

func TestRecoverCutKeepsHalfTypedInstance(t *testing.T) {
	src := "module m;\n  foo u_f (.clk(clk), .a(\n  arbiter u_arb (.a(b));\nendmodule\n"
	f := parseString(src, true)
	u := unit(t, f, "m")
	in := findInst(u.Body, "u_f")
	if in == nil {
		t.Fatalf("no u_f; diags:\n%s", diagString(f, src))
	}
	if len(in.Ports) != 2 || in.Ports[0].Name != "clk" || in.Ports[1].Name != "a" {
		t.Errorf("conns = %+v", in.Ports)
	}
	eq(t, "port list", txt(src, in.PortList), "(.clk(clk), .a(")
	eq(t, "full", txt(src, in.Full), "foo u_f (.clk(clk), .a(")
	arb := findInst(u.Body, "u_arb")
	if arb == nil || len(arb.Ports) != 1 || arb.Ports[0].Name != "a" {
		t.Fatalf("u_arb = %+v", arb)
	}
	eq(t, "diags", len(f.Diags), 1)
}

// TestValidMultiLineUnchanged: constructs that legitimately continue on
// the next line parse without diagnostics, and exactly as when written on
// one line (newlines replaced by spaces keep every offset).
func TestValidMultiLineUnchanged(t *testing.T) {
	for _, body := range []string{
		"  assign x = a +\n  b;\n",
		"  assign y = c ?\n d : e;\n",
		"  assign y = c\n  ? d\n  : e;\n",
		"  assign z = f(\n a,\n b);\n",
		"  assign z = $clog2(\n W) + g(\n .a(1),\n .b(2));\n",
		"  assign w = {\n a,\n b[3:0],\n {2{c}}\n};\n",
		"  assign w = a\n  & b\n  | c;\n",
		"  assign v = my_pkg::K +\n  cls#(8)::V +\n  other_pkg::f(\n  x);\n",
		"  assign v = a +\n  int'(b) +\n  logic'(c);\n",
		"  assign s = sel inside {\n A, B};\n",
		"  fifo #(\n .W(8),\n .D(16)\n ) u_f (\n .a(x),\n .b(y),\n .c()\n );\n",
		"  fifo #(\n .T(\n logic [7:0]\n ),\n .U(\n int unsigned),\n .V(\n my_pkg::t)\n ) u_f (\n x,\n y\n );\n",
		"  foo u1 (.a(x)), u2 (\n .a(y));\n",
		"  wire [7:0] w = \n  a + b;\n",
		"  always_ff @(posedge clk\n or negedge rst) q <=\n  d;\n",
		"  always_comb begin\n    q = a +\n      b;\n    r = f(\n      q);\n  end\n",
		"  always @* case (s)\n    A,\n    B: q =\n      1;\n    default: q = 0;\n  endcase\n",
		"  initial $display(\n \"%d\",\n x);\n",
		"  localparam int P =\n  W *\n  2;\n",
	} {
		src := "module m;\n" + body + "endmodule\n"
		f := parseString(src, true)
		if len(f.Diags) > 0 {
			t.Errorf("%q: diags:\n%s", body, diagString(f, src))
			continue
		}
		one := "module m;\n" + strings.ReplaceAll(body, "\n", " ") + "endmodule\n"
		g := parseString(one, true)
		f.Folds, g.Folds = nil, nil
		f.Tokens, g.Tokens = nil, nil
		if !reflect.DeepEqual(f, g) {
			fj, _ := json.Marshal(f)
			gj, _ := json.Marshal(g)
			t.Errorf("%q: model differs from the one-line form:\n%s\n%s", body, fj, gj)
		}
	}
}
