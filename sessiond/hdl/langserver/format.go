package langserver

import (
	"encoding/json"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/format"
	"gatewave.dev/sessiond/hdl/project"
)

func (s *Server) formatting(raw json.RawMessage) (any, error) {
	return s.format(raw, false)
}

func (s *Server) rangeFormatting(raw json.RawMessage) (any, error) {
	return s.format(raw, true)
}

func (s *Server) format(raw json.RawMessage, ranged bool) (any, error) {
	var p struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
		Range        *Range                 `json:"range"`
		Options      FormattingOptions      `json:"options"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	var src []byte
	var lang design.Lang
	var defines []string
	s.proj.View(func(v *project.Snapshot) {
		if f := v.Source(rel); f != nil {
			src, lang = f.Src, f.Lang
		}
		for name := range v.Macros() {
			defines = append(defines, name)
		}
	})
	if src == nil {
		return nil, failf("%s is not an HDL file of this project", rel)
	}
	st := format.Style{IndentWidth: p.Options.TabSize, UseTabs: !p.Options.InsertSpaces, Defines: defines}
	l := project.NewLines(src)
	lo, hi := 0, len(src)
	if ranged && p.Range != nil {
		lo = l.Offset(p.Range.Start.Line, p.Range.Start.Character, !s.utf8)
		hi = l.Offset(p.Range.End.Line, p.Range.End.Character, !s.utf8)
		if lo > hi {
			lo, hi = hi, lo
		}
	}
	var edits []format.Edit
	switch {
	case lang == design.VHDL:
		edits, err = format.VHDL(src, lo, hi, st)
	case !ranged:
		var ok bool
		edits, ok, err = format.Verible(s.ctx, src, st)
		if !ok {
			edits, err = format.Verilog(src, lang == design.SystemVerilog, lo, hi, st)
		}
	default:
		edits, err = format.Verilog(src, lang == design.SystemVerilog, lo, hi, st)
	}
	if err != nil {
		return nil, failf("formatting %s: %v", rel, err)
	}
	out := make([]TextEdit, 0, len(edits))
	for _, e := range edits {
		out = append(out, TextEdit{Range: s.rangeOf(l, e.Start, e.End), NewText: e.Text})
	}
	return out, nil
}
