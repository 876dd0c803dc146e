package verilog

import (
	"gatewave.dev/sessiond/hdl/design"
)

// binPrec returns the precedence of a binary operator (higher binds
// tighter), 0 when t is none.
func binPrec(t *ptok) int {
	if t.kind == Keyword {
		switch t.text {
		case "inside", "dist":
			return 8
		}
		return 0
	}
	if t.kind != Op {
		return 0
	}
	switch t.text {
	case "->", "<->":
		return 1
	case "||":
		return 2
	case "&&":
		return 3
	case "|":
		return 4
	case "^", "~^", "^~":
		return 5
	case "&":
		return 6
	case "==", "!=", "===", "!==", "==?", "!=?":
		return 7
	case "<", "<=", ">", ">=":
		return 8
	case "<<", ">>", "<<<", ">>>":
		return 9
	case "+", "-":
		return 10
	case "*", "/", "%":
		return 11
	case "**":
		return 12
	}
	return 0
}

func isUnaryOp(s string) bool {
	switch s {
	case "+", "-", "!", "~", "&", "~&", "|", "~|", "^", "~^", "^~", "++", "--":
		return true
	}
	return false
}

func (p *parser) other(start int) *design.Expr {
	return p.newExpr(design.ExprOther, "", p.spanFrom(start))
}

// parseExpr parses a full expression (conditional operator included).
func (p *parser) parseExpr() *design.Expr {
	if p.depth > maxDepth {
		p.errHere("expression nested too deeply")
		start := p.i
		if !p.eof() {
			p.next()
		}
		return p.other(start)
	}
	p.depth++
	defer func() { p.depth-- }()
	c := p.parseBinary(1)
	if p.at("?") {
		p.next()
		a := p.parseExpr()
		if !p.accept(":") {
			p.expected("':' in the conditional expression")
			e := p.newExpr(design.ExprTernary, "?:", joinSpan(c.Span, a.Span))
			e.Args = p.list(c, a, p.newExpr(design.ExprOther, "", a.Span))
			return e
		}
		b := p.parseExpr()
		e := p.newExpr(design.ExprTernary, "?:", joinSpan(c.Span, b.Span))
		e.Args = p.list(c, a, b)
		return e
	}
	return c
}

// parseRHS parses the right side of an assignment: an expression or a
// class/array constructor.
func (p *parser) parseRHS() *design.Expr {
	return p.parseExpr()
}

// parseExprOrType parses an expression or, where a type is allowed (type
// parameter values, $bits(type)), a data type as an ExprOther.
func (p *parser) parseExprOrType() *design.Expr {
	if p.cut() {
		return p.cutExpr()
	}
	t := p.tok
	if t.kind == Keyword && (isDataTypeKeyword(t.text) && t.text != "signed" && t.text != "unsigned" || isNetKeyword(t.text)) && !isTok(p.peek(1), "'") {
		return p.typeExpr()
	}
	if isName(t) && p.identStartsType() {
		return p.typeExpr()
	}
	return p.parseExpr()
}

// identStartsType reports a user type followed by packed dims and then the
// end of a list item: my_t [3:0]) — rare; plain names stay expressions.
func (p *parser) identStartsType() bool {
	n := p.peek(1)
	if !isTok(n, "[") {
		return false
	}
	k := p.skipBracketsAt(p.i + 1)
	return k < len(p.toks) && isName(&p.toks[k])
}

func (p *parser) parseBinary(minPrec int) *design.Expr {
	lhs := p.parseUnary()
	for {
		op := p.tok
		prec := binPrec(op)
		if prec == 0 || prec < minPrec {
			return lhs
		}
		p.next()
		var rhs *design.Expr
		if op.kind == Keyword {
			// inside { set } / dist { ... }
			if p.at("{") {
				rhs = p.concat()
			} else {
				rhs = p.parseUnary()
			}
		} else if prec == 1 {
			rhs = p.parseBinary(prec) // right associative
		} else {
			rhs = p.parseBinary(prec + 1)
		}
		e := p.newExpr(design.ExprBinary, op.text, joinSpan(lhs.Span, rhs.Span))
		e.Args = p.list(lhs, rhs)
		lhs = e
	}
}

func (p *parser) parseUnary() *design.Expr {
	if p.cut() {
		return p.cutExpr()
	}
	t := p.tok
	if t.kind == Op && isUnaryOp(t.text) {
		if p.depth > maxDepth {
			p.errHere("expression nested too deeply")
			start := p.i
			p.next()
			return p.other(start)
		}
		p.depth++
		defer func() { p.depth-- }()
		start := p.i
		p.next()
		x := p.parseUnary()
		e := p.newExpr(design.ExprUnary, t.text, joinSpan(p.span(&p.toks[start]), x.Span))
		e.Args = p.list(x)
		return e
	}
	return p.parsePrimary()
}

// cutExpr is the missing operand where an expression was cut (see cut):
// empty, just after the previous token. The construct the expression was
// in reports what is missing.
func (p *parser) cutExpr() *design.Expr {
	sp := p.span(&p.toks[p.i-1])
	sp.Start = sp.End
	return p.newExpr(design.ExprOther, "", sp)
}

// parseLHS parses an assignment target (or the callee of a call
// statement): a primary with selects, members and calls.
func (p *parser) parseLHS() *design.Expr {
	return p.parsePrimary()
}

// parsePrimary parses a primary with its postfix selects, members and calls.
func (p *parser) parsePrimary() *design.Expr {
	start := p.i
	t := p.tok
	var e *design.Expr
	ri := -1 // the ref a member chain extends
	switch t.kind {
	case Number:
		p.next()
		e = p.newExpr(design.ExprNumber, t.text, p.span(t))
		if p.at("'") && isTok(p.peek(1), "(") {
			return p.cast(start, t.text)
		}
		return e
	case String:
		p.next()
		return p.newExpr(design.ExprString, t.text, p.span(t))
	case SystemName:
		p.next()
		callee := p.newExpr(design.ExprIdent, t.text, p.span(t))
		callee.NameSpan = callee.Span
		e = p.newExpr(design.ExprCall, t.text, p.span(t))
		if p.at("(") {
			args := p.callArgs()
			e.Args = append(make([]*design.Expr, 0, len(args)+1), callee)
			e.Args = append(e.Args, args...)
		} else {
			e.Args = p.list(callee)
		}
		e.Span = p.spanFrom(start)
	case Ident:
		p.next()
		name := tokName(t)
		sp := p.span(t)
		// class specialisation cls#(..)::x
		if p.at("#") && isTok(p.peek(1), "(") {
			k := p.skipGroupAt(p.i + 1)
			if k < len(p.toks) && isTok(&p.toks[k], "::") {
				p.addRef(design.Ref{Kind: design.RefType, Name: name, Span: sp})
				p.next()
				p.conns("class parameters", "", "", true)
			}
		}
		if p.at("::") {
			pkg := name
			var last *ptok
			for p.at("::") && (isName(p.peek(1)) || p.peek(1).kind == Keyword) {
				p.next()
				last = p.tok
				p.next()
				if p.at("#") && isTok(p.peek(1), "(") {
					k := p.skipGroupAt(p.i + 1)
					if k < len(p.toks) && isTok(&p.toks[k], "::") {
						p.next()
						p.conns("class parameters", "", "", true)
					}
				}
			}
			if last == nil {
				p.expected("a name after '::'")
				e = p.newExpr(design.ExprIdent, name, sp)
				e.NameSpan = sp
				break
			}
			item := p.newExpr(design.ExprIdent, tokName(last), p.span(last))
			item.NameSpan = item.Span
			e = p.newExpr(design.ExprScoped, pkg, p.spanFrom(start))
			e.NameSpan = item.Span
			e.Args = p.list(item)
			if last.kind != Keyword {
				ri = p.addRef(design.Ref{Kind: design.RefScoped, Name: item.Text, Pkg: pkg, Span: item.Span})
			}
			if p.at("'") && isTok(p.peek(1), "(") {
				return p.cast(start, p.textFrom(start))
			}
			break
		}
		if p.at("'") && isTok(p.peek(1), "(") {
			p.addRef(design.Ref{Kind: design.RefType, Name: name, Span: sp})
			return p.cast(start, name)
		}
		e = p.newExpr(design.ExprIdent, name, sp)
		e.NameSpan = sp
		ri = p.addRef(design.Ref{Kind: design.RefValue, Name: name, Span: sp})
	case Keyword:
		switch t.text {
		case "this", "super", "null", "local":
			p.next()
			if t.text == "local" && p.at("::") {
				p.next()
				return p.parsePrimary()
			}
			e = p.newExpr(design.ExprIdent, t.text, p.span(t))
			e.NameSpan = e.Span
		case "new":
			p.next()
			callee := p.newExpr(design.ExprIdent, "new", p.span(t))
			callee.NameSpan = callee.Span
			e = p.newExpr(design.ExprCall, "new", p.span(t))
			e.Args = p.list(callee)
			if p.at("[") {
				p.next()
				sz := p.parseExpr()
				p.expect("]", "']' after the array size")
				e.Args = append(e.Args[:1:1], sz)
			}
			if p.at("(") {
				args := p.callArgs()
				e.Args = append(e.Args[:len(e.Args):len(e.Args)], args...)
			}
			e.Span = p.spanFrom(start)
			return e
		case "default":
			p.next()
			return p.newExpr(design.ExprOther, "default", p.span(t))
		case "type":
			p.next()
			if p.at("(") {
				p.skipBalanced()
			}
			return p.newExpr(design.ExprOther, "type", p.spanFrom(start))
		case "tagged":
			p.next()
			if p.isName() {
				p.next()
			}
			if p.tok.kind != Op || p.at("(") || p.at("{") || p.at("'{") {
				if !p.at(")") && !p.at(";") && !p.at(",") {
					p.parsePrimary()
				}
			}
			return p.other(start)
		default:
			if isDataTypeKeyword(t.text) && isTok(p.peek(1), "'") {
				p.next()
				return p.cast(start, t.text)
			}
			if t.text == "const" && isTok(p.peek(1), "'") {
				p.next()
				return p.cast(start, "const")
			}
			p.expected("an expression")
			return p.newExpr(design.ExprOther, "", p.span(t))
		}
	case Op:
		switch t.text {
		case "(":
			p.next()
			x := p.parseExpr()
			if p.accept(":") {
				// min:typ:max
				p.parseExpr()
				if p.accept(":") {
					p.parseExpr()
				}
			}
			if !p.accept(")") {
				p.expected("')'")
			}
			e = p.newExpr(design.ExprParen, "", p.spanFrom(start))
			e.Args = p.list(x)
			if p.at("'") && isTok(p.peek(1), "(") {
				return p.cast(start, p.textFrom(start))
			}
			return e
		case "{":
			return p.concat()
		case "'{":
			return p.aggregate()
		case "$":
			p.next()
			return p.newExpr(design.ExprOther, "$", p.span(t))
		default:
			p.expected("an expression")
			return p.newExpr(design.ExprOther, "", p.span(t))
		}
	default:
		p.expected("an expression")
		return p.newExpr(design.ExprOther, "", p.span(t))
	}
	return p.postfix(start, e, ri)
}

// postfix parses selects, members, calls and 'with' clauses after e.
func (p *parser) postfix(start int, e *design.Expr, ri int) *design.Expr {
	for {
		switch {
		case p.at("["):
			p.next()
			idx := p.parseExpr()
			if p.at(":") || p.at("+:") || p.at("-:") {
				op := p.tok.text
				p.next()
				r := p.parseExpr()
				p.expect("]", "']' to close the part-select")
				x := p.newExpr(design.ExprSlice, op, p.spanFrom(start))
				x.Args = p.list(e, idx, r)
				e = x
				continue
			}
			p.expect("]", "']' to close the index")
			x := p.newExpr(design.ExprIndex, "", p.spanFrom(start))
			x.Args = p.list(e, idx)
			e = x
		case p.at(".") && (isName(p.peek(1)) || p.peek(1).kind == Keyword):
			p.next()
			m := p.tok
			p.next()
			x := p.newExpr(design.ExprMember, tokName(m), p.spanFrom(start))
			x.NameSpan = p.span(m)
			x.Args = p.list(e)
			e = x
			if ri >= 0 {
				r := &p.refBuf[ri]
				r.Path = append(r.Path, x.Text)
				r.PathSpans = append(r.PathSpans, x.NameSpan)
			}
		case p.at("(") && (e.Op == design.ExprIdent || e.Op == design.ExprScoped || e.Op == design.ExprMember):
			if ri >= 0 {
				r := &p.refBuf[ri]
				if r.Kind == design.RefValue && len(r.Path) == 0 {
					r.Kind = design.RefCall
				}
			}
			args := p.callArgs()
			x := p.newExpr(design.ExprCall, "", p.spanFrom(start))
			x.Args = append(make([]*design.Expr, 0, len(args)+1), e)
			x.Args = append(x.Args, args...)
			e = x
		case (p.at("++") || p.at("--")) && e.Op != design.ExprCall:
			op := p.tok.text
			p.next()
			x := p.newExpr(design.ExprUnary, op, p.spanFrom(start))
			x.Args = p.list(e)
			e = x
			return e
		case p.at("with"):
			p.next()
			if p.at("(") || p.at("{") {
				p.skipBalanced()
			}
			e = p.newExpr(e.Op, e.Text, p.spanFrom(start))
		default:
			return e
		}
	}
}

// cast parses '( expr ) after a type (at the tick).
func (p *parser) cast(start int, typ string) *design.Expr {
	p.next() // '
	p.next() // (
	x := p.parseExprOrType()
	p.expect(")", "')' to close the cast")
	e := p.newExpr(design.ExprCast, typ, p.spanFrom(start))
	e.Args = p.list(x)
	return e
}

// callArgs parses ( args ) including named .name(expr) and empty arguments.
func (p *parser) callArgs() []*design.Expr {
	p.next() // (
	var args []*design.Expr
	if p.accept(")") {
		return args
	}
	for !p.eof() {
		switch {
		case p.at(",") || p.at(")"):
			args = append(args, p.newExpr(design.ExprOther, "", p.span(p.tok)))
		case p.at(".") && isName(p.peek(1)):
			p.next()
			p.next()
			if p.accept("(") {
				if !p.at(")") {
					args = append(args, p.parseExprOrType())
				}
				p.expect(")", "')'")
			}
		default:
			args = append(args, p.parseExprOrType())
		}
		if p.accept(",") {
			continue
		}
		if !p.accept(")") {
			p.expected("',' or ')' in the argument list")
			for !p.eof() && !p.at(")") && !p.at(";") && !(p.tok.kind == Keyword && isSyncKeyword(p.tok.text)) {
				p.next()
			}
			p.accept(")")
		}
		break
	}
	return args
}

// setItem parses [lo:hi] in an inside/case-inside set.
func (p *parser) setItem() *design.Expr {
	start := p.i
	p.next()
	l := p.parseExpr()
	var r *design.Expr
	if p.accept(":") || p.accept("+/-") || p.accept("+%-") {
		r = p.parseExpr()
	} else {
		r = l
	}
	p.expect("]", "']' to close the range")
	e := p.newExpr(design.ExprOther, "range", p.spanFrom(start))
	e.Args = p.list(l, r)
	return e
}

// concat parses { ... }: concatenation, replication, streaming, sets.
func (p *parser) concat() *design.Expr {
	start := p.i
	p.next() // {
	if p.accept("}") {
		return p.newExpr(design.ExprConcat, "", p.spanFrom(start))
	}
	if p.at("<<") || p.at(">>") {
		op := p.tok.text
		p.next()
		if !p.at("{") {
			p.parseExprOrType()
		}
		var parts []*design.Expr
		if p.at("{") {
			parts = append(parts, p.concat())
		} else {
			p.expected("'{' in the streaming concatenation")
		}
		p.expect("}", "'}' to close the streaming concatenation")
		e := p.newExpr(design.ExprOther, "{"+op+"}", p.spanFrom(start))
		e.Args = parts
		return e
	}
	var first *design.Expr
	if p.at("[") {
		first = p.setItem()
	} else {
		first = p.parseExpr()
	}
	if p.at("{") {
		inner := p.concat()
		p.expect("}", "'}' to close the replication")
		e := p.newExpr(design.ExprReplicate, "", p.spanFrom(start))
		e.Args = p.list(first, inner)
		return e
	}
	parts := []*design.Expr{first}
	for p.accept(",") {
		if p.at("[") {
			parts = append(parts, p.setItem())
		} else {
			parts = append(parts, p.parseExpr())
		}
	}
	if !p.accept("}") {
		p.expected("'}' to close the concatenation")
	}
	e := p.newExpr(design.ExprConcat, "", p.spanFrom(start))
	e.Args = parts
	return e
}

// aggregate parses '{ ... } assignment patterns.
func (p *parser) aggregate() *design.Expr {
	start := p.i
	p.next() // '{
	var parts []*design.Expr
	for !p.eof() && !p.at("}") {
		es := p.i
		mark := len(p.refBuf)
		var k *design.Expr
		if p.tok.kind == Keyword && isDataTypeKeyword(p.tok.text) && isTok(p.peek(1), ":") {
			k = p.typeExpr()
		} else {
			k = p.parseExpr()
		}
		switch {
		case p.at(":"):
			p.next()
			if k.Op == design.ExprIdent && len(p.refBuf) == mark+1 {
				// a member name, not a value
				p.refBuf = p.refBuf[:mark]
			}
			v := p.parseExpr()
			x := p.newExpr(design.ExprOther, ":", p.spanFrom(es))
			x.Args = p.list(k, v)
			parts = append(parts, x)
		case p.at("{"):
			inner := p.concat()
			x := p.newExpr(design.ExprReplicate, "", p.spanFrom(es))
			x.Args = p.list(k, inner)
			parts = append(parts, x)
		default:
			parts = append(parts, k)
		}
		if !p.accept(",") {
			break
		}
	}
	if !p.accept("}") {
		p.expected("'}' to close the assignment pattern")
	}
	e := p.newExpr(design.ExprAggregate, "", p.spanFrom(start))
	e.Args = parts
	return e
}
