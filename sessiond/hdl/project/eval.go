package project

import (
	"math/bits"
	"strconv"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Overrides are parameter values set at an instance, by parameter name.
type Overrides map[string]*design.Expr

// Eval is the constant evaluator: parameters resolve through the scopes at
// a place, with an instance's overrides taking precedence.
type Eval struct {
	s     *Snapshot
	w     *Where
	over  Overrides
	outer *Eval // where the override expressions are evaluated
	depth int
	// steps is the work left, shared by every evaluator one question
	// makes: parameters defined in a cycle (A = B + B, B = A + A) would
	// otherwise take exponential time.
	steps *int
}

// evalSteps bounds the work of one evaluation.
const evalSteps = 20000

// NewEval evaluates at w with no overrides.
func (s *Snapshot) NewEval(w *Where) *Eval { return &Eval{s: s, w: w, steps: newSteps()} }

func newSteps() *int {
	n := evalSteps
	return &n
}

// sub is an evaluator at w sharing ev's budget and depth.
func (ev *Eval) sub(w *Where) *Eval {
	return &Eval{s: ev.s, w: w, depth: ev.depth, steps: ev.steps}
}

// ForInstance evaluates inside the unit an instance at w instantiates, with
// the instance's overrides (evaluated at w).
func (s *Snapshot) ForInstance(w *Where, in *design.Instance, target UnitRef) *Eval {
	ov := Overrides{}
	var positional []*design.Expr
	for _, c := range in.Params {
		if c.Name != "" {
			ov[c.Name] = c.Expr
		} else {
			positional = append(positional, c.Expr)
		}
	}
	i := 0
	for _, p := range target.Unit.Params {
		if i >= len(positional) {
			break
		}
		if p.Kind == design.DeclParam {
			ov[p.Name] = positional[i]
			i++
		}
	}
	tw := &Where{Source: target.Source, Unit: target.Unit}
	if target.Unit.Body != nil {
		tw.Chain = []*design.Scope{target.Unit.Body}
	}
	outer := s.NewEval(w)
	return &Eval{s: s, w: tw, over: ov, outer: outer, steps: outer.steps}
}

// Value evaluates e to an integer.
func (ev *Eval) Value(e *design.Expr) (int64, bool) {
	if ev.steps == nil {
		ev.steps = newSteps()
	}
	if ev.depth == 0 {
		*ev.steps = evalSteps // a new question
	}
	if e == nil || ev.depth > 64 || *ev.steps <= 0 {
		return 0, false
	}
	*ev.steps--
	ev.depth++
	defer func() { ev.depth-- }()
	switch e.Op {
	case design.ExprNumber:
		return parseNumber(e.Text)
	case design.ExprParen:
		if len(e.Args) == 1 {
			return ev.Value(e.Args[0])
		}
	case design.ExprIdent:
		return ev.param(e.Text)
	case design.ExprScoped:
		if len(e.Args) == 1 && e.Args[0].Op == design.ExprIdent {
			lang := design.SystemVerilog
			if ev.w.Source != nil {
				lang = ev.w.Source.Lang
			}
			if y := ev.s.PackageMember(e.Text, e.Args[0].Text, lang); y != nil && y.Decl.Value != nil {
				return ev.sub(whereOf(y)).Value(y.Decl.Value)
			}
		}
	case design.ExprUnary:
		if len(e.Args) != 1 {
			return 0, false
		}
		v, ok := ev.Value(e.Args[0])
		if !ok {
			return 0, false
		}
		switch strings.ToLower(e.Text) {
		case "-":
			return -v, true
		case "+":
			return v, true
		case "~":
			return ^v, true
		case "!", "not":
			return b2i(v == 0), true
		case "abs":
			if v < 0 {
				return -v, true
			}
			return v, true
		}
	case design.ExprBinary:
		if len(e.Args) != 2 {
			return 0, false
		}
		a, ok := ev.Value(e.Args[0])
		if !ok {
			return 0, false
		}
		b, ok := ev.Value(e.Args[1])
		if !ok {
			return 0, false
		}
		return binop(strings.ToLower(e.Text), a, b)
	case design.ExprTernary:
		if len(e.Args) != 3 {
			return 0, false
		}
		c, ok := ev.Value(e.Args[0])
		if !ok {
			return 0, false
		}
		if c != 0 {
			return ev.Value(e.Args[1])
		}
		return ev.Value(e.Args[2])
	case design.ExprCall:
		if len(e.Args) < 1 {
			return 0, false
		}
		fn := strings.ToLower(e.Args[0].Text)
		if len(e.Args) == 2 {
			v, ok := ev.Value(e.Args[1])
			if !ok {
				return 0, false
			}
			switch fn {
			case "$clog2":
				if v <= 1 {
					return 0, true
				}
				return int64(bits.Len64(uint64(v - 1))), true
			case "$signed", "$unsigned", "integer", "natural", "positive":
				return v, true
			}
		}
		if len(e.Args) == 3 && (fn == "$max" || fn == "$min") {
			a, ok1 := ev.Value(e.Args[1])
			b, ok2 := int64(0), false
			if ok1 {
				b, ok2 = ev.Value(e.Args[2])
			}
			if ok1 && ok2 {
				if fn == "$max" {
					return max(a, b), true
				}
				return min(a, b), true
			}
		}
	}
	return 0, false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func binop(op string, a, b int64) (int64, bool) {
	switch op {
	case "+":
		return a + b, true
	case "-":
		return a - b, true
	case "*":
		return a * b, true
	case "/":
		if b == 0 {
			return 0, false
		}
		return a / b, true
	case "%", "mod", "rem":
		if b == 0 {
			return 0, false
		}
		return a % b, true
	case "**":
		if b < 0 || b > 62 {
			return 0, false
		}
		r := int64(1)
		for i := int64(0); i < b; i++ {
			r *= a
		}
		return r, true
	case "<<", "<<<", "sll":
		if b < 0 || b > 62 {
			return 0, false
		}
		return a << b, true
	case ">>", ">>>", "srl":
		if b < 0 || b > 62 {
			return 0, false
		}
		return a >> b, true
	case "&", "and":
		return a & b, true
	case "|", "or":
		return a | b, true
	case "^", "xor":
		return a ^ b, true
	case "==", "=", "===":
		return b2i(a == b), true
	case "!=", "/=", "!==":
		return b2i(a != b), true
	case "<":
		return b2i(a < b), true
	case "<=":
		return b2i(a <= b), true
	case ">":
		return b2i(a > b), true
	case ">=":
		return b2i(a >= b), true
	case "&&":
		return b2i(a != 0 && b != 0), true
	case "||":
		return b2i(a != 0 || b != 0), true
	}
	return 0, false
}

// param resolves a parameter, generic or constant by name.
func (ev *Eval) param(name string) (int64, bool) {
	if e, ok := ev.over[name]; ok && e != nil {
		if ev.outer != nil {
			return ev.outer.Value(e)
		}
		return ev.Value(e)
	}
	y := ev.s.Lookup(ev.w, name)
	if y == nil || y.Kind != SymDecl {
		return 0, false
	}
	switch y.Decl.Kind {
	case design.DeclParam, design.DeclLocalParam, design.DeclConstant, design.DeclEnumMember, design.DeclGenvar:
	default:
		return 0, false
	}
	if y.Decl.Value == nil {
		return 0, false
	}
	// Evaluate the default where it was declared, keeping overrides when
	// that is the same unit.
	sub := ev
	if y.Owner != ev.w.Unit {
		sub = ev.sub(whereOf(y))
	}
	return sub.Value(y.Decl.Value)
}

// parseNumber reads Verilog and VHDL integer literals: 42, 8'hFF, 'd10,
// 32'sd5, 1_000, 16#FF#, 2#1010#. Literals with x/z digits are not values.
func parseNumber(t string) (int64, bool) {
	t = strings.ReplaceAll(t, "_", "")
	if t == "" {
		return 0, false
	}
	if i := strings.IndexByte(t, '\''); i >= 0 {
		rest := strings.ToLower(t[i+1:])
		rest = strings.TrimPrefix(rest, "s")
		if rest == "" {
			return 0, false
		}
		base := 10
		switch rest[0] {
		case 'h':
			base = 16
		case 'b':
			base = 2
		case 'o':
			base = 8
		case 'd':
			base = 10
		default:
			return 0, false
		}
		v, err := strconv.ParseInt(strings.TrimSpace(rest[1:]), base, 64)
		return v, err == nil
	}
	if i := strings.IndexByte(t, '#'); i > 0 && strings.HasSuffix(t, "#") {
		base, err := strconv.Atoi(t[:i])
		if err != nil || base < 2 || base > 36 {
			return 0, false
		}
		v, err := strconv.ParseInt(t[i+1:len(t)-1], base, 64)
		return v, err == nil
	}
	v, err := strconv.ParseInt(t, 10, 64)
	return v, err == nil
}

// LiteralWidth is the size of a sized literal (8 for 8'hFF), 0 when it is
// unsized (a plain 42, '0) or not a literal.
func LiteralWidth(t string) int {
	i := strings.IndexByte(t, '\'')
	if i <= 0 {
		if len(t) >= 3 && (t[0] == 'x' || t[0] == 'X') && t[1] == '"' {
			return 4 * (len(strings.ReplaceAll(t, "_", "")) - 3)
		}
		if len(t) >= 3 && (t[0] == 'b' || t[0] == 'B') && t[1] == '"' {
			return len(strings.ReplaceAll(t, "_", "")) - 3
		}
		if len(t) == 3 && t[0] == '\'' && t[2] == '\'' {
			return 1 // VHDL '0'
		}
		return 0
	}
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(t[:i]), "_", ""))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// RangeWidth is the number of elements in r.
func (ev *Eval) RangeWidth(r design.Range) (int64, bool) {
	if r.Size != nil {
		return ev.Value(r.Size)
	}
	l, ok1 := ev.Value(r.Left)
	rr, ok2 := ev.Value(r.Right)
	if !ok1 || !ok2 {
		return 0, false
	}
	if l >= rr {
		return l - rr + 1, true
	}
	return rr - l + 1, true
}

// ResolvedRange is r with its bounds evaluated ("[31:0]"), or "" when they
// are not constant here.
func (ev *Eval) ResolvedRange(r design.Range, vhdl bool) string {
	if r.Size != nil {
		if v, ok := ev.Value(r.Size); ok {
			return "[" + strconv.FormatInt(v, 10) + "]"
		}
		return ""
	}
	l, ok1 := ev.Value(r.Left)
	rr, ok2 := ev.Value(r.Right)
	if !ok1 || !ok2 {
		return ""
	}
	if vhdl {
		dir := " to "
		if r.Downto {
			dir = " downto "
		}
		return "(" + strconv.FormatInt(l, 10) + dir + strconv.FormatInt(rr, 10) + ")"
	}
	return "[" + strconv.FormatInt(l, 10) + ":" + strconv.FormatInt(rr, 10) + "]"
}

var keywordWidth = map[string]int64{
	"wire": 1, "reg": 1, "logic": 1, "bit": 1, "tri": 1, "wand": 1, "wor": 1, "tri0": 1, "tri1": 1,
	"supply0": 1, "supply1": 1, "uwire": 1, "triand": 1, "trior": 1, "trireg": 1,
	"byte": 8, "shortint": 16, "int": 32, "integer": 32, "longint": 64, "time": 64,
	"std_logic": 1, "std_ulogic": 1, "bit_vector": 0, "boolean": 1,
}

// TypeWidth is the packed width of t in bits, resolving typedefs.
func (ev *Eval) TypeWidth(t design.Type) (int64, bool) {
	return ev.typeWidth(t, 0)
}

func (ev *Eval) typeWidth(t design.Type, depth int) (int64, bool) {
	if depth > 16 {
		return 0, false
	}
	var base int64
	switch {
	case t.Aggregate == "struct":
		for _, m := range t.Members {
			w, ok := ev.typeWidth(m.Type, depth+1)
			if !ok {
				return 0, false
			}
			base += w
		}
	case t.Aggregate == "union":
		for _, m := range t.Members {
			w, ok := ev.typeWidth(m.Type, depth+1)
			if !ok {
				return 0, false
			}
			base = max(base, w)
		}
	case t.Aggregate == "enum":
		if t.Base != nil {
			return ev.typeWidth(*t.Base, depth+1)
		}
		base = 32
	case t.Name != "":
		d := ev.typedef(t.Name)
		if d == nil {
			return 0, false
		}
		w, ok := ev.typeWidth(d.Type, depth+1)
		if !ok {
			return 0, false
		}
		base = w
	default:
		kw := strings.ToLower(t.Keyword)
		if kw == "" {
			kw = "logic" // `input [7:0] a` is an implicit logic vector
		}
		w, ok := keywordWidth[kw]
		if !ok || w == 0 && len(t.Packed) == 0 {
			if (kw == "std_logic_vector" || kw == "std_ulogic_vector" || kw == "unsigned" || kw == "signed" || kw == "bit_vector") && len(t.Packed) > 0 {
				w = 1
			} else {
				return 0, false
			}
		}
		if w == 0 {
			w = 1
		}
		base = w
	}
	for _, r := range t.Packed {
		n, ok := ev.RangeWidth(r)
		if !ok {
			return 0, false
		}
		base *= n
	}
	return base, true
}

func (ev *Eval) typedef(name string) *design.Decl {
	if pkg, item, ok := strings.Cut(name, "::"); ok {
		if y := ev.s.PackageMember(pkg, item, design.SystemVerilog); y != nil && y.Decl.Kind == design.DeclTypedef {
			return y.Decl
		}
		return nil
	}
	if y := ev.s.Lookup(ev.w, name); y != nil && y.Kind == SymDecl && y.Decl.Kind == design.DeclTypedef {
		return y.Decl
	}
	return nil
}

// Width is the width in bits of the value declared by d (packed
// dimensions only: an unpacked array's element).
func (ev *Eval) Width(d *design.Decl) (int64, bool) {
	return ev.TypeWidth(d.Type)
}

// ExprWidth is the self-determined width of e where it is constant, and
// whether e is "exact": an expression whose width a mismatch check may
// compare (names, selects, concatenations, sized literals) rather than
// arithmetic whose width grows by context.
func (ev *Eval) ExprWidth(e *design.Expr) (w int64, exact, ok bool) {
	if e == nil {
		return 0, false, false
	}
	switch e.Op {
	case design.ExprParen:
		if len(e.Args) == 1 {
			return ev.ExprWidth(e.Args[0])
		}
	case design.ExprNumber:
		if n := LiteralWidth(e.Text); n > 0 {
			return int64(n), true, true
		}
		return 0, false, false
	case design.ExprIdent:
		y := ev.s.Lookup(ev.w, e.Text)
		if y == nil || y.Kind != SymDecl {
			return 0, false, false
		}
		switch y.Decl.Kind {
		case design.DeclPort, design.DeclNet, design.DeclVar, design.DeclSignal:
		default:
			return 0, false, false
		}
		if len(y.Decl.Type.Unpacked) > 0 {
			return 0, false, false
		}
		sub := ev.at(y)
		n, ok := sub.Width(y.Decl)
		return n, ok, ok
	case design.ExprConcat:
		var sum int64
		for _, a := range e.Args {
			n, ex, ok := ev.ExprWidth(a)
			if !ok || !ex {
				return 0, false, false
			}
			sum += n
		}
		return sum, true, len(e.Args) > 0
	case design.ExprReplicate:
		if len(e.Args) == 2 {
			c, ok := ev.Value(e.Args[0])
			n, ex, ok2 := ev.ExprWidth(e.Args[1])
			if ok && ok2 && ex {
				return c * n, true, true
			}
		}
	case design.ExprSlice:
		if len(e.Args) == 3 {
			switch e.Text {
			case "+:", "-:":
				n, ok := ev.Value(e.Args[2])
				return n, ok, ok
			default:
				l, ok1 := ev.Value(e.Args[1])
				r, ok2 := ev.Value(e.Args[2])
				if ok1 && ok2 {
					if l < r {
						l, r = r, l
					}
					return l - r + 1, true, true
				}
			}
		}
	case design.ExprIndex:
		if len(e.Args) == 2 && e.Args[0].Op == design.ExprIdent {
			y := ev.s.Lookup(ev.w, e.Args[0].Text)
			if y != nil && y.Kind == SymDecl && len(y.Decl.Type.Unpacked) == 0 && len(y.Decl.Type.Packed) <= 1 && y.Decl.Type.Name == "" {
				return 1, true, true
			}
		}
	}
	return 0, false, false
}

// at is an evaluator for the unit that declares y.
func (ev *Eval) at(y *Symbol) *Eval {
	if y.Owner == ev.w.Unit || y.Owner == nil {
		return ev
	}
	return ev.sub(whereOf(y))
}

// whereOf is the body of the unit that declares y.
func whereOf(y *Symbol) *Where {
	w := &Where{Source: y.OwnerSource, Unit: y.Owner}
	if y.Owner != nil && y.Owner.Body != nil {
		w.Chain = []*design.Scope{y.Owner.Body}
	}
	return w
}
