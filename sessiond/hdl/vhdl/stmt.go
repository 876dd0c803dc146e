package vhdl

import "gatewave.dev/sessiond/hdl/design"

// ---- concurrent statements

// concurrentStatements parses statements until 'end', the end of the file
// or the next unit; with alt it also stops at elsif, else and when (the
// alternatives of an if or case generate).
func (p *parser) concurrentStatements(alt bool) {
	for {
		t := p.cur()
		if t.kind == tokEOF || t.id == kwEnd || p.unitStart() {
			return
		}
		if alt && (t.id == kwElsif || t.id == kwElse || t.id == kwWhen) {
			return
		}
		before := p.pos
		p.concurrentStatement()
		if p.pos == before {
			p.errSpan(p.tspan(t), "unexpected "+p.describe(t)+" in statement part")
			p.pos++
		}
	}
}

// label parses "name :" when present.
func (p *parser) label() (string, design.Span, int) {
	start := p.curStart()
	if t := p.cur(); isName(t) && p.peek(1).id == opColon {
		p.pos += 2
		return p.text(t), p.tspan(t), start
	}
	return "", design.Span{}, start
}

func (p *parser) addLabel(name string, ns design.Span, start int) {
	if name == "" || p.sc == nil {
		return
	}
	d := p.newDecl(design.DeclLabel, name, ns)
	d.Full = p.spanFrom(start)
	p.sc.Decls = append(p.sc.Decls, d)
}

// instanceAhead reports whether the tokens ahead are name[.name]* followed
// by generic map, port map or ';' (a component instantiation).
func (p *parser) instanceAhead() bool {
	i := p.afterName()
	if i < 0 {
		return false
	}
	switch p.peek(i).id {
	case kwGeneric, kwPort, opSemi:
		return true
	}
	return false
}

// mapAhead reports whether the tokens ahead are a unit name followed by
// generic map or port map.
func (p *parser) mapAhead() bool {
	i := p.afterName()
	return i > 0 && (p.peek(i).id == kwGeneric || p.peek(i).id == kwPort) && p.peek(i+1).id == kwMap
}

// afterName returns the offset of the token after name{.name}, or -1.
func (p *parser) afterName() int {
	i := 0
	for {
		if !isName(p.peek(i)) {
			return -1
		}
		i++
		if p.peek(i).id != opDot {
			break
		}
		i++
	}
	return i
}

func (p *parser) concurrentStatement() {
	if !p.enter() {
		return
	}
	defer p.leave()
	name, ns, start := p.label()
	if p.at(kwPostponed) {
		p.pos++
	}
	switch p.cur().id {
	case kwProcess:
		p.process(name, ns, start)
		return
	case kwBlock:
		p.block(name, ns, start)
		return
	case kwFor:
		p.forGenerate(name, ns, start)
		return
	case kwIf:
		p.ifGenerate(name, ns, start)
		return
	case kwCase:
		p.caseGenerate(name, ns, start)
		return
	case kwEntity, kwComponent, kwConfiguration:
		p.instance(name, ns, start)
		return
	case kwAssert:
		p.assertion()
		return
	case kwWith:
		p.selectedAssign(start, design.AssignContinuous)
		return
	}
	if name != "" && p.instanceAhead() {
		p.instance(name, ns, start)
		return
	}
	t := p.cur()
	if !isName(t) && t.id != opLParen && t.id != opDLT {
		if name != "" {
			p.errExpected("concurrent statement after label")
			p.skipStatement()
		}
		return
	}
	if name == "" && p.mapAhead() {
		p.errSpan(p.tspan(t), "instance of '"+p.text(t)+"' needs a label")
		p.instance("", design.Span{}, start)
		return
	}
	nref := p.refCount()
	target := p.target()
	switch {
	case p.at(opLE):
		p.signalAssign(target, start, design.AssignContinuous)
	case p.at(opSemi):
		p.pos++
		p.markCall(target, nref)
	default:
		p.errExpected("'<=' or ';' after " + p.describe(p.toks[p.pos-1]))
		p.skipStatement()
	}
}

// target parses an assignment target: a name or an aggregate.
func (p *parser) target() *design.Expr {
	if p.at(opLParen) {
		return p.parenOrAggregate()
	}
	return p.primary()
}

// markCall turns the Ref of a procedure call statement's callee into RefCall.
func (p *parser) markCall(e *design.Expr, nref int) {
	if e == nil || p.sc == nil || nref >= len(p.sc.Refs) {
		return
	}
	switch e.Op {
	case design.ExprIdent, design.ExprMember, design.ExprCall, design.ExprIndex:
		p.sc.Refs[nref].Kind = design.RefCall
	}
}

func (p *parser) process(name string, ns design.Span, start int) {
	p.pos++ // process
	ps := p.newScope(design.ScopeProcess, name, ns, start)
	parent := p.push(ps)
	if p.accept(opLParen) {
		if !p.accept(kwAll) {
			for {
				if !isName(p.cur()) {
					p.errExpected("signal name in sensitivity list")
					break
				}
				p.name()
				if !p.accept(opComma) {
					break
				}
			}
		}
		p.expect(opRParen, "')' after sensitivity list")
	}
	p.accept(kwIs)
	p.declarativePart(true)
	p.expect(kwBegin, "'begin' before process statements")
	p.sequentialStatements()
	if p.at(kwEnd) && (p.peek(1).id == kwProcess || p.peek(1).id == kwPostponed) {
		p.pos += 2
		p.accept(kwProcess)
		p.endLabel(name)
		p.expectSemi("after 'end process'")
	} else {
		p.errExpected("'end process'")
	}
	p.pop(parent)
	ps.Full = p.spanFrom(start)
	p.fold(start, ps.Full.End)
	p.addLabel(name, ns, start)
}

// endLabel accepts the optional label after end ..., checking it.
func (p *parser) endLabel(name string) {
	if t := p.cur(); isName(t) {
		if name != "" && !eqFold(p.text(t), name) {
			p.errSpan(p.tspan(t), "'"+p.text(t)+"' does not match the label '"+name+"'")
		}
		p.pos++
	}
}

// endKw parses "end kw [label] ;" of a compound statement; without it the
// statement is reported unterminated and nothing is consumed.
func (p *parser) endKw(kw uint8, name string) {
	if p.at(kwEnd) && p.peek(1).id == kw {
		p.pos += 2
		p.endLabel(name)
		p.expectSemi("after 'end " + kwNames[kw] + "'")
		return
	}
	p.errExpected("'end " + kwNames[kw] + "'")
}

func (p *parser) block(name string, ns design.Span, start int) {
	p.pos++ // block
	if name == "" {
		p.errSpan(p.spanFrom(start), "block statement needs a label")
	}
	bs := p.newScope(design.ScopeBlock, name, ns, start)
	parent := p.push(bs)
	if p.at(opLParen) { // guard condition
		p.pos++
		p.expr()
		p.expect(opRParen, "')' after guard condition")
	}
	p.accept(kwIs)
	for {
		switch {
		case p.at(kwGeneric) || p.at(kwPort):
			kind, what := design.DeclParam, "generic"
			if p.at(kwPort) {
				kind, what = design.DeclPort, "port"
			}
			p.pos++
			if p.accept(kwMap) {
				p.assocList(what + " map")
			} else {
				_, bs.Decls = p.interfaceList(kind, what, bs.Decls)
			}
			p.expectSemi("after " + what + " clause")
			continue
		}
		break
	}
	p.declarativePart(true)
	p.expect(kwBegin, "'begin' before block statements")
	p.concurrentStatements(false)
	p.endKw(kwBlock, name)
	p.pop(parent)
	bs.Full = p.spanFrom(start)
	p.fold(start, bs.Full.End)
	p.addLabel(name, ns, start)
}

// generateBody: [declarations begin] statements [end [alt] ;]
func (p *parser) generateBody(gs *design.Scope, alt bool) {
	parent := p.push(gs)
	switch p.cur().id {
	case kwBegin:
		p.pos++
	case kwSignal, kwConstant, kwVariable, kwShared, kwFile, kwType, kwSubtype, kwComponent,
		kwFunction, kwProcedure, kwPure, kwImpure, kwAlias, kwAttribute, kwUse, kwFor, kwDisconnect:
		if p.at(kwFor) && p.peek(1).id != kwAll && !(isName(p.peek(1)) && (p.peek(2).id == opColon || p.peek(2).id == opComma)) {
			break // a for generate statement, not a configuration specification
		}
		p.declarativePart(true)
		p.expect(kwBegin, "'begin' after generate declarations")
	}
	p.concurrentStatements(true)
	// 2008: an if/case generate branch may end with "end [alternative_label];".
	if alt && p.at(kwEnd) && (p.peek(1).id == opSemi || (isName(p.peek(1)) && p.peek(2).id == opSemi)) {
		p.pos++
		if isName(p.cur()) {
			p.pos++
		}
		p.pos++ // ;
	}
	gs.Full.End = p.prevEnd()
	p.pop(parent)
}

func (p *parser) needGenerateLabel(name string, start int) {
	if name == "" {
		p.errSpan(p.spanFrom(start), "generate statement needs a label")
	}
}

func (p *parser) forGenerate(name string, ns design.Span, start int) {
	p.pos++ // for
	p.needGenerateLabel(name, start)
	gs := p.newScope(design.ScopeGenerate, name, ns, start)
	parent := p.push(gs)
	p.loopParam(design.DeclGenvar, start)
	p.pop(parent)
	p.expect(kwGenerate, "'generate'")
	p.generateBody(gs, false)
	p.endKw(kwGenerate, name)
	gs.Full = p.spanFrom(start)
	p.fold(start, gs.Full.End)
	p.addLabel(name, ns, start)
}

// loopParam parses "i in discrete_range" and declares i in the current scope.
func (p *parser) loopParam(kind design.DeclKind, start int) {
	t := p.cur()
	if !isName(t) {
		p.errExpected("loop parameter name")
		return
	}
	p.pos++
	d := p.newDecl(kind, p.text(t), p.tspan(t))
	p.sc.Decls = append(p.sc.Decls, d)
	if p.expect(kwIn, "'in' after loop parameter") {
		r := p.discreteRange()
		if r.Left != nil {
			d.Type.Packed = []design.Range{r}
		}
	}
	d.Full = p.spanFrom(start)
}

// altLabel parses the optional "alt :" of an if/case generate branch.
func (p *parser) altLabel() {
	if isName(p.cur()) && p.peek(1).id == opColon {
		p.pos += 2
	}
}

func (p *parser) ifGenerate(name string, ns design.Span, start int) {
	for first := true; ; first = false {
		bstart := p.curStart()
		kw := p.cur().id
		p.pos++ // if | elsif | else
		if first {
			p.needGenerateLabel(name, start)
		}
		gs := p.newScope(design.ScopeGenerate, name, ns, bstart)
		if first {
			gs.Full.Start = start
		}
		parent := p.push(gs)
		p.altLabel()
		if kw != kwElse {
			p.expr()
		}
		p.pop(parent)
		p.expect(kwGenerate, "'generate'")
		p.generateBody(gs, true)
		p.fold(gs.Full.Start, gs.Full.End)
		if kw == kwElse || !(p.at(kwElsif) || p.at(kwElse)) {
			break
		}
	}
	p.endKw(kwGenerate, name)
	p.fold(start, p.prevEnd())
	p.addLabel(name, ns, start)
}

func (p *parser) caseGenerate(name string, ns design.Span, start int) {
	p.pos++ // case
	p.needGenerateLabel(name, start)
	p.expr()
	p.expect(kwGenerate, "'generate' after case expression")
	for p.at(kwWhen) {
		bstart := p.curStart()
		p.pos++
		gs := p.newScope(design.ScopeGenerate, name, ns, bstart)
		parent := p.push(gs)
		p.altLabel()
		p.choices()
		p.pop(parent)
		p.expect(opArrow, "'=>' after choices")
		p.generateBody(gs, true)
		p.fold(bstart, gs.Full.End)
	}
	p.endKw(kwGenerate, name)
	p.fold(start, p.prevEnd())
	p.addLabel(name, ns, start)
}

// choices: choice {| choice}
func (p *parser) choices() {
	for {
		before := p.pos
		p.choice()
		if !p.accept(opBar) || p.pos == before {
			return
		}
	}
}

// instance parses a component, entity or configuration instantiation
// after its label.
func (p *parser) instance(name string, ns design.Span, start int) {
	inst := &design.Instance{Name: name, NameSpan: ns}
	switch p.cur().id {
	case kwEntity, kwConfiguration:
		p.pos++
	case kwComponent:
		p.pos++
		inst.Component = true
	default:
		inst.Component = true
	}
	var parts [4]tok
	n := 0
	for isName(p.cur()) {
		t := p.advance()
		if n < len(parts) {
			parts[n] = t
			n++
		}
		if !(p.at(opDot) && isName(p.peek(1))) {
			break
		}
		p.pos++
	}
	if n == 0 {
		p.errExpected("unit name to instantiate")
	} else {
		inst.Module, inst.ModuleSpan = p.text(parts[n-1]), p.tspan(parts[n-1])
		if n > 1 && !inst.Component {
			inst.Lib = p.text(parts[0])
		}
	}
	if !inst.Component && p.at(opLParen) && isName(p.peek(1)) && p.peek(2).id == opRParen {
		p.pos += 3 // (architecture)
	}
	if p.at(kwGeneric) {
		p.pos++
		p.expect(kwMap, "'map' after 'generic'")
		inst.ParamList, inst.Params = p.assocList("generic map")
	}
	if p.at(kwPort) {
		p.pos++
		p.expect(kwMap, "'map' after 'port'")
		inst.PortList, inst.Ports = p.assocList("port map")
	}
	if !p.accept(opSemi) {
		p.errExpected("';' after instance")
		if !p.unitStart() && !p.at(kwEnd) && !(isName(p.cur()) && p.peek(1).id == opColon) {
			p.skipStatement()
		}
	}
	inst.Full = p.spanFrom(start)
	p.fold(start, inst.Full.End)
	if p.sc != nil {
		p.sc.Instances = append(p.sc.Instances, inst)
	}
}

// assocList parses ( [formal =>] actual, ... ) of a generic or port map.
// Its span ends where parsing stopped when the ')' is missing.
func (p *parser) assocList(what string) (design.Span, []design.Conn) {
	open := p.cur()
	if !p.accept(opLParen) {
		p.errExpected("'(' after '" + what + "'")
		return design.Span{}, nil
	}
	var conns []design.Conn
	for last := -1; ; {
		if p.pos == last && !p.eof() { // no progress: drop a token
			p.errSpan(p.tspan(p.cur()), "unexpected "+p.describe(p.cur())+" in "+what)
			p.pos++
		}
		last = p.pos
		t := p.cur()
		if t.id == opRParen {
			break
		}
		if t.kind == tokEOF || t.id == opSemi || t.id == kwEnd || t.id == kwBegin || p.unitStart() || t.id == kwPort {
			p.errExpected("')' to close " + what)
			sp := p.spanFrom(int(open.start))
			if t.kind == tokEOF {
				sp.End = len(p.src)
			}
			return sp, conns
		}
		before := p.pos
		conns = append(conns, p.association())
		if p.accept(opComma) {
			continue
		}
		if p.at(opRParen) {
			break
		}
		if isName(p.cur()) && p.peek(1).id == opArrow {
			p.errExpected("',' between associations")
			continue
		}
		if p.pos == before {
			p.errExpected("association")
			p.pos++
		}
	}
	close := p.advance()
	sp := p.span(int(open.start), int(close.end))
	return sp, conns
}

// association: [formal =>] actual | open
func (p *parser) association() design.Conn {
	start := p.curStart()
	nref := p.refCount()
	var c design.Conn
	first := p.assocActual()
	if p.at(opArrow) {
		if p.sc != nil {
			p.sc.Refs = p.sc.Refs[:nref]
		}
		if b := formalName(first); b != nil {
			c.Name, c.NameSpan = b.Text, b.Span
		}
		p.pos++
		first = p.assocActual()
	}
	if first != nil && first.Op == design.ExprOther && first.Text == "open" {
		first = nil
	}
	c.Expr = first
	c.Full = p.spanFrom(start)
	return c
}

func (p *parser) assocActual() *design.Expr {
	if p.at(kwOpen) {
		t := p.advance()
		return p.newExpr(design.ExprOther, "open", int(t.start), int(t.end))
	}
	p.accept(kwInertial)
	return p.expr()
}

// formalName finds the formal's simple name in f, f(3), conv(f).
func formalName(e *design.Expr) *design.Expr {
	for i := 0; e != nil && i < 16; i++ {
		switch e.Op {
		case design.ExprIdent:
			return e
		case design.ExprCall:
			if len(e.Args) == 2 {
				e = e.Args[1]
				continue
			}
		}
		if len(e.Args) == 0 {
			return nil
		}
		e = e.Args[0]
	}
	return nil
}

// assertion: assert cond [report expr] [severity expr] ;
func (p *parser) assertion() {
	p.pos++
	p.expr()
	if p.accept(kwReport) {
		p.expr()
	}
	if p.accept(kwSeverity) {
		p.expr()
	}
	p.expectSemi("after assertion")
}

// ---- assignments

// signalAssign parses "<= [guarded] [delay] waveform [when c else ...];"
// after its target.
func (p *parser) signalAssign(lhs *design.Expr, start int, kind design.AssignKind) {
	p.pos++ // <=
	p.accept(kwGuarded)
	if p.accept(kwForce) {
		if p.at(kwIn) || p.at(kwOut) {
			p.pos++
		}
	} else if p.accept(kwRelease) {
		if p.at(kwIn) || p.at(kwOut) {
			p.pos++
		}
		p.expectSemi("after release")
		return
	}
	p.delayMechanism()
	var buf [8]*design.Expr
	rhs := buf[:0]
	for {
		if w := p.waveform(); w != nil {
			rhs = append(rhs, w)
		}
		if !p.at(kwWhen) {
			break
		}
		if p.caseAlternative() {
			p.addAssigns(kind, lhs, rhs, start)
			return
		}
		if !p.accept(kwElse) {
			break
		}
	}
	p.expectSemi("after signal assignment")
	p.addAssigns(kind, lhs, rhs, start)
}

// caseAlternative parses "when condition" of a conditional assignment.
// When '=>' follows, the 'when' began the next case alternative and the
// assignment's ';' is missing: it backs up to the 'when', reports that and
// returns true.
func (p *parser) caseAlternative() bool {
	save, nref := p.pos, p.refCount()
	p.pos++ // when
	p.choices()
	if !p.at(opArrow) {
		return false
	}
	p.pos = save
	if p.sc != nil {
		p.sc.Refs = p.sc.Refs[:nref]
	}
	p.errExpected("';' after assignment")
	return true
}

func (p *parser) addAssigns(kind design.AssignKind, lhs *design.Expr, rhs []*design.Expr, start int) {
	if p.sc == nil || lhs == nil {
		return
	}
	full := p.spanFrom(start)
	for _, r := range rhs {
		p.sc.Assigns = append(p.sc.Assigns, design.Assign{Kind: kind, LHS: lhs, RHS: r, Full: full})
	}
}

func (p *parser) delayMechanism() {
	switch {
	case p.accept(kwTransport):
	case p.accept(kwReject):
		p.expr()
		p.expect(kwInertial, "'inertial' after reject time")
	default:
		p.accept(kwInertial)
	}
}

// waveform: unaffected | element {, element}; element: expr [after expr].
// It returns the first element's value (nil for unaffected).
func (p *parser) waveform() *design.Expr {
	if p.accept(kwUnaffected) {
		return nil
	}
	var first *design.Expr
	for {
		v := p.expr()
		if first == nil {
			first = v
		}
		if p.accept(kwAfter) {
			p.expr()
		}
		if !p.accept(opComma) {
			return first
		}
	}
}

// selectedAssign: with e select [?] target <= [delay] wave when choices, ... ;
func (p *parser) selectedAssign(start int, kind design.AssignKind) {
	p.pos++ // with
	p.expr()
	p.expect(kwSelect, "'select' after selector expression")
	p.accept(opQuestion)
	lhs := p.target()
	variable := false
	switch {
	case p.at(opLE):
		p.pos++
		p.accept(kwGuarded)
		if p.accept(kwForce) && (p.at(kwIn) || p.at(kwOut)) {
			p.pos++
		}
		p.delayMechanism()
	case p.at(opVarAssign):
		p.pos++
		variable = true
		kind = design.AssignBlocking
	default:
		p.errExpected("'<=' in selected assignment")
		p.skipStatement()
		return
	}
	var buf [8]*design.Expr
	rhs := buf[:0]
	for {
		before := p.pos
		var first *design.Expr
		if !p.accept(kwUnaffected) {
			for {
				v := p.expr()
				if first == nil {
					first = v
				}
				if !variable && p.accept(kwAfter) {
					p.expr()
				}
				if !p.at(opComma) {
					break
				}
				p.pos++ // another waveform element
			}
		}
		if first != nil {
			rhs = append(rhs, first)
		}
		if !p.expect(kwWhen, "'when' after selected waveform") {
			break
		}
		p.choices()
		if !p.accept(opComma) || p.pos == before {
			break
		}
	}
	p.expectSemi("after selected assignment")
	p.addAssigns(kind, lhs, rhs, start)
}

// ---- sequential statements

// seqStop reports whether the current token ends a sequence of statements.
func (p *parser) seqStop() bool {
	t := p.cur()
	if t.kind == tokEOF || p.unitStart() {
		return true
	}
	switch t.id {
	case kwEnd, kwElsif, kwElse, kwWhen, kwProcess:
		return true
	case kwEntity:
		return true
	}
	// A labelled concurrent statement means 'end process' is missing.
	if isName(t) && p.peek(1).id == opColon {
		switch p.peek(2).id {
		case kwProcess, kwBlock, kwEntity, kwComponent, kwPostponed:
			return true
		}
		if isName(p.peek(2)) && (p.peek(3).id == kwPort || p.peek(3).id == kwGeneric) {
			return true
		}
	}
	return false
}

func (p *parser) sequentialStatements() {
	for !p.seqStop() {
		before := p.pos
		p.sequentialStatement()
		if p.pos == before {
			t := p.cur()
			p.errSpan(p.tspan(t), "unexpected "+p.describe(t)+" in sequential statements")
			p.pos++
		}
	}
}

func (p *parser) sequentialStatement() {
	if !p.enter() {
		return
	}
	defer p.leave()
	name, ns, start := p.label()
	t := p.cur()
	switch t.id {
	case kwIf:
		p.ifStmt(name, start)
	case kwCase:
		p.caseStmt(name, start)
	case kwFor, kwWhile, kwLoop:
		p.loopStmt(name, ns, start)
	case kwWait:
		p.pos++
		if p.accept(kwOn) {
			for isName(p.cur()) {
				p.name()
				if !p.accept(opComma) {
					break
				}
			}
		}
		if p.accept(kwUntil) {
			p.expr()
		}
		if p.accept(kwFor) {
			p.expr()
		}
		p.expectSemi("after wait statement")
	case kwAssert:
		p.assertion()
	case kwReport:
		p.pos++
		p.expr()
		if p.accept(kwSeverity) {
			p.expr()
		}
		p.expectSemi("after report statement")
	case kwReturn:
		p.pos++
		if !p.at(opSemi) {
			p.expr()
		}
		p.expectSemi("after return statement")
	case kwNull:
		p.pos++
		p.expectSemi("after null")
	case kwNext, kwExit:
		p.pos++
		if isName(p.cur()) {
			p.pos++ // loop label
		}
		if p.accept(kwWhen) {
			p.expr()
		}
		p.expectSemi("after " + kwNames[t.id] + " statement")
	case kwWith:
		p.selectedAssign(start, design.AssignNonblocking)
	default:
		if !isName(t) && t.id != opLParen && t.id != opDLT {
			if name != "" {
				p.errExpected("statement after label")
				p.skipStatement()
			}
			return
		}
		nref := p.refCount()
		target := p.target()
		switch {
		case p.at(opLE):
			p.signalAssign(target, start, design.AssignNonblocking)
		case p.at(opVarAssign):
			p.pos++
			var buf [4]*design.Expr
			rhs := buf[:0]
			missing := false
			for {
				rhs = append(rhs, p.expr())
				if !p.at(kwWhen) {
					break
				}
				if missing = p.caseAlternative(); missing {
					break
				}
				if !p.accept(kwElse) {
					break
				}
			}
			if missing {
				p.addAssigns(design.AssignBlocking, target, rhs, start)
				return
			}
			p.expectSemi("after variable assignment")
			p.addAssigns(design.AssignBlocking, target, rhs, start)
		case p.at(opSemi):
			p.pos++
			p.markCall(target, nref)
		default:
			p.errExpected("'<=', ':=' or ';' after " + p.describe(p.toks[p.pos-1]))
			p.skipStatement()
		}
	}
}

func (p *parser) ifStmt(name string, start int) {
	for {
		p.pos++ // if | elsif
		p.expr()
		p.expect(kwThen, "'then' after condition")
		p.sequentialStatements()
		if !p.at(kwElsif) {
			break
		}
	}
	if p.accept(kwElse) {
		p.sequentialStatements()
	}
	p.endKw(kwIf, name)
	p.fold(start, p.prevEnd())
}

func (p *parser) caseStmt(name string, start int) {
	p.pos++ // case
	p.accept(opQuestion)
	p.expr()
	p.expect(kwIs, "'is' after case expression")
	for p.at(kwWhen) {
		p.pos++
		p.choices()
		p.expect(opArrow, "'=>' after choices")
		p.sequentialStatements()
	}
	if p.at(kwEnd) && p.peek(1).id == kwCase {
		p.pos += 2
		p.accept(opQuestion)
		p.endLabel(name)
		p.expectSemi("after 'end case'")
	} else {
		p.errExpected("'end case'")
	}
	p.fold(start, p.prevEnd())
}

func (p *parser) loopStmt(name string, ns design.Span, start int) {
	parent := p.sc
	var ls *design.Scope
	switch p.cur().id {
	case kwWhile:
		p.pos++
		p.expr()
	case kwFor:
		p.pos++
		ls = p.newScope(design.ScopeBlock, name, ns, start)
		p.push(ls)
		p.loopParam(design.DeclVar, start)
	}
	p.expect(kwLoop, "'loop'")
	p.sequentialStatements()
	p.endKw(kwLoop, name)
	if ls != nil {
		p.pop(parent)
		ls.Full = p.spanFrom(start)
	}
	p.fold(start, p.prevEnd())
}
