package vhdl

import (
	"os"
	"path/filepath"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func addSeeds(f *testing.F) {
	for _, pat := range []string{"testdata/*.vhd", "testdata/half/*.vhd"} {
		files, _ := filepath.Glob(pat)
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
			f.Add(src[:len(src)/2]) // half-typed
		}
	}
	for _, s := range []string{"", "entity", "'", "x'", "\\", "\"", "--", "/*", "16#", "8x\"", "a(", "((((", "<<", "end;"} {
		f.Add([]byte(s))
	}
}

// FuzzParse checks that no input panics or hangs the parser and that every
// span it produces lies inside the source.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		toks := Lex(src)
		last := 0
		for _, tk := range toks {
			if tk.Start < last || tk.End <= tk.Start || tk.End > len(src) {
				t.Fatalf("bad token %+v after %d", tk, last)
			}
			last = tk.End
		}
		file := Parse("f.vhd", src)
		ok := func(sp design.Span, what string) {
			if sp == (design.Span{}) {
				return
			}
			if sp.File != "f.vhd" || sp.Start < 0 || sp.Start > sp.End || sp.End > len(src) {
				t.Fatalf("bad %s span %+v (len %d)", what, sp, len(src))
			}
		}
		var expr func(e *design.Expr, depth int)
		expr = func(e *design.Expr, depth int) {
			if e == nil {
				return
			}
			if depth > 10*maxDepth {
				t.Fatalf("expression deeper than the depth guard")
			}
			ok(e.Span, "expr")
			for _, a := range e.Args {
				if a == nil {
					t.Fatalf("nil argument in %+v", e)
				}
				expr(a, depth+1)
			}
		}
		var decl func(d *design.Decl)
		decl = func(d *design.Decl) {
			ok(d.Span, "decl")
			ok(d.Full, "decl full")
			expr(d.Value, 0)
			for _, r := range d.Type.Packed {
				expr(r.Left, 0)
				expr(r.Right, 0)
			}
			for _, m := range d.Members {
				decl(m)
			}
			for _, m := range d.Type.Members {
				decl(m)
			}
		}
		var scope func(s *design.Scope)
		scope = func(s *design.Scope) {
			ok(s.Full, "scope")
			for _, d := range s.Decls {
				decl(d)
			}
			for _, r := range s.Refs {
				ok(r.Span, "ref")
				if len(r.Path) != len(r.PathSpans) {
					t.Fatalf("ref path %+v", r)
				}
			}
			for _, a := range s.Assigns {
				if a.LHS == nil || a.RHS == nil {
					t.Fatalf("assign with nil side")
				}
				expr(a.LHS, 0)
				expr(a.RHS, 0)
			}
			for _, in := range s.Instances {
				ok(in.Full, "instance")
				ok(in.PortList, "port list")
				for _, c := range in.Ports {
					ok(c.Full, "conn")
					expr(c.Expr, 0)
				}
			}
			for _, c := range s.Scopes {
				scope(c)
			}
		}
		for _, u := range file.Units {
			ok(u.Full, "unit")
			ok(u.NameSpan, "unit name")
			for _, d := range u.Ports {
				decl(d)
			}
			for _, d := range u.Params {
				decl(d)
			}
			if u.Body == nil {
				t.Fatalf("unit without body")
			}
			scope(u.Body)
		}
		for _, d := range file.Diags {
			ok(d.Span, "diag")
		}
		for _, fd := range file.Folds {
			ok(fd, "fold")
		}
		last = 0
		for _, tk := range file.Tokens {
			if tk.Start < last || tk.End > len(src) {
				t.Fatalf("bad model token %+v", tk)
			}
			last = tk.End
		}
	})
}
