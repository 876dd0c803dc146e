package verilog

import (
	"os"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if b, err := os.ReadFile("testdata/" + e.Name()); err == nil {
			f.Add(b, true)
		}
	}
	for _, s := range []string{
		"module m(input a, output b); assign b = a; endmodule",
		"`define F(a, b=2) a+b\nmodule m; wire [`F(1):0] w; endmodule",
		"`ifdef A\n`elsif B\n`else\n`endif",
		"module m; fifo u(.a(b), .c(", "class c #(type T=int) extends b; rand T x; endclass",
		"`include \"x.vh\"\n", "module m;\n  assign x = a +\n  arbiter u_arb (.a(b));\nendmodule",
		"module m;\n  foo u_f (.a(\n  fifo #(.W(\n  bar u (.x\n`define X\n  wire [7:0] w = \n  p::t v;\nendmodule", "'{a: 1, default: '0}", "`define A `B\n`define B `A\n`A",
	} {
		f.Add([]byte(s), false)
	}
	inc := func(name, from string) (string, []byte, bool) {
		switch name {
		case "x.vh":
			return "x.vh", []byte("`include \"x.vh\"\nwire w;\n`define X 1\n"), true
		case "inc.vh":
			return "inc.vh", []byte("`define DATA_W 8\nlocalparam INC_DEPTH = 1;\n"), true
		}
		return "", nil, false
	}
	f.Fuzz(func(t *testing.T, src []byte, sv bool) {
		lang := design.Verilog
		if sv {
			lang = design.SystemVerilog
		}
		file := Parse("f.sv", src, Options{Lang: lang, Include: inc})
		n := len(src)
		check := func(what string, sp design.Span) {
			if sp.File == "f.sv" && (sp.Start < 0 || sp.Start > sp.End || sp.End > n) {
				t.Fatalf("%s: bad span %+v (len %d)", what, sp, n)
			}
		}
		for _, d := range file.Diags {
			check("diag", d.Span)
		}
		for _, fd := range file.Folds {
			check("fold", fd)
		}
		for _, sp := range file.Inactive {
			check("inactive", sp)
		}
		last := 0
		for _, tk := range file.Tokens {
			if tk.Start < last || tk.End < tk.Start || tk.End > n {
				t.Fatalf("token %+v out of order or range (len %d)", tk, n)
			}
			last = tk.Start
		}
		var walk func(s *design.Scope, depth int)
		walk = func(s *design.Scope, depth int) {
			if depth > 10000 {
				t.Fatal("scope cycle")
			}
			check("scope", s.Full)
			for _, d := range s.Decls {
				check("decl", d.Span)
				check("decl full", d.Full)
			}
			for _, r := range s.Refs {
				check("ref", r.Span)
			}
			for _, c := range s.Scopes {
				walk(c, depth+1)
			}
		}
		for _, u := range file.Units {
			check("unit", u.Full)
			check("unit name", u.NameSpan)
			walk(u.Body, 0)
		}
		Lex(src, sv)
	})
}
