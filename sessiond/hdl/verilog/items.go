package verilog

import (
	"gatewave.dev/sessiond/hdl/design"
)

func isNetKeyword(s string) bool {
	switch s {
	case "wire", "tri", "tri0", "tri1", "wand", "wor", "triand", "trior", "trireg", "supply0",
		"supply1", "uwire", "interconnect":
		return true
	}
	return false
}

func isGate(s string) bool {
	switch s {
	case "and", "nand", "or", "nor", "xor", "xnor", "buf", "not", "bufif0", "bufif1", "notif0",
		"notif1", "pullup", "pulldown", "nmos", "pmos", "rnmos", "rpmos", "cmos", "rcmos", "tran",
		"rtran", "tranif0", "tranif1", "rtranif0", "rtranif1":
		return true
	}
	return false
}

// isDataTypeKeyword reports whether s starts a data type.
func isDataTypeKeyword(s string) bool {
	switch s {
	case "logic", "reg", "bit", "byte", "shortint", "int", "longint", "integer", "time", "real",
		"shortreal", "realtime", "string", "chandle", "event", "struct", "union", "enum", "void",
		"signed", "unsigned", "virtual", "type":
		return true
	}
	return false
}

func isQualifier(s string) bool {
	switch s {
	case "const", "var", "static", "automatic", "rand", "randc", "local", "protected", "pure", "extern":
		return true
	}
	return false
}

// parseItem parses one module/interface/package/class/generate item.
func (p *parser) parseItem(ctx ictx) {
	if !p.nest("constructs nested too deeply") {
		return
	}
	defer p.leave()
	p.skipAttrs()
	t := p.tok
	start := p.i
	switch t.kind {
	case Ident:
		if n := p.peek(1); isTok(n, ":") {
			// label: assertion or generate block
			lname, lsp := tokName(t), p.span(t)
			p.next()
			p.next()
			if p.at("begin") {
				p.genBlockLabeled(lname, lsp)
				return
			}
			p.parseItem(ctx)
			return
		}
		p.identItem(ctx, start)
		return
	case Keyword:
	case EOF:
		return
	case Op:
		if t.text == ";" {
			p.next()
			return
		}
		fallthrough
	default:
		p.errHere("unexpected " + desc(t) + "; expected a declaration, instance or process")
		p.next()
		p.sync()
		return
	}
	kw := t.text
	switch kw {
	case "input", "output", "inout", "ref":
		p.portDecl()
	case "parameter", "localparam":
		p.paramDecl()
	case "specparam", "defparam", "bind", "let", "alias", "timeunit", "timeprecision", "nettype", "export":
		p.sync()
	case "genvar":
		p.genvarDecl()
	case "assign":
		p.contAssign()
	case "always", "always_ff", "always_comb", "always_latch", "initial", "final":
		p.process()
	case "generate":
		p.next()
		if p.items(inGenerate, "endgenerate") {
			p.next()
		} else {
			p.expected("'endgenerate'")
		}
		p.fold(p.spanFrom(start))
	case "for":
		p.genFor()
	case "if":
		p.genIf()
	case "case":
		p.genCase()
	case "begin":
		p.genBlock()
	case "function", "task":
		p.subroutine(start, false)
	case "typedef":
		p.typedef()
	case "import":
		p.importDecl()
	case "modport":
		p.modport()
	case "class":
		p.class(start, false)
	case "interface":
		if isTok(p.peek(1), "class") {
			p.next()
			p.class(start, false)
			return
		}
		p.errHere("unexpected 'interface' here")
		p.next()
		p.sync()
	case "covergroup":
		p.covergroup(start)
	case "property":
		p.next()
		p.skipTo("endproperty", "endmodule", "endinterface", "endpackage", "endclass")
	case "sequence":
		p.next()
		p.skipTo("endsequence", "endmodule", "endinterface", "endpackage", "endclass")
	case "clocking":
		p.clocking(start)
	case "default", "global":
		p.next()
		if p.at("clocking") {
			p.clocking(start)
			return
		}
		p.sync()
	case "specify":
		p.next()
		p.skipTo("endspecify")
	case "checker":
		p.next()
		p.skipTo("endchecker")
	case "assert", "assume", "cover", "restrict", "expect":
		p.assertion()
	case "constraint":
		p.constraint()
	case "end":
		p.errHere("unexpected 'end' without a matching 'begin'")
		p.next()
	case "else":
		p.errHere("unexpected 'else' without a matching 'if'")
		p.next()
	case "endcase", "endfunction", "endtask", "join", "join_any", "join_none", "endgroup",
		"endproperty", "endsequence", "endclocking", "endspecify", "endtable", "endgenerate":
		p.errHere("unexpected '" + kw + "'")
		p.next()
	case "pure", "extern", "virtual", "static", "local", "protected", "rand", "randc", "const",
		"var", "automatic":
		p.qualifiedItem(ctx, start)
	default:
		switch {
		case isNetKeyword(kw) || isDataTypeKeyword(kw):
			p.dataDecl(ctx, start)
		case isGate(kw):
			p.gate()
		default:
			p.errHere("unexpected " + desc(t) + "; expected a declaration, instance or process")
			p.next()
			p.sync()
		}
	}
}

// qualifiedItem parses an item that starts with qualifiers (class members
// and methods, static/automatic variables).
func (p *parser) qualifiedItem(ctx ictx, start int) {
	proto := false
	for p.tok.kind == Keyword {
		switch p.tok.text {
		case "pure", "extern":
			proto = true
			p.next()
			continue
		case "virtual":
			n := p.peek(1)
			if isTok(n, "function") || isTok(n, "task") || isTok(n, "class") || n.kind == Keyword && isQualifier(n.text) {
				p.next()
				continue
			}
		case "static", "local", "protected", "rand", "randc", "const", "var", "automatic":
			n := p.peek(1)
			if n.kind == Keyword && (n.text == "function" || n.text == "task" || n.text == "constraint" || n.text == "class" || isQualifier(n.text) || n.text == "virtual") {
				p.next()
				continue
			}
		}
		break
	}
	switch {
	case p.at("function") || p.at("task"):
		p.subroutine(start, proto)
	case p.at("class"):
		p.class(start, false)
	case p.at("constraint"):
		p.constraint()
	default:
		p.dataDecl(ctx, start)
	}
}

// identItem parses an item starting with an identifier: a declaration with
// a user-defined type or a module/interface instantiation.
func (p *parser) identItem(ctx ictx, start int) {
	n1 := p.peek(1)
	switch {
	case isTok(n1, "::") || isTok(n1, "[") || isTok(n1, "."):
		p.dataDecl(ctx, start)
	case isTok(n1, "#"):
		if ctx == inClass || ctx == inPackage || ctx == inUnit {
			p.dataDecl(ctx, start)
			return
		}
		k := p.skipHashAt(p.i + 1)
		if k < len(p.toks) && isName(&p.toks[k]) && k+1 < len(p.toks) && (isTok(&p.toks[k+1], "(") || isTok(&p.toks[k+1], "[")) {
			p.instances(start)
			return
		}
		if isTok(p.peek(2), "(") && !p.groupClosedAt(p.i+2) {
			// a half-typed parameter list: an instance being written
			p.instances(start)
			return
		}
		p.dataDecl(ctx, start)
	case isName(n1):
		n2 := p.peek(2)
		if isTok(n2, "(") {
			p.instances(start)
			return
		}
		if isTok(n2, "[") {
			k := p.skipBracketsAt(p.i + 2)
			if k < len(p.toks) && isTok(&p.toks[k], "(") {
				p.instances(start)
				return
			}
		}
		p.dataDecl(ctx, start)
	case isTok(n1, "("):
		p.instances(start)
	case n1.kind == Op && (n1.text == "=" || n1.text == "<=" || n1.text == "++" || n1.text == "--" || len(n1.text) == 2 && n1.text[1] == '='):
		p.errHere("unexpected assignment outside a process; use 'assign' or put it in an always/initial block")
		p.sync()
	default:
		p.next()
		p.expected("a name after " + desc(&p.toks[start]))
		p.sync()
	}
}

// skipHashAt returns the index after #(...) or #x starting at toks[i] == '#'.
func (p *parser) skipHashAt(i int) int {
	i++
	if i >= len(p.toks) {
		return i
	}
	if !isTok(&p.toks[i], "(") {
		return i + 1
	}
	return p.skipGroupAt(i)
}

// skipGroupAt returns the index after the bracketed group starting at toks[i].
func (p *parser) skipGroupAt(i int) int {
	lvl := 0
	for i < len(p.toks) {
		t := &p.toks[i]
		if t.kind == EOF {
			return i
		}
		if t.kind == Op {
			switch t.text {
			case "(", "[", "{", "'{", "(*":
				lvl++
			case ")", "]", "}":
				lvl--
				if lvl <= 0 {
					return i + 1
				}
			case ";":
				return i
			}
		}
		i++
	}
	return i
}

// groupClosedAt reports whether the bracketed group starting at toks[i]
// is closed before a ';' or the end of the file.
func (p *parser) groupClosedAt(i int) bool {
	lvl := 0
	for ; i < len(p.toks); i++ {
		t := &p.toks[i]
		if t.kind == EOF {
			return false
		}
		if t.kind == Op {
			switch t.text {
			case "(", "[", "{", "'{", "(*":
				lvl++
			case ")", "]", "}":
				lvl--
				if lvl <= 0 {
					return true
				}
			case ";":
				return false
			}
		}
	}
	return false
}

func (p *parser) skipBracketsAt(i int) int {
	for i < len(p.toks) && isTok(&p.toks[i], "[") {
		i = p.skipGroupAt(i)
	}
	return i
}

// ---- declarations ----

// dataDecl parses a net or variable declaration starting at the current
// token (qualifiers, net keyword, type, names).
func (p *parser) dataDecl(ctx ictx, start int) {
	kind := design.DeclVar
	for p.tok.kind == Keyword && isQualifier(p.tok.text) {
		p.next()
	}
	typeStart := p.i
	var typ design.Type
	if p.tok.kind == Keyword && isNetKeyword(p.tok.text) {
		kind = design.DeclNet
		typ = p.netType()
	} else {
		var ok bool
		typ, ok = p.parseType(true)
		if !ok {
			p.expected("a data type")
			p.sync()
			return
		}
	}
	_ = typeStart
	if typ.Keyword == "event" {
		kind = design.DeclEvent
	}
	if p.at("#") {
		p.delay()
	}
	if p.at(";") && typ.Aggregate == "" {
		p.expected("a name in the declaration")
		p.next()
		return
	}
	decls := p.declNames(kind, typ, start, "declaration")
	p.addDecls(decls)
}

// netType parses a net keyword with optional strength, vectored/scalared and
// data type.
func (p *parser) netType() design.Type {
	start := p.i
	kw := p.tok.text
	p.next()
	if p.at("(") {
		if n := p.peek(1); n.kind == Keyword && isStrength(n.text) {
			p.skipBalanced()
		}
	}
	if p.at("vectored") || p.at("scalared") {
		p.next()
	}
	var typ design.Type
	if p.tok.kind == Keyword && isDataTypeKeyword(p.tok.text) || p.at("[") {
		typ, _ = p.parseType(true)
	} else if p.isName() && (isName(p.peek(1)) || isTok(p.peek(1), "::")) {
		typ, _ = p.parseType(true)
	}
	typ.Keyword = kw
	typ.Text = p.textFrom(start)
	return typ
}

func isStrength(s string) bool {
	switch s {
	case "supply0", "strong0", "pull0", "weak0", "highz0", "supply1", "strong1", "pull1", "weak1", "highz1", "small", "medium", "large":
		return true
	}
	return false
}

// declNames parses name [dims] [= init] {, ...} ; and returns the decls.
func (p *parser) declNames(kind design.DeclKind, typ design.Type, start int, what string) []*design.Decl {
	var decls []*design.Decl
	for {
		if !p.isName() {
			p.expected("a name in the " + what)
			p.sync()
			return p.finishDecls(decls, start)
		}
		d := p.declName(kind, typ)
		if p.at("=") {
			as := p.i - 1
			p.next()
			rhs := p.parseRHS()
			d.Value = rhs
			lhs := p.newExpr(design.ExprIdent, d.Name, d.Span)
			lhs.NameSpan = d.Span
			p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignInit, LHS: lhs, RHS: rhs, Full: p.spanFrom(as)})
		} else if p.at("(") && kind == design.DeclVar {
			// covergroup or class instance with constructor args is not
			// legal here; but `event e()` style typos: skip the group
			p.skipBalanced()
		}
		decls = append(decls, d)
		if p.accept(",") {
			continue
		}
		break
	}
	p.endItem(what)
	return p.finishDecls(decls, start)
}

func (p *parser) finishDecls(decls []*design.Decl, start int) []*design.Decl {
	if len(decls) == 0 {
		return nil
	}
	full := p.spanFrom(start)
	doc := p.doc(start, p.i-1)
	for _, d := range decls {
		d.Full = full
		d.Doc = doc
	}
	return decls
}

// addDecls adds variable/net decls to the scope; in a unit with a
// non-ANSI port list, a declaration of a port name completes the port.
func (p *parser) addDecls(decls []*design.Decl) {
	for _, d := range decls {
		if p.nonANSI && p.unit != nil && p.scope == p.unit.Body {
			if port := findDecl(p.unit.Ports, d.Name); port != nil {
				port.Type = d.Type
				if port.Doc == "" {
					port.Doc = d.Doc
				}
				continue
			}
		}
		p.addDecl(d)
	}
}

func findDecl(ds []*design.Decl, name string) *design.Decl {
	for _, d := range ds {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// portDecl parses a body port declaration (non-ANSI style):
// input [7:0] a, b;
func (p *parser) portDecl() {
	start := p.i
	dir := dirOf(p.tok.text)
	p.next()
	typ := p.portType()
	decls := p.declNames(design.DeclPort, typ, start, "port declaration")
	for _, d := range decls {
		d.Dir = dir
		if p.unit != nil && p.scope == p.unit.Body {
			if port := findDecl(p.unit.Ports, d.Name); port != nil {
				port.Dir = dir
				if d.Type.Text != "" || port.Type.Text == "" {
					port.Type = d.Type
				}
				port.Span, port.Full, port.Doc = d.Span, d.Full, d.Doc
				continue
			}
			p.unit.Ports = append(p.unit.Ports, d)
			continue
		}
		p.addDecl(d)
	}
}

func dirOf(s string) design.Dir {
	switch s {
	case "input":
		return design.DirInput
	case "output":
		return design.DirOutput
	case "inout":
		return design.DirInout
	case "ref":
		return design.DirRef
	}
	return design.DirNone
}

// portType parses the optional type after a direction.
func (p *parser) portType() design.Type {
	if p.at("var") {
		p.next()
	}
	if p.tok.kind == Keyword && isNetKeyword(p.tok.text) {
		return p.netType()
	}
	if p.tok.kind == Keyword && isDataTypeKeyword(p.tok.text) || p.at("[") {
		t, _ := p.parseType(true)
		return t
	}
	if p.isName() {
		n := p.peek(1)
		if isName(n) || isTok(n, "::") || isTok(n, "#") || isTok(n, ".") && isName(p.peek(2)) && isName(p.peek(3)) {
			t, _ := p.parseType(true)
			return t
		}
		if isTok(n, "[") {
			// user type with packed dims: name [..] name
			k := p.skipBracketsAt(p.i + 1)
			if k < len(p.toks) && isName(&p.toks[k]) {
				t, _ := p.parseType(true)
				return t
			}
		}
	}
	return design.Type{}
}

func (p *parser) genvarDecl() {
	start := p.i
	p.next()
	decls := p.declNames(design.DeclGenvar, design.Type{Keyword: "genvar", Text: "genvar"}, start, "genvar declaration")
	p.addDecls(decls)
}

// paramDecl parses a body parameter/localparam declaration.
func (p *parser) paramDecl() {
	start := p.i
	local := p.at("localparam")
	p.next()
	kind := design.DeclParam
	if local {
		kind = design.DeclLocalParam
	}
	decls := p.paramItems(kind, start, false)
	p.endItem("parameter declaration")
	full := p.spanFrom(start)
	doc := p.doc(start, p.i-1)
	for _, d := range decls {
		d.Full = full
		if d.Doc == "" {
			d.Doc = doc
		}
		if p.unit != nil && p.scope == p.unit.Body && p.unit.Kind != design.UnitCompilation {
			p.unit.Params = append(p.unit.Params, d)
		} else {
			p.addDecl(d)
		}
	}
}

// paramItems parses [type] name [dims] [= value] {, ...} after parameter or
// localparam. In a #( ) list (inList) it stops before a ',' that is
// followed by a new parameter keyword.
func (p *parser) paramItems(kind design.DeclKind, start int, inList bool) []*design.Decl {
	var decls []*design.Decl
	typ, isType := p.paramType()
	for {
		if !p.isName() {
			p.expected("a parameter name")
			return decls
		}
		d := p.declName(kind, typ)
		if p.accept("=") {
			if isType {
				d.Value = p.typeExpr()
			} else {
				d.Value = p.parseExprOrType()
			}
		}
		d.Full = p.spanFrom(start)
		decls = append(decls, d)
		if !p.at(",") {
			return decls
		}
		if inList {
			n := p.peek(1)
			if n.kind == Keyword && (n.text == "parameter" || n.text == "localparam" || n.text == "type" || isDataTypeKeyword(n.text) || isNetKeyword(n.text)) || !isName(n) || isName(p.peek(2)) || isTok(p.peek(2), "::") {
				return decls
			}
		}
		p.next()
	}
}

// paramType parses the optional type of a parameter; isType reports a
// type parameter (parameter type T = int).
func (p *parser) paramType() (design.Type, bool) {
	if p.at("type") {
		p.next()
		return design.Type{Keyword: "type", Text: "type"}, true
	}
	if p.tok.kind == Keyword && (isDataTypeKeyword(p.tok.text) || isNetKeyword(p.tok.text)) || p.at("[") {
		if isNetKeyword(p.tok.text) {
			return p.netType(), false
		}
		t, _ := p.parseType(true)
		return t, false
	}
	if p.isName() {
		n := p.peek(1)
		if isName(n) || isTok(n, "::") || isTok(n, "#") {
			t, _ := p.parseType(true)
			return t, false
		}
		if isTok(n, "[") {
			k := p.skipBracketsAt(p.i + 1)
			if k < len(p.toks) && isName(&p.toks[k]) {
				t, _ := p.parseType(true)
				return t, false
			}
		}
	}
	return design.Type{}, false
}

// typeExpr parses a type where a type parameter's value is expected and
// returns it as an ExprOther whose Text is the type.
func (p *parser) typeExpr() *design.Expr {
	start := p.i
	t, ok := p.parseType(false)
	if !ok {
		return p.parseExpr()
	}
	e := p.newExpr(design.ExprOther, t.Text, p.spanFrom(start))
	return e
}

// paramPortList parses #( ... ) of a unit header.
func (p *parser) paramPortList(u *design.Unit) {
	p.next() // #
	if !p.at("(") {
		p.expected("'(' after '#'")
		return
	}
	lp := p.i
	p.next()
	kind := design.DeclParam
	last := -1
	for !p.eof() && !p.at(")") {
		p.stuck(&last)
		p.skipAttrs()
		itemStart := p.i
		if p.at("parameter") || p.at("localparam") {
			if p.at("localparam") {
				kind = design.DeclLocalParam
			} else {
				kind = design.DeclParam
			}
			p.next()
		}
		before := p.i
		decls := p.paramItems(kind, itemStart, true)
		for _, d := range decls {
			d.Doc = p.doc(itemStart, p.i-1)
			u.Params = append(u.Params, d)
		}
		if p.accept(",") {
			continue
		}
		if p.at(")") {
			break
		}
		if p.i == before || !p.at(")") {
			p.expected("',' or ')' in the parameter list")
			if p.at(";") || p.startsItem() {
				break
			}
			p.skipListItem()
			p.accept(",")
		}
	}
	p.accept(")")
	u.ParamList = p.spanFrom(lp)
	p.fold(u.ParamList)
}

// skipListItem skips to the next ',' or ')' at nesting level 0 (not
// consumed), stopping at ';'.
func (p *parser) skipListItem() {
	lvl := 0
	for !p.eof() {
		t := p.tok
		if t.kind == Op {
			switch t.text {
			case "(", "[", "{", "'{":
				lvl++
			case ")", "]", "}":
				if lvl == 0 {
					if t.text == ")" {
						return
					}
					break // a stray closer: skip it
				}
				lvl--
			case ",":
				if lvl == 0 {
					return
				}
			case ";":
				return
			}
		} else if t.kind == Keyword && isSyncKeyword(t.text) && t.text != "input" && t.text != "output" && t.text != "inout" && t.text != "parameter" && t.text != "localparam" && t.text != "wire" && t.text != "reg" && t.text != "logic" {
			return
		}
		p.next()
	}
}

// portList parses the ( ... ) port list of a unit header, ANSI or not.
func (p *parser) portList(u *design.Unit) {
	lp := p.i
	p.next()
	defer func() {
		u.PortList = p.spanFrom(lp)
		p.fold(u.PortList)
	}()
	if p.accept(")") {
		return
	}
	// non-ANSI: a list of plain names
	if p.isName() && (isTok(p.peek(1), ",") || isTok(p.peek(1), ")")) || p.at(".") || p.at("{") {
		p.nonANSI = true
		last := -1
		for !p.eof() {
			p.stuck(&last)
			switch {
			case p.isName():
				t := p.tok
				p.next()
				d := p.newDecl(design.DeclPort, tokName(t), p.span(t))
				d.Full = d.Span
				u.Ports = append(u.Ports, d)
			case p.at(",") || p.at(")"):
			default:
				p.skipListItem()
			}
			if p.accept(",") {
				continue
			}
			if p.accept(")") {
				return
			}
			p.expected("',' or ')' in the port list")
			if p.at(";") || p.startsItem() {
				return
			}
			p.skipListItem()
		}
		return
	}
	dir := design.DirInout
	var typ design.Type
	var kind design.DeclKind = design.DeclPort
	groupStart := p.i
	last := -1
	for !p.eof() {
		p.stuck(&last)
		p.skipAttrs()
		itemStart := p.i
		explicitDir := false
		if p.at("input") || p.at("output") || p.at("inout") || p.at("ref") {
			dir = dirOf(p.tok.text)
			explicitDir = true
			p.next()
		}
		hasType := false
		if p.at("var") {
			p.next()
		}
		switch {
		case p.tok.kind == Keyword && (isNetKeyword(p.tok.text) || isDataTypeKeyword(p.tok.text)) || p.at("["):
			typ = p.portType()
			kind = design.DeclPort
			hasType = true
		case p.at("interface"):
			// generic interface port: interface [.modport] name
			ts := p.i
			p.next()
			if p.accept(".") {
				p.name("a modport name")
			}
			typ = design.Type{Keyword: "interface", Text: p.textFrom(ts)}
			kind = design.DeclInterfacePort
			hasType = true
		case p.isName():
			n := p.peek(1)
			if isName(n) || isTok(n, "::") || isTok(n, "#") || isTok(n, ".") || isTok(n, "[") && p.isTypeWithDims() {
				typ = p.portType()
				if typ.Text == "" {
					typ, _ = p.parseType(true)
				}
				hasType = true
				kind = design.DeclPort
				if !explicitDir && typ.Keyword == "" && typ.Name != "" && !isTok(n, "::") {
					kind = design.DeclInterfacePort
				}
			}
		}
		if explicitDir && !hasType {
			typ = design.Type{}
			kind = design.DeclPort
		}
		if explicitDir || hasType {
			groupStart = itemStart
		}
		if !p.isName() {
			p.expected("a port name")
			if p.portListEnds() {
				return
			}
			p.skipListItem()
			if p.accept(",") {
				continue
			}
			p.accept(")")
			return
		}
		d := p.declName(kind, typ)
		if kind == design.DeclPort {
			d.Dir = dir
		}
		if p.accept("=") {
			d.Value = p.parseExpr()
		}
		d.Full = p.spanFrom(groupStart)
		d.Doc = p.doc(itemStart, p.i-1)
		u.Ports = append(u.Ports, d)
		if !p.nextListItem("',' or ')' in the port list", true) {
			return
		}
	}
}

// portListEnds reports, after an error in a port list, a ';' or an item
// other than a port direction: where the list was left unclosed.
func (p *parser) portListEnds() bool {
	return p.at(";") || p.startsItem() && !p.at("input") && !p.at("output") && !p.at("inout")
}

// nextListItem consumes the ',' after an item of a port or argument list
// and reports whether another item follows; it consumes a closing ')' and
// reports false. After anything else it reports msg and skips the bad item,
// unless the list ends there (at ';' or, in a port list, at a new item).
func (p *parser) nextListItem(msg string, ports bool) bool {
	if p.accept(",") {
		return true
	}
	if p.accept(")") {
		return false
	}
	p.expected(msg)
	if p.at(";") || ports && p.portListEnds() {
		return false
	}
	p.skipListItem()
	p.accept(",")
	return true
}

// isTypeWithDims reports whether name [..].. name follows (a user type with
// packed dimensions) rather than name [..] (a port with unpacked dims).
func (p *parser) isTypeWithDims() bool {
	k := p.skipBracketsAt(p.i + 1)
	return k < len(p.toks) && isName(&p.toks[k])
}

func (p *parser) typedef() {
	start := p.i
	p.next()
	// forward declarations
	if p.at("class") || (p.at("enum") || p.at("struct") || p.at("union")) && isName(p.peek(1)) && isTok(p.peek(2), ";") ||
		p.at("interface") && isTok(p.peek(1), "class") || p.isName() && isTok(p.peek(1), ";") {
		p.skipPastSemi()
		return
	}
	typ, ok := p.parseType(false)
	if !ok {
		p.expected("a type after 'typedef'")
		p.sync()
		return
	}
	if !p.isName() {
		p.expected("the new type name")
		p.sync()
		return
	}
	d := p.declName(design.DeclTypedef, typ)
	p.endItem("typedef")
	d.Full = p.spanFrom(start)
	d.Doc = p.doc(start, p.i-1)
	p.addDecl(d)
}

// importDecl parses import pkg::*; import pkg::a, pkg2::b; and DPI imports.
func (p *parser) importDecl() {
	start := p.i
	p.next()
	if p.tok.kind == String {
		// import "DPI-C" [context|pure] [c_name =] function ...;
		p.next()
		for p.at("context") || p.at("pure") {
			p.next()
		}
		if p.isName() && isTok(p.peek(1), "=") {
			p.next()
			p.next()
		}
		if p.at("function") || p.at("task") {
			p.subroutine(start, true)
			return
		}
		p.sync()
		return
	}
	for {
		ps := p.i
		pkg, psp, ok := p.name("a package name")
		if !ok {
			p.sync()
			return
		}
		p.addRef(design.Ref{Kind: design.RefUnit, Name: pkg, Span: psp})
		if !p.expect("::", "'::' after the package name") {
			p.sync()
			return
		}
		item := "*"
		if p.accept("*") {
		} else if p.isName() {
			t := p.tok
			item = tokName(t)
			p.next()
			p.addRef(design.Ref{Kind: design.RefScoped, Name: item, Pkg: pkg, Span: p.span(t)})
		} else {
			p.expected("'*' or a name after '::'")
			p.sync()
			return
		}
		p.scope.Imports = append(p.scope.Imports, design.Import{Pkg: pkg, PkgSpan: psp, Name: item, Full: p.spanFrom(ps)})
		if !p.accept(",") {
			break
		}
	}
	p.endItem("import")
	_ = start
}

func (p *parser) modport() {
	start := p.i
	p.next()
	var decls []*design.Decl
	for {
		nt := p.tok
		if !p.isName() {
			p.expected("a modport name")
			p.sync()
			return
		}
		p.next()
		d := p.newDecl(design.DeclModport, tokName(nt), p.span(nt))
		if p.at("(") {
			lp := p.i
			p.next()
			dir := design.DirNone
			last := -1
			for !p.eof() && !p.at(")") {
				p.stuck(&last)
				switch {
				case p.at("input") || p.at("output") || p.at("inout") || p.at("ref"):
					dir = dirOf(p.tok.text)
					p.next()
					continue
				case p.at("import") || p.at("export"):
					dir = design.DirNone
					p.next()
					if p.at("function") || p.at("task") {
						p.skipListItem()
					}
					continue
				case p.at("clocking"):
					p.next()
					if p.isName() {
						t := p.tok
						p.next()
						it := p.newDecl(design.DeclModportItem, tokName(t), p.span(t))
						it.Full = it.Span
						d.Members = append(d.Members, it)
					}
				case p.at("."):
					is := p.i
					p.next()
					if p.isName() {
						t := p.tok
						p.next()
						it := p.newDecl(design.DeclModportItem, tokName(t), p.span(t))
						it.Dir = dir
						if p.accept("(") {
							if !p.at(")") {
								it.Value = p.parseExpr()
							}
							p.expect(")", "')'")
						}
						it.Full = p.spanFrom(is)
						d.Members = append(d.Members, it)
					}
				case p.isName():
					t := p.tok
					p.next()
					it := p.newDecl(design.DeclModportItem, tokName(t), p.span(t))
					it.Dir = dir
					it.Full = it.Span
					d.Members = append(d.Members, it)
					if p.at("(") {
						p.skipBalanced()
					}
				default:
					p.expected("a modport item")
					p.skipListItem()
				}
				if !p.accept(",") && !p.at(")") {
					p.expected("',' or ')' in the modport")
					if p.at(";") || p.startsItem() {
						break
					}
					p.skipListItem()
					p.accept(",")
				}
			}
			p.expect(")", "')' to close the modport")
			p.fold(p.spanFrom(lp))
		}
		decls = append(decls, d)
		if !p.accept(",") {
			break
		}
	}
	p.endItem("modport")
	full := p.spanFrom(start)
	doc := p.doc(start, p.i-1)
	for _, d := range decls {
		d.Full, d.Doc = full, doc
		p.addDecl(d)
	}
}

func (p *parser) covergroup(start int) {
	p.next()
	if p.isName() {
		t := p.tok
		p.next()
		d := p.newDecl(design.DeclTypedef, tokName(t), p.span(t))
		d.Type = design.Type{Keyword: "covergroup", Text: "covergroup"}
		d.Doc = p.doc(start, p.i-1)
		p.skipTo("endgroup", "endmodule", "endclass", "endinterface", "endpackage", "endprogram")
		p.endLabel()
		d.Full = p.spanFrom(start)
		p.fold(d.Full)
		p.addDecl(d)
		return
	}
	p.skipTo("endgroup", "endmodule", "endclass", "endinterface", "endpackage", "endprogram")
}

func (p *parser) clocking(start int) {
	p.next() // clocking
	var d *design.Decl
	if p.isName() {
		t := p.tok
		p.next()
		if p.at(";") {
			// default clocking name;
			p.addRef(design.Ref{Kind: design.RefValue, Name: tokName(t), Span: p.span(t)})
			p.next()
			return
		}
		d = p.newDecl(design.DeclVar, tokName(t), p.span(t))
		d.Type = design.Type{Keyword: "clocking", Text: "clocking"}
		d.Doc = p.doc(start, p.i-1)
	}
	p.skipTo("endclocking", "endmodule", "endinterface", "endprogram")
	p.endLabel()
	if d != nil {
		d.Full = p.spanFrom(start)
		p.fold(d.Full)
		p.addDecl(d)
	}
}

func (p *parser) constraint() {
	p.next()
	if p.isName() {
		p.next()
		for p.accept("::") {
			if p.isName() {
				p.next()
			}
		}
	}
	if p.at("{") {
		start := p.i
		p.skipBalanced()
		p.fold(p.spanFrom(start))
		return
	}
	if !p.accept(";") {
		p.expected("'{' or ';' after the constraint name")
		p.sync()
	}
}

// gate parses a gate instantiation; only the connected expressions matter
// (their names become refs).
func (p *parser) gate() {
	p.next()
	p.strengthDelay()
	for !p.eof() {
		if p.isName() {
			p.next()
		}
		if p.at("[") {
			p.dim()
		}
		if !p.at("(") {
			p.expected("'(' in the gate instantiation")
			p.sync()
			return
		}
		p.conns("gate", "", "", false)
		if !p.accept(",") {
			break
		}
	}
	if !p.accept(";") {
		p.expected("';' after the gate instantiation")
		p.sync()
	}
}

// instances parses Mod [#(...)] name [dims] (conns) {, name (conns)} ;
func (p *parser) instances(start int) {
	mt := p.tok
	p.next()
	mod, msp := tokName(mt), p.span(mt)
	var params []design.Conn
	var plist design.Span
	if p.at("#") {
		hs := p.i
		p.next()
		if p.at("(") {
			var closed bool
			params, closed, _, _ = p.conns("parameter override", "parameter list of", mod, true)
			if !closed && p.cut() {
				// cut by a new item: keep the half-typed, nameless instance
				plist = p.spanFrom(hs)
				inst := &design.Instance{Module: mod, ModuleSpan: msp, Params: params, ParamList: plist, Full: p.spanFrom(start)}
				p.scope.Instances = append(p.scope.Instances, inst)
				return
			}
		} else {
			vs := p.i
			e := p.parsePrimary()
			params = []design.Conn{{Expr: e, Full: p.spanFrom(vs)}}
		}
		plist = p.spanFrom(hs)
		p.fold(plist)
	}
	var insts []*design.Instance
	for {
		inst := &design.Instance{Module: mod, ModuleSpan: msp, Params: params, ParamList: plist}
		if p.isName() {
			t := p.tok
			p.next()
			inst.Name, inst.NameSpan = tokName(t), p.span(t)
		} else {
			p.expected("an instance name")
			if !p.at("(") {
				inst.Full = p.spanFrom(start)
				p.scope.Instances = append(p.scope.Instances, inst)
				p.sync()
				return
			}
		}
		if p.at("[") {
			r := p.dim()
			inst.Array = &r
		}
		if p.at("(") {
			ps := p.i
			var closed bool
			inst.Ports, closed, inst.Wildcard, inst.WildcardSpan = p.conns("port connections of "+inst.Name, "port list of instance", inst.Name, false)
			inst.PortList = p.spanFrom(ps)
			p.fold(inst.PortList)
			if !closed {
				inst.Full = p.spanFrom(start)
				p.scope.Instances = append(p.scope.Instances, inst)
				for _, in := range insts {
					in.Full = inst.Full
				}
				if p.at(";") {
					p.next()
				}
				return
			}
		} else {
			p.expected("'(' after the instance name")
		}
		insts = append(insts, inst)
		p.scope.Instances = append(p.scope.Instances, inst)
		if !p.accept(",") {
			break
		}
	}
	p.endItem("instance")
	full := p.spanFrom(start)
	for _, in := range insts {
		in.Full = full
	}
}

// conns parses ( conn {, conn} ) at the current '('. closed reports whether
// the list ended with ')'. A list cut by a new line that starts an item
// (see cut) ends there with "unterminated <of> '<name>'" (of defaults to
// what; no name when empty).
func (p *parser) conns(what, of, name string, param bool) (cs []design.Conn, closed, wild bool, wsp design.Span) {
	p.next() // (
	if p.accept(")") {
		return nil, true, false, wsp
	}
	last := -1
	for {
		p.stuck(&last)
		if p.cut() {
			p.unterminated(what, of, name)
			return cs, false, wild, wsp
		}
		if p.eof() || p.at(";") || p.tok.kind == Keyword && isConnStop(p.tok.text) {
			p.expected("')' to close the " + what)
			return cs, false, wild, wsp
		}
		start := p.i
		var c design.Conn
		switch {
		case p.at(".*"):
			wild, wsp = true, p.span(p.tok)
			p.next()
			c.Full = p.spanFrom(start)
			if p.accept(",") {
				continue
			}
		case p.at("."):
			p.next()
			if p.isName() || p.tok.kind == Keyword {
				t := p.tok
				p.next()
				c.Name, c.NameSpan = tokName(t), p.span(t)
			} else {
				p.expected("a port name after '.'")
			}
			if p.at("(") {
				p.next()
				if !p.at(")") {
					c.Expr = p.parseExprOrType()
				}
				if !p.accept(")") {
					if p.cut() {
						p.unterminated(what, of, name)
						c.Full = p.spanFrom(start)
						cs = append(cs, c)
						return cs, false, wild, wsp
					}
					p.expected("')' after the connection of ." + c.Name)
					if p.eof() || p.at(";") || p.tok.kind == Keyword && isConnStop(p.tok.text) {
						c.Full = p.spanFrom(start)
						cs = append(cs, c)
						return cs, false, wild, wsp
					}
					p.skipListItem()
					p.accept(")")
				}
			} else {
				c.Implicit = true
			}
		case p.at(",") || p.at(")"):
			c.Full = p.span(p.tok)
			c.Full.End = c.Full.Start
		default:
			c.Expr = p.parseExprOrType()
		}
		if !p.at(".*") || c.Expr != nil || c.Name != "" {
			if c.Full.File == "" {
				c.Full = p.spanFrom(start)
			}
			cs = append(cs, c)
		}
		if p.accept(",") {
			continue
		}
		if p.accept(")") {
			return cs, true, wild, wsp
		}
		if p.cut() {
			p.unterminated(what, of, name)
			return cs, false, wild, wsp
		}
		if p.eof() || p.at(";") || p.tok.kind == Keyword && isConnStop(p.tok.text) || p.lineBetween(&p.toks[p.i-1], p.tok) && p.startsItem() {
			p.expected("')' to close the " + what)
			return cs, false, wild, wsp
		}
		p.expected("',' or ')' in the " + what)
		p.skipListItem()
		if p.accept(")") {
			return cs, true, wild, wsp
		}
		p.accept(",")
	}
}

// unterminated reports a connection list cut by a new item (see conns).
func (p *parser) unterminated(what, of, name string) {
	if of == "" {
		of = what
	}
	msg := "unterminated " + of
	if name != "" {
		msg += " '" + name + "'"
	}
	p.errBefore(msg)
}

func isConnStop(s string) bool {
	switch s {
	case "endmodule", "module", "assign", "always", "always_ff", "always_comb", "always_latch",
		"initial", "final", "wire", "reg", "input", "output", "inout", "end", "endgenerate",
		"endfunction", "function", "task", "generate", "localparam", "parameter", "typedef",
		"genvar", "endinterface", "endprogram", "endpackage", "endcase", "begin":
		return true
	}
	return false
}

// strengthDelay skips a drive strength and a delay, either optional, after
// a gate type or 'assign'.
func (p *parser) strengthDelay() {
	if p.at("(") {
		if n := p.peek(1); n.kind == Keyword && isStrength(n.text) {
			p.skipBalanced()
		}
	}
	if p.at("#") {
		p.delay()
	}
}

func (p *parser) contAssign() {
	start := p.i
	p.next()
	p.strengthDelay()
	n0 := len(p.scope.Assigns)
	for {
		as := p.i
		lhs := p.parseLHS()
		if !p.accept("=") {
			p.expected("'=' in the continuous assignment")
			p.sync()
			return
		}
		rhs := p.parseExpr()
		p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignContinuous, LHS: lhs, RHS: rhs, Full: p.spanFrom(as)})
		if !p.accept(",") {
			break
		}
	}
	p.endItem("continuous assignment")
	if len(p.scope.Assigns) == n0+1 {
		p.scope.Assigns[n0].Full = p.spanFrom(start)
	}
}

func (p *parser) process() {
	start := p.i
	p.next()
	s := &design.Scope{Kind: design.ScopeProcess}
	m := p.push(s)
	p.parseStmt()
	p.pop(m)
	s.Full = p.spanFrom(start)
}

// ---- generate ----

func (p *parser) genFor() {
	start := p.i
	p.next()
	s := &design.Scope{Kind: design.ScopeGenerate}
	m := p.push(s)
	defer func() {
		p.pop(m)
		s.Full = p.spanFrom(start)
	}()
	if !p.expect("(", "'(' after 'for'") {
		p.sync()
		return
	}
	if p.at("genvar") {
		gs := p.i
		p.next()
		if p.isName() {
			t := p.tok
			d := p.newDecl(design.DeclGenvar, tokName(t), p.span(t))
			d.Type = design.Type{Keyword: "genvar", Text: "genvar"}
			d.Full = p.span(t)
			_ = gs
			p.addDecl(d)
		}
	}
	p.forHeaderRest()
	p.genBody(s, m.old)
}

// forHeaderRest parses init; cond; step ) of a for loop (after '(' and an
// optional genvar keyword).
func (p *parser) forHeaderRest() {
	if !p.at(";") {
		for {
			as := p.i
			lhs := p.parseLHS()
			if p.accept("=") {
				rhs := p.parseExpr()
				p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignBlocking, LHS: lhs, RHS: rhs, Full: p.spanFrom(as)})
			} else {
				p.expected("'=' in the for-loop initialisation")
			}
			if !p.accept(",") {
				break
			}
		}
	}
	p.forCondStep()
}

// forCondStep parses ; cond; step ) of a for loop, after its initialisation.
func (p *parser) forCondStep() {
	p.expect(";", "';' after the for-loop initialisation")
	if !p.at(";") {
		p.discardExpr()
	}
	p.expect(";", "';' after the for-loop condition")
	if !p.at(")") {
		for {
			p.stepExpr()
			if !p.accept(",") {
				break
			}
		}
	}
	p.expect(")", "')' after the for-loop step")
}

func (p *parser) stepExpr() {
	as := p.i
	if p.at("++") || p.at("--") {
		p.next()
		p.parseLHS()
		return
	}
	lhs := p.parseLHS()
	switch {
	case lhs.Op == design.ExprUnary && (lhs.Text == "++" || lhs.Text == "--"):
	case p.at("++") || p.at("--"):
		p.next()
	case p.at("="):
		p.next()
		rhs := p.parseExpr()
		p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignBlocking, LHS: lhs, RHS: rhs, Full: p.spanFrom(as)})
	case isCompound(p.tok):
		p.next()
		rhs := p.parseExpr()
		p.scope.Assigns = append(p.scope.Assigns, design.Assign{Kind: design.AssignBlocking, LHS: lhs, RHS: rhs, Full: p.spanFrom(as)})
	default:
		p.expected("an assignment in the for-loop step")
	}
}

// genBody parses the body of a generate for/if/case branch into s: a
// begin [: name] ... end block or a single item.
func (p *parser) genBody(s, parent *design.Scope) {
	if p.at("begin") {
		bs := p.i
		p.next()
		if p.accept(":") {
			if p.isName() {
				t := p.tok
				p.next()
				s.Name, s.NameSpan = tokName(t), p.span(t)
				d := p.newDecl(design.DeclLabel, s.Name, s.NameSpan)
				d.Full = s.NameSpan
				parent.Decls = append(parent.Decls, d)
			} else {
				p.expected("a block name after ':'")
			}
		}
		if p.items(inGenerate, "end") {
			p.next()
			p.endLabel()
		} else {
			p.expected("'end'")
		}
		p.fold(p.spanFrom(bs))
		return
	}
	p.parseItem(inGenerate)
}

// genBlock parses begin ... end as a generate block (or a single item).
func (p *parser) genBlock() {
	start := p.i
	s := &design.Scope{Kind: design.ScopeGenerate}
	m := p.push(s)
	p.genBody(s, m.old)
	p.pop(m)
	s.Full = p.spanFrom(start)
}

// genBlockLabeled parses name : begin ... end.
func (p *parser) genBlockLabeled(name string, sp design.Span) {
	start := p.i
	s := &design.Scope{Kind: design.ScopeGenerate, Name: name, NameSpan: sp}
	m := p.push(s)
	d := p.newDecl(design.DeclLabel, name, sp)
	d.Full = sp
	m.old.Decls = append(m.old.Decls, d)
	p.next() // begin
	if p.items(inGenerate, "end") {
		p.next()
		p.endLabel()
	} else {
		p.expected("'end'")
	}
	p.pop(m)
	s.Full = p.spanFrom(start)
	p.fold(s.Full)
}

func (p *parser) genIf() {
	for {
		p.next() // if
		if p.expect("(", "'(' after 'if'") {
			p.discardExpr()
			p.expect(")", "')' after the condition")
		}
		p.genBlock()
		if !p.accept("else") {
			return
		}
		if !p.at("if") {
			p.genBlock()
			return
		}
	}
}

func (p *parser) genCase() {
	start := p.i
	p.next()
	if p.expect("(", "'(' after 'case'") {
		p.discardExpr()
		p.expect(")", "')' after the case expression")
	}
	last := -1
	for !p.eof() && !p.at("endcase") {
		p.stuck(&last)
		if p.tok.kind == Keyword && (isUnitKeyword(p.tok.text) || p.tok.text == "endgenerate" || p.tok.text == "end") {
			break
		}
		is := p.i
		if p.accept("default") {
			p.accept(":")
		} else {
			for {
				p.discardExpr()
				if !p.accept(",") {
					break
				}
			}
			if !p.accept(":") {
				p.expected("':' after the case item")
				p.sync()
				continue
			}
		}
		p.genBlock()
		if p.i == is {
			p.next()
		}
	}
	if !p.accept("endcase") {
		p.expected("'endcase'")
	}
	p.fold(p.spanFrom(start))
}

// ---- subroutines and classes ----

// subroutine parses a function or task (at the keyword); start is where
// its qualifiers began. proto: a prototype without body (extern, pure,
// DPI import).
func (p *parser) subroutine(start int, proto bool) {
	isTask := p.at("task")
	p.next()
	if p.at("automatic") || p.at("static") {
		p.next()
	}
	var rt design.Type
	if !isTask {
		switch {
		case p.tok.kind == Keyword && isDataTypeKeyword(p.tok.text) || p.at("["):
			rt, _ = p.parseType(true)
		case p.isName():
			n := p.peek(1)
			switch {
			case isName(n) || isTok(n, "#"):
				rt, _ = p.parseType(true)
			case isTok(n, "["):
				rt, _ = p.parseType(true)
			case isTok(n, "::"):
				// pkg::t f(...) vs cls::method(...)
				k := p.i
				for k+2 < len(p.toks) && isTok(&p.toks[k+1], "::") && (isName(&p.toks[k+2]) || isTok(&p.toks[k+2], "new")) {
					k += 2
				}
				if k+1 < len(p.toks) && (isName(&p.toks[k+1]) || isTok(&p.toks[k+1], "[")) {
					rt, _ = p.parseType(true)
				}
			}
		}
	}
	nameIdx := p.i
	var name string
	var nsp design.Span
	outOfClass := ""
	if p.isName() || p.at("new") {
		t := p.tok
		p.next()
		name, nsp = tokName(t), p.span(t)
		for p.at("::") && (isName(p.peek(1)) || isTok(p.peek(1), "new")) {
			p.addRef(design.Ref{Kind: design.RefType, Name: name, Span: nsp})
			outOfClass = name
			p.next()
			t = p.tok
			p.next()
			name, nsp = tokName(t), p.span(t)
		}
	} else {
		p.expected("a function or task name")
		nsp = p.span(p.tok)
	}
	kind := design.DeclFunction
	sk := design.ScopeFunction
	if isTask {
		kind, sk = design.DeclTask, design.ScopeTask
	}
	d := p.newDecl(kind, name, nsp)
	d.Type = rt
	d.Doc = p.doc(start, nameIdx)
	s := &design.Scope{Kind: sk, Name: name, NameSpan: nsp, Decl: d}
	if outOfClass != "" {
		s.Name = outOfClass + "::" + name
	}
	m := p.push(s)
	if p.at("(") {
		p.argList(d, s)
	}
	if !p.accept(";") {
		p.expected("';' after the " + map[bool]string{true: "task", false: "function"}[isTask] + " header")
		if !p.startsItem() && !p.startsStmt() {
			p.sync()
		}
	}
	if outOfClass == "" {
		m.old.Decls = append(m.old.Decls, d)
	}
	if proto {
		p.pop(m)
		m.old.Scopes = m.old.Scopes[:len(m.old.Scopes)-1]
		d.Full = p.spanFrom(start)
		return
	}
	endKw := "endfunction"
	if isTask {
		endKw = "endtask"
	}
	for {
		if p.eof() {
			break
		}
		t := p.tok
		if t.kind == Keyword {
			if t.text == endKw {
				break
			}
			if isUnitKeyword(t.text) || t.text == "endclass" || t.text == "endinterface" || t.text == "endfunction" || t.text == "endtask" || t.text == "function" || t.text == "task" || t.text == "always" || t.text == "always_ff" || t.text == "always_comb" {
				break
			}
			if t.text == "input" || t.text == "output" || t.text == "inout" || t.text == "ref" {
				as := p.i
				dir := dirOf(t.text)
				p.next()
				typ := p.portType()
				decls := p.declNames(design.DeclArg, typ, as, "argument declaration")
				for _, a := range decls {
					a.Dir = dir
					d.Members = append(d.Members, a)
					p.addDecl(a)
				}
				continue
			}
		}
		if p.instCut() {
			break
		}
		is := p.i
		p.parseStmt()
		if p.i == is {
			p.next()
		}
	}
	if p.accept(endKw) {
		p.endLabel()
	} else {
		p.expected("'" + endKw + "'")
	}
	p.pop(m)
	d.Full = p.spanFrom(start)
	s.Full = d.Full
	p.fold(d.Full)
}

// argList parses an ANSI function/task argument list into d.Members and s.
func (p *parser) argList(d *design.Decl, s *design.Scope) {
	p.next() // (
	if p.accept(")") {
		return
	}
	dir := design.DirInput
	var typ design.Type
	groupStart := p.i
	last := -1
	for !p.eof() {
		p.stuck(&last)
		p.skipAttrs()
		itemStart := p.i
		explicit := false
		if p.at("const") && isTok(p.peek(1), "ref") {
			p.next()
		}
		if p.at("input") || p.at("output") || p.at("inout") || p.at("ref") {
			dir = dirOf(p.tok.text)
			explicit = true
			p.next()
		}
		if p.at("var") {
			p.next()
		}
		hasType := false
		if p.tok.kind == Keyword && (isDataTypeKeyword(p.tok.text) || isNetKeyword(p.tok.text)) || p.at("[") {
			typ = p.portType()
			hasType = true
		} else if p.isName() {
			n := p.peek(1)
			if isName(n) || isTok(n, "::") || isTok(n, "#") || isTok(n, "[") && p.isTypeWithDims() {
				typ = p.portType()
				hasType = true
			}
		}
		if explicit && !hasType {
			typ = design.Type{}
		}
		if explicit || hasType {
			groupStart = itemStart
		}
		if !p.isName() {
			p.expected("an argument name")
			p.skipListItem()
			if p.accept(",") {
				continue
			}
			p.accept(")")
			return
		}
		a := p.declName(design.DeclArg, typ)
		a.Dir = dir
		if p.accept("=") {
			a.Value = p.parseExpr()
		}
		a.Full = p.spanFrom(groupStart)
		a.Doc = p.doc(itemStart, p.i-1)
		d.Members = append(d.Members, a)
		s.Decls = append(s.Decls, a)
		if !p.nextListItem("',' or ')' in the argument list", false) {
			return
		}
	}
}

// class parses a class declaration (at 'class'); start is where its
// qualifiers (virtual, interface) began. top: a unit of its own.
func (p *parser) class(start int, top bool) {
	p.next() // class
	if p.at("automatic") || p.at("static") {
		p.next()
	}
	nameIdx := p.i
	name, nsp, ok := p.name("a class name")
	if !ok {
		nsp = p.span(&p.toks[start])
	}
	doc := p.doc(start, nameIdx)
	var s *design.Scope
	var u *design.Unit
	var d *design.Decl
	oldUnit, oldNA := p.unit, p.nonANSI
	var m smark
	if top {
		u = &design.Unit{Kind: design.UnitClass, Name: name, NameSpan: nsp, Doc: doc}
		s = &design.Scope{Kind: design.ScopeUnit, Name: name, NameSpan: nsp}
		u.Body = s
		p.f.Units = append(p.f.Units, u)
		m = p.enter(s)
		p.unit, p.nonANSI = u, false
	} else {
		d = p.newDecl(design.DeclClass, name, nsp)
		d.Doc = doc
		s = &design.Scope{Kind: design.ScopeClass, Name: name, NameSpan: nsp, Decl: d}
		p.addDecl(d)
		m = p.push(s)
	}
	if p.at("#") {
		if u != nil {
			p.paramPortList(u)
		} else {
			tmp := &design.Unit{}
			p.paramPortList(tmp)
			s.Decls = append(s.Decls, tmp.Params...)
		}
	}
	if p.accept("extends") {
		for {
			if bn, bsp, ok := p.name("a base class name"); ok {
				full := bn
				for p.at("::") && isName(p.peek(1)) {
					p.next()
					t := p.tok
					p.next()
					p.addRef(design.Ref{Kind: design.RefScoped, Pkg: bn, Name: tokName(t), Span: p.span(t)})
					full = bn + "::" + tokName(t)
					bsp = p.span(t)
				}
				if full == bn {
					p.addRef(design.Ref{Kind: design.RefType, Name: bn, Span: bsp})
				}
				if u != nil && u.Of == "" {
					u.Of, u.OfSpan = full, bsp
				}
				if d != nil && d.Type.Name == "" {
					d.Type.Name, d.Type.NameSpan, d.Type.Text = full, bsp, full
				}
				if p.at("#") {
					p.next()
					if p.at("(") {
						p.conns("class parameters", "", "", true)
					}
				}
				if p.at("(") {
					p.callArgs()
				}
			}
			if !p.accept(",") {
				break
			}
		}
	}
	if p.accept("implements") {
		for {
			if bn, bsp, ok := p.name("an interface class name"); ok {
				p.addRef(design.Ref{Kind: design.RefType, Name: bn, Span: bsp})
				if p.at("#") {
					p.next()
					if p.at("(") {
						p.conns("class parameters", "", "", true)
					}
				}
			}
			if !p.accept(",") {
				break
			}
		}
	}
	p.endItem("class header")
	if p.items(inClass, "endclass") {
		p.next()
		p.endLabel()
	} else {
		p.expected("'endclass'")
	}
	full := p.spanFrom(start)
	s.Full = full
	if u != nil {
		u.Full = full
	}
	if d != nil {
		d.Full = full
	}
	p.fold(full)
	p.pop(m)
	p.unit, p.nonANSI = oldUnit, oldNA
}
