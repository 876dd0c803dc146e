package langserver

import (
	"encoding/json"
	"fmt"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
)

func (s *Server) signatureHelp(raw json.RawMessage) (any, error) {
	var res *SignatureHelp
	err := s.atPos(raw, func(v *project.Snapshot, src *project.Source, off int) {
		w := v.At(src.Path, off)
		a, _ := identBounds(src.Src, off)
		ctx := instanceContextAt(src, w, off, a)
		if ctx == nil {
			return
		}
		t := v.Module(ctx.module, src.Lang)
		if t == nil {
			return
		}
		list := t.Unit.Ports
		if ctx.params {
			list = headerParams(t.Unit)
		}
		if len(list) == 0 {
			return
		}
		label := t.Unit.Name + " ("
		if ctx.params {
			label = t.Unit.Name + " #("
		}
		var params []ParameterInformation
		for i, p := range list {
			if i > 0 {
				label += ", "
			}
			sig := declSignature(v, p, t.Source.Lang)
			start := len([]rune(label)) // UTF-16 offsets; names are ASCII
			label += sig
			pi := ParameterInformation{Label: [2]int{start, len([]rune(label))}}
			if p.Doc != "" {
				pi.Documentation = &MarkupContent{Kind: "markdown", Value: p.Doc}
			}
			params = append(params, pi)
		}
		label += ")"
		active := activeConn(src, w, off, list, ctx)
		res = &SignatureHelp{Signatures: []SignatureInformation{{Label: label, Parameters: params}}, ActiveParameter: active}
		if t.Unit.Doc != "" {
			res.Signatures[0].Documentation = &MarkupContent{Kind: "markdown", Value: t.Unit.Doc}
		}
	})
	if res == nil || err != nil {
		return nil, err
	}
	return res, nil
}

// activeConn is the index in list of the port being written at off: by
// name when the connection is named, else by position.
func activeConn(src *project.Source, w *project.Where, off int, list []*design.Decl, ctx *instCtx) int {
	if in := w.Instance; in != nil {
		conns := in.Ports
		if ctx.params {
			conns = in.Params
		}
		for i, c := range conns {
			if c.Full.Start <= off && off <= c.Full.End || i == len(conns)-1 && off > c.Full.End {
				if c.Name == "" {
					return i
				}
				for j, p := range list {
					if strings.EqualFold(p.Name, c.Name) {
						return j
					}
				}
			}
		}
	}
	// The name after the last '.' before off.
	b := src.Src
	for i := off - 1; i >= 0 && i > off-400; i-- {
		if b[i] == '.' {
			j := i + 1
			for j < len(b) && isIdentByte(b[j]) {
				j++
			}
			name := string(b[i+1 : j])
			for k, p := range list {
				if strings.EqualFold(p.Name, name) {
					return k
				}
			}
			break
		}
		if b[i] == '(' && i > 0 && b[i-1] != '.' {
			break
		}
	}
	return 0
}

func (s *Server) codeAction(raw json.RawMessage) (any, error) {
	var p struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
		Range        Range                  `json:"range"`
		Context      struct {
			Diagnostics []Diagnostic `json:"diagnostics"`
		} `json:"context"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	var out []CodeAction
	s.proj.View(func(v *project.Snapshot) {
		src := v.Source(rel)
		if src == nil || src.File == nil {
			return
		}
		l := src.Lines()
		lo := l.Offset(p.Range.Start.Line, p.Range.Start.Character, !s.utf8)
		hi := l.Offset(p.Range.End.Line, p.Range.End.Character, !s.utf8)
		for _, u := range src.File.Units {
			project.Scopes(u, func(sc *design.Scope, chain []*design.Scope) {
				w := &project.Where{Source: src, Unit: u, Chain: chain}
				for _, in := range sc.Instances {
					if in.Full.File == rel && in.Full.Start <= hi && lo <= in.Full.End {
						if a := s.addMissingPorts(v, w, in); a != nil {
							out = append(out, *a)
						}
					}
				}
			})
		}
		for _, d := range v.Diagnostics(rel) {
			if d.Code != "undeclared" || d.Span.Start > hi || d.Span.End < lo {
				continue
			}
			if a := s.declareSignal(v, src, d); a != nil {
				out = append(out, *a)
			}
		}
	})
	return orEmpty(out), nil
}

// addMissingPorts connects every port an instance leaves out, each to a
// same-named signal (declared or not: the next action can declare it).
func (s *Server) addMissingPorts(v *project.Snapshot, w *project.Where, in *design.Instance) *CodeAction {
	src := w.Source
	t := v.Module(in.Module, src.Lang)
	if t == nil || in.Wildcard || !in.PortList.Valid() || !closed(src.Src, in.PortList) {
		return nil
	}
	vh := src.Lang == design.VHDL || t.Source.Lang == design.VHDL
	connected := map[string]bool{}
	for _, c := range in.Ports {
		if c.Name == "" {
			return nil // positional: adding named ones would be illegal
		}
		connected[strings.ToLower(c.Name)] = true
	}
	var missing []*design.Decl
	for _, p := range t.Unit.Ports {
		if !connected[strings.ToLower(p.Name)] {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	b := src.Src
	closeAt := in.PortList.End - 1 // the ')'
	// Indent like the existing connections, else one level in.
	indent := "\t"
	if len(in.Ports) > 0 {
		last := in.Ports[len(in.Ports)-1].Full
		ls := src.Lines().LineStart(src.Lines().LineOf(last.Start))
		indent = leadingSpace(b[ls:last.Start])
	} else {
		ls := src.Lines().LineStart(src.Lines().LineOf(in.Full.Start))
		indent = leadingSpace(b[ls:in.Full.Start]) + indentUnit(b)
	}
	var text strings.Builder
	insertAt := closeAt
	if len(in.Ports) > 0 {
		insertAt = in.Ports[len(in.Ports)-1].Full.End
		text.WriteString(",")
	}
	for i, p := range missing {
		if i > 0 {
			text.WriteString(",")
		}
		// The same-named signal where there is one; else left open for
		// the user to fill (a guessed name would be undeclared).
		actual := ""
		if y := v.Lookup(w, p.Name); y != nil && y.Kind == project.SymDecl && isConnectable(y.Decl) {
			actual = p.Name
		} else if vh {
			actual = "open"
		}
		if vh {
			text.WriteString("\n" + indent + p.Name + " => " + actual)
		} else {
			text.WriteString("\n" + indent + "." + p.Name + "(" + actual + ")")
		}
	}
	// The closing parenthesis goes on a line of its own, indented like
	// the instance; whatever whitespace stood before it is replaced.
	title := fmt.Sprintf("Add the missing port connections (%d)", len(missing))
	if strings.TrimSpace(string(b[insertAt:closeAt])) != "" {
		// A comment after the last connection stays where it is.
		return s.editAction(v, src, title, insertAt, insertAt, text.String())
	}
	ls := src.Lines().LineStart(src.Lines().LineOf(in.Full.Start))
	text.WriteString("\n" + leadingSpace(b[ls:in.Full.Start]))
	return s.editAction(v, src, title, insertAt, closeAt, text.String())
}

func leadingSpace(b []byte) string {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return string(b[:i])
}

func (s *Server) editAction(v *project.Snapshot, src *project.Source, title string, a, b int, text string) *CodeAction {
	e := TextEdit{Range: s.rangeOf(src.Lines(), a, b), NewText: text}
	return &CodeAction{Title: title, Kind: "quickfix", Edit: &WorkspaceEdit{Changes: map[string][]TextEdit{s.uri(src.Path): {e}}}}
}

// declareSignal declares an undeclared name with the width its use
// implies: the port it is connected to, or the other side of an
// assignment.
func (s *Server) declareSignal(v *project.Snapshot, src *project.Source, d design.Diag) *CodeAction {
	name := string(src.Src[d.Span.Start:d.Span.End])
	w := v.At(src.Path, d.Span.Start)
	u := w.Unit
	if u == nil || u.Kind == design.UnitCompilation || !validIdent(name) {
		return nil
	}
	width, rng := int64(1), ""
	procedural := false
	ev := v.NewEval(w)
	project.Scopes(u, func(sc *design.Scope, chain []*design.Scope) {
		sw := &project.Where{Source: src, Unit: u, Chain: chain}
		for _, in := range sc.Instances {
			t := v.Module(in.Module, src.Lang)
			if t == nil {
				continue
			}
			for _, c := range in.Ports {
				if c.Expr != nil && c.Expr.Op == design.ExprIdent && c.Expr.Text == name {
					p := findPort(t.Unit.Ports, c.Name, src.Lang == design.VHDL)
					if p == nil {
						continue
					}
					if n, ok := v.ForInstance(sw, in, *t).Width(p); ok {
						width = n
					}
				}
			}
		}
		for _, a := range sc.Assigns {
			if a.LHS == nil || a.RHS == nil {
				continue
			}
			if a.LHS.Op == design.ExprIdent && a.LHS.Text == name {
				if a.Kind == design.AssignBlocking || a.Kind == design.AssignNonblocking {
					procedural = true
				}
				if n, exact, ok := v.NewEval(sw).ExprWidth(a.RHS); ok && exact {
					width = n
				}
			}
			if a.RHS.Op == design.ExprIdent && a.RHS.Text == name {
				if n, exact, ok := v.NewEval(sw).ExprWidth(a.LHS); ok && exact {
					width = n
				}
			}
		}
	})
	_ = ev
	if width > 1 {
		if src.Lang == design.VHDL {
			rng = fmt.Sprintf("(%d downto 0)", width-1)
		} else {
			rng = fmt.Sprintf("[%d:0] ", width-1)
		}
	}
	var decl string
	switch src.Lang {
	case design.VHDL:
		if width > 1 {
			decl = fmt.Sprintf("signal %s : std_logic_vector%s;", name, rng)
		} else {
			decl = fmt.Sprintf("signal %s : std_logic;", name)
		}
	case design.SystemVerilog:
		decl = fmt.Sprintf("logic %s%s;", rng, name)
	default:
		kw := "wire"
		if procedural {
			kw = "reg"
		}
		decl = fmt.Sprintf("%s %s%s;", kw, rng, name)
	}
	at, indent := declInsertPoint(src, u)
	if at < 0 {
		return nil
	}
	a := s.editAction(v, src, fmt.Sprintf("Declare %s '%s'", map[bool]string{true: "signal", false: "net"}[src.Lang == design.VHDL || procedural || src.Lang == design.SystemVerilog], name), at, at, indent+decl+"\n")
	a.Diagnostics = []Diagnostic{s.toDiagnostic(src.Lines(), d)}
	a.IsPreferred = true
	return a
}

// declInsertPoint is the start of the line after a unit's header (after
// the port list's ";" in Verilog; before "begin" of a VHDL architecture)
// and the indentation to use.
func declInsertPoint(src *project.Source, u *design.Unit) (int, string) {
	b := src.Src
	l := src.Lines()
	if src.Lang == design.VHDL {
		// The architecture's "begin": the first one at depth 0 after "is".
		i := u.NameSpan.End
		for i < u.Full.End && i < len(b) {
			j := i
			for j < len(b) && isIdentByte(b[j]) {
				j++
			}
			if j > i && strings.EqualFold(string(b[i:j]), "begin") {
				ls := l.LineStart(l.LineOf(i))
				return ls, indentUnit(b)
			}
			if j == i {
				j++
			}
			i = j
		}
		return -1, ""
	}
	after := u.NameSpan.End
	if u.PortList.Valid() && u.PortList.File == src.Path {
		after = u.PortList.End
	}
	for after < len(b) && b[after] != ';' {
		after++
	}
	if after >= len(b) {
		return -1, ""
	}
	line := l.LineOf(after) + 1
	// Indent like the body's first line that has text.
	indent := indentUnit(b)
	for k := line; k < l.Count() && l.LineStart(k) < u.Full.End; k++ {
		text := b[l.LineStart(k):l.LineEnd(k)]
		if strings.TrimSpace(string(text)) != "" {
			if ind := leadingSpace(text); ind != "" {
				indent = ind
			}
			break
		}
	}
	return l.LineStart(line), indent
}

// isConnectable reports whether d is something a port connects to.
func isConnectable(d *design.Decl) bool {
	switch d.Kind {
	case design.DeclPort, design.DeclNet, design.DeclVar, design.DeclSignal, design.DeclInterfacePort:
		return true
	}
	return false
}

// indentUnit is the file's indentation step: a tab if lines are indented
// with tabs, else the smallest run of leading spaces (at least 2), else 4.
func indentUnit(b []byte) string {
	best := 0
	tabs := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "\t") {
			tabs++
			continue
		}
		n := len(line) - len(strings.TrimLeft(line, " "))
		if n >= 2 && n < len(line) && (best == 0 || n < best) {
			best = n
		}
	}
	switch {
	case tabs > 0 && best == 0:
		return "\t"
	case best > 0:
		return strings.Repeat(" ", best)
	}
	return "    "
}
