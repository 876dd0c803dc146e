package verilog

import (
	"gatewave.dev/sessiond/hdl/design"
)

// parseType parses a data type at the current token. implicit allows an
// implicit type (only signing and packed dimensions). It reports false,
// consuming nothing, when no type starts here.
func (p *parser) parseType(implicit bool) (design.Type, bool) {
	start := p.i
	var t design.Type
	tk := p.tok
	switch {
	case tk.kind == Keyword:
		switch tk.text {
		case "logic", "reg", "bit", "byte", "shortint", "int", "longint", "integer", "time":
			t.Keyword = tk.text
			p.next()
			p.signing(&t)
			p.packedDims(&t)
		case "real", "shortreal", "realtime", "string", "chandle", "event", "void":
			t.Keyword = tk.text
			p.next()
			p.packedDims(&t)
		case "struct", "union":
			p.structType(&t)
		case "enum":
			p.enumType(&t)
		case "virtual":
			p.next()
			p.accept("interface")
			if p.isName() {
				ns := p.i
				nt := p.tok
				p.next()
				p.addRef(design.Ref{Kind: design.RefType, Name: tokName(nt), Span: p.span(nt)})
				if p.at("#") {
					p.next()
					if p.at("(") {
						p.conns("interface parameters", "", "", true)
					}
				}
				if p.at(".") && isName(p.peek(1)) {
					p.next()
					p.next()
				}
				t.Name = p.textFrom(ns)
				t.NameSpan = p.span(nt)
			} else {
				p.expected("an interface name after 'virtual'")
			}
		case "type":
			p.next()
			t.Keyword = "type"
			if p.at("(") {
				p.skipBalanced()
			}
		case "signed", "unsigned":
			if !implicit {
				return t, false
			}
			p.signing(&t)
			p.packedDims(&t)
		default:
			if isNetKeyword(tk.text) {
				t = p.netType()
				return t, true
			}
			return t, false
		}
	case tk.kind == Op && tk.text == "[":
		if !implicit {
			return t, false
		}
		p.packedDims(&t)
	case isName(tk):
		p.namedType(&t)
		p.packedDims(&t)
	default:
		return t, false
	}
	t.Text = p.textFrom(start)
	return t, true
}

func (p *parser) signing(t *design.Type) {
	if p.at("signed") {
		t.Signed = true
		p.next()
	} else if p.at("unsigned") {
		p.next()
	}
}

func (p *parser) packedDims(t *design.Type) {
	for p.at("[") {
		t.Packed = append(t.Packed, p.dim())
	}
}

// namedType parses a user-defined type name: t, pkg::t, cls#(..)::t,
// ifc.modport.
func (p *parser) namedType(t *design.Type) {
	ns := p.i
	nt := p.tok
	p.next()
	name := tokName(nt)
	last := nt
	pkg := ""
	for {
		if p.at("#") && isTok(p.peek(1), "(") {
			p.next()
			p.conns("type parameters", "", "", true)
			continue
		}
		if p.at("::") && isName(p.peek(1)) {
			p.next()
			if pkg == "" {
				pkg = name
			}
			last = p.tok
			name = tokName(last)
			p.next()
			continue
		}
		break
	}
	if pkg != "" {
		p.addRef(design.Ref{Kind: design.RefScoped, Name: name, Pkg: pkg, Span: p.span(last)})
	} else {
		p.addRef(design.Ref{Kind: design.RefType, Name: name, Span: p.span(nt)})
	}
	if p.at(".") && isName(p.peek(1)) {
		// interface.modport
		p.next()
		p.next()
	}
	t.Name = p.textFrom(ns)
	t.NameSpan = p.spanFrom(ns)
}

// dim parses one [ ... ] dimension.
func (p *parser) dim() design.Range {
	start := p.i
	p.next() // [
	var r design.Range
	switch {
	case p.at("]"):
	case p.at("$") && isTok(p.peek(1), "]"), p.at("*") && isTok(p.peek(1), "]"):
		r.Size = p.newExpr(design.ExprOther, p.tok.text, p.span(p.tok))
		p.next()
	case p.tok.kind == Keyword && isDataTypeKeyword(p.tok.text) && p.tok.text != "signed" && p.tok.text != "unsigned":
		r.Size = p.typeExpr()
	default:
		l := p.parseExpr()
		if p.at(":") || p.at("+:") || p.at("-:") {
			p.next()
			r.Left, r.Right = l, p.parseExpr()
		} else {
			r.Size = l
		}
	}
	if !p.accept("]") {
		p.expected("']' to close the dimension")
		for !p.eof() && !p.at("]") && !p.at(";") && !p.at(")") && !(p.tok.kind == Keyword && isSyncKeyword(p.tok.text)) {
			p.next()
		}
		p.accept("]")
	}
	r.Span = p.spanFrom(start)
	return r
}

func (p *parser) structType(t *design.Type) {
	t.Aggregate = p.tok.text
	p.next()
	if p.at("tagged") {
		p.next()
	}
	if p.at("packed") {
		p.next()
		p.signing(t)
	}
	if !p.at("{") {
		p.expected("'{' after '" + t.Aggregate + "'")
		return
	}
	bs := p.i
	p.next()
	last := -1
	for !p.eof() && !p.at("}") {
		p.stuck(&last)
		if p.tok.kind == Keyword && isSyncKeyword(p.tok.text) && !isDataTypeKeyword(p.tok.text) && p.tok.text != "logic" && p.tok.text != "reg" {
			break
		}
		ms := p.i
		for p.at("rand") || p.at("randc") {
			p.next()
		}
		p.skipAttrs()
		mt, ok := p.parseType(true)
		if !ok {
			p.expected("a member type")
			p.sync()
			continue
		}
		for {
			if !p.isName() {
				p.expected("a member name")
				break
			}
			d := p.declName(design.DeclField, mt)
			if p.accept("=") {
				d.Value = p.parseExpr()
			}
			t.Members = append(t.Members, d)
			if !p.accept(",") {
				break
			}
		}
		if !p.accept(";") {
			p.expected("';' after the member")
			p.sync()
		}
		full := p.spanFrom(ms)
		doc := p.doc(ms, p.i-1)
		for _, d := range t.Members {
			if d.Full.File == "" {
				d.Full, d.Doc = full, doc
			}
		}
		if p.i == ms {
			p.next()
		}
	}
	if !p.accept("}") {
		p.expected("'}' to close the " + t.Aggregate)
	}
	p.fold(p.spanFrom(bs))
	p.packedDims(t)
}

func (p *parser) enumType(t *design.Type) {
	t.Aggregate = "enum"
	p.next()
	if !p.at("{") {
		bs := p.i
		if bt, ok := p.parseType(true); ok {
			bt.Text = p.textFrom(bs)
			t.Base = &bt
		}
	}
	if !p.at("{") {
		p.expected("'{' after 'enum'")
		return
	}
	bs := p.i
	p.next()
	last := -1
	for !p.eof() && !p.at("}") {
		p.stuck(&last)
		ms := p.i
		if !p.isName() {
			p.expected("an enum member name")
			for !p.eof() && !p.at(",") && !p.at("}") && !p.at(";") {
				p.next()
			}
			if p.accept(",") {
				continue
			}
			break
		}
		nt := p.tok
		p.next()
		d := p.newDecl(design.DeclEnumMember, tokName(nt), p.span(nt))
		if p.at("[") {
			p.dim()
		}
		if p.accept("=") {
			d.Value = p.parseExpr()
		}
		d.Full = p.spanFrom(ms)
		d.Doc = p.doc(ms, p.i-1)
		t.Members = append(t.Members, d)
		p.addDecl(d)
		if !p.accept(",") {
			break
		}
	}
	if !p.accept("}") {
		p.expected("'}' to close the enum")
	}
	p.fold(p.spanFrom(bs))
	p.packedDims(t)
}
