package project

import (
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// OccKind says what sort of name an Occurrence is.
type OccKind uint8

const (
	OccDecl     OccKind = iota + 1 // a declaration's own name
	OccUnit                        // a unit's name at its declaration
	OccUnitOf                      // "architecture A of E": E
	OccModule                      // the unit named by an instance
	OccPort                        // .port( / port =>
	OccParam                       // .PARAM( / PARAM =>
	OccRef                         // a name in an expression or type
	OccMember                      // b or c in a.b.c
	OccMacroUse                    // `NAME
	OccMacroDef                    // `define NAME
	OccEndLabel                    // endmodule : name
)

// Occurrence is one place a name is written.
type Occurrence struct {
	Kind OccKind
	Name string
	Span design.Span
	// Context for resolving it.
	Where *Where
	Decl  *design.Decl
	Unit  *design.Unit
	Inst  *design.Instance
	Ref   *design.Ref
	// Index is the position in Ref.Path of an OccMember.
	Index int
	Macro *design.Macro
}

// Occurrences calls fn for every name written in src (its own text, not
// its includes'), until fn returns false.
func (s *Snapshot) Occurrences(src *Source, fn func(o *Occurrence) bool) {
	if src == nil || src.File == nil {
		return
	}
	rel := src.Path
	stop := false
	vh := src.Lang == design.VHDL
	emit := func(o *Occurrence) {
		if stop || o.Span.File != rel || o.Name == "" || o.Span.Start < 0 || o.Span.End > len(src.Src) || o.Span.Start > o.Span.End {
			return
		}
		text := string(src.Src[o.Span.Start:o.Span.End])
		if eqName(text, o.Name, vh) || strings.TrimPrefix(text, "\\") == o.Name {
			if !fn(o) {
				stop = true
			}
			return
		}
		// A name that came through a macro argument carries the span of
		// the whole macro use: narrow it to the name where it is written
		// (every whole-word place in the use; References drops the copies).
		for _, at := range wordsIn(text, o.Name, vh) {
			c := *o
			c.Span.Start, c.Span.End = o.Span.Start+at, o.Span.Start+at+len(o.Name)
			if !fn(&c) {
				stop = true
				return
			}
		}
	}
	for _, m := range src.File.Macros {
		emit(&Occurrence{Kind: OccMacroDef, Name: m.Name, Span: m.Span, Macro: m})
	}
	for i := range src.File.MacroUses {
		r := &src.File.MacroUses[i]
		name := strings.TrimPrefix(r.Name, "`")
		// The use's span starts at the backtick; the name (what a rename
		// replaces) is after it.
		sp := r.Span
		if sp.End-sp.Start == len(name)+1 {
			sp.Start++
		}
		emit(&Occurrence{Kind: OccMacroUse, Name: name, Span: sp, Ref: r})
	}
	for _, u := range src.File.Units {
		if stop {
			return
		}
		uw := &Where{Source: src, Unit: u}
		if u.Body != nil {
			uw.Chain = []*design.Scope{u.Body}
		}
		if u.Kind != design.UnitCompilation {
			emit(&Occurrence{Kind: OccUnit, Name: u.Name, Span: u.NameSpan, Where: uw, Unit: u})
		}
		if u.Of != "" && u.Kind != design.UnitClass {
			emit(&Occurrence{Kind: OccUnitOf, Name: u.Of, Span: u.OfSpan, Where: uw, Unit: u})
		}
		for _, d := range u.Params {
			emit(&Occurrence{Kind: OccDecl, Name: d.Name, Span: d.Span, Where: uw, Decl: d})
		}
		for _, d := range u.Ports {
			emit(&Occurrence{Kind: OccDecl, Name: d.Name, Span: d.Span, Where: uw, Decl: d})
		}
		Scopes(u, func(sc *design.Scope, chain []*design.Scope) {
			w := &Where{Source: src, Unit: u, Chain: chain}
			decls := func(list []*design.Decl) {
				for _, d := range list {
					emit(&Occurrence{Kind: OccDecl, Name: d.Name, Span: d.Span, Where: w, Decl: d})
					if d.Kind == design.DeclTypedef || d.Kind == design.DeclModport || d.Kind == design.DeclComponent {
						for _, m := range d.Members {
							if m.Kind != design.DeclEnumMember { // those are in the scope too
								emit(&Occurrence{Kind: OccDecl, Name: m.Name, Span: m.Span, Where: w, Decl: m})
							}
						}
					}
				}
			}
			decls(sc.Decls)
			for _, in := range sc.Instances {
				emit(&Occurrence{Kind: OccModule, Name: in.Module, Span: in.ModuleSpan, Where: w, Inst: in})
				emit(&Occurrence{Kind: OccDecl, Name: in.Name, Span: in.NameSpan, Where: w, Inst: in})
				for i := range in.Ports {
					c := &in.Ports[i]
					if c.Name != "" {
						emit(&Occurrence{Kind: OccPort, Name: c.Name, Span: c.NameSpan, Where: w, Inst: in})
					}
				}
				for i := range in.Params {
					c := &in.Params[i]
					if c.Name != "" {
						emit(&Occurrence{Kind: OccParam, Name: c.Name, Span: c.NameSpan, Where: w, Inst: in})
					}
				}
			}
			for i := range sc.Refs {
				r := &sc.Refs[i]
				emit(&Occurrence{Kind: OccRef, Name: r.Name, Span: r.Span, Where: w, Ref: r})
				for j, p := range r.Path {
					if j < len(r.PathSpans) {
						emit(&Occurrence{Kind: OccMember, Name: p, Span: r.PathSpans[j], Where: w, Ref: r, Index: j})
					}
				}
			}
		})
	}
}

// Resolve is what an occurrence names, or nil.
func (s *Snapshot) Resolve(o *Occurrence) *Symbol {
	switch o.Kind {
	case OccMacroDef:
		return &Symbol{Kind: SymMacro, Name: o.Name, Macro: s.macroFor(o.Name, o.Macro)}
	case OccMacroUse:
		if m := s.Macro(o.Name); m != nil {
			return &Symbol{Kind: SymMacro, Name: o.Name, Macro: m}
		}
		return nil
	case OccUnit:
		if o.Unit.Kind == design.UnitArchitecture || o.Unit.Kind == design.UnitPackageBody {
			return &Symbol{Kind: SymUnit, Name: o.Name, Unit: o.Unit, Owner: o.Unit, OwnerSource: o.Where.Source}
		}
		us := s.Units(o.Name, o.Where.Source.Lang)
		for _, u := range us {
			if u.Unit == o.Unit {
				return &Symbol{Kind: SymUnit, Name: o.Name, Unit: u.Unit, Owner: u.Unit, OwnerSource: u.Source}
			}
		}
		return &Symbol{Kind: SymUnit, Name: o.Name, Unit: o.Unit, Owner: o.Unit, OwnerSource: o.Where.Source}
	case OccUnitOf:
		for _, u := range s.Units(o.Name, design.VHDL) {
			if u.Unit.Kind == design.UnitEntity || u.Unit.Kind == design.UnitPackage {
				return &Symbol{Kind: SymUnit, Name: u.Unit.Name, Unit: u.Unit, Owner: u.Unit, OwnerSource: u.Source}
			}
		}
		return nil
	case OccModule:
		if t := s.Module(o.Name, o.Where.Source.Lang); t != nil {
			return &Symbol{Kind: SymUnit, Name: t.Unit.Name, Unit: t.Unit, Owner: t.Unit, OwnerSource: t.Source}
		}
		return nil
	case OccPort, OccParam:
		t := s.Module(o.Inst.Module, o.Where.Source.Lang)
		if t == nil {
			return nil
		}
		list := t.Unit.Ports
		if o.Kind == OccParam {
			list = t.Unit.Params
		}
		vh := o.Where.Source.Lang == design.VHDL || t.Source.Lang == design.VHDL
		if d := findDecl(list, o.Name, vh); d != nil {
			return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: t.Unit, OwnerSource: t.Source}
		}
		return nil
	case OccDecl:
		if o.Inst != nil {
			return &Symbol{Kind: SymInstance, Name: o.Inst.Name, Inst: o.Inst, Owner: o.Where.Unit, OwnerSource: o.Where.Source}
		}
		// A non-ANSI port's body declaration is the port itself.
		if o.Where.Unit != nil {
			if p := findDecl(o.Where.Unit.Ports, o.Name, o.Where.isVHDL()); p != nil && p != o.Decl && len(o.Where.Chain) <= 1 {
				return &Symbol{Kind: SymDecl, Name: p.Name, Decl: p, Owner: o.Where.Unit, OwnerSource: o.Where.Source}
			}
		}
		return &Symbol{Kind: SymDecl, Name: o.Name, Decl: o.Decl, Owner: o.Where.Unit, OwnerSource: o.Where.Source}
	case OccRef:
		r := o.Ref
		if r.Kind == design.RefScoped {
			return s.PackageMember(r.Pkg, r.Name, o.Where.Source.Lang)
		}
		if r.Kind == design.RefMacro {
			if m := s.Macro(strings.TrimPrefix(r.Name, "`")); m != nil {
				return &Symbol{Kind: SymMacro, Name: m.Name, Macro: m}
			}
			return nil
		}
		return s.LookupRef(o.Where, r)
	case OccMember:
		y := s.Lookup(o.Where, o.Ref.Name)
		for i := 0; i <= o.Index && y != nil; i++ {
			y = s.Member(y, o.Ref.Path[i], o.Where.Source.Lang)
		}
		return y
	}
	return nil
}

func (s *Snapshot) macroFor(name string, def *design.Macro) *design.Macro {
	if m := s.Macro(name); m != nil {
		return m
	}
	return def
}

// Member resolves name inside y: a struct field, an instance's port or
// internal signal (hierarchical), an interface's signal or modport, a
// package's item.
func (s *Snapshot) Member(y *Symbol, name string, lang design.Lang) *Symbol {
	vh := lang == design.VHDL
	switch y.Kind {
	case SymInstance:
		t := s.Module(y.Inst.Module, lang)
		if t == nil {
			return nil
		}
		return s.lookupUnitMember(t.Unit, t.Source, name, vh || t.Source.Lang == design.VHDL)
	case SymUnit:
		if y.Unit.Kind == design.UnitPackage {
			return s.PackageMember(y.Unit.Name, name, lang)
		}
		return s.lookupUnitMember(y.Unit, y.OwnerSource, name, vh)
	case SymScope:
		if d := findDecl(y.Scope.Decls, name, vh); d != nil {
			return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: y.Owner, OwnerSource: y.OwnerSource}
		}
		for _, in := range y.Scope.Instances {
			if eqName(in.Name, name, vh) {
				return &Symbol{Kind: SymInstance, Name: in.Name, Inst: in, Owner: y.Owner, OwnerSource: y.OwnerSource}
			}
		}
		return nil
	case SymDecl:
		t := y.Decl.Type
		w := &Where{Source: y.OwnerSource, Unit: y.Owner}
		if y.Owner != nil && y.Owner.Body != nil {
			w.Chain = []*design.Scope{y.Owner.Body}
		}
		for depth := 0; depth < 8; depth++ {
			if len(t.Members) > 0 {
				if d := findDecl(t.Members, name, vh); d != nil {
					return &Symbol{Kind: SymDecl, Name: d.Name, Decl: d, Owner: y.Owner, OwnerSource: y.OwnerSource}
				}
				return nil
			}
			if t.Name == "" {
				return nil
			}
			tn := t.Name
			// An interface port: "bus_if.master" or "bus_if".
			iface := strings.SplitN(tn, ".", 2)[0]
			if !strings.Contains(iface, "::") {
				if m := s.Module(iface, lang); m != nil && m.Unit.Kind == design.UnitInterface {
					return s.lookupUnitMember(m.Unit, m.Source, name, vh)
				}
			}
			var td *Symbol
			if pkg, item, ok := strings.Cut(tn, "::"); ok {
				td = s.PackageMember(pkg, item, lang)
			} else {
				td = s.Lookup(w, tn)
			}
			if td == nil || td.Kind != SymDecl || td.Decl.Kind != design.DeclTypedef {
				return nil
			}
			t = td.Decl.Type
			y = td
			w = &Where{Source: td.OwnerSource, Unit: td.Owner}
			if td.Owner != nil && td.Owner.Body != nil {
				w.Chain = []*design.Scope{td.Owner.Body}
			}
		}
	}
	return nil
}

// SymbolAt is what the name at byte offset off in rel names, and the
// occurrence it was found from.
func (s *Snapshot) SymbolAt(rel string, off int) (*Symbol, *Occurrence) {
	src := s.Source(rel)
	var best *Occurrence
	s.Occurrences(src, func(o *Occurrence) bool {
		if off >= o.Span.Start && off <= o.Span.End {
			if best == nil || o.Span.End-o.Span.Start < best.Span.End-best.Span.Start {
				best = o
			}
		}
		return true
	})
	if best == nil {
		return nil, nil
	}
	return s.Resolve(best), best
}

// References are every occurrence in the project that names y.
func (s *Snapshot) References(y *Symbol, includeDecl bool) []*Occurrence {
	var out []*Occurrence
	vh := y.OwnerSource != nil && y.OwnerSource.Lang == design.VHDL
	want := y.Name
	if y.Kind == SymMacro {
		want = strings.TrimPrefix(want, "`")
	}
	seen := map[design.Span]bool{}
	for _, src := range s.Sources() {
		s.Occurrences(src, func(o *Occurrence) bool {
			if seen[o.Span] || !eqName(o.Name, want, vh || src.Lang == design.VHDL) {
				return true
			}
			if !includeDecl && o.Span == y.Span() {
				return true
			}
			if z := s.Resolve(o); Same(z, y) {
				seen[o.Span] = true
				out = append(out, o)
			}
			return true
		})
	}
	return out
}

// wordsIn are the offsets in text where name stands as a whole word.
func wordsIn(text, name string, fold bool) []int {
	var out []int
	hay, needle := text, name
	if fold {
		hay, needle = strings.ToLower(text), strings.ToLower(name)
	}
	for i := 0; ; {
		j := strings.Index(hay[i:], needle)
		if j < 0 {
			return out
		}
		a := i + j
		b := a + len(needle)
		if (a == 0 || !identByte(hay[a-1])) && (b == len(hay) || !identByte(hay[b])) {
			out = append(out, a)
		}
		i = b
	}
}

func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// UnitNames are the names of the units rel declares, lowercased.
func (s *Snapshot) UnitNames(rel string) []string {
	src := s.Source(rel)
	if src == nil || src.File == nil {
		return nil
	}
	var out []string
	for _, u := range src.File.Units {
		if u.Name != "" && u.Kind != design.UnitCompilation {
			out = append(out, unitKey(u.Name))
		}
	}
	return out
}

// Dependents are the files that use a unit named in names (lowercased):
// instantiate it, import it, name an item of it (pkg::x) or implement it
// (a VHDL architecture of an entity). Their problems can change with it.
func (s *Snapshot) Dependents(names map[string]bool) []string {
	if len(names) == 0 {
		return nil
	}
	var out []string
	for _, src := range s.Sources() {
		if src.File == nil {
			continue
		}
		uses := false
		for _, u := range src.File.Units {
			if names[unitKey(u.Of)] {
				uses = true
			}
			Scopes(u, func(sc *design.Scope, _ []*design.Scope) {
				if uses {
					return
				}
				for _, in := range sc.Instances {
					if names[unitKey(in.Module)] {
						uses = true
						return
					}
				}
				for _, im := range sc.Imports {
					if names[unitKey(im.Pkg)] {
						uses = true
						return
					}
				}
				for i := range sc.Refs {
					if sc.Refs[i].Kind == design.RefScoped && names[unitKey(sc.Refs[i].Pkg)] {
						uses = true
						return
					}
				}
			})
			if uses {
				break
			}
		}
		if uses {
			out = append(out, src.Path)
		}
	}
	return out
}
