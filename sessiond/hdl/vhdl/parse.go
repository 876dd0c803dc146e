// Package vhdl is a hand-written, error-tolerant VHDL-2008 front end: a
// byte-level lexer (Lex, IsKeyword) and a recursive-descent parser (Parse)
// that fills the language-neutral design model with the file's entities,
// architectures, packages and package bodies, their generics, ports,
// declarations, instances, assignments and identifier uses.
//
// The parser never panics and never stops early: on a syntax error it
// reports a Diag with Code "syntax" and recovers at the next ';', at 'end'
// or at the next design unit, so half-typed files still yield their model.
//
// Mapping choices the analysis relies on:
//   - Attribute names (x'length, clk'event, t'image(v)) are ExprOther with
//     Text "'" + attribute as written, Args[0] the prefix and Args[1:] the
//     attribute's parameters; NameSpan is the attribute designator.
//   - Qualified expressions t'(x) are ExprCast with Text the type mark.
//   - Concatenation is ExprBinary with Text "&". Operator Text is canonical
//     lower case ("and", "mod", "/=", "?=").
//   - name(args) is ExprSlice when the single argument is a range
//     (Text "downto"/"to"), ExprCall when the callee is a known
//     std/ieee function or type conversion, a subprogram declared earlier
//     in the file, or the call has several or named arguments; otherwise
//     ExprIndex. A call's callee Ref is RefCall.
//   - Aggregates are ExprAggregate; a named element is ExprBinary "=>"
//     (choice, value), a range choice ExprBinary "to"/"downto", choice
//     alternatives ExprBinary "|", others ExprOther "others". A simple
//     identifier used as a choice (record field or constant) is not a Ref,
//     nor is any formal of a named association.
//   - Literals: numbers, based literals, bit strings, character literals
//     and physical literals ("10 ns") are ExprNumber; strings ExprString.
//   - A conditional (when/else) or selected (with/select) assignment yields
//     one Assign per waveform alternative, all sharing LHS and Full;
//     'unaffected' alternatives yield none.
//   - Function and procedure arguments are the Members of the subprogram's
//     Decl (Scope.Decl), not Decls of its scope; procedures open ScopeTask.
//   - A for loop opens a ScopeBlock (Name its label) declaring the loop
//     parameter as DeclVar; a for generate declares it as DeclGenvar. Each
//     branch of an if/case generate is its own ScopeGenerate named by the
//     statement label.
//   - use clauses become Refs (RefUnit) and, unless the library is ieee or
//     std, an Import in the next unit's Body (or the enclosing scope).
//   - VHDL arrays: a signal's index constraint is Type.Packed; an array
//     type definition puts its index ranges in Type.Unpacked and its
//     element subtype in Name/Keyword/Packed.
package vhdl

import (
	"gatewave.dev/sessiond/hdl/design"
)

const (
	maxDepth = 200
	maxDiags = 200
)

// Parse parses one VHDL source file. path is the workspace-relative path
// used in every Span.
func Parse(path string, src []byte) *design.File {
	p := newParser(path, src)
	p.designFile()
	p.finish()
	return p.f
}

type parser struct {
	path     string
	src      []byte
	s        string
	toks     []tok // significant tokens, ending with an EOF token
	comments []tok
	pos      int
	f        *design.File
	sc       *design.Scope
	depth    int
	dead     bool // nesting limit hit: everything after is skipped
	level    int  // scope nesting level, 0 outside units
	ctxStart int  // offset of the context clause before the next unit, or -1
	refBufs  [][]design.Ref

	funcs   map[string]struct{} // subprograms declared in this file, lower case
	pending []design.Import     // imports for the next design unit

	exprSlab []design.Expr
	declSlab []design.Decl
	argSlab  []*design.Expr
}

func newParser(path string, src []byte) *parser {
	p := &parser{path: path, src: src, s: string(src), ctxStart: -1}
	p.f = &design.File{Path: path, Lang: design.VHDL}
	lx := lexer{src: src}
	p.toks = make([]tok, 0, len(src)/4+16)
	for {
		t := lx.next()
		if t.kind == TokComment {
			p.comments = append(p.comments, t)
			continue
		}
		p.toks = append(p.toks, t)
		if t.kind == tokEOF {
			break
		}
	}
	return p
}

// ---- token helpers

func (p *parser) cur() tok { return p.toks[p.pos] }

func (p *parser) peek(n int) tok {
	if i := p.pos + n; i >= 0 && i < len(p.toks) {
		return p.toks[i]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) at(id uint8) bool { return p.toks[p.pos].id == id && id != 0 }

func (p *parser) eof() bool { return p.toks[p.pos].kind == tokEOF }

func (p *parser) advance() tok {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) accept(id uint8) bool {
	if p.at(id) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) text(t tok) string { return p.s[t.start:t.end] }

func (p *parser) prevEnd() int {
	if p.pos == 0 {
		return 0
	}
	return int(p.toks[p.pos-1].end)
}

func (p *parser) curStart() int { return int(p.toks[p.pos].start) }

func isName(t tok) bool { return t.kind == TokIdent || t.kind == TokExtIdent }

func (p *parser) span(start, end int) design.Span {
	return design.Span{File: p.path, Start: start, End: end}
}

// spanFrom spans from start to the end of the last token consumed (empty
// when nothing was consumed since start).
func (p *parser) spanFrom(start int) design.Span {
	return design.Span{File: p.path, Start: start, End: max(start, p.prevEnd())}
}

func (p *parser) tspan(t tok) design.Span {
	return design.Span{File: p.path, Start: int(t.start), End: int(t.end)}
}

// ---- diagnostics

func (p *parser) errSpan(sp design.Span, msg string) {
	if sp.End < sp.Start {
		sp.End = sp.Start
	}
	if len(p.f.Diags) >= maxDiags {
		return
	}
	if n := len(p.f.Diags); n > 0 && p.f.Diags[n-1].Span.Start == sp.Start {
		return // one error per place: cascades say nothing new
	}
	p.f.Diags = append(p.f.Diags, design.Diag{Span: sp, Severity: design.Error, Message: msg, Code: "syntax"})
}

// describe names a token for a message.
func (p *parser) describe(t tok) string {
	if t.kind == tokEOF {
		return "end of file"
	}
	s := p.text(t)
	if len(s) > 24 {
		s = s[:24] + "..."
	}
	return "'" + s + "'"
}

// errExpected reports that what was expected at the current token. The
// error sits on the token found, or just after the previous token when the
// token found is on a later line (the usual missing ';' at a line end).
func (p *parser) errExpected(what string) {
	t := p.cur()
	msg := "expected " + what + ", found " + p.describe(t)
	pe := p.prevEnd()
	if t.kind == tokEOF || (p.pos > 0 && hasNewline(p.src[pe:t.start])) {
		p.errSpan(p.span(pe, pe), msg)
		return
	}
	p.errSpan(p.tspan(t), msg)
}

func hasNewline(b []byte) bool {
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}

// expect consumes the token id or reports what was expected.
func (p *parser) expect(id uint8, what string) bool {
	if p.accept(id) {
		return true
	}
	p.errExpected(what)
	return false
}

// expectSemi consumes ';' or reports it missing and resynchronises.
func (p *parser) expectSemi(after string) {
	if p.accept(opSemi) {
		return
	}
	p.errExpected("';' " + after)
	if p.pos > 0 && hasNewline(p.src[p.prevEnd():p.cur().start]) {
		return // the ';' at the end of the line is missing: go on with the next line
	}
	p.skipStatement()
}

// stopKw are tokens no statement or declaration contains: error recovery
// never skips past them.
var stopKw = func() (t [256]bool) {
	for _, k := range []uint8{kwEnd, kwBegin, kwArchitecture, kwPackage, kwContext, kwLibrary,
		kwSignal, kwConstant, kwVariable, kwType, kwSubtype, kwComponent, kwFunction, kwProcedure,
		kwAlias, kwAttribute, kwShared, kwImpure, kwPure, kwProcess, kwElsif, kwIf, kwCase,
		kwWhile, kwWait, kwAssert, kwUse} {
		t[k] = true
	}
	return
}()

// skipStatement advances past the next ';' or to a token that starts
// something new.
func (p *parser) skipStatement() {
	for {
		t := p.cur()
		if t.kind == tokEOF {
			return
		}
		if t.id == opSemi {
			p.pos++
			return
		}
		if stopKw[t.id] && t.kind == TokKeyword {
			return
		}
		p.pos++
	}
}

// enter guards recursion depth; callers that get false must return.
func (p *parser) enter() bool {
	if p.dead {
		return false
	}
	p.depth++
	if p.depth > maxDepth {
		p.errSpan(p.tspan(p.cur()), "nesting too deep; the rest of the file is not analysed")
		p.dead = true
		p.pos = len(p.toks) - 1
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

// ---- allocation

func (p *parser) newExpr(op design.ExprOp, text string, start, end int) *design.Expr {
	if len(p.exprSlab) == cap(p.exprSlab) {
		p.exprSlab = make([]design.Expr, 0, 128)
	}
	p.exprSlab = append(p.exprSlab, design.Expr{Op: op, Text: text, Span: design.Span{File: p.path, Start: start, End: end}})
	return &p.exprSlab[len(p.exprSlab)-1]
}

func (p *parser) args(list ...*design.Expr) []*design.Expr {
	n := len(list)
	if n > 32 {
		out := make([]*design.Expr, n)
		copy(out, list)
		return out
	}
	if cap(p.argSlab)-len(p.argSlab) < n {
		p.argSlab = make([]*design.Expr, 0, 256)
	}
	l := len(p.argSlab)
	p.argSlab = append(p.argSlab, list...)
	return p.argSlab[l : l+n : l+n]
}

func (p *parser) newDecl(kind design.DeclKind, name string, sp design.Span) *design.Decl {
	if len(p.declSlab) == cap(p.declSlab) {
		p.declSlab = make([]design.Decl, 0, 64)
	}
	p.declSlab = append(p.declSlab, design.Decl{Kind: kind, Name: name, Span: sp})
	return &p.declSlab[len(p.declSlab)-1]
}

// push makes s the current scope and returns the previous one. While a
// scope is current its Refs live in a scratch buffer for its nesting level;
// pop gives the scope an exact-size copy.
func (p *parser) push(s *design.Scope) *design.Scope {
	parent := p.sc
	p.level++
	for len(p.refBufs) <= p.level {
		p.refBufs = append(p.refBufs, nil)
	}
	s.Refs = append(p.refBufs[p.level][:0], s.Refs...)
	p.sc = s
	return parent
}

// pop ends the current scope and makes parent current.
func (p *parser) pop(parent *design.Scope) {
	if s := p.sc; s != nil && p.level > 0 {
		buf := s.Refs
		s.Refs = nil
		if len(buf) > 0 {
			s.Refs = append(make([]design.Ref, 0, len(buf)), buf...)
		}
		p.refBufs[p.level] = buf[:0]
		p.level--
	}
	p.sc = parent
}

func (p *parser) newScope(kind design.ScopeKind, name string, ns design.Span, start int) *design.Scope {
	s := &design.Scope{Kind: kind, Name: name, NameSpan: ns, Full: p.span(start, start)}
	if p.sc != nil {
		p.sc.Scopes = append(p.sc.Scopes, s)
	}
	return s
}

func (p *parser) addRef(kind design.RefKind, name string, sp design.Span) int {
	if p.sc == nil {
		return -1
	}
	p.sc.Refs = append(p.sc.Refs, design.Ref{Kind: kind, Name: name, Span: sp})
	return len(p.sc.Refs) - 1
}

func (p *parser) setRefKind(i int, kind design.RefKind) {
	if p.sc != nil && i >= 0 && i < len(p.sc.Refs) {
		p.sc.Refs[i].Kind = kind
	}
}

func (p *parser) fold(start, end int) {
	if end > start && end <= len(p.src) && hasNewline(p.src[start:end]) {
		p.f.Folds = append(p.f.Folds, p.span(start, end))
	}
}

// collapse returns the source text of tokens [i0, i1) with every gap of
// whitespace or comments turned into one space.
func (p *parser) collapse(i0, i1 int) string {
	if i1 <= i0 || i1 > len(p.toks) {
		return ""
	}
	start, end := int(p.toks[i0].start), int(p.toks[i1-1].end)
	simple := true
	for i := i0 + 1; i < i1; i++ {
		gap := p.src[p.toks[i-1].end:p.toks[i].start]
		if len(gap) > 1 || (len(gap) == 1 && gap[0] != ' ') {
			simple = false
			break
		}
	}
	if simple {
		return p.s[start:end]
	}
	b := make([]byte, 0, end-start)
	for i := i0; i < i1; i++ {
		if i > i0 && p.toks[i].start > p.toks[i-1].end {
			b = append(b, ' ')
		}
		b = append(b, p.s[p.toks[i].start:p.toks[i].end]...)
	}
	return string(b)
}

// lower returns s in lower case, without allocating when it already is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// lowerTo writes s in lower case to buf, which must hold it, and returns
// that part of buf: a map key that costs no allocation.
func lowerTo(buf []byte, s string) []byte {
	b := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}

func eqFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ---- design file and context clauses

// unitStart reports whether the current token begins a library unit or a
// context item, which ends whatever unit is open.
func (p *parser) unitStart() bool {
	t := p.cur()
	if t.kind != TokKeyword {
		return false
	}
	switch t.id {
	case kwEntity, kwArchitecture, kwConfiguration, kwLibrary:
		return true
	case kwContext:
		return true
	case kwPackage:
		// package p is new q ...; inside a declarative part is a declaration.
		return !(isName(p.peek(1)) && p.peek(2).id == kwIs && p.peek(3).id == kwNew)
	}
	return false
}

func (p *parser) designFile() {
	for !p.eof() {
		before := p.pos
		t := p.cur()
		if p.ctxStart < 0 && (t.id == kwLibrary || t.id == kwUse || t.id == kwContext) {
			p.ctxStart = int(t.start)
		}
		switch t.id {
		case kwLibrary:
			p.libraryClause(true)
		case kwUse:
			p.useClause(true)
		case kwContext:
			if isName(p.peek(1)) && p.peek(2).id == kwIs {
				p.contextDecl()
			} else {
				p.contextRef()
			}
		case kwEntity:
			p.entity()
		case kwArchitecture:
			p.architecture()
		case kwPackage:
			p.pkg()
		case kwConfiguration:
			p.configuration()
		default:
			p.errSpan(p.tspan(t), "expected a design unit (entity, architecture, package, configuration), found "+p.describe(t))
			p.pos++
			for !p.eof() && !p.unitStart() && !p.at(kwUse) {
				p.pos++
			}
		}
		if p.pos == before {
			p.pos++
		}
	}
}

// libraryClause: library a, b;
func (p *parser) libraryClause(top bool) {
	p.advance()
	for {
		t := p.cur()
		if !isName(t) {
			p.errExpected("library name")
			break
		}
		p.pos++
		name := p.text(t)
		r := design.Ref{Kind: design.RefUnit, Name: name, Span: p.tspan(t), Text: name}
		if top {
			p.f.Libraries = append(p.f.Libraries, r)
		} else if p.sc != nil {
			p.sc.Refs = append(p.sc.Refs, r)
		}
		if !p.accept(opComma) {
			break
		}
	}
	p.expectSemi("after library clause")
}

// useClause: use lib.pkg.item, ...;
func (p *parser) useClause(top bool) {
	start := p.advance()
	for {
		i0 := p.pos
		var parts [8]tok
		n := 0
		for {
			t := p.cur()
			if !isName(t) && t.id != kwAll && t.kind != TokString && t.kind != TokChar {
				p.errExpected("selected name in use clause")
				break
			}
			if n < len(parts) {
				parts[n] = t
				n++
			}
			p.pos++
			if !p.accept(opDot) {
				break
			}
		}
		if n > 0 {
			text := p.collapse(i0, p.pos)
			ni := 0
			if n > 1 && isName(parts[1]) {
				ni = 1
			}
			r := design.Ref{Kind: design.RefUnit, Name: p.text(parts[ni]), Span: p.tspan(parts[ni]), Text: text}
			for _, pt := range parts[ni+1 : n] {
				r.Path = append(r.Path, p.text(pt))
				r.PathSpans = append(r.PathSpans, p.tspan(pt))
			}
			if top {
				p.f.Libraries = append(p.f.Libraries, r)
			} else if p.sc != nil {
				p.sc.Refs = append(p.sc.Refs, r)
			}
			lib := p.text(parts[0])
			if n >= 3 && isName(parts[1]) && !eqFold(lib, "ieee") && !eqFold(lib, "std") {
				item := p.text(parts[2])
				if parts[2].id == kwAll {
					item = "all"
				}
				im := design.Import{Pkg: p.text(parts[1]), PkgSpan: p.tspan(parts[1]), Name: item,
					Full: p.span(int(start.start), int(parts[n-1].end))}
				if top {
					p.pending = append(p.pending, im)
				} else if p.sc != nil {
					p.sc.Imports = append(p.sc.Imports, im)
				}
			}
		}
		if !p.accept(opComma) {
			break
		}
	}
	p.expectSemi("after use clause")
}

// contextRef: context lib.ctx, ...;
func (p *parser) contextRef() {
	p.advance()
	for {
		i0 := p.pos
		var last tok
		for isName(p.cur()) {
			last = p.advance()
			if !p.accept(opDot) {
				break
			}
		}
		if p.pos == i0 {
			p.errExpected("context name")
			break
		}
		p.f.Libraries = append(p.f.Libraries, design.Ref{Kind: design.RefUnit, Name: p.text(last),
			Span: p.tspan(last), Text: p.collapse(i0, p.pos)})
		if !p.accept(opComma) {
			break
		}
	}
	p.expectSemi("after context reference")
}

// contextDecl: context c is ... end [context] [c]; parsed and skipped.
func (p *parser) contextDecl() {
	p.advance()
	name := p.advance()
	p.advance() // is
	for !p.eof() && !p.at(kwEnd) {
		if p.at(kwEntity) || p.at(kwArchitecture) || p.at(kwPackage) || p.at(kwConfiguration) {
			p.errExpected("'end' to close context " + p.text(name))
			return
		}
		p.pos++
	}
	p.endOf(kwContext, 0, p.text(name), "context")
}

// takePending moves the context clause's imports into a unit's scope.
func (p *parser) takePending(s *design.Scope) {
	if len(p.pending) > 0 {
		s.Imports = append(s.Imports, p.pending...)
		p.pending = p.pending[:0:0]
	}
}

// endOf parses "end [kw [kw2]] [name] ;" and reports whether 'end' was
// there. A missing 'end' is reported with what.
func (p *parser) endOf(kw, kw2 uint8, name, what string) bool {
	if !p.at(kwEnd) {
		p.errExpected("'end' to close " + what)
		return false
	}
	p.pos++
	if kw != 0 && p.accept(kw) && kw2 != 0 {
		p.expect(kw2, "'"+kwNames[kw2]+"'")
	} else if kw != 0 && p.cur().kind == TokKeyword && (p.at(kwEntity) || p.at(kwArchitecture) ||
		p.at(kwPackage) || p.at(kwConfiguration) || p.at(kwContext)) {
		p.errSpan(p.tspan(p.cur()), "'end "+p.text(p.cur())+"' does not close "+what)
		p.pos++
		p.accept(kwBody)
	}
	if t := p.cur(); isName(t) || t.kind == TokString {
		if name != "" && !eqFold(p.text(t), name) {
			p.errSpan(p.tspan(t), "'"+p.text(t)+"' does not match the name '"+name+"'")
		}
		p.pos++
	}
	p.expectSemi("after 'end'")
	return true
}

// closeUnit sets a unit's Full end: the end of its last token, or EOF
// when the source ended inside it.
func (p *parser) closeUnit(u *design.Unit, ended bool) {
	end := p.prevEnd()
	if !ended && p.eof() {
		end = len(p.src)
	}
	u.Full.End = end
	if u.Body != nil {
		u.Body.Full = u.Full
	}
	p.fold(u.Full.Start, u.Full.End)
	p.f.Units = append(p.f.Units, u)
}

// ---- units

func (p *parser) unitName(what string) (string, design.Span) {
	t := p.cur()
	if isName(t) {
		p.pos++
		return p.text(t), p.tspan(t)
	}
	p.errExpected(what)
	pe := p.prevEnd()
	return "", p.span(pe, pe)
}

// newUnit starts a design unit at its keyword kwTok: its doc, its name
// (what names it in an error) and its scope, which takes the pending context
// clause.
func (p *parser) newUnit(kind design.UnitKind, kwTok tok, what string) *design.Unit {
	u := &design.Unit{Kind: kind, Full: p.tspan(kwTok)}
	u.Doc = p.doc(int(kwTok.start), int(kwTok.end), false)
	if u.Doc == "" && p.ctxStart >= 0 { // the comment above the context clause
		u.Doc = p.doc(p.ctxStart, p.ctxStart, true)
	}
	p.ctxStart = -1
	u.Name, u.NameSpan = p.unitName(what)
	u.Body = &design.Scope{Kind: design.ScopeUnit, Name: u.Name, NameSpan: u.NameSpan}
	p.takePending(u.Body)
	return u
}

func (p *parser) entity() {
	kwTok := p.advance()
	u := p.newUnit(design.UnitEntity, kwTok, "entity name")
	p.push(u.Body)
	p.expect(kwIs, "'is' after entity name")
	p.unitHeader(u, "entity")
	p.declarativePart(false)
	if p.accept(kwBegin) {
		p.concurrentStatements(false)
	}
	ended := p.endOf(kwEntity, 0, u.Name, "entity "+u.Name)
	p.closeUnit(u, ended)
	p.pop(nil)
}

// unitHeader parses the generic and port clauses of an entity, component,
// package or block.
func (p *parser) unitHeader(u *design.Unit, what string) {
	for {
		switch {
		case p.at(kwGeneric) && p.peek(1).id != kwMap:
			p.pos++
			u.ParamList, u.Params = p.interfaceList(design.DeclParam, "generic", u.Params)
			p.expectSemi("after generic clause")
		case p.at(kwPort) && p.peek(1).id != kwMap:
			p.pos++
			u.PortList, u.Ports = p.interfaceList(design.DeclPort, "port", u.Ports)
			p.expectSemi("after port clause")
		default:
			return
		}
	}
}

func (p *parser) architecture() {
	kwTok := p.advance()
	u := p.newUnit(design.UnitArchitecture, kwTok, "architecture name")
	p.push(u.Body)
	if p.expect(kwOf, "'of' after architecture name") {
		u.Of, u.OfSpan = p.unitName("entity name after 'of'")
		if u.Of != "" {
			p.addRef(design.RefUnit, u.Of, u.OfSpan)
		}
	}
	p.expect(kwIs, "'is' after entity name")
	p.declarativePart(true)
	p.expect(kwBegin, "'begin' before architecture statements")
	p.concurrentStatements(false)
	ended := p.endOf(kwArchitecture, 0, u.Name, "architecture "+u.Name)
	p.closeUnit(u, ended)
	p.pop(nil)
}

func (p *parser) pkg() {
	kwTok := p.advance()
	if p.accept(kwBody) {
		u := p.newUnit(design.UnitPackageBody, kwTok, "package name")
		u.Of, u.OfSpan = u.Name, u.NameSpan
		p.push(u.Body)
		if u.Of != "" {
			p.addRef(design.RefUnit, u.Of, u.OfSpan)
		}
		p.expect(kwIs, "'is' after package body name")
		p.declarativePart(false)
		ended := p.endOf(kwPackage, kwBody, u.Name, "package body "+u.Name)
		p.closeUnit(u, ended)
		p.pop(nil)
		return
	}
	u := p.newUnit(design.UnitPackage, kwTok, "package name")
	p.push(u.Body)
	p.expect(kwIs, "'is' after package name")
	if p.accept(kwNew) {
		// package p is new lib.q generic map (...);
		p.instantiatedName(design.RefUnit)
		if p.at(kwGeneric) {
			p.pos++
			p.expect(kwMap, "'map' after 'generic'")
			u.ParamList, _ = p.assocList("generic map")
		}
		p.expectSemi("after package instantiation")
		p.closeUnit(u, true)
		p.pop(nil)
		return
	}
	if p.at(kwGeneric) && p.peek(1).id != kwMap {
		p.pos++
		u.ParamList, u.Params = p.interfaceList(design.DeclParam, "generic", nil)
		p.expectSemi("after generic clause")
		if p.at(kwGeneric) && p.peek(1).id == kwMap {
			p.pos += 2
			p.assocList("generic map")
			p.expectSemi("after generic map")
		}
	}
	p.declarativePart(false)
	ended := p.endOf(kwPackage, 0, u.Name, "package "+u.Name)
	p.closeUnit(u, ended)
	p.pop(nil)
}

// instantiatedName parses lib.name and records one Ref of kind for it.
func (p *parser) instantiatedName(kind design.RefKind) {
	i0 := p.pos
	var parts [4]tok
	n := 0
	for isName(p.cur()) {
		t := p.advance()
		if n < len(parts) {
			parts[n] = t
			n++
		}
		if !p.accept(opDot) {
			break
		}
	}
	if n == 0 {
		p.errExpected("name")
		return
	}
	last := parts[n-1]
	if p.sc != nil {
		p.sc.Refs = append(p.sc.Refs, design.Ref{Kind: kind, Name: p.text(last), Span: p.tspan(last), Text: p.collapse(i0, p.pos)})
	}
}

// configuration declarations are parsed for their names and skipped.
func (p *parser) configuration() {
	kwTok := p.advance()
	u := p.newUnit(design.UnitConfiguration, kwTok, "configuration name")
	if p.expect(kwOf, "'of' after configuration name") {
		u.Of, u.OfSpan = p.unitName("entity name after 'of'")
		if u.Of != "" {
			u.Body.Refs = append(u.Body.Refs, design.Ref{Kind: design.RefUnit, Name: u.Of, Span: u.OfSpan})
		}
	}
	p.expect(kwIs, "'is' after entity name")
	depth := 0
	for !p.eof() {
		if p.at(kwFor) {
			depth++
		} else if p.at(kwEnd) {
			if p.peek(1).id == kwFor {
				depth--
				p.pos += 2
				p.expectSemi("after 'end for'")
				continue
			}
			if depth <= 0 {
				break
			}
			p.pos++
			continue
		} else if p.at(kwEntity) || p.at(kwArchitecture) || p.at(kwPackage) || p.at(kwLibrary) {
			if p.peek(-1).id != kwUse {
				break
			}
		}
		p.pos++
	}
	ended := p.endOf(kwConfiguration, 0, u.Name, "configuration "+u.Name)
	p.closeUnit(u, ended)
}
