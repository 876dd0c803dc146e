package verilog

import (
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
