package langserver

import (
	"encoding/json"
	"fmt"
	"sort"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
)

// Indexes into tokenTypes and tokenModifiers.
const (
	ttKeyword = iota
	ttType
	ttParameter
	ttVariable
	ttProperty
	ttFunction
	ttMacro
	ttNamespace
	ttClass
	ttEnumMember
	ttComment
	ttString
	ttNumber
	ttOperator
	ttInterface
)

const (
	tmDeclaration = 1 << iota
	tmReadonly
	tmInactive
	tmDefaultLibrary
)

type semTok struct {
	start, end int
	typ, mods  int
}

func symbolTokenType(y *project.Symbol) (int, int) {
	switch y.Kind {
	case project.SymUnit:
		switch y.Unit.Kind {
		case design.UnitPackage, design.UnitPackageBody:
			return ttNamespace, 0
		case design.UnitInterface:
			return ttInterface, 0
		}
		return ttClass, 0
	case project.SymMacro:
		return ttMacro, 0
	case project.SymInstance, project.SymScope:
		return ttVariable, tmReadonly
	case project.SymDecl:
		switch y.Decl.Kind {
		case design.DeclParam, design.DeclLocalParam, design.DeclConstant, design.DeclGenvar:
			return ttParameter, tmReadonly
		case design.DeclPort, design.DeclInterfacePort, design.DeclField:
			return ttProperty, 0
		case design.DeclTypedef, design.DeclClass:
			return ttType, 0
		case design.DeclEnumMember:
			return ttEnumMember, tmReadonly
		case design.DeclFunction, design.DeclTask:
			return ttFunction, 0
		case design.DeclComponent:
			return ttClass, 0
		case design.DeclModport:
			return ttInterface, 0
		}
		return ttVariable, 0
	}
	return -1, 0
}

func (s *Server) semanticTokens(raw json.RawMessage) (any, error) {
	rel, _, err := s.parseDoc(raw)
	if err != nil {
		return nil, err
	}
	var toks []semTok
	var l *project.Lines
	s.proj.View(func(v *project.Snapshot) {
		src := v.Source(rel)
		if src == nil || src.File == nil {
			return
		}
		l = src.Lines()
		occ := map[int]*project.Occurrence{}
		v.Occurrences(src, func(o *project.Occurrence) bool {
			occ[o.Span.Start] = o
			return true
		})
		for _, t := range v.Tokens(rel) {
			st := semTok{start: t.Start, end: t.End, typ: -1}
			switch t.Kind {
			case design.TokKeyword:
				st.typ = ttKeyword
			case design.TokNumber:
				st.typ = ttNumber
			case design.TokString:
				st.typ = ttString
			case design.TokComment:
				st.typ = ttComment
			case design.TokDirective:
				st.typ = ttKeyword
			case design.TokMacro:
				st.typ = ttMacro
			case design.TokSystem:
				st.typ, st.mods = ttFunction, tmDefaultLibrary
			case design.TokInactive:
				st.typ, st.mods = ttComment, tmInactive
			case design.TokIdent:
				o := occ[t.Start]
				if o == nil {
					continue
				}
				y := v.Resolve(o)
				if y == nil {
					continue
				}
				st.typ, st.mods = symbolTokenType(y)
				if o.Span == y.Span() {
					st.mods |= tmDeclaration
				}
			}
			if st.typ >= 0 && st.end > st.start {
				toks = append(toks, st)
			}
		}
	})
	if l == nil {
		return SemanticTokens{Data: []uint32{}}, nil
	}
	sort.Slice(toks, func(i, j int) bool { return toks[i].start < toks[j].start })
	return SemanticTokens{Data: s.encodeTokens(l, toks)}, nil
}

// encodeTokens is LSP's relative encoding; a token over several lines
// (a block comment, an inactive region) is split at line ends.
func (s *Server) encodeTokens(l *project.Lines, toks []semTok) []uint32 {
	data := make([]uint32, 0, len(toks)*5)
	prevLine, prevCol := 0, 0
	lastEnd := -1
	for _, t := range toks {
		if t.start < lastEnd {
			continue // overlapping: keep the first
		}
		lastEnd = t.end
		for a := t.start; a < t.end; {
			line, col := l.Position(a, !s.utf8)
			e := min(t.end, l.LineEnd(line))
			_, ecol := l.Position(e, !s.utf8)
			if ecol > col {
				dl := line - prevLine
				dc := col
				if dl == 0 {
					dc = col - prevCol
				}
				data = append(data, uint32(dl), uint32(dc), uint32(ecol-col), uint32(t.typ), uint32(t.mods))
				prevLine, prevCol = line, col
			}
			next := l.LineStart(line + 1)
			if next <= a {
				break
			}
			a = next
		}
	}
	return data
}

func (s *Server) inlayHint(raw json.RawMessage) (any, error) {
	rel, rng, err := s.parseDoc(raw)
	if err != nil {
		return nil, err
	}
	var out []InlayHint
	s.proj.View(func(v *project.Snapshot) {
		src := v.Source(rel)
		if src == nil || src.File == nil {
			return
		}
		l := src.Lines()
		lo, hi := 0, len(src.Src)
		if rng != nil {
			lo = l.Offset(rng.Start.Line, rng.Start.Character, !s.utf8)
			hi = l.Offset(rng.End.Line, rng.End.Character, !s.utf8)
		}
		vh := src.Lang == design.VHDL
		for _, u := range src.File.Units {
			project.Scopes(u, func(sc *design.Scope, chain []*design.Scope) {
				w := &project.Where{Source: src, Unit: u, Chain: chain}
				for _, in := range sc.Instances {
					if in.Full.File != rel || in.Full.End < lo || in.Full.Start > hi {
						continue
					}
					t := v.Module(in.Module, src.Lang)
					if t == nil {
						continue
					}
					ev := v.ForInstance(w, in, *t)
					for i, c := range in.Ports {
						var p *design.Decl
						if c.Name != "" {
							p = findPort(t.Unit.Ports, c.Name, vh || t.Source.Lang == design.VHDL)
						} else if i < len(t.Unit.Ports) {
							p = t.Unit.Ports[i]
						}
						if p == nil {
							continue
						}
						label := p.Dir.String()
						if vh || t.Source.Lang == design.VHDL {
							label = vhdlDir(p.Dir)
						}
						dims := ""
						for _, r := range p.Type.Packed {
							dims += ev.ResolvedRange(r, t.Source.Lang == design.VHDL)
						}
						if dims != "" {
							label += " " + dims
						}
						var at int
						switch {
						case c.Expr != nil && c.Expr.Span.File == rel:
							at = c.Expr.Span.Start
						default: // an empty .port(): nothing to label
							continue
						}
						if at < lo || at > hi {
							continue
						}
						if c.Name == "" {
							label = p.Name + ": " + label
						}
						line, col := l.Position(at, !s.utf8)
						out = append(out, InlayHint{Position: Position{line, col}, Label: label, Kind: 2, PaddingRight: true,
							Tooltip: fmt.Sprintf("%s of %s", declSignature(v, p, t.Source.Lang), t.Unit.Name)})
					}
				}
			})
		}
	})
	return orEmpty(out), nil
}

func findPort(list []*design.Decl, name string, vh bool) *design.Decl {
	for _, d := range list {
		if d.Name == name || vh && equalFold(d.Name, name) {
			return d
		}
	}
	return nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
