package langserver

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
	"gatewave.dev/sessiond/hdl/verilog"
	"gatewave.dev/sessiond/hdl/vhdl"
)

// posRequest is a request at a place in a document.
type posRequest struct {
	rel string
	pos Position
}

func (s *Server) parsePos(raw json.RawMessage) (posRequest, error) {
	var p TextDocumentPositionParams
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	return posRequest{rel: rel, pos: p.Position}, err
}

// decode unmarshals raw into p and maps the document URI it names (uri
// points into p) to a workspace-relative path.
func (s *Server) decode(raw json.RawMessage, p any, uri *string) (string, error) {
	if err := json.Unmarshal(raw, p); err != nil {
		return "", fmt.Errorf("params: %w", err)
	}
	return s.rel(*uri)
}

// atPos parses a position request and runs fn on a snapshot with the
// source and byte offset it names; fn is not called for a file outside
// the project.
func (s *Server) atPos(raw json.RawMessage, fn func(v *project.Snapshot, src *project.Source, off int)) error {
	q, err := s.parsePos(raw)
	if err != nil {
		return err
	}
	s.proj.View(func(v *project.Snapshot) {
		if off, src := s.offset(v, q.rel, q.pos); src != nil {
			fn(v, src, off)
		}
	})
	return nil
}

// offset is the byte offset of pos in rel's current text.
func (s *Server) offset(v *project.Snapshot, rel string, pos Position) (int, *project.Source) {
	src := v.Source(rel)
	if src == nil {
		return 0, nil
	}
	return src.Lines().Offset(pos.Line, pos.Character, !s.utf8), src
}

// lines is the line index of any workspace file.
func (s *Server) lines(v *project.Snapshot, rel string) *project.Lines {
	if src := v.Source(rel); src != nil {
		return src.Lines()
	}
	return project.NewLines(v.Text(rel))
}

func (s *Server) location(v *project.Snapshot, sp design.Span) Location {
	return Location{URI: s.uri(sp.File), Range: s.rangeOf(s.lines(v, sp.File), sp.Start, sp.End)}
}

func (s *Server) definition(raw json.RawMessage) (any, error) {
	var out []Location
	err := s.atPos(raw, func(v *project.Snapshot, src *project.Source, off int) {
		if inc := includeAt(src, off); inc != nil {
			if inc.Resolved != "" {
				out = append(out, Location{URI: s.uri(inc.Resolved)})
			}
			return
		}
		y, _ := v.SymbolAt(src.Path, off)
		if y == nil {
			return
		}
		if sp := y.Span(); sp.Valid() && sp.File != project.ConfigFile {
			out = append(out, s.location(v, sp))
		}
		// An entity's architectures are where it is implemented.
		if y.Kind == project.SymUnit && y.Unit.Kind == design.UnitEntity {
			for _, u := range v.AllUnits() {
				if u.Unit.Kind == design.UnitArchitecture && strings.EqualFold(u.Unit.Of, y.Unit.Name) {
					out = append(out, s.location(v, u.Unit.NameSpan))
				}
			}
		}
	})
	return orEmpty(out), err
}

func includeAt(src *project.Source, off int) *design.Include {
	if src.File == nil {
		return nil
	}
	for i := range src.File.Includes {
		inc := &src.File.Includes[i]
		if inc.Span.Contains(src.Path, off) {
			return inc
		}
	}
	return nil
}

func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func (s *Server) typeDefinition(raw json.RawMessage) (any, error) {
	var out []Location
	err := s.atPos(raw, func(v *project.Snapshot, src *project.Source, off int) {
		y, _ := v.SymbolAt(src.Path, off)
		if y == nil {
			return
		}
		switch y.Kind {
		case project.SymInstance:
			if t := v.Module(y.Inst.Module, src.Lang); t != nil {
				out = append(out, s.location(v, t.Unit.NameSpan))
			}
		case project.SymDecl:
			if t := s.typeOf(v, y); t != nil {
				out = append(out, s.location(v, t.Span()))
			}
		}
	})
	return orEmpty(out), err
}

// typeOf is the declaration of y's named type: a typedef, an interface, a
// class.
func (s *Server) typeOf(v *project.Snapshot, y *project.Symbol) *project.Symbol {
	tn := y.Decl.Type.Name
	if tn == "" {
		return nil
	}
	lang := design.SystemVerilog
	if y.OwnerSource != nil {
		lang = y.OwnerSource.Lang
	}
	if pkg, item, ok := strings.Cut(tn, "::"); ok {
		return v.PackageMember(pkg, item, lang)
	}
	base := strings.SplitN(tn, ".", 2)[0]
	w := &project.Where{Source: y.OwnerSource, Unit: y.Owner}
	if y.Owner != nil && y.Owner.Body != nil {
		w.Chain = []*design.Scope{y.Owner.Body}
	}
	return v.Lookup(w, base)
}

func (s *Server) references(raw json.RawMessage) (any, error) {
	var p struct {
		TextDocumentPositionParams
		Context struct {
			IncludeDeclaration bool `json:"includeDeclaration"`
		} `json:"context"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	var out []Location
	s.proj.View(func(v *project.Snapshot) {
		off, src := s.offset(v, rel, p.Position)
		if src == nil {
			return
		}
		y, _ := v.SymbolAt(rel, off)
		if y == nil {
			return
		}
		for _, o := range v.References(y, p.Context.IncludeDeclaration) {
			out = append(out, s.location(v, o.Span))
		}
	})
	return orEmpty(out), nil
}

func (s *Server) documentHighlight(raw json.RawMessage) (any, error) {
	var out []DocumentHighlight
	err := s.atPos(raw, func(v *project.Snapshot, src *project.Source, off int) {
		y, _ := v.SymbolAt(src.Path, off)
		if y == nil {
			return
		}
		v.Occurrences(src, func(o *project.Occurrence) bool {
			if !strings.EqualFold(o.Name, strings.TrimPrefix(y.Name, "`")) {
				return true
			}
			if z := v.Resolve(o); project.Same(z, y) {
				kind := 2
				if o.Span == y.Span() {
					kind = 3
				}
				out = append(out, DocumentHighlight{Range: s.rangeOf(src.Lines(), o.Span.Start, o.Span.End), Kind: kind})
			}
			return true
		})
	})
	return orEmpty(out), err
}

// renameTarget checks that the name at q may be renamed and returns it.
func (s *Server) renameTarget(v *project.Snapshot, q posRequest) (*project.Symbol, *project.Occurrence, error) {
	off, src := s.offset(v, q.rel, q.pos)
	if src == nil {
		return nil, nil, failf("%s is not an HDL file of this project", q.rel)
	}
	y, o := v.SymbolAt(q.rel, off)
	if o == nil {
		word := wordAt(src.Src, off)
		if word != "" && isKeyword(word, src.Lang) {
			return nil, nil, failf("'%s' is a keyword and cannot be renamed", word)
		}
		return nil, nil, failf("there is no name here to rename")
	}
	if y == nil {
		return nil, nil, failf("'%s' is not declared in the workspace, so it cannot be renamed here", o.Name)
	}
	decl := y.Span()
	if !decl.Valid() || decl.File == project.ConfigFile || v.Source(decl.File) == nil {
		return nil, nil, failf("'%s' is declared outside the workspace (%s), so it cannot be renamed", y.Name, where(decl))
	}
	return y, o, nil
}

func where(sp design.Span) string {
	if sp.File == "" {
		return "built in"
	}
	return sp.File
}

func (s *Server) prepareRename(raw json.RawMessage) (any, error) {
	q, err := s.parsePos(raw)
	if err != nil {
		return nil, err
	}
	var res any
	var rerr error
	s.proj.View(func(v *project.Snapshot) {
		_, o, err := s.renameTarget(v, q)
		if err != nil {
			rerr = err
			return
		}
		src := v.Source(q.rel)
		res = map[string]any{"range": s.rangeOf(src.Lines(), o.Span.Start, o.Span.End), "placeholder": o.Name}
	})
	return res, rerr
}

func (s *Server) rename(raw json.RawMessage) (any, error) {
	var p struct {
		TextDocumentPositionParams
		NewName string `json:"newName"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	var res *WorkspaceEdit
	var rerr error
	s.proj.View(func(v *project.Snapshot) {
		y, _, err := s.renameTarget(v, posRequest{rel, p.Position})
		if err != nil {
			rerr = err
			return
		}
		lang := design.Verilog
		if y.OwnerSource != nil {
			lang = y.OwnerSource.Lang
		}
		nn := strings.TrimPrefix(p.NewName, "`")
		if !validIdent(nn) {
			rerr = failf("'%s' is not a valid identifier", p.NewName)
			return
		}
		if isKeyword(nn, lang) || isKeyword(nn, design.SystemVerilog) && lang != design.VHDL {
			rerr = failf("'%s' is a keyword", nn)
			return
		}
		res = &WorkspaceEdit{Changes: map[string][]TextEdit{}}
		for _, o := range v.References(y, true) {
			u := s.uri(o.Span.File)
			res.Changes[u] = append(res.Changes[u], TextEdit{Range: s.rangeOf(s.lines(v, o.Span.File), o.Span.Start, o.Span.End), NewText: nn})
		}
		for u := range res.Changes {
			sort.Slice(res.Changes[u], func(i, j int) bool {
				a, b := res.Changes[u][i].Range.Start, res.Changes[u][j].Range.Start
				return a.Line < b.Line || a.Line == b.Line && a.Character < b.Character
			})
		}
	})
	return res, rerr
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '$')) {
			return false
		}
	}
	return true
}

func isKeyword(w string, lang design.Lang) bool {
	if lang == design.VHDL {
		return vhdl.IsKeyword(w)
	}
	return verilog.IsKeyword(w, lang == design.SystemVerilog)
}

// wordAt is the identifier around off.
func wordAt(src []byte, off int) string {
	a, b := identBounds(src, off)
	return string(src[a:b])
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func identBounds(src []byte, off int) (int, int) {
	off = min(max(off, 0), len(src))
	a, b := off, off
	for a > 0 && isIdentByte(src[a-1]) {
		a--
	}
	for b < len(src) && isIdentByte(src[b]) {
		b++
	}
	return a, b
}
