package verilog

import (
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func unit(t *testing.T, f *design.File, name string) *design.Unit {
	t.Helper()
	for _, u := range f.Units {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("no unit %q", name)
	return nil
}

// lookupDecl searches s and its children.
func lookupDecl(s *design.Scope, name string) *design.Decl {
	return findNamed(s, name, func(s *design.Scope) []*design.Decl { return s.Decls }, func(d *design.Decl) string { return d.Name })
}

// findNamed returns the first of s's and then its children's items (list)
// whose nameOf is name.
func findNamed[T any](s *design.Scope, name string, list func(*design.Scope) []*T, nameOf func(*T) string) *T {
	for _, x := range list(s) {
		if nameOf(x) == name {
			return x
		}
	}
	for _, c := range s.Scopes {
		if x := findNamed(c, name, list, nameOf); x != nil {
			return x
		}
	}
	return nil
}

func mustDecl(t *testing.T, s *design.Scope, name string) *design.Decl {
	t.Helper()
	d := lookupDecl(s, name)
	if d == nil {
		t.Fatalf("no decl %q", name)
	}
	return d
}

func findScope(s *design.Scope, name string) *design.Scope {
	if s.Name == name {
		return s
	}
	for _, c := range s.Scopes {
		if r := findScope(c, name); r != nil {
			return r
		}
	}
	return nil
}

func findInst(s *design.Scope, name string) *design.Instance {
	return findNamed(s, name, func(s *design.Scope) []*design.Instance { return s.Instances }, func(in *design.Instance) string { return in.Name })
}

func allRefs(s *design.Scope) []design.Ref {
	return collect(s, func(s *design.Scope) []design.Ref { return s.Refs })
}

func allAssigns(s *design.Scope) []design.Assign {
	return collect(s, func(s *design.Scope) []design.Assign { return s.Assigns })
}

// collect returns list of s and of all its descendants, in order.
func collect[T any](s *design.Scope, list func(*design.Scope) []T) []T {
	out := append([]T{}, list(s)...)
	for _, c := range s.Scopes {
		out = append(out, collect(c, list)...)
	}
	return out
}

func txt(src string, sp design.Span) string {
	if sp.Start < 0 || sp.End > len(src) || sp.Start > sp.End {
		return "<bad span>"
	}
	return src[sp.Start:sp.End]
}

func port(t *testing.T, u *design.Unit, name string) *design.Decl {
	t.Helper()
	return unitDecl(t, u, u.Ports, "port", name)
}

func param(t *testing.T, u *design.Unit, name string) *design.Decl {
	t.Helper()
	return unitDecl(t, u, u.Params, "param", name)
}

// unitDecl returns the decl of list (a list of u's, what) named name.
func unitDecl(t *testing.T, u *design.Unit, list []*design.Decl, what, name string) *design.Decl {
	t.Helper()
	for _, d := range list {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("unit %s has no %s %q", u.Name, what, name)
	return nil
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// exprString renders an Expr tree in prefix form for assertions.
func exprString(e *design.Expr) string {
	if e == nil {
		return "nil"
	}
	switch e.Op {
	case design.ExprIdent, design.ExprNumber, design.ExprString:
		return e.Text
	}
	names := map[design.ExprOp]string{
		design.ExprUnary: "un", design.ExprBinary: "bin", design.ExprTernary: "?:", design.ExprConcat: "cat",
		design.ExprReplicate: "rep", design.ExprIndex: "idx", design.ExprSlice: "sel", design.ExprCall: "call",
		design.ExprMember: "mem", design.ExprScoped: "scope", design.ExprParen: "paren", design.ExprCast: "cast",
		design.ExprAggregate: "agg", design.ExprOther: "other",
	}
	var b strings.Builder
	b.WriteString("(" + names[e.Op])
	if e.Text != "" && e.Op != design.ExprCall && e.Op != design.ExprTernary {
		b.WriteString(" " + e.Text)
	}
	for _, a := range e.Args {
		b.WriteString(" " + exprString(a))
	}
	b.WriteString(")")
	return b.String()
}

func TestCounterModel(t *testing.T) {
	f, src := parseTestdata(t, "counter.v")
	if len(f.Diags) != 0 {
		t.Fatal(diagString(f, src))
	}
	u := unit(t, f, "counter")
	eq(t, "kind", u.Kind, design.UnitModule)
	eq(t, "name span", txt(src, u.NameSpan), "counter")
	if !strings.HasPrefix(u.Doc, "Counter: counts up when en is high.") || !strings.Contains(u.Doc, "Wraps around") {
		t.Errorf("unit doc = %q", u.Doc)
	}
	if !strings.HasPrefix(txt(src, u.Full), "module counter") || !strings.HasSuffix(txt(src, u.Full), "endmodule") {
		t.Errorf("full = %q", txt(src, u.Full))
	}
	pl := txt(src, u.ParamList)
	if !strings.HasPrefix(pl, "(") || !strings.HasSuffix(pl, ")") || !strings.Contains(pl, "INIT") {
		t.Errorf("param list = %q", pl)
	}
	eq(t, "params", len(u.Params), 3)
	w := param(t, u, "WIDTH")
	eq(t, "WIDTH kind", w.Kind, design.DeclParam)
	eq(t, "WIDTH value", exprString(w.Value), "8")
	eq(t, "WIDTH doc", w.Doc, "counter width")
	init := param(t, u, "INIT")
	eq(t, "INIT type", init.Type.Text, "[WIDTH-1:0]")
	eq(t, "INIT value", exprString(init.Value), "(rep WIDTH (cat 1'b0))")
	mx := param(t, u, "MAX")
	eq(t, "MAX kind", mx.Kind, design.DeclLocalParam)

	eq(t, "ports", len(u.Ports), 5)
	clk := port(t, u, "clk")
	eq(t, "clk dir", clk.Dir, design.DirInput)
	eq(t, "clk keyword", clk.Type.Keyword, "wire")
	eq(t, "clk doc", clk.Doc, "clock")
	eq(t, "clk span", txt(src, clk.Span), "clk")
	cnt := port(t, u, "count")
	eq(t, "count dir", cnt.Dir, design.DirOutput)
	eq(t, "count keyword", cnt.Type.Keyword, "reg")
	eq(t, "count text", cnt.Type.Text, "reg [WIDTH-1:0]")
	if len(cnt.Type.Packed) != 1 {
		t.Fatalf("count packed = %v", cnt.Type.Packed)
	}
	r := cnt.Type.Packed[0]
	eq(t, "count left", exprString(r.Left), "(bin - WIDTH 1)")
	eq(t, "count right", exprString(r.Right), "0")
	eq(t, "count range text", txt(src, r.Span), "[WIDTH-1:0]")
	eq(t, "left span", txt(src, r.Left.Span), "WIDTH-1")

	as := allAssigns(u.Body)
	var cont, nb int
	for _, a := range as {
		switch a.Kind {
		case design.AssignContinuous:
			cont++
			eq(t, "assign lhs", exprString(a.LHS), "wrap")
			eq(t, "assign rhs", exprString(a.RHS), "(bin && en (paren (bin == count MAX)))")
			eq(t, "assign full", txt(src, a.Full), "assign wrap = en && (count == MAX);")
		case design.AssignNonblocking:
			nb++
		}
	}
	eq(t, "continuous", cont, 1)
	eq(t, "nonblocking", nb, 2)
	if len(u.Body.Scopes) != 1 || u.Body.Scopes[0].Kind != design.ScopeProcess {
		t.Fatalf("scopes = %+v", u.Body.Scopes)
	}
	names := map[string]int{}
	for _, r := range allRefs(u.Body) {
		names[r.Name]++
		if txt(src, r.Span) != r.Name {
			t.Errorf("ref %s span %q", r.Name, txt(src, r.Span))
		}
	}
	for _, n := range []string{"WIDTH", "clk", "rst_n", "count", "en", "INIT", "MAX", "wrap"} {
		if names[n] == 0 {
			t.Errorf("no ref to %s", n)
		}
	}
	// folds: module, port list, param list, always block, block comment
	folds := map[string]bool{}
	for _, fd := range f.Folds {
		s := txt(src, fd)
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		folds[s] = true
	}
	for _, want := range []string{"module counter #(", "(", "begin", "/* Counter: counts up when en is high."} {
		if !folds[want] {
			t.Errorf("no fold starting %q in %v", want, folds)
		}
	}
}

func TestNonANSIModel(t *testing.T) {
	f, src := parseTestdata(t, "nonansi.v")
	u := unit(t, f, "nonansi")
	eq(t, "ports", len(u.Ports), 7)
	y := port(t, u, "y")
	eq(t, "y dir", y.Dir, design.DirOutput)
	eq(t, "y keyword", y.Type.Keyword, "reg")
	eq(t, "y packed", len(y.Type.Packed), 1)
	a := port(t, u, "a")
	eq(t, "a dir", a.Dir, design.DirInput)
	eq(t, "a type", a.Type.Text, "[7:0]")
	eq(t, "a full", txt(src, a.Full), "input [7:0] a, b;")
	if lookupDecl(u.Body, "y") != nil {
		t.Error("reg y should complete the port, not be a separate decl")
	}
	pc := mustDecl(t, u.Body, "popcount")
	eq(t, "popcount kind", pc.Kind, design.DeclFunction)
	eq(t, "popcount type", pc.Type.Text, "[3:0]")
	eq(t, "popcount doc", pc.Doc, "count the ones in a byte")
	if len(pc.Members) != 1 || pc.Members[0].Name != "v" || pc.Members[0].Dir != design.DirInput {
		t.Errorf("popcount args = %+v", pc.Members)
	}
	fs := findScope(u.Body, "popcount")
	if fs == nil || fs.Kind != design.ScopeFunction || fs.Decl != pc || lookupDecl(fs, "k") == nil {
		t.Errorf("function scope = %+v", fs)
	}
	cl := mustDecl(t, u.Body, "clear")
	eq(t, "clear kind", cl.Kind, design.DeclTask)
	eq(t, "clear arg dir", cl.Members[0].Dir, design.DirOutput)
	var calls []string
	for _, r := range allRefs(u.Body) {
		if r.Kind == design.RefCall {
			calls = append(calls, r.Name)
		}
	}
	eq(t, "calls", strings.Join(calls, ","), "clear,popcount")
}

func TestGenerateModel(t *testing.T) {
	f, src := parseTestdata(t, "gen.v")
	u := unit(t, f, "gen")
	gl := findScope(u.Body, "g_lane")
	if gl == nil {
		t.Fatal("no g_lane scope")
	}
	eq(t, "g_lane kind", gl.Kind, design.ScopeGenerate)
	eq(t, "g_lane name span", txt(src, gl.NameSpan), "g_lane")
	if d := lookupDecl(u.Body, "g_lane"); d == nil || d.Kind != design.DeclLabel {
		t.Error("no DeclLabel for g_lane")
	}
	if d := lookupDecl(gl, "t"); d == nil || d.Kind != design.DeclNet {
		t.Error("no wire t in g_lane")
	}
	ul := findInst(gl, "u_lane")
	if ul == nil {
		t.Fatal("no u_lane in g_lane")
	}
	eq(t, "u_lane module", ul.Module, "lane")
	eq(t, "u_lane conns", len(ul.Ports), 3)
	eq(t, "conn q name", ul.Ports[2].Name, "q")
	eq(t, "conn q expr", exprString(ul.Ports[2].Expr), "(idx q i)")
	eq(t, "conn q name span", txt(src, ul.Ports[2].NameSpan), "q")
	eq(t, "conn q full", txt(src, ul.Ports[2].Full), ".q(q[i])")
	eq(t, "port list", txt(src, ul.PortList), "(.clk(clk), .d(t), .q(q[i]))")
	if mustDecl(t, u.Body, "i").Kind != design.DeclGenvar {
		t.Error("i is not a genvar")
	}
	for _, n := range []string{"g_add", "g_noadd", "g_m0", "g_mx"} {
		if s := findScope(u.Body, n); s == nil || s.Kind != design.ScopeGenerate {
			t.Errorf("no generate scope %s", n)
		}
	}
	ua := findInst(u.Body, "u_add")
	eq(t, "u_add params", len(ua.Params), 1)
	eq(t, "u_add param name", ua.Params[0].Name, "W")
	eq(t, "u_add param list", txt(src, ua.ParamList), "#(.W(4))")
	u8 := findInst(u.Body, "u_add8")
	eq(t, "u_add8 positional", len(u8.Ports), 3)
	eq(t, "u_add8 third", exprString(u8.Ports[2].Expr), "(sel : sum8 4 0)")
	eq(t, "u_add8 param", exprString(u8.Params[0].Expr), "8")
	eq(t, "u_add8 param name", u8.Params[0].Name, "")
	uA := findInst(u.Body, "u_a")
	if uA.Ports[2].Name != "s" || uA.Ports[2].Expr != nil || uA.Ports[2].Implicit {
		t.Errorf("u_a .s() = %+v", uA.Ports[2])
	}
	l0, l1 := findInst(u.Body, "l0"), findInst(u.Body, "l1")
	if l0 == nil || l1 == nil || l1.Module != "lane" {
		t.Fatal("l0/l1 not both instances of lane")
	}
	if !strings.HasSuffix(txt(src, l1.Full), ".q());") {
		t.Errorf("l1 full = %q", txt(src, l1.Full))
	}
	// wire z = 1'b0: an AssignInit in g_m0
	m0 := findScope(u.Body, "g_m0")
	if len(m0.Assigns) != 1 || m0.Assigns[0].Kind != design.AssignInit || exprString(m0.Assigns[0].RHS) != "1'b0" {
		t.Errorf("g_m0 assigns = %+v", m0.Assigns)
	}
}

func TestInstancesSV(t *testing.T) {
	f, src := parseTestdata(t, "top.sv")
	top := unit(t, f, "top")
	u0 := findInst(top.Body, "u0")
	eq(t, "u0 params", len(u0.Params), 2)
	eq(t, "u0 T", u0.Params[1].Expr.Text, "logic [3:0]")
	eq(t, "u0 T op", u0.Params[1].Expr.Op, design.ExprOther)
	arr := findInst(top.Body, "u_arr")
	if arr.Array == nil || exprString(arr.Array.Left) != "3" {
		t.Errorf("u_arr array = %+v", arr.Array)
	}
	b0 := findInst(top.Body, "u_b0")
	if !b0.Ports[0].Implicit || b0.Ports[0].Name != "clk" || b0.Ports[0].Expr != nil {
		t.Errorf("u_b0 .clk = %+v", b0.Ports[0])
	}
	b1 := findInst(top.Body, "u_b1")
	if !b1.Wildcard || txt(src, b1.WildcardSpan) != ".*" || len(b1.Ports) != 2 {
		t.Errorf("u_b1 = %+v", b1)
	}
	eq(t, "u_b1 shares params", exprString(b1.Params[0].Expr), "1")
	leaf := unit(t, f, "leaf")
	tp := param(t, leaf, "T")
	eq(t, "T keyword", tp.Type.Keyword, "type")
	eq(t, "T default", tp.Value.Text, "logic")
	ut := mustDecl(t, leaf.Body, "unused_t")
	eq(t, "unused_t type name", ut.Type.Name, "T")
}

func TestPreprocessorModel(t *testing.T) {
	f, src := parseTestdata(t, "preproc.v")
	if len(f.Diags) != 0 {
		t.Fatal(diagString(f, src))
	}
	macros := map[string]*design.Macro{}
	for _, m := range f.Macros {
		macros[m.Name] = m
	}
	if _, ok := macros["INC_VH"]; ok {
		t.Error("macros of the include listed as the file's")
	}
	mx := macros["MAX"]
	eq(t, "MAX params", strings.Join(mx.Params, ","), "a,b")
	eq(t, "MAX body", mx.Body, "((a) > (b) ? (a) : (b))")
	eq(t, "MAX span", txt(src, mx.Span), "MAX")
	eq(t, "ADD params", strings.Join(macros["ADD"].Params, ","), "x,y=1")
	if !strings.Contains(macros["MULTI"].Body, "\n") || strings.Contains(macros["MULTI"].Body, "\\") {
		t.Errorf("MULTI body = %q", macros["MULTI"].Body)
	}
	if !strings.HasSuffix(txt(src, macros["MULTI"].Full), "{n{1'b1}};") {
		t.Errorf("MULTI full = %q", txt(src, macros["MULTI"].Full))
	}
	if macros["ENABLE_FEATURE"].Params != nil {
		t.Error("object-like macro with params")
	}
	uses := map[string]int{}
	for _, r := range f.MacroUses {
		uses[r.Name]++
		eq(t, "use kind", r.Kind, design.RefMacro)
		if r.Span.File == f.Path {
			eq(t, "use span", txt(src, r.Span), "`"+r.Name)
		}
	}
	for _, n := range []string{"MAX", "ADD", "MULTI", "DATA_W", "STR", "__FILE__", "__LINE__"} {
		if uses[n] == 0 {
			t.Errorf("no macro use of %s", n)
		}
	}
	eq(t, "includes", len(f.Includes), 1)
	eq(t, "include", f.Includes[0].Resolved, "testdata/inc.vh")
	eq(t, "include span", txt(src, f.Includes[0].Span), `"inc.vh"`)
	u := unit(t, f, "preproc")
	inc := param(t, u, "INC_DEPTH")
	eq(t, "include decl file", inc.Span.File, "testdata/inc.vh")
	mw := mustDecl(t, u.Body, "multi_w")
	eq(t, "macro decl span", txt(src, mw.Span), "`MULTI(4)")
	eq(t, "multi_w width", exprString(mw.Type.Packed[0].Left), "(bin - 4 1)")
	bus := mustDecl(t, u.Body, "bus")
	eq(t, "bus width", exprString(bus.Type.Packed[0].Left), "(bin - 16 1)")
	// y = `ADD(bus) + INC_DEPTH, default argument used
	var ys []string
	for _, a := range u.Body.Assigns {
		if a.LHS.Text == "y" {
			ys = append(ys, exprString(a.RHS))
		}
	}
	eq(t, "y assigns", strings.Join(ys, ";"), "(bin + (paren (bin + (paren bus) (paren 1))) INC_DEPTH)")
	var inact []string
	for _, sp := range f.Inactive {
		inact = append(inact, strings.TrimSpace(txt(src, sp)))
	}
	want := []string{"assign y = 16'd0;", "assign y = 16'd1;", "this is not verilog at all", "assign z = 8'd0;", "wire never;"}
	eq(t, "inactive", strings.Join(inact, "|"), strings.Join(want, "|"))
	var it []string
	for _, tk := range f.Tokens {
		if tk.Kind == design.TokInactive {
			it = append(it, src[tk.Start:tk.End])
		}
	}
	eq(t, "inactive tokens", strings.Join(it, "|"), strings.Join(want, "|"))
	// tokens are in order and inside the file
	last := 0
	for _, tk := range f.Tokens {
		if tk.Start < last || tk.End > len(src) || tk.End < tk.Start {
			t.Fatalf("token out of order: %+v", tk)
		}
		last = tk.Start
	}
}

func TestMacroDiagnostics(t *testing.T) {
	src := "module m;\n wire [`W-1:0] a;\n`ifdef NO\n wire [`X:0] b;\n`endif\nendmodule\n"
	f := parseString(src, false)
	if len(f.Diags) != 1 || f.Diags[0].Code != "undefined-macro" || txt(src, f.Diags[0].Span) != "`W" {
		t.Errorf("diags = %s", diagString(f, src))
	}
	// Defines from earlier files
	f = Parse("t.v", []byte(src), Options{Defines: map[string]*design.Macro{"W": {Name: "W", Body: "8"}}})
	if len(f.Diags) != 0 {
		t.Errorf("diags with W defined = %s", diagString(f, src))
	}
	a := mustDecl(t, unit(t, f, "m").Body, "a")
	eq(t, "width", exprString(a.Type.Packed[0].Left), "(bin - 8 1)")
	// function-like macro from Defines with a default
	src2 := "module m; wire [`F(3)] a; endmodule"
	f = Parse("t.v", []byte(src2), Options{Defines: map[string]*design.Macro{"F": {Name: "F", Body: "x:y", Params: []string{"x", "y=0"}}}})
	eq(t, "F diags", len(f.Diags), 0)
	a = mustDecl(t, unit(t, f, "m").Body, "a")
	eq(t, "F expansion", exprString(a.Type.Packed[0].Left)+":"+exprString(a.Type.Packed[0].Right), "3:0")
	// recursion
	src3 := "`define A `A\n`define B `B `B\nmodule m; `A `B endmodule"
	f = parseString(src3, false)
	found := false
	for _, d := range f.Diags {
		if d.Code == "macro-recursion" {
			found = true
		}
	}
	if !found {
		t.Errorf("no recursion diag: %s", diagString(f, src3))
	}
	// include not found / no resolver
	f = parseString("`include \"nope.vh\"\nmodule m; endmodule", false)
	if len(f.Diags) != 1 || f.Diags[0].Code != "include-not-found" || f.Diags[0].Severity != design.Warning {
		t.Errorf("include diags = %+v", f.Diags)
	}
	// include cycle
	self := func(name, from string) (string, []byte, bool) {
		return "self.vh", []byte("`include \"self.vh\"\nwire w;\n"), true
	}
	f = Parse("t.v", []byte("`include \"self.vh\"\n"), Options{Include: self})
	found = false
	for _, d := range f.Diags {
		if d.Code == "include-cycle" && d.Span.File == "self.vh" {
			found = true
		}
	}
	if !found {
		t.Errorf("no include-cycle diag: %+v", f.Diags)
	}
}

func TestPackageModel(t *testing.T) {
	f, src := parseTestdata(t, "pkg.sv")
	u := unit(t, f, "alu_pkg")
	eq(t, "kind", u.Kind, design.UnitPackage)
	eq(t, "DATA_W type", param(t, u, "DATA_W").Type.Keyword, "int")
	eq(t, "OPS local", param(t, u, "OPS").Kind, design.DeclLocalParam)
	op := mustDecl(t, u.Body, "op_t")
	eq(t, "op_t kind", op.Kind, design.DeclTypedef)
	eq(t, "op_t aggregate", op.Type.Aggregate, "enum")
	eq(t, "op_t doc", op.Doc, "ALU operations")
	if op.Type.Base == nil || op.Type.Base.Keyword != "logic" || len(op.Type.Base.Packed) != 1 {
		t.Errorf("op_t base = %+v", op.Type.Base)
	}
	eq(t, "members", len(op.Type.Members), 4)
	add := mustDecl(t, u.Body, "OP_ADD")
	eq(t, "OP_ADD kind", add.Kind, design.DeclEnumMember)
	eq(t, "OP_ADD value", exprString(add.Value), "2'd0")
	eq(t, "OP_ADD doc", add.Doc, "addition")
	if op.Type.Members[0] != add {
		t.Error("enum member not shared with the scope")
	}
	req := mustDecl(t, u.Body, "req_t")
	eq(t, "req_t aggregate", req.Type.Aggregate, "struct")
	var fields []string
	for _, m := range req.Type.Members {
		fields = append(fields, m.Name+":"+m.Type.Text)
	}
	eq(t, "req_t fields", strings.Join(fields, ","), "op:op_t,a:logic [DATA_W-1:0],b:logic [DATA_W-1:0]")
	wu := mustDecl(t, u.Body, "word_u")
	eq(t, "union", wu.Type.Aggregate, "union")
	eq(t, "union bytes packed", len(wu.Type.Members[1].Type.Packed), 2)
	ad := mustDecl(t, u.Body, "add")
	eq(t, "add type", ad.Type.Name, "data_t")
	eq(t, "add args", len(ad.Members), 2)
	eq(t, "add arg type", ad.Members[1].Type.Name, "data_t")
	cls := mustDecl(t, u.Body, "counter_c")
	eq(t, "class kind", cls.Kind, design.DeclClass)
	cs := findScope(u.Body, "counter_c")
	if cs == nil || cs.Kind != design.ScopeClass || cs.Decl != cls {
		t.Fatalf("class scope = %+v", cs)
	}
	for _, n := range []string{"count", "new", "bump"} {
		if lookupDecl(cs, n) == nil {
			t.Errorf("class has no %s", n)
		}
	}
	_ = src
}

func TestALUModel(t *testing.T) {
	f, src := parseTestdata(t, "alu.sv")
	cu := unit(t, f, "$unit")
	eq(t, "$unit kind", cu.Kind, design.UnitCompilation)
	if len(cu.Body.Imports) != 1 || cu.Body.Imports[0].Pkg != "alu_pkg" || cu.Body.Imports[0].Name != "*" {
		t.Errorf("$unit imports = %+v", cu.Body.Imports)
	}
	u := unit(t, f, "alu")
	if len(u.Body.Imports) != 1 || u.Body.Imports[0].Name != "req_t" {
		t.Errorf("header imports = %+v", u.Body.Imports)
	}
	eq(t, "W value", exprString(param(t, u, "W").Value), "(scope alu_pkg DATA_W)")
	req := port(t, u, "req")
	eq(t, "req type name", req.Type.Name, "req_t")
	eq(t, "req kind", req.Kind, design.DeclPort)
	last := port(t, u, "last")
	eq(t, "last type", last.Type.Name, "alu_pkg::data_t")
	nib := mustDecl(t, u.Body, "nib")
	if len(nib.Type.Unpacked) != 1 || exprString(nib.Type.Unpacked[0].Size) != "2" {
		t.Errorf("nib unpacked = %+v", nib.Type.Unpacked)
	}
	var member, scoped bool
	for _, r := range allRefs(u.Body) {
		if r.Name == "req" && len(r.Path) == 1 && r.Path[0] == "op" && txt(src, r.PathSpans[0]) == "op" {
			member = true
		}
		if r.Kind == design.RefScoped && r.Pkg == "alu_pkg" && r.Name == "DATA_W" {
			scoped = true
		}
	}
	if !member || !scoped {
		t.Errorf("member ref %v scoped ref %v", member, scoped)
	}
	got := map[string]string{}
	for _, a := range allAssigns(u.Body) {
		got[txt(src, a.LHS.Span)] = exprString(a.RHS)
	}
	for lhs, want := range map[string]string{
		"wide":     "(bin + (cat 1'b0 (mem a req)) (cat 1'b0 (mem b req)))",
		"zero":     "(?: (paren (bin == result '0)) 1'b1 1'b0)",
		"nib[1]":   "(sel -: result (bin - W 1) 4)",
		"casted":   "(cast 8 (bin >>> (cast signed result) 1))",
		"rev":      "(other {<<} (cat result))",
		"latch_q":  "(call parity (mem a req))",
		"last":     "(call add (mem a req) (mem b req))",
		"w.word":   "(cat result result)",
		"ops_done": "(bin + ops_done 1)",
		"n":        "1",
	} {
		if got[lhs] != want {
			t.Errorf("%s = %s, want %s", lhs, got[lhs], want)
		}
	}
	// the inside expression
	found := false
	for _, r := range allRefs(u.Body) {
		if r.Kind == design.RefCall && r.Name == "count_ones" {
			t.Error("count_ones is never called")
		}
		if r.Name == "OP_SUB" {
			found = true
		}
	}
	if !found {
		t.Error("no ref to OP_SUB")
	}
	fn := findScope(u.Body, "count_ones")
	if fn == nil || lookupDecl(fn, "i") == nil || lookupDecl(fn, "n") == nil {
		t.Error("foreach loop variable or local not declared")
	}
}

func TestInterfaceModel(t *testing.T) {
	f, src := parseTestdata(t, "axi_if.sv")
	ifc := unit(t, f, "axi_if")
	eq(t, "kind", ifc.Kind, design.UnitInterface)
	m := mustDecl(t, ifc.Body, "master")
	eq(t, "modport kind", m.Kind, design.DeclModport)
	var items []string
	for _, it := range m.Members {
		items = append(items, it.Dir.String()+" "+it.Name)
	}
	eq(t, "master items", strings.Join(items, ","), "output valid,output data,input ready,input clk")
	p := unit(t, f, "producer")
	mp := port(t, p, "m")
	eq(t, "m kind", mp.Kind, design.DeclInterfacePort)
	eq(t, "m type", mp.Type.Name, "axi_if.master")
	eq(t, "m type span", txt(src, mp.Type.NameSpan), "axi_if.master")
	rst := port(t, p, "rst_n")
	eq(t, "rst_n kind", rst.Kind, design.DeclPort)
	eq(t, "rst_n dir", rst.Dir, design.DirInput)
	top := unit(t, f, "axi_top")
	bus := findInst(top.Body, "bus")
	eq(t, "bus module", bus.Module, "axi_if")
	up := findInst(top.Body, "u_p")
	if !up.Ports[1].Implicit || up.Ports[1].Name != "rst_n" {
		t.Errorf("u_p ports = %+v", up.Ports)
	}
	if !findInst(top.Body, "u_c").Wildcard {
		t.Error("u_c has no wildcard")
	}
	var path bool
	for _, r := range allRefs(p.Body) {
		if r.Name == "m" && len(r.Path) == 1 && r.Path[0] == "clk" {
			path = true
		}
	}
	if !path {
		t.Error("no m.clk ref")
	}
}

func TestClassesModel(t *testing.T) {
	f, src := parseTestdata(t, "tb_classes.sv")
	if len(f.Diags) != 0 {
		t.Fatal(diagString(f, src))
	}
	pk := unit(t, f, "packet")
	eq(t, "kind", pk.Kind, design.UnitClass)
	eq(t, "doc", pk.Doc, "A transaction.")
	for _, n := range []string{"addr", "data", "kind", "count", "id", "tag", "new", "print", "get_id", "hook", "this_type", "type_name"} {
		if lookupDecl(pk.Body, n) == nil {
			t.Errorf("packet has no %s", n)
		}
	}
	eq(t, "get_id kind", mustDecl(t, pk.Body, "get_id").Kind, design.DeclFunction)
	b := unit(t, f, "burst")
	eq(t, "burst of", b.Of, "packet")
	eq(t, "burst of span", txt(src, b.OfSpan), "packet")
	eq(t, "T param", param(t, b, "T").Type.Keyword, "type")
	eq(t, "N param", param(t, b, "N").Type.Keyword, "int")
	items := mustDecl(t, b.Body, "items")
	eq(t, "queue", exprString(items.Type.Unpacked[0].Size), "(other $)")
	mb := mustDecl(t, b.Body, "mb")
	eq(t, "mailbox type", mb.Type.Name, "mailbox #(T)")
	run := findScope(b.Body, "run")
	if run == nil || run.Kind != design.ScopeTask {
		t.Fatal("no task run")
	}
	d := unit(t, f, "driver")
	vif := mustDecl(t, d.Body, "vif")
	eq(t, "vif type", vif.Type.Name, "axi_if")
	eq(t, "covergroup", mustDecl(t, d.Body, "cg").Type.Keyword, "covergroup")
	prog := unit(t, f, "test")
	eq(t, "program", prog.Kind, design.UnitProgram)
	bd := mustDecl(t, prog.Body, "b")
	eq(t, "b type", bd.Type.Name, "burst #(packet, 2)")
	cu := unit(t, f, "$unit")
	if findScope(cu.Body, "packet::get_id") == nil {
		t.Error("out-of-class method scope missing")
	}
}

func TestExprTrees(t *testing.T) {
	src := `module m;
  assign y0 = a + b * c - d;
  assign y1 = a || b && c | d ^ e & f == g < h << i + j * k ** l;
  assign y2 = s ? x : t ? u : v;
  assign y3 = {a, {4{b}}, c[3:0], d[i +: 4], e[j -: 2]};
  assign y4 = -a + ~b & !c;
  assign y5 = $clog2(N) + fn(a, b) + p::q + s.t.u[2];
  assign y6 = 8'hFF & 'z & 4'b10_1x & "str" & 1.5e3;
  assign y7 = int'(a) + my_t'(b) + (a + b);
  assign y8 = '{a: 1, default: '0};
endmodule`
	f := parseString(src, true)
	if len(f.Diags) != 0 {
		t.Fatal(diagString(f, src))
	}
	u := unit(t, f, "m")
	want := []string{
		"(bin - (bin + a (bin * b c)) d)",
		"(bin || a (bin && b (bin | c (bin ^ d (bin & e (bin == f (bin < g (bin << h (bin + i (bin * j (bin ** k l)))))))))))",
		"(?: s x (?: t u v))",
		"(cat a (rep 4 (cat b)) (sel : c 3 0) (sel +: d i 4) (sel -: e j 2))",
		"(bin & (bin + (un - a) (un ~ b)) (un ! c))",
		"(bin + (bin + (bin + (call $clog2 N) (call fn a b)) (scope p q)) (idx (mem u (mem t s)) 2))",
		"(bin & (bin & (bin & (bin & 8'hFF 'z) 4'b10_1x) \"str\") 1.5e3)",
		"(bin + (bin + (cast int a) (cast my_t b)) (paren (bin + a b)))",
		"(agg (other : a 1) (other : (other default) '0))",
	}
	for i, a := range u.Body.Assigns {
		if i >= len(want) {
			break
		}
		eq(t, txt(src, a.LHS.Span), exprString(a.RHS), want[i])
	}
	eq(t, "assigns", len(u.Body.Assigns), len(want))
	var sawSlice, sawPath, sawType, sawAggKey bool
	for _, a := range u.Body.Assigns {
		if a.LHS.Text == "y3" {
			sl := a.RHS.Args[3]
			eq(t, "slice text", sl.Text, "+:")
			eq(t, "slice span", txt(src, sl.Span), "d[i +: 4]")
			sawSlice = true
		}
	}
	for _, r := range u.Body.Refs {
		if r.Name == "s" && strings.Join(r.Path, ".") == "t.u" {
			sawPath = true
		}
		if r.Name == "my_t" && r.Kind == design.RefType {
			sawType = true
		}
		if r.Name == "a" && txt(src, r.Span) == "a" && strings.Contains(src[r.Span.Start:r.Span.Start+3], "a:") {
			sawAggKey = true
		}
		if r.Name == "fn" && r.Kind != design.RefCall {
			t.Errorf("f ref kind %v", r.Kind)
		}
		if r.Name == "q" && (r.Kind != design.RefScoped || r.Pkg != "p") {
			t.Errorf("p::q ref = %+v", r)
		}
	}
	if !sawSlice || !sawPath || !sawType || sawAggKey {
		t.Errorf("slice %v path %v type %v aggregate key ref %v", sawSlice, sawPath, sawType, sawAggKey)
	}
}

func TestDocComments(t *testing.T) {
	src := `module m;
  // the data bus
  // (two lines)
  wire [7:0] data;
  wire en; // enable
  /* block doc */
  reg r;
  wire a; // trailing of a
  wire b;

  wire c;
endmodule`
	f := parseString(src, false)
	u := unit(t, f, "m")
	for name, want := range map[string]string{
		"data": "the data bus\n(two lines)", "en": "enable", "r": "block doc", "a": "trailing of a", "b": "", "c": "",
	} {
		eq(t, name+" doc", mustDecl(t, u.Body, name).Doc, want)
	}
}
