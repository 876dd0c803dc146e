package project

import (
	"slices"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Where is the innermost context of an offset in a file.
type Where struct {
	Source *Source
	Off    int
	// Unit is the unit whose Full holds Off, or nil (between units).
	Unit *design.Unit
	// Chain is the scopes holding Off, outermost (the unit body) first.
	Chain []*design.Scope
	// Instance is the innermost instance whose Full holds Off, and Conn the
	// connection of it (parameter or port) that holds Off.
	Instance *design.Instance
	Conn     *design.Conn
	InParams bool // Conn/Off is in the parameter list rather than the port list
}

// Scope is the innermost scope, or nil.
func (w *Where) Scope() *design.Scope {
	if len(w.Chain) == 0 {
		return nil
	}
	return w.Chain[len(w.Chain)-1]
}

// At finds what holds byte offset off in rel.
func (s *Snapshot) At(rel string, off int) *Where {
	src := s.Source(rel)
	w := &Where{Source: src, Off: off}
	if src == nil || src.File == nil {
		return w
	}
	for _, u := range src.File.Units {
		if u.Full.Contains(rel, off) && u.Kind != design.UnitCompilation {
			w.Unit = u
			break
		}
	}
	if w.Unit == nil {
		for _, u := range src.File.Units {
			if u.Kind == design.UnitCompilation {
				w.Unit = u
			}
		}
	}
	if w.Unit == nil || w.Unit.Body == nil {
		return w
	}
	sc := w.Unit.Body
	w.Chain = append(w.Chain, sc)
	for {
		var next *design.Scope
		for _, c := range sc.Scopes {
			if c.Full.Contains(rel, off) {
				next = c
				break
			}
		}
		for _, in := range sc.Instances {
			if in.Full.Contains(rel, off) {
				w.Instance = in
				w.Conn, w.InParams = nil, false
				for i := range in.Ports {
					if in.Ports[i].Full.Contains(rel, off) {
						w.Conn = &in.Ports[i]
					}
				}
				for i := range in.Params {
					if in.Params[i].Full.Contains(rel, off) {
						w.Conn, w.InParams = &in.Params[i], true
					}
				}
				if w.Conn == nil && in.ParamList.Contains(rel, off) && !in.PortList.Contains(rel, off) {
					w.InParams = true
				}
			}
		}
		if next == nil {
			return w
		}
		w.Chain = append(w.Chain, next)
		sc = next
	}
}

// SymKind says what a Symbol is.
type SymKind uint8

const (
	SymDecl SymKind = iota + 1
	SymUnit
	SymMacro
	SymInstance
	SymScope // a named generate block or labelled scope
)

// Symbol is what a name resolves to.
type Symbol struct {
	Kind  SymKind
	Name  string
	Decl  *design.Decl
	Unit  *design.Unit
	Macro *design.Macro
	Inst  *design.Instance
	Scope *design.Scope
	// Owner is the unit the declaration belongs to and OwnerSource its file.
	Owner       *design.Unit
	OwnerSource *Source
}

// Span is where the symbol is declared (its name).
func (y *Symbol) Span() design.Span {
	switch y.Kind {
	case SymDecl:
		return y.Decl.Span
	case SymUnit:
		return y.Unit.NameSpan
	case SymMacro:
		return y.Macro.Span
	case SymInstance:
		return y.Inst.NameSpan
	case SymScope:
		return y.Scope.NameSpan
	}
	return design.Span{}
}

// Same reports whether a and b are the same declaration.
func Same(a, b *Symbol) bool {
	if a == nil || b == nil {
		return false
	}
	return a.Span() == b.Span() && a.Kind == b.Kind
}

func eqName(a, b string, vhdl bool) bool {
	if vhdl {
		return strings.EqualFold(a, b)
	}
	return a == b
}

func findDecl(list []*design.Decl, name string, vhdl bool) *design.Decl {
	for _, d := range list {
		if eqName(d.Name, name, vhdl) {
			return d
		}
	}
	return nil
}

// isVHDL reports whether names in w compare case-blind.
func (w *Where) isVHDL() bool { return w.Source != nil && w.Source.Lang == design.VHDL }

// Lookup resolves name as written at w: the scopes from the innermost out,
// the unit's parameters and ports, a VHDL architecture's entity, imported
// packages, the file's compilation-unit scope, then units (modules,
// packages, entities) by name.
func (s *Snapshot) Lookup(w *Where, name string) *Symbol {
	vh := w.isVHDL()
	mk := func(d *design.Decl, owner *design.Unit, src *Source) *Symbol {
		return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: owner, OwnerSource: src}
	}
	// Nested scopes first; the unit body (Chain[0]) after the unit's own
	// ports and parameters, so a non-ANSI port's body declaration and its
	// header entry are one symbol.
	for i := len(w.Chain) - 1; i >= 1; i-- {
		sc := w.Chain[i]
		if d := findDecl(sc.Decls, name, vh); d != nil {
			return mk(d, w.Unit, w.Source)
		}
		if sc.Decl != nil {
			if d := findDecl(sc.Decl.Members, name, vh); d != nil {
				return mk(d, w.Unit, w.Source)
			}
		}
		for _, in := range sc.Instances {
			if eqName(in.Name, name, vh) {
				return &Symbol{Kind: SymInstance, Name: in.Name, Inst: in, Owner: w.Unit, OwnerSource: w.Source}
			}
		}
		for _, c := range sc.Scopes {
			if c.Name != "" && c.Decl == nil && eqName(c.Name, name, vh) {
				return &Symbol{Kind: SymScope, Name: c.Name, Scope: c, Owner: w.Unit, OwnerSource: w.Source}
			}
		}
		if y := s.lookupImports(sc.Imports, name, w.Source.Lang); y != nil {
			return y
		}
	}
	if u := w.Unit; u != nil {
		if y := s.lookupUnitMember(u, w.Source, name, vh); y != nil {
			return y
		}
		if u.Kind == design.UnitArchitecture || u.Kind == design.UnitPackageBody {
			for _, e := range s.Units(u.Of, design.VHDL) {
				if e.Unit.Kind != design.UnitEntity && e.Unit.Kind != design.UnitPackage {
					continue
				}
				if y := s.lookupUnitMember(e.Unit, e.Source, name, true); y != nil {
					return y
				}
				if e.Unit.Body != nil {
					if y := s.lookupImports(e.Unit.Body.Imports, name, design.VHDL); y != nil {
						return y
					}
				}
			}
		}
	}
	// $unit: declarations and imports outside any unit, in this file and
	// the files it includes.
	if w.Source != nil && w.Source.File != nil {
		for _, u := range w.Source.File.Units {
			if u.Kind == design.UnitCompilation && u.Body != nil {
				if d := findDecl(u.Body.Decls, name, vh); d != nil {
					return mk(d, u, w.Source)
				}
				if y := s.lookupImports(u.Body.Imports, name, w.Source.Lang); y != nil {
					return y
				}
			}
		}
	}
	if m := s.Macro(name); m != nil && strings.HasPrefix(name, "`") {
		return &Symbol{Kind: SymMacro, Name: name, Macro: m}
	}
	lang := design.Verilog
	if w.Source != nil {
		lang = w.Source.Lang
	}
	if us := s.Units(name, lang); len(us) > 0 {
		return &Symbol{Kind: SymUnit, Name: us[0].Unit.Name, Unit: us[0].Unit, Owner: us[0].Unit, OwnerSource: us[0].Source}
	}
	return nil
}

func (s *Snapshot) lookupUnitMember(u *design.Unit, src *Source, name string, vh bool) *Symbol {
	mk := func(d *design.Decl) *Symbol {
		return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: u, OwnerSource: src}
	}
	if d := findDecl(u.Ports, name, vh); d != nil {
		// A non-ANSI port's body declaration carries its type; the port
		// is the place to go to.
		return mk(d)
	}
	if d := findDecl(u.Params, name, vh); d != nil {
		return mk(d)
	}
	if u.Body != nil {
		if d := findDecl(u.Body.Decls, name, vh); d != nil {
			return mk(d)
		}
		for _, in := range u.Body.Instances {
			if eqName(in.Name, name, vh) {
				return &Symbol{Kind: SymInstance, Name: in.Name, Inst: in, Owner: u, OwnerSource: src}
			}
		}
		for _, c := range u.Body.Scopes {
			if c.Name != "" && c.Decl == nil && eqName(c.Name, name, vh) {
				return &Symbol{Kind: SymScope, Name: c.Name, Scope: c, Owner: u, OwnerSource: src}
			}
		}
		if y := s.lookupImports(u.Body.Imports, name, src.Lang); y != nil {
			return y
		}
	}
	return nil
}

func (s *Snapshot) lookupImports(imps []design.Import, name string, lang design.Lang) *Symbol {
	vh := lang == design.VHDL
	for _, im := range imps {
		if im.Name != "*" && !strings.EqualFold(im.Name, "all") && !eqName(im.Name, name, vh) {
			continue
		}
		if y := s.PackageMember(im.Pkg, name, lang); y != nil {
			return y
		}
	}
	return nil
}

// PackageMember resolves pkg::name (or VHDL pkg.name).
func (s *Snapshot) PackageMember(pkg, name string, lang design.Lang) *Symbol {
	vh := lang == design.VHDL
	for _, p := range s.Units(pkg, lang) {
		if p.Unit.Kind != design.UnitPackage {
			continue
		}
		if d := findDecl(p.Unit.Params, name, vh || p.Source.Lang == design.VHDL); d != nil {
			return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: p.Unit, OwnerSource: p.Source}
		}
		if p.Unit.Body != nil {
			if d := findDecl(p.Unit.Body.Decls, name, vh || p.Source.Lang == design.VHDL); d != nil {
				return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: p.Unit, OwnerSource: p.Source}
			}
		}
	}
	return nil
}

// Module finds the unit an instance instantiates: a module, interface,
// program or entity (for a VHDL component, the entity of that name).
func (s *Snapshot) Module(name string, from design.Lang) *UnitRef {
	for _, u := range s.Units(name, from) {
		switch u.Unit.Kind {
		case design.UnitModule, design.UnitInterface, design.UnitProgram, design.UnitEntity, design.UnitPrimitive, design.UnitChecker:
			return &u
		}
	}
	return nil
}

// Scopes calls fn for every scope of u, parents before children.
func Scopes(u *design.Unit, fn func(sc *design.Scope, chain []*design.Scope)) {
	if u.Body == nil {
		return
	}
	var walk func(sc *design.Scope, chain []*design.Scope)
	walk = func(sc *design.Scope, chain []*design.Scope) {
		// Clip: siblings must not share (and overwrite) one backing
		// array, since callers keep the chains they are given.
		chain = append(slices.Clip(chain), sc)
		fn(sc, chain)
		for _, c := range sc.Scopes {
			walk(c, chain)
		}
	}
	walk(u.Body, nil)
}

// LookupRef resolves a name use: first among the members of a declaration
// that holds it (a VHDL component's generics used in its own port list,
// a function's arguments in its header), then as Lookup does.
func (s *Snapshot) LookupRef(w *Where, r *design.Ref) *Symbol {
	vh := w.isVHDL()
	for i := len(w.Chain) - 1; i >= 0; i-- {
		for _, d := range w.Chain[i].Decls {
			if len(d.Members) == 0 || !d.Full.Contains(r.Span.File, r.Span.Start) {
				continue
			}
			if m := findDecl(d.Members, r.Name, vh); m != nil {
				return &Symbol{Kind: SymDecl, Name: m.Name, Decl: m, Owner: w.Unit, OwnerSource: w.Source}
			}
		}
	}
	return s.Lookup(w, r.Name)
}
