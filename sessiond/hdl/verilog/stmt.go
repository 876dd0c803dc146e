package verilog

import (
	"gatewave.dev/sessiond/hdl/design"
)

func isCompound(t *ptok) bool {
	if t.kind != Op {
		return false
	}
	switch t.text {
	case "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "<<<=", ">>>=":
		return true
	}
	return false
}

// startsStmt reports whether the current token plausibly starts a statement.
func (p *parser) startsStmt() bool {
	t := p.tok
	if t.kind == Keyword {
		switch t.text {
		case "begin", "if", "case", "casez", "casex", "for", "foreach", "while", "repeat", "forever",
			"do", "fork", "return", "unique", "priority", "wait", "disable", "end":
			return true
		}
		return isDataTypeKeyword(t.text)
	}
	return t.kind == Ident || t.kind == SystemName
}

// startsDecl reports whether a block item declaration starts here.
func (p *parser) startsDecl() bool {
	t := p.tok
	if t.kind == Keyword {
		switch t.text {
		case "logic", "reg", "bit", "byte", "shortint", "int", "longint", "integer", "time", "real",
			"shortreal", "realtime", "string", "chandle", "event", "struct", "union", "enum",
			"typedef", "const", "var", "static", "automatic", "localparam", "parameter", "virtual":
			return true
		}
		return false
	}
	if isName(t) {
		return p.identStartsDecl()
	}
	return false
}

// identStartsDecl decides whether the statement starting with an identifier
// is a declaration with a user-defined type.
func (p *parser) identStartsDecl() bool {
	i := p.i + 1
	// pkg::t or cls#(..)::t chains
	for i < len(p.toks) {
		t := &p.toks[i]
		if isTok(t, "::") && i+1 < len(p.toks) && isName(&p.toks[i+1]) {
			i += 2
			continue
		}
		if isTok(t, "#") && i+1 < len(p.toks) && isTok(&p.toks[i+1], "(") {
			i = p.skipGroupAt(i + 1)
			continue
		}
		break
	}
	if i < len(p.toks) && isTok(&p.toks[i], "[") {
		i = p.skipBracketsAt(i)
	}
	if i >= len(p.toks) || !isName(&p.toks[i]) {
		return false
	}
	// name followed by what ends a declarator
	if i+1 < len(p.toks) {
		n := &p.toks[i+1]
		return isTok(n, ";") || isTok(n, "=") || isTok(n, ",") || isTok(n, "[")
	}
	return false
}

// parseStmt parses one statement into the current scope.
func (p *parser) parseStmt() {
	if !p.nest("statements nested too deeply") {
		return
	}
	defer p.leave()
	p.skipAttrs()
	t := p.tok
	switch t.kind {
	case Keyword:
		p.kwStmt()
	case Ident:
		if isTok(p.peek(1), ":") {
			// statement label
			lname, lsp := tokName(t), p.span(t)
			p.next()
			p.next()
			if p.at("begin") || p.at("fork") {
				p.block(lname, lsp)
				return
			}
			d := p.newDecl(design.DeclLabel, lname, lsp)
			d.Full = lsp
			p.addDecl(d)
			p.parseStmt()
			return
		}
		if p.instCut() {
			// a module instance on a new line: the statement is missing
			p.expected("a statement")
			return
		}
		if p.identStartsDecl() {
			p.dataDecl(inModule, p.i)
			return
		}
		p.exprStmt()
	case SystemName:
		p.exprStmt()
	case Op:
		switch t.text {
		case ";":
			p.next()
		case "@":
			p.eventControl()
			p.parseStmt()
		case "#":
			p.delay()
			p.parseStmt()
		case "##":
			p.next()
			if p.at("[") {
				p.dim()
			} else {
				p.parsePrimary()
			}
			p.parseStmt()
		case "->", "->>":
			p.next()
			if p.at("#") {
				p.delay()
			}
			p.parseExpr()
			p.endStmt("event trigger")
		case "{", "++", "--":
			p.exprStmt()
		default:
			p.errHere("unexpected " + desc(t) + "; expected a statement")
			p.next()
			p.sync()
		}
	case EOF:
		p.expected("a statement")
	default:
		p.errHere("unexpected " + desc(t) + "; expected a statement")
		p.next()
		p.sync()
	}
}

// endItem expects the ';' that ends an item; without it, it reports what
// lacked one and, unless a new item starts there, skips to the next.
func (p *parser) endItem(what string) {
	if !p.accept(";") {
		p.missingSemi(what, p.startsItem())
	}
}

// endStmt is endItem for a statement.
func (p *parser) endStmt(what string) {
	if !p.accept(";") {
		p.missingSemi(what, p.startsStmt())
	}
}

// missingSemi reports a missing ';' after what and, unless the parse
// resumes at the current token, skips to the next item.
func (p *parser) missingSemi(what string, resumes bool) {
	p.expected("';' after the " + what)
	if !resumes {
		p.sync()
	}
}

func (p *parser) kwStmt() {
	t := p.tok
	switch t.text {
	case "begin", "fork":
		p.block("", design.Span{})
	case "if":
		p.ifStmt()
	case "unique", "unique0", "priority":
		p.next()
		switch {
		case p.at("if"):
			p.ifStmt()
		case p.at("case") || p.at("casez") || p.at("casex"):
			p.caseStmt()
		default:
			p.expected("'if' or 'case' after '" + t.text + "'")
			p.sync()
		}
	case "case", "casez", "casex", "randcase":
		p.caseStmt()
	case "for":
		p.forStmt()
	case "foreach":
		p.foreachStmt()
	case "while", "repeat":
		p.next()
		p.parenExpr(t.text)
		p.parseStmt()
	case "forever":
		p.next()
		p.parseStmt()
	case "do":
		p.next()
		p.parseStmt()
		if p.expect("while", "'while' after the do-loop body") {
			p.parenExpr("while")
		}
		p.endStmt("do-while loop")
	case "wait":
		p.next()
		if p.accept("fork") {
			p.endStmt("wait fork")
			return
		}
		p.parenExpr("wait")
		p.parseStmt()
	case "wait_order", "randsequence", "expect":
		if t.text == "randsequence" {
			p.next()
			p.skipTo("endsequence", "end", "endtask", "endfunction")
			return
		}
		p.next()
		if p.at("(") {
			p.skipBalanced()
		}
		p.parseStmt()
		if p.accept("else") {
			p.parseStmt()
		}
	case "disable":
		p.next()
		if p.accept("fork") {
			p.endStmt("disable fork")
			return
		}
		p.parseLHS()
		p.endStmt("disable statement")
	case "return":
		p.next()
		if !p.at(";") {
			p.discardExpr()
		}
		p.endStmt("return statement")
	case "break", "continue":
		p.next()
		p.endStmt(t.text + " statement")
	case "assign", "force":
		p.next()
		lhs := p.parseLHS()
		_ = lhs
		if p.expect("=", "'=' in the "+t.text+" statement") {
			p.parseExpr()
		}
		p.endStmt(t.text + " statement")
	case "deassign", "release":
		p.next()
		p.parseLHS()
		p.endStmt(t.text + " statement")
	case "assert", "assume", "cover", "restrict":
		p.assertion()
	case "void":
		p.next()
		if !p.accept("'") {
			p.expected("\"'\" after 'void'")
		}
		p.parsePrimary()
		p.endStmt("void cast")
	case "this", "super", "null", "new":
		p.exprStmt()
	case "typedef":
		p.typedef()
	case "localparam", "parameter":
		p.paramDecl()
	case "let":
		p.sync()
	case "const", "var", "static", "automatic":
		p.dataDecl(inModule, p.i)
	case "else":
		p.errHere("'else' without a matching 'if'")
		p.next()
	case "end", "join", "join_any", "join_none", "endcase", "endfunction", "endtask":
		p.errHere("unexpected '" + t.text + "'; expected a statement")
		p.next()
	default:
		if isDataTypeKeyword(t.text) || isNetKeyword(t.text) {
			p.dataDecl(inModule, p.i)
			return
		}
		if t.kind == Keyword && isSyncKeyword(t.text) {
			p.expected("a statement")
			return
		}
		p.errHere("unexpected " + desc(t) + "; expected a statement")
		p.next()
		p.sync()
	}
}

// parenExpr parses ( expr ) after a keyword; the tree is not kept.
func (p *parser) parenExpr(after string) {
	if !p.expect("(", "'(' after '"+after+"'") {
		return
	}
	p.discardExpr()
	if !p.accept(")") {
		p.expected("')' after the " + after + " condition")
		for !p.eof() && !p.at(")") && !p.at(";") && !(p.tok.kind == Keyword && isSyncKeyword(p.tok.text)) && !p.at("begin") {
			p.next()
		}
		p.accept(")")
	}
}

// block parses begin/fork ... end/join. label is a label written before
// the block (name : begin).
func (p *parser) block(label string, lsp design.Span) {
	start := p.i
	isFork := p.at("fork")
	p.next()
	if p.at(":") && isName(p.peek(1)) {
		p.next()
		t := p.tok
		p.next()
		if label == "" {
			label, lsp = tokName(t), p.span(t)
		}
	}
	var s *design.Scope
	var m smark
	if label != "" || isFork || p.startsDecl() {
		s = &design.Scope{Kind: design.ScopeBlock, Name: label, NameSpan: lsp}
		if label != "" {
			d := p.newDecl(design.DeclLabel, label, lsp)
			d.Full = lsp
			p.addDecl(d)
		}
		m = p.push(s)
	}
	closed := false
	for !p.eof() {
		t := p.tok
		if t.kind == Keyword {
			if isFork && (t.text == "join" || t.text == "join_any" || t.text == "join_none") || !isFork && t.text == "end" {
				p.next()
				p.endLabel()
				closed = true
				break
			}
			if blockStop(t.text) {
				break
			}
		} else if p.instCut() {
			break
		}
		is := p.i
		p.parseStmt()
		if p.i == is {
			p.next()
		}
	}
	if !closed {
		if isFork {
			p.expected("'join' to close the fork")
		} else {
			p.expected("'end' to close the 'begin'")
		}
	}
	full := p.spanFrom(start)
	if s != nil {
		p.pop(m)
		s.Full = full
	}
	p.fold(full)
}

// blockStop reports keywords that cannot appear inside a statement block:
// a missing 'end' is reported there.
func blockStop(s string) bool {
	switch s {
	case "endmodule", "module", "endfunction", "endtask", "endclass", "endinterface", "endprogram",
		"endpackage", "always", "always_ff", "always_comb", "always_latch", "initial", "final",
		"function", "task", "endgenerate", "endcase", "join", "join_any", "join_none", "end",
		"generate", "macromodule", "program", "package", "interface", "class", "endclocking",
		"endgroup", "endproperty", "endsequence":
		return true
	}
	return false
}

func (p *parser) ifStmt() {
	p.next()
	p.parenExpr("if")
	p.parseStmt()
	if p.accept("else") {
		p.parseStmt()
	}
}

func (p *parser) caseStmt() {
	start := p.i
	p.next()
	p.parenExpr("case")
	if p.at("inside") || p.at("matches") {
		p.next()
	}
	for !p.eof() && !p.at("endcase") {
		t := p.tok
		if t.kind == Keyword && blockStop(t.text) || p.instCut() {
			break
		}
		is := p.i
		if p.accept("default") {
			p.accept(":")
			p.parseStmt()
			continue
		}
		for {
			m := p.exprMark()
			if p.at("[") {
				p.setItem()
			} else {
				p.parseExpr()
			}
			p.release(m)
			if !p.accept(",") {
				break
			}
		}
		if !p.accept(":") {
			p.expected("':' after the case item")
			p.sync()
			if p.i == is {
				p.next()
			}
			continue
		}
		p.parseStmt()
		if p.i == is {
			p.next()
		}
	}
	if !p.accept("endcase") {
		p.expected("'endcase'")
	}
	p.fold(p.spanFrom(start))
}

func (p *parser) forStmt() {
	start := p.i
	p.next()
	var s *design.Scope
	var m smark
	if !p.expect("(", "'(' after 'for'") {
		p.sync()
		return
	}
	if p.startsDecl() || p.at("genvar") {
		s = &design.Scope{Kind: design.ScopeBlock}
		m = p.push(s)
		p.accept("genvar")
		for p.tok.kind == Keyword && isQualifier(p.tok.text) {
			p.next()
		}
		ds := p.i
		typ, _ := p.parseType(true)
		for {
			if !p.isName() {
				p.expected("a loop variable name")
				break
			}
			nt := p.tok
			p.next()
			d := p.newDecl(design.DeclVar, tokName(nt), p.span(nt))
			d.Type = typ
			if p.accept("=") {
				d.Value = p.parseExpr()
				lhs := p.newExpr(design.ExprIdent, d.Name, d.Span)
				lhs.NameSpan = d.Span
				p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignInit, LHS: lhs, RHS: d.Value, Full: p.spanFrom(ds)})
			}
			d.Full = p.spanFrom(ds)
			p.addDecl(d)
			if !p.at(",") {
				break
			}
			p.next()
			if n := p.tok; n.kind == Keyword && isDataTypeKeyword(n.text) {
				typ, _ = p.parseType(true)
			}
		}
		p.forCondStep()
	} else {
		p.forHeaderRest()
	}
	p.parseStmt()
	if s != nil {
		p.pop(m)
		s.Full = p.spanFrom(start)
	}
}

func (p *parser) foreachStmt() {
	start := p.i
	p.next()
	if !p.expect("(", "'(' after 'foreach'") {
		p.sync()
		return
	}
	s := &design.Scope{Kind: design.ScopeBlock}
	// the array name resolves outside the loop scope
	if p.isName() || p.at("this") || p.at("super") {
		p.hierName()
	} else {
		p.expected("an array name")
	}
	m := p.push(s)
	for p.at("[") {
		p.next()
		for !p.eof() && !p.at("]") {
			if p.isName() {
				t := p.tok
				d := p.newDecl(design.DeclVar, tokName(t), p.span(t))
				d.Type = design.Type{Keyword: "int", Text: "int"}
				d.Full = d.Span
				p.addDecl(d)
				p.next()
			} else if !p.at(",") {
				p.expected("a loop variable")
				break
			}
			if !p.accept(",") {
				break
			}
		}
		p.expect("]", "']' after the loop variables")
	}
	p.expect(")", "')' after the foreach header")
	p.parseStmt()
	p.pop(m)
	s.Full = p.spanFrom(start)
}

// hierName parses a.b.c (no selects) as a ref.
func (p *parser) hierName() {
	t := p.tok
	p.next()
	ri := -1
	if t.kind == Ident {
		ri = p.addRef(design.Ref{Kind: design.RefValue, Name: tokName(t), Span: p.span(t)})
	}
	for p.at(".") && (isName(p.peek(1)) || p.peek(1).kind == Keyword) {
		p.next()
		m := p.tok
		p.next()
		if ri >= 0 {
			r := &p.refBuf[ri]
			r.Path = append(r.Path, tokName(m))
			r.PathSpans = append(r.PathSpans, p.span(m))
		} else if m.kind == Ident {
			ri = p.addRef(design.Ref{Kind: design.RefValue, Name: tokName(m), Span: p.span(m)})
		}
	}
}

// eventControl parses @(...), @*, @name.
func (p *parser) eventControl() {
	m := p.exprMark()
	defer p.release(m)
	p.next() // @
	switch {
	case p.at("*"):
		p.next()
	case p.at("(*"):
		p.next()
		p.expect(")", "')' after '@(*'")
	case p.at("("):
		p.next()
		if p.accept("*") {
			p.expect(")", "')' after '@(*'")
			return
		}
		for !p.eof() {
			if p.at("posedge") || p.at("negedge") || p.at("edge") {
				p.next()
			}
			p.parseExpr()
			if p.accept("iff") {
				p.parseExpr()
			}
			if p.accept("or") || p.accept(",") {
				continue
			}
			break
		}
		if !p.accept(")") {
			p.expected("')' to close the event control")
		}
	case p.isName():
		p.hierName()
	default:
		p.expected("an event after '@'")
	}
}

// delay parses #n, #(expr), #name, #1ns.
func (p *parser) delay() {
	m := p.exprMark()
	defer p.release(m)
	p.next() // #
	switch {
	case p.at("("):
		p.next()
		for !p.eof() {
			p.parseExpr()
			if p.accept(":") || p.accept(",") {
				continue
			}
			break
		}
		p.expect(")", "')' to close the delay")
	case p.tok.kind == Number || p.isName() || p.tok.kind == Keyword && p.tok.text == "step":
		p.parsePrimary()
	default:
		p.expected("a delay value after '#'")
	}
}

// exprStmt parses assignments, increments and call statements.
func (p *parser) exprStmt() {
	start := p.i
	em := p.exprMark()
	if p.at("++") || p.at("--") {
		p.next()
		p.parseLHS()
		p.release(em)
		p.endStmt("increment")
		return
	}
	lhs := p.parseLHS()
	switch {
	case p.at("=") || p.at("<="):
		kind := design.AssignBlocking
		if p.at("<=") {
			kind = design.AssignNonblocking
		}
		p.next()
		// intra-assignment timing control
		if p.at("#") {
			p.delay()
		} else if p.at("@") {
			p.eventControl()
		} else if p.at("repeat") {
			p.next()
			p.parenExpr("repeat")
			if p.at("@") {
				p.eventControl()
			}
		}
		rhs := p.parseRHS()
		p.endStmt("assignment")
		p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: kind, LHS: lhs, RHS: rhs, Full: p.spanFrom(start)})
	case isCompound(p.tok):
		p.next()
		rhs := p.parseExpr()
		p.endStmt("assignment")
		p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignBlocking, LHS: lhs, RHS: rhs, Full: p.spanFrom(start)})
	case p.at("++") || p.at("--"):
		p.next()
		p.release(em)
		p.endStmt("increment")
	case p.at(";"):
		p.release(em)
		p.next()
	default:
		if p.i == start {
			p.errHere("unexpected " + desc(p.tok) + "; expected a statement")
			p.next()
			p.sync()
			return
		}
		p.expected("'=', '<=' or ';' after the expression")
		if !p.startsStmt() || p.tok.kind == Ident && !p.lineBetween(&p.toks[p.i-1], p.tok) {
			p.sync()
		}
	}
}

// assertion parses assert/assume/cover/restrict/expect, immediate or
// concurrent, with its action block.
func (p *parser) assertion() {
	p.next()
	if p.at("property") || p.at("sequence") {
		p.next()
		if p.at("(") {
			p.skipBalanced()
		} else {
			p.expected("'(' after the assertion keyword")
		}
	} else {
		if p.at("final") {
			p.next()
		} else if p.at("#") {
			p.next()
			if p.tok.kind == Number {
				p.next()
			}
		}
		if p.at("(") {
			// immediate assertion: a plain expression; a group with
			// property operators is skipped
			end := p.skipGroupAt(p.i)
			plain := true
			for k := p.i; k < end; k++ {
				if t := &p.toks[k]; t.kind == Op && (t.text == "|->" || t.text == "|=>" || t.text == "##") || t.kind == Keyword && (t.text == "throughout" || t.text == "within" || t.text == "intersect" || t.text == "until") {
					plain = false
					break
				}
			}
			if plain {
				p.next()
				p.discardExpr()
				if !p.accept(")") {
					p.expected("')' to close the assertion")
				}
			} else {
				p.skipBalanced()
			}
		} else {
			p.expected("'(' after the assertion keyword")
		}
	}
	if p.accept(";") {
		return
	}
	if !p.at("else") {
		p.parseStmt()
	}
	if p.accept("else") {
		p.parseStmt()
	}
}
