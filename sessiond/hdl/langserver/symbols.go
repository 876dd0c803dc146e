package langserver

import (
	"encoding/json"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
)

type docParams struct {
	TextDocument TextDocumentIdentifier `json:"textDocument"`
	Range        *Range                 `json:"range"`
}

func (s *Server) parseDoc(raw json.RawMessage) (string, *Range, error) {
	var p docParams
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	return rel, p.Range, err
}

func unitSymbolKind(k design.UnitKind) int {
	switch k {
	case design.UnitInterface:
		return skInterface
	case design.UnitPackage, design.UnitPackageBody:
		return skPackage
	case design.UnitClass:
		return skClass
	case design.UnitCompilation:
		return skNamespace
	}
	return skModule
}

func declSymbolKind(d *design.Decl) int {
	switch d.Kind {
	case design.DeclPort, design.DeclInterfacePort:
		return skProperty
	case design.DeclParam, design.DeclLocalParam, design.DeclConstant:
		return skConstant
	case design.DeclTypedef:
		if d.Type.Aggregate == "enum" {
			return skEnum
		}
		if d.Type.Aggregate != "" {
			return skStruct
		}
		return skTypeParam
	case design.DeclEnumMember:
		return skEnumMember
	case design.DeclField:
		return skField
	case design.DeclFunction, design.DeclTask:
		return skFunction
	case design.DeclModport:
		return skInterface
	case design.DeclComponent:
		return skModule
	case design.DeclClass:
		return skClass
	case design.DeclEvent:
		return skEvent
	}
	return skVariable
}

func (s *Server) documentSymbol(raw json.RawMessage) (any, error) {
	rel, _, err := s.parseDoc(raw)
	if err != nil {
		return nil, err
	}
	var out []DocumentSymbol
	s.proj.View(func(v *project.Snapshot) {
		src := v.Source(rel)
		if src == nil || src.File == nil {
			return
		}
		l := src.Lines()
		mine := func(sp design.Span) bool { return sp.File == rel }
		sym := func(name, detail string, kind int, full, sel design.Span) DocumentSymbol {
			if !mine(full) {
				full = sel
			}
			if full.Start > sel.Start || full.End < sel.End {
				full = sel
			}
			return DocumentSymbol{Name: name, Detail: detail, Kind: kind, Range: s.rangeOf(l, full.Start, full.End), SelectionRange: s.rangeOf(l, sel.Start, sel.End)}
		}
		var scope func(sc *design.Scope) []DocumentSymbol
		decl := func(d *design.Decl) DocumentSymbol {
			ds := sym(d.Name, strings.TrimSpace(d.Dir.String()+" "+d.Type.Text), declSymbolKind(d), d.Full, d.Span)
			for _, m := range d.Members {
				if mine(m.Span) && m.Kind != design.DeclArg {
					ds.Children = append(ds.Children, sym(m.Name, m.Type.Text, declSymbolKind(m), m.Full, m.Span))
				}
			}
			return ds
		}
		scope = func(sc *design.Scope) []DocumentSymbol {
			var kids []DocumentSymbol
			for _, d := range sc.Decls {
				if mine(d.Span) && d.Kind != design.DeclEnumMember {
					kids = append(kids, decl(d))
				}
			}
			for _, in := range sc.Instances {
				if mine(in.NameSpan) && in.Name != "" {
					kids = append(kids, sym(in.Name, in.Module, skObject, in.Full, in.NameSpan))
				}
			}
			for _, c := range sc.Scopes {
				inner := scope(c)
				if c.Name != "" && mine(c.NameSpan) && c.Decl == nil {
					ds := sym(c.Name, "block", skNamespace, c.Full, c.NameSpan)
					ds.Children = inner
					kids = append(kids, ds)
				} else if c.Decl != nil {
					// A function's locals belong under the function.
					for i := range kids {
						if kids[i].Name == c.Decl.Name && c.Decl.Span.File == rel {
							kids[i].Children = append(kids[i].Children, inner...)
						}
					}
				} else {
					kids = append(kids, inner...)
				}
			}
			return kids
		}
		for _, u := range src.File.Units {
			var kids []DocumentSymbol
			for _, d := range u.Params {
				if mine(d.Span) {
					kids = append(kids, decl(d))
				}
			}
			for _, d := range u.Ports {
				if mine(d.Span) {
					kids = append(kids, decl(d))
				}
			}
			if u.Body != nil {
				seen := map[string]bool{}
				for _, k := range kids {
					seen[k.Name] = true
				}
				for _, k := range scope(u.Body) {
					if !seen[k.Name] || k.Kind != skProperty && k.Kind != skVariable {
						kids = append(kids, k)
					}
				}
			}
			if u.Kind == design.UnitCompilation {
				out = append(out, kids...)
				continue
			}
			if !mine(u.NameSpan) {
				continue
			}
			detail := unitKindName(u.Kind)
			if u.Of != "" {
				detail += " of " + u.Of
			}
			ds := sym(u.Name, detail, unitSymbolKind(u.Kind), u.Full, u.NameSpan)
			sortSymbols(kids)
			ds.Children = kids
			out = append(out, ds)
		}
	})
	return orEmpty(out), nil
}

const skObject = 19

func sortSymbols(l []DocumentSymbol) {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].SelectionRange.Start, l[j].SelectionRange.Start
		return a.Line < b.Line || a.Line == b.Line && a.Character < b.Character
	})
}

func (s *Server) workspaceSymbol(raw json.RawMessage) (any, error) {
	var p struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	q := strings.ToLower(p.Query)
	var out []SymbolInformation
	s.proj.View(func(v *project.Snapshot) {
		add := func(name string, kind int, sp design.Span, container string) {
			if len(out) >= 500 || !fuzzy(strings.ToLower(name), q) || v.Source(sp.File) == nil {
				return
			}
			out = append(out, SymbolInformation{Name: name, Kind: kind, Location: s.location(v, sp), ContainerName: container})
		}
		for _, u := range v.AllUnits() {
			// A design unit is top-level: no container (its file is in
			// the location already, and a client shows it from there).
			add(u.Unit.Name, unitSymbolKind(u.Unit.Kind), u.Unit.NameSpan, "")
			for _, d := range u.Unit.Ports {
				add(d.Name, skProperty, d.Span, u.Unit.Name)
			}
			for _, d := range u.Unit.Params {
				add(d.Name, skConstant, d.Span, u.Unit.Name)
			}
			project.Scopes(u.Unit, func(sc *design.Scope, _ []*design.Scope) {
				for _, d := range sc.Decls {
					add(d.Name, declSymbolKind(d), d.Span, u.Unit.Name)
				}
				for _, in := range sc.Instances {
					add(in.Name, skObject, in.NameSpan, u.Unit.Name)
				}
			})
		}
		for name, m := range v.Macros() {
			add("`"+name, skConstant, m.Span, "macro")
		}
	})
	sort.SliceStable(out, func(i, j int) bool {
		ei, ej := strings.EqualFold(out[i].Name, p.Query), strings.EqualFold(out[j].Name, p.Query)
		if ei != ej {
			return ei
		}
		return len(out[i].Name) < len(out[j].Name)
	})
	return orEmpty(out), nil
}

// fuzzy reports whether q's characters appear in name in order.
func fuzzy(name, q string) bool {
	i := 0
	for j := 0; j < len(name) && i < len(q); j++ {
		if name[j] == q[i] {
			i++
		}
	}
	return i == len(q)
}

func (s *Server) foldingRange(raw json.RawMessage) (any, error) {
	rel, _, err := s.parseDoc(raw)
	if err != nil {
		return nil, err
	}
	var out []FoldingRange
	s.proj.View(func(v *project.Snapshot) {
		src := v.Source(rel)
		if src == nil || src.File == nil {
			return
		}
		l := src.Lines()
		for _, f := range src.File.Folds {
			if f.File != "" && f.File != rel {
				continue
			}
			a, b := l.LineOf(f.Start), l.LineOf(max(f.End-1, f.Start))
			if b > a {
				out = append(out, FoldingRange{StartLine: a, EndLine: b})
			}
		}
		for _, r := range src.File.Inactive {
			if r.File == rel {
				a, b := l.LineOf(r.Start), l.LineOf(max(r.End-1, r.Start))
				if b > a {
					out = append(out, FoldingRange{StartLine: a, EndLine: b, Kind: "region"})
				}
			}
		}
	})
	return orEmpty(out), nil
}
