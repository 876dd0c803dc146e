package vhdl

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

var update = flag.Bool("update", false, "rewrite the golden model dumps in testdata/golden")

// dump renders a parsed file as text: every unit, declaration, instance,
// assignment and reference, each span shown as the source text it covers.
type dumper struct {
	src []byte
	b   strings.Builder
}

func (d *dumper) text(sp design.Span) string {
	if sp.Start < 0 || sp.End > len(d.src) || sp.Start > sp.End {
		return fmt.Sprintf("<bad span %d:%d>", sp.Start, sp.End)
	}
	s := string(d.src[sp.Start:sp.End])
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + "..."
	}
	return s
}

func (d *dumper) line(depth int, format string, args ...any) {
	d.b.WriteString(strings.Repeat("  ", depth))
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

func exprString(e *design.Expr) string {
	if e == nil {
		return "nil"
	}
	var parts []string
	for _, a := range e.Args {
		parts = append(parts, exprString(a))
	}
	op := map[design.ExprOp]string{
		design.ExprIdent: "id", design.ExprNumber: "num", design.ExprString: "str",
		design.ExprUnary: "un", design.ExprBinary: "bin", design.ExprTernary: "?:",
		design.ExprConcat: "cat", design.ExprIndex: "idx", design.ExprSlice: "slice",
		design.ExprCall: "call", design.ExprMember: "mem", design.ExprScoped: "scoped",
		design.ExprParen: "paren", design.ExprCast: "cast", design.ExprAggregate: "agg",
		design.ExprOther: "other",
	}[e.Op]
	switch e.Op {
	case design.ExprIdent, design.ExprNumber, design.ExprString:
		return e.Text
	}
	s := "(" + op
	if e.Text != "" {
		s += " " + e.Text
	}
	for _, p := range parts {
		s += " " + p
	}
	return s + ")"
}

func (d *dumper) typ(t design.Type) string {
	s := fmt.Sprintf("%q", t.Text)
	if t.Keyword != "" {
		s += " kw=" + t.Keyword
	}
	if t.Name != "" {
		s += " name=" + t.Name + "@" + d.text(t.NameSpan)
	}
	if t.Signed {
		s += " signed"
	}
	if t.Aggregate != "" {
		s += " " + t.Aggregate
	}
	for _, r := range t.Packed {
		s += " packed" + d.rng(r)
	}
	for _, r := range t.Unpacked {
		s += " unpacked" + d.rng(r)
	}
	return s
}

func (d *dumper) rng(r design.Range) string {
	dir := "to"
	if r.Downto {
		dir = "downto"
	}
	if r.Left == nil {
		return "[" + d.text(r.Span) + "]"
	}
	return "[" + exprString(r.Left) + " " + dir + " " + exprString(r.Right) + "]"
}

func kindName(k design.DeclKind) string {
	return map[design.DeclKind]string{
		design.DeclPort: "port", design.DeclParam: "param", design.DeclSignal: "signal",
		design.DeclConstant: "constant", design.DeclVar: "var", design.DeclTypedef: "type",
		design.DeclEnumMember: "enum", design.DeclField: "field", design.DeclFunction: "function",
		design.DeclTask: "procedure", design.DeclArg: "arg", design.DeclComponent: "component",
		design.DeclAlias: "alias", design.DeclLabel: "label", design.DeclGenvar: "genvar",
	}[k]
}

func (d *dumper) decl(depth int, x *design.Decl) {
	s := fmt.Sprintf("%s %s@%q", kindName(x.Kind), x.Name, d.text(x.Span))
	if x.Dir != design.DirNone {
		s += " " + x.Dir.String()
	}
	if x.Type.Text != "" || x.Type.Aggregate != "" {
		s += " : " + d.typ(x.Type)
	}
	if x.Value != nil {
		s += " := " + exprString(x.Value)
	}
	if x.Doc != "" {
		s += fmt.Sprintf(" doc=%q", x.Doc)
	}
	d.line(depth, "%s", s)
	for _, m := range x.Members {
		d.decl(depth+1, m)
	}
	for _, m := range x.Type.Members {
		if x.Kind == design.DeclTypedef && x.Type.Aggregate != "enum" {
			d.decl(depth+1, m)
		}
	}
}

var refKinds = map[design.RefKind]string{design.RefValue: "value", design.RefType: "type",
	design.RefUnit: "unit", design.RefCall: "call"}

func (d *dumper) ref(depth int, r design.Ref) {
	s := fmt.Sprintf("ref %s %s@%q", refKinds[r.Kind], r.Name, d.text(r.Span))
	for i, p := range r.Path {
		s += fmt.Sprintf(" .%s@%q", p, d.text(r.PathSpans[i]))
	}
	if r.Text != "" {
		s += fmt.Sprintf(" text=%q", r.Text)
	}
	d.line(depth, "%s", s)
}

var scopeKinds = map[design.ScopeKind]string{design.ScopeUnit: "unit", design.ScopeGenerate: "generate",
	design.ScopeBlock: "block", design.ScopeFunction: "function", design.ScopeTask: "task",
	design.ScopeProcess: "process", design.ScopeClass: "protected"}

func (d *dumper) scope(depth int, s *design.Scope) {
	d.line(depth, "scope %s %q full=%q", scopeKinds[s.Kind], s.Name, d.text(s.Full))
	for _, im := range s.Imports {
		d.line(depth+1, "import %s.%s@%q", im.Pkg, im.Name, d.text(im.PkgSpan))
	}
	for _, x := range s.Decls {
		d.decl(depth+1, x)
	}
	for _, in := range s.Instances {
		k := "entity"
		if in.Component {
			k = "component"
		}
		d.line(depth+1, "instance %s %s@%q of %s@%q lib=%q params=%q ports=%q", k, in.Name, d.text(in.NameSpan),
			in.Module, d.text(in.ModuleSpan), in.Lib, d.text(in.ParamList), d.text(in.PortList))
		for _, c := range append(append([]design.Conn{}, in.Params...), in.Ports...) {
			d.line(depth+2, "conn %s@%q = %s full=%q", c.Name, d.text(c.NameSpan), exprString(c.Expr), d.text(c.Full))
		}
	}
	for _, a := range s.Assigns {
		d.line(depth+1, "assign %d %s = %s", a.Kind, exprString(a.LHS), exprString(a.RHS))
	}
	for _, r := range s.Refs {
		d.ref(depth+1, r)
	}
	for _, c := range s.Scopes {
		d.scope(depth+1, c)
	}
}

func dumpFile(src []byte, f *design.File) string {
	d := &dumper{src: src}
	for _, r := range f.Libraries {
		d.ref(0, r)
	}
	for _, u := range f.Units {
		kinds := map[design.UnitKind]string{design.UnitEntity: "entity", design.UnitArchitecture: "architecture",
			design.UnitPackage: "package", design.UnitPackageBody: "package body", design.UnitConfiguration: "configuration"}
		s := fmt.Sprintf("unit %s %s@%q", kinds[u.Kind], u.Name, d.text(u.NameSpan))
		if u.Of != "" {
			s += fmt.Sprintf(" of %s@%q", u.Of, d.text(u.OfSpan))
		}
		if u.Doc != "" {
			s += fmt.Sprintf(" doc=%q", u.Doc)
		}
		d.line(0, "%s", s)
		d.line(1, "full=%q..%q", d.text(design.Span{Start: u.Full.Start, End: min(u.Full.Start+20, u.Full.End)}),
			string(src[max(u.Full.Start, u.Full.End-20):u.Full.End]))
		if u.ParamList.End > 0 {
			d.line(1, "paramlist=%q", d.text(u.ParamList))
		}
		if u.PortList.End > 0 {
			d.line(1, "portlist=%q", d.text(u.PortList))
		}
		for _, x := range u.Params {
			d.decl(1, x)
		}
		for _, x := range u.Ports {
			d.decl(1, x)
		}
		if u.Body != nil {
			d.scope(1, u.Body)
		}
	}
	for _, x := range f.Diags {
		d.line(0, "diag %q at %q", x.Message, d.text(x.Span))
	}
	return d.b.String()
}

// TestGolden compares the model of every test design with its dump in
// testdata/golden (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.vhd")
	half, _ := filepath.Glob("testdata/half/*.vhd")
	files = append(files, half...)
	if len(files) < 10 {
		t.Fatalf("only %d test designs", len(files))
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got := dumpFile(src, Parse(filepath.ToSlash(path), src))
		golden := filepath.Join("testdata", "golden", strings.TrimPrefix(filepath.ToSlash(path), "testdata/")+".txt")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s: model differs from %s (run with -update and review the diff)\n%s", path, golden, firstDiff(string(want), got))
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("length %d vs %d lines", len(al), len(bl))
}
