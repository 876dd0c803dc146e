package project

import (
	"sort"
	"strconv"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Node is one place in the design hierarchy: a top unit, or an instance
// with the parameter values it resolves to.
type Node struct {
	// Name is the instance name, or the unit's for a top.
	Name string
	// Module is the instantiated unit's name.
	Module string
	// Span is where the instance (or the top unit's name) is written.
	Span design.Span
	// Params are the instance's parameter values where constant, in
	// declaration order.
	Params []Param
	// Missing marks an instance of a unit the workspace does not have.
	Missing  bool
	Children []*Node
}

// Param is a parameter's name and resolved value ("8", or the expression
// text when it is not constant).
type Param struct{ Name, Value string }

// maxHierarchyDepth bounds the tree (a recursive generate instantiating
// itself would otherwise never end).
const maxHierarchyDepth = 64

// Tops are the units nothing instantiates: modules and entities (not
// packages, interfaces or classes), or the configured top alone.
func (s *Snapshot) Tops() []UnitRef {
	if t := s.Config().Top; t != "" {
		if m := s.Module(t, design.Verilog); m != nil {
			return []UnitRef{*m}
		}
		if m := s.Module(t, design.VHDL); m != nil {
			return []UnitRef{*m}
		}
	}
	used := map[string]bool{}
	for _, src := range s.Sources() {
		if src.File == nil {
			continue
		}
		for _, u := range src.File.Units {
			Scopes(u, func(sc *design.Scope, _ []*design.Scope) {
				for _, in := range sc.Instances {
					used[unitKey(in.Module)] = true
				}
			})
			if u.Kind == design.UnitArchitecture {
				// An entity with an architecture is the same unit.
				continue
			}
		}
	}
	var out []UnitRef
	for _, u := range s.AllUnits() {
		if u.Source.Header {
			continue
		}
		switch u.Unit.Kind {
		case design.UnitModule, design.UnitEntity:
			if !used[unitKey(u.Unit.Name)] {
				out = append(out, u)
			}
		}
	}
	return out
}

// Hierarchy is the instance tree under every top.
func (s *Snapshot) Hierarchy() []*Node {
	var out []*Node
	for _, t := range s.Tops() {
		w := &Where{Source: t.Source, Unit: t.Unit}
		n := &Node{Name: t.Unit.Name, Module: t.Unit.Name, Span: t.Unit.NameSpan}
		n.Params = s.ParamValues(s.NewEval(w), t.Unit)
		n.Children = s.children(t, s.NewEval(w), map[string]bool{unitKey(t.Unit.Name): true}, 1)
		out = append(out, n)
	}
	return out
}

// ParamValues are u's parameters as ev resolves them (the value, or the
// expression text when it is not constant).
func (s *Snapshot) ParamValues(ev *Eval, u *design.Unit) []Param {
	var ps []Param
	for _, p := range u.Params {
		if p.Kind != design.DeclParam {
			continue
		}
		v := ""
		e := ev.over[p.Name]
		if e == nil {
			e = p.Value
		}
		if e != nil && e.Op == design.ExprNumber && strings.ContainsAny(e.Text, "'#") {
			v = e.Text // 32'hDEAD_BEEF reads better as written
		} else if n, ok := ev.param(p.Name); ok {
			v = strconv.FormatInt(n, 10)
		} else if e := ev.over[p.Name]; e != nil {
			v = s.exprSource(e)
		} else if p.Value != nil {
			v = s.exprSource(p.Value)
		}
		ps = append(ps, Param{Name: p.Name, Value: v})
	}
	return ps
}

// exprSource is the text of e as written.
func (s *Snapshot) exprSource(e *design.Expr) string {
	if t := s.SpanText(e.Span); t != "" {
		return t
	}
	return e.Text
}

// unitBodies are the scopes that make up a unit's implementation: a
// module's body, or every architecture of an entity.
func (s *Snapshot) unitBodies(u UnitRef) []UnitRef {
	if u.Unit.Kind != design.UnitEntity {
		return []UnitRef{u}
	}
	var out []UnitRef
	for _, a := range s.AllUnits() {
		if a.Unit.Kind == design.UnitArchitecture && strings.EqualFold(a.Unit.Of, u.Unit.Name) {
			out = append(out, a)
		}
	}
	return out
}

func (s *Snapshot) children(u UnitRef, ev *Eval, path map[string]bool, depth int) []*Node {
	if depth > maxHierarchyDepth {
		return nil
	}
	var out []*Node
	for _, body := range s.unitBodies(u) {
		Scopes(body.Unit, func(sc *design.Scope, chain []*design.Scope) {
			w := &Where{Source: body.Source, Unit: body.Unit, Chain: chain}
			outer := &Eval{s: s, w: w, over: ev.over, outer: ev.outer}
			for _, in := range sc.Instances {
				n := &Node{Name: in.Name, Module: in.Module, Span: in.NameSpan}
				if !n.Span.Valid() {
					n.Span = in.ModuleSpan
				}
				tgt := s.Module(in.Module, body.Source.Lang)
				if tgt == nil {
					n.Missing = !isPrimitive(in.Module)
					out = append(out, n)
					continue
				}
				inner := s.ForInstance(w, in, *tgt)
				inner.outer = outer
				n.Params = s.ParamValues(inner, tgt.Unit)
				k := unitKey(tgt.Unit.Name)
				if !path[k] {
					path[k] = true
					n.Children = s.children(*tgt, inner, path, depth+1)
					delete(path, k)
				}
				out = append(out, n)
			}
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Span.File != out[j].Span.File {
			return false
		}
		return out[i].Span.Start < out[j].Span.Start
	})
	return out
}

// SpanText is the source text of sp, whitespace collapsed.
func (s *Snapshot) SpanText(sp design.Span) string {
	b := s.Text(sp.File)
	if sp.Start < 0 || sp.End > len(b) || sp.Start > sp.End {
		return ""
	}
	return strings.Join(strings.Fields(string(b[sp.Start:sp.End])), " ")
}
