package vhdl

import "gatewave.dev/sessiond/hdl/design"

// builtinTypes are the predefined types of std.standard and
// ieee.std_logic_1164, reported as Type.Keyword.
var builtinTypes = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{"bit", "boolean", "character", "integer", "natural", "positive",
		"real", "string", "time", "delay_length", "bit_vector", "boolean_vector", "integer_vector",
		"real_vector", "time_vector", "severity_level", "file_open_kind", "file_open_status",
		"std_logic", "std_ulogic", "std_logic_vector", "std_ulogic_vector"} {
		m[s] = s
	}
	return m
}()

func builtinType(name string) string {
	if len(name) > 24 {
		return ""
	}
	var buf [24]byte
	return builtinTypes[string(lowerTo(buf[:], name))]
}

// looksLikeStatement reports whether the current token starts a
// concurrent or sequential statement rather than a declaration.
func (p *parser) looksLikeStatement() bool {
	t := p.cur()
	if isName(t) || t.id == opLParen || t.id == opDLT {
		return true
	}
	switch t.id {
	case kwProcess, kwAssert, kwWith, kwFor, kwIf, kwCase, kwBlock, kwPostponed, kwWait,
		kwReport, kwReturn, kwNull, kwWhile, kwLoop, kwNext, kwExit:
		return true
	}
	return false
}

// declarativePart parses declarations until 'begin', 'end', the end of the
// file or the next unit. withStatements says a statement part follows, so
// a statement where a declaration was expected means 'begin' is missing.
func (p *parser) declarativePart(withStatements bool) {
	for {
		t := p.cur()
		if t.kind == tokEOF || t.id == kwBegin || t.id == kwEnd || p.unitStart() {
			return
		}
		before := p.pos
		if p.declItem() {
			if p.pos == before {
				p.pos++
			}
			continue
		}
		if withStatements && p.looksLikeStatement() {
			p.errExpected("'begin' before statements")
			return
		}
		p.errSpan(p.tspan(t), "unexpected "+p.describe(t)+" in declarative part")
		p.pos++
		p.skipStatement()
	}
}

// declItem parses one declaration and reports whether there was one.
func (p *parser) declItem() bool {
	if !p.enter() {
		return true
	}
	defer p.leave()
	switch p.cur().id {
	case kwSignal:
		p.objectDecl(design.DeclSignal, "signal")
	case kwConstant:
		p.objectDecl(design.DeclConstant, "constant")
	case kwVariable, kwShared:
		p.objectDecl(design.DeclVar, "variable")
	case kwFile:
		p.objectDecl(design.DeclVar, "file")
	case kwType:
		p.typeDecl()
	case kwSubtype:
		p.subtypeDecl()
	case kwComponent:
		p.componentDecl()
	case kwFunction, kwProcedure, kwPure, kwImpure:
		if d := p.subprogram(false); d != nil && p.sc != nil {
			p.sc.Decls = append(p.sc.Decls, d)
		}
	case kwAlias:
		p.aliasDecl()
	case kwAttribute, kwGroup, kwDisconnect:
		// The entity class (signal, constant, ...) is part of the statement.
		p.pos++
		for !p.eof() && !p.at(opSemi) && !p.at(kwEnd) && !p.at(kwBegin) {
			p.pos++
		}
		p.expectSemi("after attribute")
	case kwUse:
		p.useClause(false)
	case kwPackage: // package p is new lib.q generic map (...);
		p.pos++
		p.skipStatement()
	case kwFor: // configuration specification
		p.pos++
		p.skipStatement()
		if p.at(kwEnd) && p.peek(1).id == kwFor {
			p.pos += 2
			p.expectSemi("after 'end for'")
		}
	default:
		return false
	}
	return true
}

// names parses ident {, ident}.
func (p *parser) names(what string) []tok {
	var out []tok
	for {
		t := p.cur()
		if !isName(t) {
			p.errExpected(what)
			return out
		}
		p.pos++
		out = append(out, t)
		if !p.accept(opComma) {
			return out
		}
	}
}

// objectDecl: signal|constant|variable|shared variable|file names : subtype [:= expr];
func (p *parser) objectDecl(kind design.DeclKind, what string) {
	start := p.curStart()
	if p.accept(kwShared) {
		p.expect(kwVariable, "'variable' after 'shared'")
	} else {
		p.pos++
	}
	names := p.names(what + " name")
	if len(names) == 0 {
		p.skipStatement()
		return
	}
	var typ design.Type
	var val *design.Expr
	if p.expect(opColon, "':' after "+what+" name") {
		typ = p.subtypeIndication()
		if p.at(kwBus) || p.at(kwRegister) {
			p.pos++
		}
		if p.accept(opVarAssign) {
			val = p.expr()
		}
		if kind == design.DeclVar && what == "file" {
			if p.accept(kwOpen) {
				p.expr()
			}
			if p.accept(kwIs) {
				p.expr()
			}
		}
	}
	p.expectSemi("after " + what + " declaration")
	full := p.spanFrom(start)
	doc := p.doc(start, full.End, false)
	for _, n := range names {
		d := p.newDecl(kind, p.text(n), p.tspan(n))
		d.Full, d.Type, d.Value, d.Doc = full, typ, val, doc
		p.sc.Decls = append(p.sc.Decls, d)
	}
}

// subtypeIndication: [resolution] type_mark [index_constraint...] [range constraint]
func (p *parser) subtypeIndication() design.Type {
	var typ design.Type
	i0 := p.pos
	if p.at(opLParen) { // element resolution: (resolved) std_ulogic_vector
		p.skipParens()
	}
	ri := p.typeMark(&typ)
	if ri >= -1 && isName(p.cur()) && p.peek(1).id != opColon && p.peek(1).id != opComma &&
		!hasNewline(p.src[p.prevEnd():p.cur().start]) { // resolution function then type mark
		p.setRefKind(ri, design.RefCall)
		typ = design.Type{}
		p.typeMark(&typ)
	}
	for p.at(opLParen) {
		typ.Packed = append(typ.Packed, p.indexConstraint()...)
	}
	if p.accept(kwRange) {
		if !p.accept(opBox) {
			typ.Packed = append(typ.Packed, p.rangeConstraint())
		}
	}
	typ.Text = p.collapse(i0, p.pos)
	return typ
}

// skipParens skips a balanced parenthesised group.
func (p *parser) skipParens() {
	depth := 0
	for !p.eof() {
		switch p.cur().id {
		case opLParen:
			depth++
		case opRParen:
			depth--
			if depth <= 0 {
				p.pos++
				return
			}
		case opSemi:
			return
		}
		p.pos++
	}
}

// typeMark parses a (selected) type name into typ and records a RefType;
// it returns the Ref's index, or -2 when there was no name.
func (p *parser) typeMark(typ *design.Type) int {
	t := p.cur()
	if !isName(t) {
		p.errExpected("type name")
		return -2
	}
	i0 := p.pos
	p.pos++
	ri := p.addRef(design.RefType, p.text(t), p.tspan(t))
	last := t
	for p.at(opDot) && isName(p.peek(1)) {
		last = p.peek(1)
		p.pos += 2
		if ri >= 0 {
			r := &p.sc.Refs[ri]
			r.Path = append(r.Path, p.text(last))
			r.PathSpans = append(r.PathSpans, p.tspan(last))
		}
	}
	if p.at(opTick) && (isName(p.peek(1)) || p.peek(1).id == kwSubtype || p.peek(1).id == kwRange) && p.peek(2).id != opLParen {
		p.pos += 2 // t'base, x'subtype, x'element
	}
	name := p.collapse(i0, p.pos)
	typ.NameSpan = p.spanFrom(int(t.start))
	if kw := builtinType(name); kw != "" {
		typ.Keyword = kw
	} else {
		typ.Name = name
	}
	typ.Signed = eqFold(p.text(last), "signed")
	return ri
}

// indexConstraint: ( discrete_range {, discrete_range} )
func (p *parser) indexConstraint() []design.Range {
	p.pos++ // (
	var out []design.Range
	for {
		before := p.pos
		out = append(out, p.discreteRange())
		if p.pos == before {
			break
		}
		if !p.accept(opComma) {
			break
		}
	}
	if !p.accept(opRParen) {
		p.errExpected("')' after index constraint")
		// "(7 downto" then "b : in bit" on the next line: give the name back.
		if p.at(opColon) && p.pos >= 2 && isName(p.toks[p.pos-1]) &&
			hasNewline(p.src[p.toks[p.pos-2].end:p.toks[p.pos-1].start]) && len(out) > 0 {
			p.pos--
			r := &out[len(out)-1]
			*r = design.Range{Span: p.spanFrom(r.Span.Start)}
		}
	}
	return out
}

// discreteRange: l to|downto r | subtype_mark [range ...] | attr'range | open
func (p *parser) discreteRange() design.Range {
	start := p.curStart()
	if p.accept(kwOpen) {
		return design.Range{Span: p.spanFrom(start)}
	}
	nref := p.refCount()
	l := p.expr()
	switch {
	case p.at(kwTo) || p.at(kwDownto):
		down := p.at(kwDownto)
		p.pos++
		r := p.expr()
		return design.Range{Left: l, Right: r, Downto: down, Span: p.spanFrom(start)}
	case p.at(kwRange):
		p.markTypeRef(l, nref)
		p.pos++
		if p.accept(opBox) {
			return design.Range{Span: p.spanFrom(start)}
		}
		r := p.rangeConstraint()
		r.Span = p.spanFrom(start)
		return r
	}
	p.markTypeRef(l, nref)
	return design.Range{Span: p.spanFrom(start)}
}

func (p *parser) refCount() int {
	if p.sc == nil {
		return 0
	}
	return len(p.sc.Refs)
}

// markTypeRef turns the one Ref a plain name expression produced into a
// RefType (a subtype mark used as a discrete range).
func (p *parser) markTypeRef(e *design.Expr, nref int) {
	if e != nil && (e.Op == design.ExprIdent || e.Op == design.ExprMember) && p.refCount() == nref+1 {
		p.setRefKind(nref, design.RefType)
	}
}

// rangeConstraint: l to|downto r | attr'range
func (p *parser) rangeConstraint() design.Range {
	start := p.curStart()
	l := p.expr()
	if p.at(kwTo) || p.at(kwDownto) {
		down := p.at(kwDownto)
		p.pos++
		r := p.expr()
		return design.Range{Left: l, Right: r, Downto: down, Span: p.spanFrom(start)}
	}
	return design.Range{Span: p.spanFrom(start)}
}

// namedDecl consumes a declaration's keyword and name and returns the decl
// of that kind; without a name it reports what it expected, skips the
// declaration and returns nil.
func (p *parser) namedDecl(kind design.DeclKind, what string) *design.Decl {
	p.pos++
	nt := p.cur()
	if !isName(nt) {
		p.errExpected(what)
		p.skipStatement()
		return nil
	}
	p.pos++
	return p.newDecl(kind, p.text(nt), p.tspan(nt))
}

// finishDecl gives d, which began at start, its full span and its doc.
func (p *parser) finishDecl(d *design.Decl, start int) {
	d.Full = p.spanFrom(start)
	d.Doc = p.doc(start, d.Full.End, false)
}

func (p *parser) typeDecl() {
	start := p.curStart()
	d := p.namedDecl(design.DeclTypedef, "type name")
	if d == nil {
		return
	}
	scope := p.sc
	var members []*design.Decl // enum literals, declared after the type
	if p.accept(kwIs) {
		i0 := p.pos
		switch p.cur().id {
		case opLParen:
			p.pos++
			d.Type.Aggregate = "enum"
			for {
				t := p.cur()
				if !isName(t) && t.kind != TokChar {
					p.errExpected("enumeration literal")
					break
				}
				p.pos++
				m := p.newDecl(design.DeclEnumMember, p.text(t), p.tspan(t))
				m.Full = m.Span
				m.Doc = p.doc(int(t.start), int(t.end), false)
				members = append(members, m)
				if !p.accept(opComma) {
					break
				}
			}
			p.expect(opRParen, "')' after enumeration literals")
			d.Type.Members = members
		case kwRange:
			p.pos++
			d.Type.Packed = []design.Range{p.rangeConstraint()}
			if p.accept(kwUnits) { // physical type
				for !p.eof() && !(p.at(kwEnd) && p.peek(1).id == kwUnits) && !p.unitStart() {
					p.pos++
				}
				p.endOf(kwUnits, 0, "", "units")
				p.pos-- // the ';' ends the type declaration
			}
		case kwArray:
			p.pos++
			var ranges []design.Range
			if p.at(opLParen) {
				ranges = p.indexConstraint()
			} else {
				p.errExpected("'(' after 'array'")
			}
			if p.expect(kwOf, "'of' after array index") {
				d.Type = p.subtypeIndication()
			}
			d.Type.Unpacked = ranges
		case kwRecord:
			rs := p.curStart()
			p.pos++
			d.Type.Aggregate = "struct"
			for isName(p.cur()) {
				es := p.curStart()
				names := p.names("field name")
				var ft design.Type
				if p.expect(opColon, "':' after field name") {
					ft = p.subtypeIndication()
				}
				p.expectSemi("after record element")
				full := p.spanFrom(es)
				doc := p.doc(es, full.End, false)
				for _, n := range names {
					f := p.newDecl(design.DeclField, p.text(n), p.tspan(n))
					f.Full, f.Type, f.Doc = full, ft, doc
					d.Type.Members = append(d.Type.Members, f)
				}
			}
			if p.at(kwEnd) {
				p.pos++
				p.expect(kwRecord, "'record' after 'end'")
				if isName(p.cur()) {
					p.pos++
				}
			} else {
				p.errExpected("'end record'")
			}
			p.fold(rs, p.prevEnd())
		case kwAccess:
			p.pos++
			d.Type = p.subtypeIndication()
		case kwFile:
			p.pos++
			if p.expect(kwOf, "'of' after 'file'") {
				p.typeMark(&d.Type)
			}
		case kwProtected:
			ps := p.curStart()
			p.pos++
			body := p.accept(kwBody)
			cs := p.newScope(design.ScopeClass, d.Name, d.Span, start)
			p.push(cs)
			p.declarativePart(false)
			p.pop(scope)
			if p.at(kwEnd) {
				p.pos++
				p.expect(kwProtected, "'protected' after 'end'")
				if body {
					p.expect(kwBody, "'body' after 'end protected'")
				}
				if isName(p.cur()) {
					p.pos++
				}
			} else {
				p.errExpected("'end protected'")
			}
			cs.Full = p.spanFrom(start)
			p.fold(ps, p.prevEnd())
			if body { // the body of a type declared elsewhere
				p.expectSemi("after protected body")
				cs.Full = p.spanFrom(start)
				return
			}
			d.Type.Members = cs.Decls
		default:
			p.errExpected("type definition")
			p.skipStatement()
			return
		}
		d.Type.Text = p.collapse(i0, p.pos)
	}
	p.expectSemi("after type declaration")
	p.finishDecl(d, start)
	scope.Decls = append(scope.Decls, d)
	scope.Decls = append(scope.Decls, members...)
}

func (p *parser) subtypeDecl() {
	start := p.curStart()
	d := p.namedDecl(design.DeclTypedef, "subtype name")
	if d == nil {
		return
	}
	if p.expect(kwIs, "'is' after subtype name") {
		d.Type = p.subtypeIndication()
	}
	p.expectSemi("after subtype declaration")
	p.finishDecl(d, start)
	p.sc.Decls = append(p.sc.Decls, d)
}

func (p *parser) componentDecl() {
	start := p.curStart()
	d := p.namedDecl(design.DeclComponent, "component name")
	if d == nil {
		return
	}
	p.accept(kwIs)
	var u design.Unit
	p.unitHeader(&u, "component")
	d.Members = append(u.Params, u.Ports...)
	p.endOf(kwComponent, 0, d.Name, "component "+d.Name)
	p.finishDecl(d, start)
	p.fold(start, d.Full.End)
	p.sc.Decls = append(p.sc.Decls, d)
}

func (p *parser) aliasDecl() {
	start := p.curStart()
	p.pos++
	nt := p.cur()
	if !isName(nt) && nt.kind != TokChar && nt.kind != TokString {
		p.errExpected("alias name")
		p.skipStatement()
		return
	}
	p.pos++
	d := p.newDecl(design.DeclAlias, p.text(nt), p.tspan(nt))
	if p.accept(opColon) {
		d.Type = p.subtypeIndication()
	}
	if p.expect(kwIs, "'is' in alias declaration") {
		d.Value = p.expr()
	}
	p.expectSemi("after alias declaration")
	p.finishDecl(d, start)
	p.sc.Decls = append(p.sc.Decls, d)
}

// subprogram parses a function or procedure declaration or body (or, in an
// interface list, a generic subprogram) and returns its Decl. A body's
// scope is added to the current scope.
func (p *parser) subprogram(inInterface bool) *design.Decl {
	start := p.curStart()
	if p.at(kwPure) || p.at(kwImpure) {
		p.pos++
	}
	isFunc := p.at(kwFunction)
	if !isFunc && !p.at(kwProcedure) {
		p.errExpected("'function' or 'procedure'")
		p.skipStatement()
		return nil
	}
	p.pos++
	nt := p.cur()
	if !isName(nt) && nt.kind != TokString {
		p.errExpected("subprogram name")
		p.skipStatement()
		return nil
	}
	p.pos++
	kind, skind, kw := design.DeclFunction, design.ScopeFunction, kwFunction
	if !isFunc {
		kind, skind, kw = design.DeclTask, design.ScopeTask, kwProcedure
	}
	d := p.newDecl(kind, p.text(nt), p.tspan(nt))
	if nt.kind != TokString {
		if p.funcs == nil {
			p.funcs = map[string]struct{}{}
		}
		p.funcs[lower(d.Name)] = struct{}{}
	}
	if p.at(kwGeneric) {
		p.pos++
		p.interfaceList(design.DeclParam, "generic", nil)
	}
	p.accept(kwParameter)
	if p.at(opLParen) {
		_, d.Members = p.interfaceList(design.DeclArg, "parameter", nil)
	}
	if isFunc && p.expect(kwReturn, "'return' after function parameters") {
		d.Type = p.subtypeIndication()
	}
	if inInterface {
		if p.accept(kwIs) && !p.accept(opBox) {
			p.expr()
		}
		d.Full = p.spanFrom(start)
		return d
	}
	switch {
	case p.at(opSemi):
		p.pos++
		p.finishDecl(d, start)
		return d
	case p.at(kwIs):
		p.pos++
		if p.at(kwNew) { // subprogram instantiation
			p.skipStatement()
			d.Full = p.spanFrom(start)
			return d
		}
	default:
		p.errExpected("';' or 'is' after subprogram specification")
		p.skipStatement()
		d.Full = p.spanFrom(start)
		return d
	}
	fs := p.newScope(skind, d.Name, d.Span, start)
	fs.Decl = d
	parent := p.push(fs)
	p.declarativePart(true)
	if p.expect(kwBegin, "'begin' before subprogram statements") || p.looksLikeStatement() {
		p.sequentialStatements()
	}
	p.endOf(kw, 0, d.Name, kwNames[kw]+" "+d.Name)
	p.pop(parent)
	d.Full = p.spanFrom(start)
	fs.Full = d.Full
	d.Doc = p.doc(start, d.Full.End, false)
	p.fold(start, d.Full.End)
	return d
}

// interfaceList parses ( element {; element} ) for generics, ports or
// subprogram parameters, appending to list. It returns the list's span,
// which ends where parsing stopped when the ')' is missing.
func (p *parser) interfaceList(kind design.DeclKind, what string, list []*design.Decl) (design.Span, []*design.Decl) {
	open := p.cur()
	if !p.accept(opLParen) {
		p.errExpected("'(' after '" + what + "'")
		return design.Span{}, list
	}
	for last := -1; ; {
		if p.pos == last && !p.eof() { // no progress: drop a token
			p.errSpan(p.tspan(p.cur()), "unexpected "+p.describe(p.cur())+" in "+what+" list")
			p.pos++
		}
		last = p.pos
		t := p.cur()
		if t.id == opRParen {
			break
		}
		if t.kind == tokEOF || p.unitStart() || t.id == kwEnd || t.id == kwBegin || t.id == kwIs || t.id == kwReturn ||
			((t.id == kwPort || t.id == kwGeneric) && p.peek(1).id == opLParen) {
			p.errExpected("')' to close " + what + " list")
			sp := p.spanFrom(int(open.start))
			p.fold(sp.Start, sp.End)
			return sp, list
		}
		before := p.pos
		list = p.interfaceElement(kind, what, list)
		if p.accept(opSemi) {
			if p.at(opRParen) {
				p.errSpan(p.tspan(p.toks[p.pos-1]), "unexpected ';' before ')' in "+what+" list")
			}
			continue
		}
		if p.at(opRParen) {
			break
		}
		if (isName(p.cur()) && p.peek(1).id == opColon) || p.at(kwSignal) || p.at(kwConstant) || p.at(kwVariable) {
			p.errExpected("';' after " + what + " declaration")
			continue
		}
		if p.eof() || p.unitStart() || p.at(kwEnd) || p.at(kwBegin) || p.at(kwIs) || p.at(kwReturn) || p.at(kwPort) || p.at(kwGeneric) {
			continue // reported as an unclosed list
		}
		p.errExpected("';' or ')' after " + what + " declaration")
		for !p.eof() && !p.at(opSemi) && !p.at(opRParen) && !p.unitStart() && !p.at(kwEnd) && !p.at(kwBegin) && !p.at(kwIs) {
			p.pos++
		}
		p.accept(opSemi)
		if p.pos == before {
			p.pos++
		}
	}
	close := p.advance()
	sp := p.span(int(open.start), int(close.end))
	p.fold(sp.Start, sp.End)
	return sp, list
}

func (p *parser) interfaceElement(kind design.DeclKind, what string, list []*design.Decl) []*design.Decl {
	start := p.curStart()
	switch p.cur().id {
	case kwType: // generic type
		p.pos++
		if t := p.cur(); isName(t) {
			p.pos++
			d := p.newDecl(design.DeclTypedef, p.text(t), p.tspan(t))
			d.Type = design.Type{Text: "type", Keyword: "type"}
			if p.accept(kwIs) { // 2019 'is private' and friends
				for !p.eof() && !p.at(opSemi) && !p.at(opRParen) {
					p.pos++
				}
			}
			p.finishDecl(d, start)
			return append(list, d)
		}
		p.errExpected("generic type name")
		return list
	case kwFunction, kwProcedure, kwPure, kwImpure:
		if d := p.subprogram(true); d != nil {
			return append(list, d)
		}
		return list
	case kwPackage: // generic package: skip
		depth := 0
		for !p.eof() {
			switch p.cur().id {
			case opLParen:
				depth++
			case opRParen:
				if depth == 0 {
					return list
				}
				depth--
			case opSemi:
				if depth == 0 {
					return list
				}
			}
			p.pos++
		}
		return list
	case kwSignal, kwConstant, kwVariable, kwFile:
		p.pos++
	}
	names := p.names(what + " name")
	if len(names) == 0 {
		return list
	}
	var typ design.Type
	var val *design.Expr
	dir := design.DirNone
	if kind == design.DeclPort || kind == design.DeclArg {
		dir = design.DirInput
	}
	if p.expect(opColon, "':' after "+what+" name") {
		switch p.cur().id {
		case kwIn:
			dir = design.DirInput
			p.pos++
		case kwOut:
			dir = design.DirOutput
			p.pos++
		case kwInout:
			dir = design.DirInout
			p.pos++
		case kwBuffer:
			dir = design.DirBuffer
			p.pos++
		case kwLinkage:
			dir = design.DirLinkage
			p.pos++
		}
		if kind == design.DeclParam && dir == design.DirInput {
			dir = design.DirNone
		}
		typ = p.subtypeIndication()
		p.accept(kwBus)
		if p.accept(opVarAssign) {
			val = p.expr()
		}
	}
	full := p.spanFrom(start)
	doc := p.doc(start, full.End, false)
	for _, n := range names {
		d := p.newDecl(kind, p.text(n), p.tspan(n))
		d.Full, d.Dir, d.Type, d.Value, d.Doc = full, dir, typ, val, doc
		list = append(list, d)
	}
	return list
}
