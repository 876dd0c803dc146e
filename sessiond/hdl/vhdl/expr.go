package vhdl

import "gatewave.dev/sessiond/hdl/design"

// knownFuncs are std/ieee functions and type conversions: name(x) with one
// argument is a call (ExprCall, RefCall), not an index.
var knownFuncs = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{
		// std_logic_1164
		"rising_edge", "falling_edge", "to_bit", "to_bitvector", "to_stdulogic", "to_stdlogicvector",
		"to_stdulogicvector", "to_x01", "to_x01z", "to_ux01", "is_x", "to_01",
		// numeric_std / numeric_bit
		"to_unsigned", "to_signed", "to_integer", "resize", "shift_left", "shift_right",
		"rotate_left", "rotate_right", "std_match", "find_leftmost", "find_rightmost",
		// std_logic_arith / unsigned (Synopsys)
		"conv_integer", "conv_std_logic_vector", "conv_unsigned", "conv_signed", "ext", "sxt",
		// VHDL-2008 std
		"to_string", "to_hstring", "to_ostring", "to_bstring", "minimum", "maximum",
		"endfile", "now",
		// math_real
		"ceil", "floor", "round", "trunc", "sqrt", "log2", "log10", "log", "exp", "sin", "cos",
		"tan", "arctan", "sign", "realmax", "realmin",
		// type conversions
		"std_logic_vector", "std_ulogic_vector", "unsigned", "signed", "integer", "natural",
		"positive", "real", "time", "bit_vector", "boolean", "character",
	} {
		m[s] = true
	}
	return m
}()

func (p *parser) isKnownFunc(name string) bool {
	if len(name) > 32 {
		return false
	}
	var buf [32]byte
	key := lowerTo(buf[:], name)
	if knownFuncs[string(key)] {
		return true
	}
	_, ok := p.funcs[string(key)]
	return ok
}

func opName(id uint8) string {
	if id >= 160 {
		return opText[id-160]
	}
	return kwNames[id]
}

func (p *parser) binary(op string, l, r *design.Expr) *design.Expr {
	e := p.newExpr(design.ExprBinary, op, l.Span.Start, r.Span.End)
	e.Args = p.args(l, r)
	return e
}

func (p *parser) badExpr() *design.Expr {
	s := p.curStart()
	return p.newExpr(design.ExprOther, "", s, s)
}

// expr parses an expression (VHDL-2008 precedence, lowest first:
// ??, logical, relational, shift, adding, multiplying, ** abs not).
func (p *parser) expr() *design.Expr {
	if !p.enter() {
		return p.badExpr()
	}
	defer p.leave()
	if p.at(opCond) {
		t := p.advance()
		x := p.primary()
		e := p.newExpr(design.ExprUnary, "??", int(t.start), x.Span.End)
		e.Args = p.args(x)
		return e
	}
	l := p.relation()
	for {
		switch id := p.cur().id; id {
		case kwAnd, kwOr, kwXor, kwNand, kwNor, kwXnor:
			p.pos++
			l = p.binary(kwNames[id], l, p.relation())
			continue
		}
		return l
	}
}

func (p *parser) relation() *design.Expr {
	l := p.shiftExpr()
	for {
		switch id := p.cur().id; id {
		case opEQ, opNE, opLT, opLE, opGT, opGE, opMEQ, opMNE, opMLT, opMLE, opMGT, opMGE:
			p.pos++
			l = p.binary(opName(id), l, p.shiftExpr())
			continue
		}
		return l
	}
}

func (p *parser) shiftExpr() *design.Expr {
	l := p.simpleExpr()
	for {
		switch id := p.cur().id; id {
		case kwSll, kwSrl, kwSla, kwSra, kwRol, kwRor:
			p.pos++
			l = p.binary(kwNames[id], l, p.simpleExpr())
			continue
		}
		return l
	}
}

func (p *parser) simpleExpr() *design.Expr {
	l := p.term()
	for {
		switch id := p.cur().id; id {
		case opPlus, opMinus, opAmp:
			p.pos++
			l = p.binary(opName(id), l, p.term())
			continue
		}
		return l
	}
}

func (p *parser) term() *design.Expr {
	l := p.factor()
	for {
		switch id := p.cur().id; id {
		case opStar, opSlash, kwMod, kwRem:
			p.pos++
			l = p.binary(opName(id), l, p.factor())
			continue
		}
		return l
	}
}

func (p *parser) factor() *design.Expr {
	switch id := p.cur().id; id {
	case kwAbs, kwNot, kwAnd, kwOr, kwNand, kwNor, kwXor, kwXnor, opPlus, opMinus:
		if !p.enter() {
			return p.badExpr()
		}
		t := p.advance()
		x := p.factor()
		p.leave()
		e := p.newExpr(design.ExprUnary, opName(id), int(t.start), x.Span.End)
		e.Args = p.args(x)
		return e
	}
	x := p.primary()
	if p.at(opPow) {
		p.pos++
		x = p.binary("**", x, p.primary())
	}
	return x
}

func (p *parser) primary() *design.Expr {
	t := p.cur()
	switch t.kind {
	case TokIdent, TokExtIdent:
		return p.name()
	case TokNumber:
		p.pos++
		end := int(t.end)
		if u := p.cur(); u.kind == TokIdent && !hasNewline(p.src[t.end:u.start]) { // physical literal
			p.pos++
			end = int(u.end)
		}
		return p.newExpr(design.ExprNumber, p.s[t.start:end], int(t.start), end)
	case TokBitString, TokChar:
		p.pos++
		return p.newExpr(design.ExprNumber, p.text(t), int(t.start), int(t.end))
	case TokString:
		p.pos++
		e := p.newExpr(design.ExprString, p.text(t), int(t.start), int(t.end))
		if p.at(opLParen) { // operator symbol called as a function: "and"(a, b)
			return p.suffixes(e, -1, "")
		}
		return e
	}
	switch t.id {
	case opLParen:
		return p.parenOrAggregate()
	case kwNull, kwOthers, kwOpen, kwUnaffected:
		p.pos++
		return p.newExpr(design.ExprOther, kwNames[t.id], int(t.start), int(t.end))
	case kwNew:
		p.pos++
		x := p.primary()
		e := p.newExpr(design.ExprOther, "new", int(t.start), x.Span.End)
		e.Args = p.args(x)
		return e
	case kwInertial:
		p.pos++
		return p.primary()
	case opDLT: // external name << signal .a.b : t >>
		p.pos++
		for !p.eof() && !p.at(opDGT) && !p.at(opSemi) {
			p.pos++
		}
		p.expect(opDGT, "'>>' to close external name")
		e := p.newExpr(design.ExprOther, "external", int(t.start), p.prevEnd())
		return p.suffixes(e, -1, "")
	}
	p.errExpected("expression")
	return p.badExpr()
}

// name parses a name: identifier with selected, indexed, sliced,
// attribute and qualified-expression suffixes.
func (p *parser) name() *design.Expr {
	t := p.advance()
	sp := p.tspan(t)
	e := p.newExpr(design.ExprIdent, p.text(t), int(t.start), int(t.end))
	e.NameSpan = sp
	ri := p.addRef(design.RefValue, e.Text, sp)
	return p.suffixes(e, ri, e.Text)
}

// suffixes applies name suffixes to e. ri is the Ref of e's first name
// (-1 when none); while the name is a plain a.b.c chain its parts are
// added to that Ref's Path. last is the last simple name of the chain.
func (p *parser) suffixes(e *design.Expr, ri int, last string) *design.Expr {
	pure := ri >= 0
	for {
		switch p.cur().id {
		case opDot:
			nt := p.peek(1)
			if !isName(nt) && nt.id != kwAll && nt.kind != TokChar && nt.kind != TokString {
				p.pos++
				p.errExpected("name after '.'")
				return e
			}
			p.pos += 2
			text := p.text(nt)
			if nt.id == kwAll {
				text = "all"
			}
			m := p.newExpr(design.ExprMember, text, e.Span.Start, int(nt.end))
			m.NameSpan = p.tspan(nt)
			m.Args = p.args(e)
			e = m
			if pure && isName(nt) {
				r := &p.sc.Refs[ri]
				r.Path = append(r.Path, text)
				r.PathSpans = append(r.PathSpans, m.NameSpan)
				last = text
			} else {
				pure = false
			}
		case opLParen:
			e = p.suffixParen(e, ri, pure, last)
			pure = false
		case opTick:
			nt := p.peek(1)
			if nt.id == opLParen { // qualified expression t'(x)
				p.pos++
				if pure {
					p.setRefKind(ri, design.RefType)
				}
				inner := p.parenOrAggregate()
				c := p.newExpr(design.ExprCast, p.s[e.Span.Start:e.Span.End], e.Span.Start, inner.Span.End)
				c.Args = p.args(inner)
				e = c
				pure = false
				continue
			}
			if !isName(nt) && nt.kind != TokKeyword {
				return e
			}
			tick := p.advance()
			p.pos++
			text := p.s[tick.start:nt.end]
			if tick.end != nt.start {
				text = "'" + p.text(nt)
			}
			a := p.newExpr(design.ExprOther, text, e.Span.Start, int(nt.end))
			a.NameSpan = p.tspan(nt)
			if p.at(opLParen) {
				var buf [4]*design.Expr
				list := append(buf[:0], e)
				p.pos++
				for {
					list = append(list, p.expr())
					if !p.accept(opComma) {
						break
					}
				}
				p.expect(opRParen, "')' after attribute parameter")
				a.Span.End = p.prevEnd()
				a.Args = p.args(list...)
			} else {
				a.Args = p.args(e)
			}
			e = a
			pure = false
		case opLBrack: // signature
			depth := 0
			for !p.eof() && !p.at(opSemi) {
				if p.at(opLBrack) {
					depth++
				} else if p.at(opRBrack) {
					depth--
					if depth == 0 {
						p.pos++
						break
					}
				}
				p.pos++
			}
		default:
			return e
		}
	}
}

// suffixParen parses base( ... ): a slice, an index or a call.
func (p *parser) suffixParen(base *design.Expr, ri int, pure bool, last string) *design.Expr {
	if !p.enter() {
		return base
	}
	defer p.leave()
	p.pos++ // (
	var buf [8]*design.Expr
	elems := buf[:0]
	named, rng := false, false
	if !p.at(opRParen) {
		for {
			before := p.pos
			el, nm, r := p.element(true)
			elems = append(elems, el)
			named = named || nm
			rng = r
			if !p.accept(opComma) || p.pos == before {
				break
			}
		}
	}
	p.expect(opRParen, "')'")
	end := p.prevEnd()
	switch {
	case len(elems) == 1 && rng && !named:
		e := p.newExpr(design.ExprSlice, elems[0].Text, base.Span.Start, end)
		e.Args = p.args(base, elems[0].Args[0], elems[0].Args[1])
		return e
	case named || len(elems) != 1 || (pure && p.isKnownFunc(last)):
		e := p.newExpr(design.ExprCall, "", base.Span.Start, end)
		list := append([]*design.Expr{base}, elems...)
		e.Args = p.args(list...)
		if pure {
			p.setRefKind(ri, design.RefCall)
		}
		return e
	}
	e := p.newExpr(design.ExprIndex, "", base.Span.Start, end)
	e.Args = p.args(base, elems[0])
	return e
}

// element parses one element of an aggregate or association list:
// [choices =>] value, where a choice may be a range or others. It reports
// whether the element was named and whether it is a bare range.
func (p *parser) element(assoc bool) (e *design.Expr, named, isRange bool) {
	nref := p.refCount()
	first, isRange := p.choice()
	for p.at(opBar) {
		p.pos++
		alt, _ := p.choice()
		first = p.binary("|", first, alt)
		isRange = false
	}
	if !p.at(opArrow) {
		return first, false, isRange
	}
	if p.sc != nil && (assoc || (first.Op == design.ExprIdent && p.refCount() == nref+1)) {
		p.sc.Refs = p.sc.Refs[:nref] // formals and field names are not Refs
	}
	p.pos++
	val := p.expr()
	return p.binary("=>", first, val), true, false
}

// choice: others | expr [to|downto expr] | subtype range l to r
func (p *parser) choice() (*design.Expr, bool) {
	if p.at(kwOthers) {
		t := p.advance()
		return p.newExpr(design.ExprOther, "others", int(t.start), int(t.end)), false
	}
	l := p.expr()
	switch {
	case p.at(kwTo) || p.at(kwDownto):
		op := kwNames[p.cur().id]
		p.pos++
		return p.binary(op, l, p.expr()), true
	case p.at(kwRange): // natural range 0 to 3
		p.pos++
		r := p.rangeConstraint()
		if r.Left != nil {
			op := "to"
			if r.Downto {
				op = "downto"
			}
			return p.binary(op, r.Left, r.Right), true
		}
	}
	return l, false
}

// parenOrAggregate parses ( ... ): a parenthesised expression or an aggregate.
func (p *parser) parenOrAggregate() *design.Expr {
	if !p.enter() {
		return p.badExpr()
	}
	defer p.leave()
	open := p.advance()
	var buf [8]*design.Expr
	elems := buf[:0]
	named, rng := false, false
	if p.at(opRParen) {
		p.errSpan(p.span(int(open.start), int(p.cur().end)), "empty parentheses")
	} else {
		for {
			before := p.pos
			el, nm, r := p.element(false)
			elems = append(elems, el)
			named = named || nm
			rng = rng || r
			if !p.accept(opComma) || p.pos == before {
				break
			}
		}
	}
	p.expect(opRParen, "')'")
	end := p.prevEnd()
	if len(elems) == 1 && !named && !rng {
		e := p.newExpr(design.ExprParen, "", int(open.start), end)
		e.Args = p.args(elems[0])
		return e
	}
	e := p.newExpr(design.ExprAggregate, "", int(open.start), end)
	e.Args = p.args(elems...)
	return e
}
