package project

import (
	"fmt"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Diagnostics are the problems in rel: its own parse's syntax and
// preprocessor errors (a header's come from the files including it), and
// the project-level ones (unknown module, unknown or missing named port,
// undeclared identifier, width mismatch where widths are constant).
func (s *Snapshot) Diagnostics(rel string) []design.Diag {
	src := s.Source(rel)
	if src == nil || src.File == nil {
		return nil
	}
	var out []design.Diag
	add := func(d design.Diag) {
		if d.Span.File == "" {
			d.Span.File = rel
		}
		if d.Span.File == rel {
			out = append(out, d)
		}
	}
	if !src.Header {
		for _, d := range src.File.Diags {
			add(d)
		}
	} else {
		for _, inc := range s.Includers(rel) {
			if f := s.Source(inc); f != nil && f.File != nil {
				for _, d := range f.File.Diags {
					add(d)
				}
			}
		}
	}
	if !src.Header {
		for _, u := range src.File.Units {
			s.checkUnit(src, u, add)
		}
	}
	return dedupDiags(out)
}

func dedupDiags(in []design.Diag) []design.Diag {
	sort.SliceStable(in, func(i, j int) bool { return in[i].Span.Start < in[j].Span.Start })
	out := in[:0]
	seen := map[string]bool{}
	for _, d := range in {
		k := fmt.Sprintf("%d:%d:%s", d.Span.Start, d.Span.End, d.Message)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// lenient reports whether undeclared names in u are not worth reporting:
// testbench classes (inheritance, UVM) and units importing packages the
// project does not have.
func (s *Snapshot) lenient(src *Source, u *design.Unit) bool {
	if u.Kind == design.UnitClass || u.Kind == design.UnitProgram {
		return true
	}
	check := func(imps []design.Import) bool {
		for _, im := range imps {
			if len(s.Units(im.Pkg, src.Lang)) == 0 && !knownLibPackage(im.Pkg) {
				return true
			}
		}
		return false
	}
	if u.Body != nil && check(u.Body.Imports) {
		return true
	}
	for _, x := range src.File.Units {
		if x.Kind == design.UnitCompilation && x.Body != nil && check(x.Body.Imports) {
			return true
		}
	}
	if src.Lang == design.VHDL {
		for _, l := range src.File.Libraries {
			lib := strings.ToLower(strings.SplitN(l.Text, ".", 2)[0])
			if lib != "ieee" && lib != "std" && lib != "work" && lib != "" {
				return true
			}
		}
	}
	return false
}

func knownLibPackage(p string) bool {
	switch strings.ToLower(p) {
	case "std_logic_1164", "numeric_std", "numeric_bit", "math_real", "std_logic_unsigned", "std_logic_signed", "std_logic_arith", "textio", "std_logic_textio", "env", "standard", "fixed_pkg", "float_pkg":
		return true
	}
	return false
}

func (s *Snapshot) checkUnit(src *Source, u *design.Unit, add func(design.Diag)) {
	lenient := s.lenient(src, u)
	rel := src.Path
	Scopes(u, func(sc *design.Scope, chain []*design.Scope) {
		w := &Where{Source: src, Unit: u, Chain: chain}
		inClass := false
		for _, c := range chain {
			if c.Kind == design.ScopeClass {
				inClass = true
			}
		}
		ev := s.NewEval(w)
		for _, in := range sc.Instances {
			s.checkInstance(w, ev, in, add)
		}
		if !lenient && !inClass {
			for i := range sc.Refs {
				if sc.Refs[i].Span.File != rel {
					continue
				}
				s.checkRef(w, &sc.Refs[i], add)
			}
		}
		for _, a := range sc.Assigns {
			if a.Full.File != rel || a.LHS == nil || a.RHS == nil {
				continue
			}
			lw, lex, ok1 := ev.ExprWidth(a.LHS)
			rw, rex, ok2 := ev.ExprWidth(a.RHS)
			if ok1 && ok2 && lex && rex && lw != rw {
				add(design.Diag{Span: a.RHS.Span, Severity: design.Warning, Code: "width-mismatch",
					Message: fmt.Sprintf("width mismatch: %s is %d bits, %s is %d bits", exprText(a.LHS), lw, exprText(a.RHS), rw)})
			}
		}
	})
}

// exprText is a short rendering of e for messages.
func exprText(e *design.Expr) string {
	switch e.Op {
	case design.ExprIdent:
		return "'" + e.Text + "'"
	case design.ExprNumber:
		return e.Text
	}
	return "the expression"
}

func (s *Snapshot) checkRef(w *Where, r *design.Ref, add func(design.Diag)) {
	switch r.Kind {
	case design.RefValue, design.RefCall, design.RefType, design.RefHier:
	case design.RefScoped:
		if len(s.Units(r.Pkg, w.Source.Lang)) == 0 {
			if !knownLibPackage(r.Pkg) {
				add(design.Diag{Span: r.Span, Severity: design.Error, Code: "unknown-package", Message: fmt.Sprintf("unknown package '%s'", r.Pkg)})
			}
			return
		}
		if s.PackageMember(r.Pkg, r.Name, w.Source.Lang) == nil {
			add(design.Diag{Span: r.Span, Severity: design.Error, Code: "undeclared", Message: fmt.Sprintf("package '%s' has no '%s'", r.Pkg, r.Name)})
		}
		return
	default:
		return
	}
	if r.Name == "" || r.Name[0] == '$' || r.Name[0] == '`' || r.Name[0] == '\\' {
		return
	}
	if w.Source.Lang == design.VHDL {
		if vhdlPredefined(r.Name) {
			return
		}
	} else if svPredefined(r.Name) {
		return
	}
	if s.LookupRef(w, r) != nil {
		return
	}
	add(design.Diag{Span: r.Span, Severity: design.Error, Code: "undeclared", Message: fmt.Sprintf("'%s' is not declared", r.Name)})
}

func (s *Snapshot) checkInstance(w *Where, ev *Eval, in *design.Instance, add func(design.Diag)) {
	rel := w.Source.Path
	if in.ModuleSpan.File != rel {
		return
	}
	tgt := s.Module(in.Module, w.Source.Lang)
	if tgt == nil {
		if isPrimitive(in.Module) {
			return
		}
		add(design.Diag{Span: in.ModuleSpan, Severity: design.Error, Code: "unknown-module",
			Message: fmt.Sprintf("unknown module '%s': no module, interface or entity of that name is in the workspace", in.Module)})
		return
	}
	vh := w.Source.Lang == design.VHDL || tgt.Source.Lang == design.VHDL
	for _, c := range in.Params {
		if c.Name != "" && findDecl(tgt.Unit.Params, c.Name, vh) == nil {
			add(design.Diag{Span: c.NameSpan, Severity: design.Error, Code: "unknown-parameter",
				Message: fmt.Sprintf("'%s' has no parameter '%s'", tgt.Unit.Name, c.Name)})
		}
	}
	inner := s.ForInstance(w, in, *tgt)
	named, positional := 0, 0
	connected := map[string]bool{}
	for _, c := range in.Ports {
		if c.Name == "" {
			positional++
			continue
		}
		named++
		connected[strings.ToLower(c.Name)] = true
		p := findDecl(tgt.Unit.Ports, c.Name, vh)
		if p == nil {
			add(design.Diag{Span: c.NameSpan, Severity: design.Error, Code: "unknown-port",
				Message: fmt.Sprintf("'%s' has no port '%s'", tgt.Unit.Name, c.Name)})
			continue
		}
		if c.Expr == nil || c.Expr.Span.File != rel {
			continue
		}
		pw, ok1 := inner.Width(p)
		cw, exact, ok2 := ev.ExprWidth(c.Expr)
		if ok1 && ok2 && exact && pw != cw {
			add(design.Diag{Span: c.Expr.Span, Severity: design.Warning, Code: "width-mismatch",
				Message: fmt.Sprintf("width mismatch: port '%s' of '%s' is %d bits, the connection is %d bits", p.Name, tgt.Unit.Name, pw, cw)})
		}
	}
	if positional > 0 && positional > len(tgt.Unit.Ports) {
		add(design.Diag{Span: in.PortList, Severity: design.Error, Code: "too-many-ports",
			Message: fmt.Sprintf("'%s' has %d ports; %d are connected", tgt.Unit.Name, len(tgt.Unit.Ports), positional)})
	}
	if named > 0 && !in.Wildcard && positional == 0 {
		var missing []string
		for _, p := range tgt.Unit.Ports {
			if !connected[strings.ToLower(p.Name)] {
				missing = append(missing, p.Name)
			}
		}
		if len(missing) > 0 {
			add(design.Diag{Span: in.NameSpan, Severity: design.Warning, Code: "missing-port",
				Message: fmt.Sprintf("instance '%s' of '%s' leaves %s unconnected", in.Name, tgt.Unit.Name, quoteList(missing))})
		}
	}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	if len(q) == 1 {
		return "port " + q[0]
	}
	return "ports " + strings.Join(q, ", ")
}

func isPrimitive(name string) bool {
	switch name {
	case "and", "or", "nand", "nor", "xor", "xnor", "buf", "not", "bufif0", "bufif1", "notif0", "notif1",
		"pullup", "pulldown", "nmos", "pmos", "cmos", "tran", "rtran", "tranif0", "tranif1":
		return true
	}
	// Vendor primitives are black boxes the simulator libraries provide.
	return strings.HasPrefix(name, "SB_") || strings.HasPrefix(name, "ICESTORM_")
}

func svPredefined(name string) bool {
	switch name {
	case "this", "super", "null", "std", "process", "semaphore", "mailbox", "randomize", "new", "void", "type", "local", "signed", "unsigned":
		return true
	}
	return false
}
