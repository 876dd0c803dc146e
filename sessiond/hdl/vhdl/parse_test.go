package vhdl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func at(src string, sp design.Span) string {
	if sp.Start < 0 || sp.End > len(src) || sp.Start > sp.End {
		return "<bad span>"
	}
	return src[sp.Start:sp.End]
}

func parseString(t *testing.T, src string) *design.File {
	t.Helper()
	f := Parse("x.vhd", []byte(src))
	if f.Path != "x.vhd" || f.Lang != design.VHDL {
		t.Fatalf("file header %q %v", f.Path, f.Lang)
	}
	return f
}

func unit(t *testing.T, f *design.File, kind design.UnitKind, name string) *design.Unit {
	t.Helper()
	for _, u := range f.Units {
		if u.Kind == kind && strings.EqualFold(u.Name, name) {
			return u
		}
	}
	t.Fatalf("no unit %v %s among %d units", kind, name, len(f.Units))
	return nil
}

func findDecl(s *design.Scope, name string) *design.Decl {
	for _, d := range s.Decls {
		if strings.EqualFold(d.Name, name) {
			return d
		}
	}
	return nil
}

func noDiags(t *testing.T, src string, f *design.File) {
	t.Helper()
	for _, d := range f.Diags {
		t.Errorf("unexpected diag %q at %q", d.Message, at(src, d.Span))
	}
}

func TestEntityModel(t *testing.T) {
	src := `library ieee;
use ieee.std_logic_1164.all;
use work.my_pkg.all, work.other.item;

-- The device.
-- Second line.
entity Dev is
  generic (
    WIDTH : natural := 8; -- bus width
    INIT  : std_logic_vector(3 downto 0) := x"A"
  );
  port (
    clk     : in    std_logic;
    d       : out   std_logic_vector(WIDTH-1 downto 0);
    io      : inout unsigned(0 to 3);
    b       : buffer integer range 0 to 15;
    l       : linkage bit;
    x, y    : std_logic_vector(7 downto 0) := (others => '0')
  );
  constant C : integer := 3;
end entity Dev;
`
	f := parseString(t, src)
	noDiags(t, src, f)
	if len(f.Libraries) != 4 {
		t.Fatalf("libraries: %+v", f.Libraries)
	}
	lib := f.Libraries[1]
	if lib.Kind != design.RefUnit || lib.Name != "std_logic_1164" || lib.Text != "ieee.std_logic_1164.all" || at(src, lib.Span) != "std_logic_1164" {
		t.Errorf("use ref %+v", lib)
	}
	u := unit(t, f, design.UnitEntity, "dev")
	if u.Name != "Dev" || at(src, u.NameSpan) != "Dev" || u.Doc != "The device.\nSecond line." {
		t.Errorf("unit name %q doc %q", u.Name, u.Doc)
	}
	if !strings.HasPrefix(at(src, u.Full), "entity Dev is") || !strings.HasSuffix(at(src, u.Full), "end entity Dev;") {
		t.Errorf("full %q", at(src, u.Full))
	}
	if !strings.HasPrefix(at(src, u.ParamList), "(\n    WIDTH") || !strings.HasSuffix(at(src, u.ParamList), `x"A"`+"\n  )") {
		t.Errorf("param list %q", at(src, u.ParamList))
	}
	if !strings.HasPrefix(at(src, u.PortList), "(\n    clk") || !strings.HasSuffix(at(src, u.PortList), "'0')\n  )") {
		t.Errorf("port list %q", at(src, u.PortList))
	}
	imps := u.Body.Imports
	if len(imps) != 2 || imps[0].Pkg != "my_pkg" || imps[0].Name != "all" || imps[1].Pkg != "other" || imps[1].Name != "item" || at(src, imps[0].PkgSpan) != "my_pkg" {
		t.Errorf("imports %+v", imps)
	}
	if len(u.Params) != 2 {
		t.Fatalf("params %d", len(u.Params))
	}
	w := u.Params[0]
	if w.Kind != design.DeclParam || w.Name != "WIDTH" || w.Type.Keyword != "natural" || w.Value == nil || w.Value.Text != "8" || w.Doc != "bus width" {
		t.Errorf("WIDTH %+v", w)
	}
	if u.Params[1].Value.Op != design.ExprNumber || u.Params[1].Value.Text != `x"A"` {
		t.Errorf("INIT value %+v", u.Params[1].Value)
	}
	type want struct {
		name, typ string
		dir       design.Dir
		left      string
		right     string
		downto    bool
	}
	wants := []want{
		{"clk", "std_logic", design.DirInput, "", "", false},
		{"d", "std_logic_vector(WIDTH-1 downto 0)", design.DirOutput, "WIDTH-1", "0", true},
		{"io", "unsigned(0 to 3)", design.DirInout, "0", "3", false},
		{"b", "integer range 0 to 15", design.DirBuffer, "0", "15", false},
		{"l", "bit", design.DirLinkage, "", "", false},
		{"x", "std_logic_vector(7 downto 0)", design.DirInput, "7", "0", true},
		{"y", "std_logic_vector(7 downto 0)", design.DirInput, "7", "0", true},
	}
	if len(u.Ports) != len(wants) {
		t.Fatalf("ports %d", len(u.Ports))
	}
	for i, w := range wants {
		p := u.Ports[i]
		if p.Kind != design.DeclPort || p.Name != w.name || at(src, p.Span) != w.name || p.Dir != w.dir || p.Type.Text != w.typ {
			t.Errorf("port %d: %s %v %q", i, p.Name, p.Dir, p.Type.Text)
		}
		if w.left == "" {
			if len(p.Type.Packed) != 0 {
				t.Errorf("port %s packed %+v", p.Name, p.Type.Packed)
			}
			continue
		}
		if len(p.Type.Packed) != 1 {
			t.Errorf("port %s: %d ranges", p.Name, len(p.Type.Packed))
			continue
		}
		r := p.Type.Packed[0]
		if at(src, r.Left.Span) != w.left || at(src, r.Right.Span) != w.right || r.Downto != w.downto {
			t.Errorf("port %s range %q %q %v", p.Name, at(src, r.Left.Span), at(src, r.Right.Span), r.Downto)
		}
	}
	if u.Ports[1].Type.Keyword != "std_logic_vector" || u.Ports[2].Type.Name != "unsigned" || at(src, u.Ports[2].Type.NameSpan) != "unsigned" {
		t.Errorf("type names %+v %+v", u.Ports[1].Type, u.Ports[2].Type)
	}
	if u.Ports[5].Full != u.Ports[6].Full || u.Ports[5].Value == nil || u.Ports[5].Value.Op != design.ExprAggregate {
		t.Errorf("x, y share Full and default")
	}
	if d := findDecl(u.Body, "C"); d == nil || d.Kind != design.DeclConstant {
		t.Errorf("entity declarative part: %+v", u.Body.Decls)
	}
}

func TestArchitectureModel(t *testing.T) {
	src := `architecture rtl of dev is
  type state_t is (IDLE, RUN, '0');
  type rec_t is record
    a, b : std_logic;
    c    : unsigned(3 downto 0);
  end record;
  subtype byte is std_logic_vector(7 downto 0);
  signal st : state_t := IDLE;
  signal r : rec_t;
  constant K : natural := 4;
  alias hi : std_logic_vector(3 downto 0) is data(7 downto 4);
  component sub is
    generic (N : natural := 1);
    port (a : in bit; z : out bit);
  end component;
  function f(x : integer; y : bit := '0') return integer is
  begin
    return x + 1;
  end function;
  procedure p(signal s : out bit) is
  begin
    s <= '1';
  end procedure;
  attribute keep : boolean;
begin
  u1 : sub generic map (N => K) port map (a => r.a, z => open);
  u2 : entity work.leaf(beh) port map (r.b, q(3 downto 0));
  u3 : component sub port map (a => '1', z => s1);
  y <= a when sel = '1' else b when sel2 = '1' else c;
  with op select z <= x when "00", y when "01" | "10", unaffected when others;
  main : process (clk, rst) is
    variable v : integer := 0;
  begin
    if rst = '1' then
      v := 0;
    elsif rising_edge(clk) then
      case st is
        when IDLE => st <= RUN;
        when others => null;
      end case;
      for i in 0 to 3 loop
        v := v + i;
      end loop;
      q <= std_logic_vector(to_unsigned(v, 8)) after 1 ns;
      p(s1);
    end if;
  end process main;
  g : for i in 0 to K-1 generate
    w(i) <= r.c(i);
  end generate g;
end architecture;
`
	f := parseString(t, src)
	noDiags(t, src, f)
	u := unit(t, f, design.UnitArchitecture, "rtl")
	if u.Of != "dev" || at(src, u.OfSpan) != "dev" || u.Body.Kind != design.ScopeUnit {
		t.Errorf("of %q", u.Of)
	}
	b := u.Body
	st := findDecl(b, "state_t")
	if st == nil || st.Kind != design.DeclTypedef || st.Type.Aggregate != "enum" || len(st.Type.Members) != 3 {
		t.Fatalf("state_t %+v", st)
	}
	if m := findDecl(b, "RUN"); m == nil || m.Kind != design.DeclEnumMember || m != st.Type.Members[1] {
		t.Errorf("enum member RUN not in scope")
	}
	if m := findDecl(b, "'0'"); m == nil || m.Kind != design.DeclEnumMember {
		t.Errorf("character enum literal not in scope")
	}
	rec := findDecl(b, "rec_t")
	if rec == nil || rec.Type.Aggregate != "struct" || len(rec.Type.Members) != 3 || rec.Type.Members[2].Name != "c" ||
		rec.Type.Members[2].Kind != design.DeclField || len(rec.Type.Members[2].Type.Packed) != 1 {
		t.Fatalf("rec_t %+v", rec)
	}
	if findDecl(b, "a") != nil {
		t.Errorf("record fields leaked into the scope")
	}
	if d := findDecl(b, "byte"); d == nil || d.Kind != design.DeclTypedef || d.Type.Keyword != "std_logic_vector" {
		t.Errorf("subtype %+v", d)
	}
	if d := findDecl(b, "st"); d == nil || d.Kind != design.DeclSignal || d.Type.Name != "state_t" || d.Value.Text != "IDLE" {
		t.Errorf("signal st %+v", d)
	}
	if d := findDecl(b, "hi"); d == nil || d.Kind != design.DeclAlias || d.Value.Op != design.ExprSlice || d.Value.Text != "downto" {
		t.Errorf("alias %+v", d)
	}
	comp := findDecl(b, "sub")
	if comp == nil || comp.Kind != design.DeclComponent || len(comp.Members) != 3 || comp.Members[0].Kind != design.DeclParam ||
		comp.Members[2].Kind != design.DeclPort || comp.Members[2].Dir != design.DirOutput {
		t.Fatalf("component %+v", comp)
	}
	fn := findDecl(b, "f")
	if fn == nil || fn.Kind != design.DeclFunction || len(fn.Members) != 2 || fn.Members[1].Kind != design.DeclArg || fn.Type.Keyword != "integer" {
		t.Fatalf("function %+v", fn)
	}
	pr := findDecl(b, "p")
	if pr == nil || pr.Kind != design.DeclTask || pr.Members[0].Dir != design.DirOutput {
		t.Fatalf("procedure %+v", pr)
	}
	var fs, ps, proc, gen *design.Scope
	for _, s := range b.Scopes {
		switch {
		case s.Kind == design.ScopeFunction && s.Name == "f":
			fs = s
		case s.Kind == design.ScopeTask && s.Name == "p":
			ps = s
		case s.Kind == design.ScopeProcess:
			proc = s
		case s.Kind == design.ScopeGenerate:
			gen = s
		}
	}
	if fs == nil || fs.Decl != fn || ps == nil || ps.Decl != pr || len(ps.Assigns) != 1 || ps.Assigns[0].Kind != design.AssignNonblocking {
		t.Fatalf("subprogram scopes %+v %+v", fs, ps)
	}
	if len(b.Instances) != 3 {
		t.Fatalf("instances %d", len(b.Instances))
	}
	i1, i2, i3 := b.Instances[0], b.Instances[1], b.Instances[2]
	if i1.Module != "sub" || !i1.Component || i1.Name != "u1" || at(src, i1.NameSpan) != "u1" || at(src, i1.ModuleSpan) != "sub" ||
		at(src, i1.ParamList) != "(N => K)" || at(src, i1.PortList) != "(a => r.a, z => open)" {
		t.Errorf("u1 %+v", i1)
	}
	if len(i1.Params) != 1 || i1.Params[0].Name != "N" || at(src, i1.Params[0].NameSpan) != "N" || i1.Params[0].Expr.Text != "K" {
		t.Errorf("u1 params %+v", i1.Params)
	}
	if len(i1.Ports) != 2 || i1.Ports[0].Expr.Op != design.ExprMember || i1.Ports[0].Expr.Text != "a" || i1.Ports[1].Expr != nil ||
		at(src, i1.Ports[1].Full) != "z => open" {
		t.Errorf("u1 ports %+v", i1.Ports)
	}
	if at(src, i1.Full) != "u1 : sub generic map (N => K) port map (a => r.a, z => open);" {
		t.Errorf("u1 full %q", at(src, i1.Full))
	}
	if i2.Module != "leaf" || i2.Lib != "work" || i2.Component || len(i2.Ports) != 2 || i2.Ports[0].Name != "" ||
		i2.Ports[1].Expr.Op != design.ExprSlice {
		t.Errorf("u2 %+v", i2)
	}
	if i3.Module != "sub" || !i3.Component {
		t.Errorf("u3 %+v", i3)
	}
	// Conditional: one Assign per alternative; selected: one per non-unaffected alternative.
	var cont []design.Assign
	for _, a := range b.Assigns {
		if a.Kind != design.AssignContinuous {
			t.Errorf("assign kind %v", a.Kind)
		}
		cont = append(cont, a)
	}
	if len(cont) != 5 || cont[0].LHS.Text != "y" || cont[0].RHS.Text != "a" || cont[2].RHS.Text != "c" ||
		cont[3].LHS.Text != "z" || cont[4].RHS.Text != "y" || at(src, cont[0].Full) != "y <= a when sel = '1' else b when sel2 = '1' else c;" {
		t.Errorf("concurrent assigns %+v", cont)
	}
	if proc == nil || proc.Name != "main" || at(src, proc.NameSpan) != "main" || !strings.HasSuffix(at(src, proc.Full), "end process main;") {
		t.Fatalf("process %+v", proc)
	}
	if d := findDecl(proc, "v"); d == nil || d.Kind != design.DeclVar {
		t.Errorf("variable v")
	}
	kinds := map[design.AssignKind]int{}
	for _, a := range proc.Assigns {
		kinds[a.Kind]++
	}
	if kinds[design.AssignBlocking] != 1 || kinds[design.AssignNonblocking] != 2 {
		t.Errorf("process assigns %v", kinds)
	}
	// Sensitivity list and call refs.
	var sens, calls []string
	for _, r := range proc.Refs {
		if r.Kind == design.RefCall {
			calls = append(calls, r.Name)
		}
		if r.Kind == design.RefValue && r.Span.End <= strings.Index(src, ") is\n    variable v") {
			sens = append(sens, r.Name)
		}
	}
	if strings.Join(sens, ",") != "clk,rst" {
		t.Errorf("sensitivity refs %v", sens)
	}
	if strings.Join(calls, ",") != "rising_edge,std_logic_vector,to_unsigned,p" {
		t.Errorf("call refs %v", calls)
	}
	var loop *design.Scope
	for _, s := range proc.Scopes {
		if s.Kind == design.ScopeBlock {
			loop = s
		}
	}
	if loop == nil || len(loop.Decls) != 1 || loop.Decls[0].Name != "i" || len(loop.Assigns) != 1 || loop.Assigns[0].Kind != design.AssignBlocking {
		t.Errorf("for loop scope %+v", loop)
	}
	if gen == nil || gen.Name != "g" || len(gen.Decls) != 1 || gen.Decls[0].Kind != design.DeclGenvar || len(gen.Assigns) != 1 {
		t.Fatalf("generate %+v", gen)
	}
	// r.c(i): one Ref r with Path [c].
	var found bool
	for _, r := range gen.Refs {
		if r.Name == "r" && len(r.Path) == 1 && r.Path[0] == "c" && at(src, r.PathSpans[0]) == "c" {
			found = true
		}
	}
	if !found {
		t.Errorf("selected name ref in generate: %+v", gen.Refs)
	}
	// Formals and aggregate choices are not refs; actuals are.
	for _, r := range b.Refs {
		if r.Name == "N" || r.Name == "z" && r.Span.Start < strings.Index(src, "u2 :") {
			t.Errorf("formal became a ref: %+v", r)
		}
	}
	for _, l := range []string{"main", "g"} {
		if d := findDecl(b, l); d == nil || d.Kind != design.DeclLabel {
			t.Errorf("label %s", l)
		}
	}
}

func TestExprShapes(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"a and b or c", "(bin or (bin and a b) c)"},
		{"a + b * c", "(bin + a (bin * b c))"},
		{"a & b & c", "(bin & (bin & a b) c)"},
		{"not a = b", "(bin = (un not a) b)"},
		{"x sll 2 + 1", "(bin sll x (bin + 2 1))"},
		{"-a ** 2", "(un - (bin ** a 2))"},
		{"abs x mod 3", "(bin mod (un abs x) 3)"},
		{"x(7 downto 0)", "(slice downto x 7 0)"},
		{"x(0 to n-1)", "(slice to x 0 (bin - n 1))"},
		{"x(3)", "(idx x 3)"},
		{"f(a, b)", "(call f a b)"},
		{"f(p => 1)", "(call f (bin => p 1))"},
		{"to_integer(u)", "(call to_integer u)"},
		{"r.f.g", "(mem g (mem f r))"},
		{"m(1)(2)", "(idx (idx m 1) 2)"},
		{"x'length", "(other 'length x)"},
		{"clk'event and clk = '1'", "(bin and (other 'event clk) (bin = clk '1'))"},
		{"integer'image(v)", "(other 'image integer v)"},
		{"unsigned'(x\"0F\")", "(cast unsigned (paren x\"0F\"))"},
		{"(others => '0')", "(agg (bin => (other others) '0'))"},
		{"(0 => '1', 3 downto 1 => s, others => z)", "(agg (bin => 0 '1') (bin => (bin downto 3 1) s) (bin => (other others) z))"},
		{"(a | b => 1)", "(agg (bin => (bin | a b) 1))"},
		{"(a, b)", "(agg a b)"},
		{"(a)", "(paren a)"},
		{"16#FF# + 2#1010#", "(bin + 16#FF# 2#1010#)"},
		{"8x\"FF\"", "8x\"FF\""},
		{"10 ns", "10 ns"},
		{"a ?= b", "(bin ?= a b)"},
		{"?? s", "(un ?? s)"},
		{"and v", "(un and v)"},
		{"a XOR b", "(bin xor a b)"},
		{"a /= b", "(bin /= a b)"},
		{"work.pkg.c", "(mem c (mem pkg work))"},
		{"\"abc\" & 'd'", "(bin & \"abc\" 'd')"},
	}
	for _, c := range cases {
		src := "architecture a of e is begin y <= " + c.expr + "; end;"
		f := Parse("x.vhd", []byte(src))
		for _, d := range f.Diags {
			t.Errorf("%s: diag %q", c.expr, d.Message)
		}
		if len(f.Units) != 1 || len(f.Units[0].Body.Assigns) != 1 {
			t.Errorf("%s: no assign", c.expr)
			continue
		}
		rhs := f.Units[0].Body.Assigns[0].RHS
		if got := exprString(rhs); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.expr, got, c.want)
		}
		if at(src, rhs.Span) != c.expr {
			t.Errorf("%s: span %q", c.expr, at(src, rhs.Span))
		}
	}
}

func TestRefs(t *testing.T) {
	src := `architecture a of e is
  signal s : work.pkg.word_t;
begin
  y <= rec.f.g + to_integer(v) + arr(i) + t'(x) + (fld => k);
  proc(q);
end;`
	f := parseString(t, src)
	noDiags(t, src, f)
	got := []string{}
	for _, r := range f.Units[0].Body.Refs {
		s := refKinds[r.Kind] + ":" + r.Name
		for _, p := range r.Path {
			s += "." + p
		}
		got = append(got, s)
	}
	want := "unit:e type:work.pkg.word_t value:y value:rec.f.g call:to_integer value:v value:arr value:i type:t value:x value:k call:proc value:q"
	if strings.Join(got, " ") != want {
		t.Errorf("refs\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestPackageAndBody(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "types_pkg.vhd"))
	if err != nil {
		t.Fatal(err)
	}
	f := Parse("types_pkg.vhd", src)
	p := unit(t, f, design.UnitPackage, "types_pkg")
	b := unit(t, f, design.UnitPackageBody, "types_pkg")
	if b.Of != "types_pkg" || at(string(src), b.OfSpan) != "types_pkg" {
		t.Errorf("body of %q", b.Of)
	}
	if d := findDecl(p.Body, "DEPTH"); d == nil || d.Doc != "default FIFO depth" {
		t.Errorf("trailing doc %+v", d)
	}
	if d := findDecl(p.Body, "beat_t"); d == nil || d.Doc != "One beat of a stream." || d.Type.Members[0].Doc != "payload" {
		t.Errorf("record doc %+v", d)
	}
	funcs := 0
	for _, s := range b.Body.Scopes {
		if s.Kind == design.ScopeFunction || s.Kind == design.ScopeTask {
			funcs++
		}
	}
	if funcs != 4 {
		t.Errorf("subprogram bodies %d", funcs)
	}
}

func TestConfigurationAndContext(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "config.vhd"))
	if err != nil {
		t.Fatal(err)
	}
	f := Parse("config.vhd", src)
	c := unit(t, f, design.UnitConfiguration, "cfg_top_cfg")
	if c.Of != "cfg_top" || !strings.HasSuffix(at(string(src), c.Full), "end configuration cfg_top_cfg;") {
		t.Errorf("configuration %+v", c)
	}
	if len(f.Libraries) != 1 || f.Libraries[0].Text != "work.base_ctx" || f.Libraries[0].Name != "base_ctx" {
		t.Errorf("context reference %+v", f.Libraries)
	}
}

func TestFoldsAndTokens(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "fifo.vhd"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	f := Parse("fifo.vhd", src)
	var folds []string
	for _, fd := range f.Folds {
		txt := at(s, fd)
		if !strings.Contains(txt, "\n") {
			t.Errorf("single-line fold %q", txt)
		}
		folds = append(folds, strings.SplitN(txt, "\n", 2)[0])
	}
	for _, want := range []string{"entity fifo is", "architecture rtl of fifo is", "write_p : process (clk)", "if rising_edge(clk) then", "("} {
		found := false
		for _, l := range folds {
			if strings.TrimSpace(l) == want {
				found = true
			}
		}
		if !found {
			t.Errorf("no fold starting %q in %q", want, folds)
		}
	}
	kinds := map[design.TokenKind]int{}
	last := -1
	for _, tk := range f.Tokens {
		if tk.Start < last {
			t.Fatalf("tokens out of order at %d", tk.Start)
		}
		last = tk.End
		kinds[tk.Kind]++
		txt := s[tk.Start:tk.End]
		switch tk.Kind {
		case design.TokKeyword:
			if !IsKeyword(txt) {
				t.Errorf("keyword token %q", txt)
			}
		case design.TokComment:
			if !strings.HasPrefix(txt, "--") {
				t.Errorf("comment token %q", txt)
			}
		}
	}
	for _, k := range []design.TokenKind{design.TokKeyword, design.TokIdent, design.TokNumber, design.TokString, design.TokComment, design.TokOperator} {
		if kinds[k] == 0 {
			t.Errorf("no tokens of kind %d", k)
		}
	}
}

func TestLex(t *testing.T) {
	src := `x"AB" 12UX"F0" 16#FF#E2 1.5e-3 'a' a'b "s""q" \ext id\ -- c
/* b
*/ <= => := /= ?/= ?<= ** <> << >> t'(x) ENTITY`
	toks := Lex([]byte(src))
	var got []string
	for _, tk := range toks {
		got = append(got, tk.Kind.String()+":"+src[tk.Start:tk.End])
	}
	want := []string{"bit string:x\"AB\"", "bit string:12UX\"F0\"", "number:16#FF#E2", "number:1.5e-3",
		"character:'a'", "identifier:a", "operator:'", "identifier:b", "string:\"s\"\"q\"", "extended identifier:\\ext id\\",
		"comment:-- c", "comment:/* b\n*/", "operator:<=", "operator:=>", "operator::=", "operator:/=", "operator:?/=",
		"operator:?<=", "operator:**", "operator:<>", "operator:<<", "operator:>>", "identifier:t", "operator:'",
		"operator:(", "identifier:x", "operator:)", "keyword:ENTITY"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tokens\n got %q\nwant %q", got, want)
	}
	if !IsKeyword("Architecture") || !IsKeyword("xnor") || IsKeyword("std_logic") || IsKeyword("") {
		t.Error("IsKeyword")
	}
	for i, w := range kwNames {
		if i > 0 && lookupKeyword(w) != uint8(i) {
			t.Errorf("keyword table: %s", w)
		}
	}
}

func TestNestedUseAndImports(t *testing.T) {
	src := `use work.a_pkg.all;
entity e is end;
architecture r of e is
  use work.b_pkg.thing;
  use ieee.numeric_std.all;
begin
end;
`
	f := parseString(t, src)
	noDiags(t, src, f)
	e := unit(t, f, design.UnitEntity, "e")
	a := unit(t, f, design.UnitArchitecture, "r")
	if len(e.Body.Imports) != 1 || e.Body.Imports[0].Pkg != "a_pkg" {
		t.Errorf("entity imports %+v", e.Body.Imports)
	}
	if len(a.Body.Imports) != 1 || a.Body.Imports[0].Pkg != "b_pkg" || a.Body.Imports[0].Name != "thing" ||
		at(src, a.Body.Imports[0].Full) != "use work.b_pkg.thing" {
		t.Errorf("architecture imports %+v", a.Body.Imports)
	}
	var texts []string
	for _, r := range a.Body.Refs {
		if r.Kind == design.RefUnit {
			texts = append(texts, r.Name+"="+r.Text)
		}
	}
	if strings.Join(texts, " ") != "e= b_pkg=work.b_pkg.thing numeric_std=ieee.numeric_std.all" {
		t.Errorf("unit refs %v", texts)
	}
}
