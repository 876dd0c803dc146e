package verilog

import (
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Options configure Parse; the zero value parses by file extension with no
// predefined macros and unresolved includes.
type Options struct {
	// Lang is design.Verilog or design.SystemVerilog; 0 means by extension
	// (.sv/.svh => SystemVerilog, else Verilog). SystemVerilog keywords are
	// keywords in SystemVerilog only.
	Lang design.Lang
	// Defines are the macros defined before this file (project defines
	// from config, and `define's made by files earlier in compilation
	// order). A macro with non-nil Params is function-like; a parameter
	// with a default is written "name=default". nil = none.
	Defines map[string]*design.Macro
	// Include resolves an `include: name as written, from = the
	// workspace-relative path of the including file. It returns the
	// resolved workspace-relative path and its contents. nil = includes
	// are unresolved (reported as a Diag with Code "include-not-found",
	// Severity Warning).
	Include func(name, from string) (path string, src []byte, ok bool)
}

const (
	maxDiags = 200
	maxDepth = 250
)

// Parse preprocesses and parses one Verilog or SystemVerilog source file.
// It never fails: problems become File.Diags. Defined macros after parsing
// are in File.Macros; the caller chains files by passing earlier files'
// macros in Options.Defines.
func Parse(path string, src []byte, opts Options) *design.File {
	lang := opts.Lang
	if lang != design.Verilog && lang != design.SystemVerilog {
		lang = design.Verilog
		if strings.HasSuffix(path, ".sv") || strings.HasSuffix(path, ".svh") || strings.HasSuffix(path, ".SV") || strings.HasSuffix(path, ".SVH") {
			lang = design.SystemVerilog
		}
	}
	f := &design.File{Path: path, Lang: lang}
	sv := lang == design.SystemVerilog
	s := string(src)
	pre := newPP(path, s, &opts, sv, f)
	pre.run(s, 0, nil, 0)
	pre.toks = append(pre.toks, ptok{kind: EOF, file: 0, ss: int32(len(s)), se: int32(len(s))})
	p := &parser{pp: pre, f: f, toks: pre.toks, sv: sv, lastErr: -1}
	p.tok = &p.toks[0]
	p.parseFile()
	p.commentFolds()
	sort.Slice(f.Folds, func(i, j int) bool {
		if f.Folds[i].Start != f.Folds[j].Start {
			return f.Folds[i].Start < f.Folds[j].Start
		}
		return f.Folds[i].End > f.Folds[j].End
	})
	return f
}

// ictx says which kind of body items are parsed in.
type ictx uint8

const (
	inModule ictx = iota
	inInterface
	inProgram
	inPackage
	inClass
	inGenerate
	inUnit
	inChecker
)

type parser struct {
	pp       *pp
	f        *design.File
	toks     []ptok
	i        int
	tok      *ptok
	sv       bool
	scope    *design.Scope
	unit     *design.Unit
	cu       *design.Unit // $unit, created on demand
	nonANSI  bool         // the current unit has a non-ANSI port list
	depth    int
	refBuf   []design.Ref
	lastErr  int
	lastMsg  string
	sameErrs int
	eslab    []design.Expr
	aslab    []*design.Expr
	dslab    []design.Decl
}

// ---- token helpers ----

func (p *parser) next() {
	if p.i < len(p.toks)-1 {
		p.i++
		p.tok = &p.toks[p.i]
	}
}

func (p *parser) peek(n int) *ptok {
	j := p.i + n
	if j >= len(p.toks) {
		j = len(p.toks) - 1
	}
	return &p.toks[j]
}

func (p *parser) eof() bool { return p.tok.kind == EOF }

// at reports whether the current token is the keyword or operator s.
func (p *parser) at(s string) bool {
	return (p.tok.kind == Keyword || p.tok.kind == Op) && p.tok.text == s
}

func isTok(t *ptok, s string) bool { return (t.kind == Keyword || t.kind == Op) && t.text == s }

func (p *parser) accept(s string) bool {
	if p.at(s) {
		p.next()
		return true
	}
	return false
}

func isName(t *ptok) bool {
	return t.kind == Ident || t.kind == Keyword && isSoftKeyword(t.text)
}

func (p *parser) isName() bool { return isName(p.tok) }

func tokName(t *ptok) string {
	if len(t.text) > 1 && t.text[0] == '\\' {
		return t.text[1:]
	}
	return t.text
}

func (p *parser) span(t *ptok) design.Span {
	return design.Span{File: p.pp.files[t.file], Start: int(t.ss), End: int(t.se)}
}

// spanFrom is the span from token start to the last consumed token.
func (p *parser) spanFrom(start int) design.Span {
	a := &p.toks[start]
	end := p.i - 1
	if end < start {
		return design.Span{File: p.pp.files[a.file], Start: int(a.ss), End: int(a.ss)}
	}
	b := &p.toks[end]
	if b.file != a.file || b.se < a.ss {
		return p.span(a)
	}
	return design.Span{File: p.pp.files[a.file], Start: int(a.ss), End: int(b.se)}
}

func joinSpan(a, b design.Span) design.Span {
	if a.File == b.File && b.End >= a.Start {
		return design.Span{File: a.File, Start: a.Start, End: b.End}
	}
	return a
}

// name expects an identifier and returns it; on failure it reports
// "expected <what>" and returns ok false without consuming.
func (p *parser) name(what string) (string, design.Span, bool) {
	if p.isName() {
		t := p.tok
		p.next()
		return tokName(t), p.span(t), true
	}
	p.expected(what)
	return "", design.Span{}, false
}

// ---- diagnostics ----

func desc(t *ptok) string {
	switch t.kind {
	case EOF:
		return "end of file"
	case Ident:
		return "identifier '" + clip(t.text) + "'"
	case Number:
		return "number " + clip(t.text)
	case String:
		return "string " + clip(t.text)
	case Keyword:
		return "keyword '" + t.text + "'"
	}
	return "'" + clip(t.text) + "'"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func (p *parser) errSpan(sp design.Span, msg string) {
	if p.i == p.lastErr && (msg == p.lastMsg || p.sameErrs >= 2) || len(p.f.Diags) >= maxDiags {
		return
	}
	if p.i == p.lastErr {
		p.sameErrs++
	} else {
		p.sameErrs = 1
	}
	p.lastErr, p.lastMsg = p.i, msg
	p.f.Diags = append(p.f.Diags, design.Diag{Span: sp, Severity: design.Error, Message: msg, Code: "syntax"})
}

func (p *parser) errHere(msg string) { p.errSpan(p.span(p.tok), msg) }

// expected reports that what was expected. When the current token is on a
// later line than the previous one, the error points just after the
// previous token (where the missing text belongs).
func (p *parser) expected(what string) {
	msg := "expected " + what + ", found " + desc(p.tok)
	if p.i > 0 {
		prev := &p.toks[p.i-1]
		if prev.file != p.tok.file || p.tok.kind == EOF || p.lineBetween(prev, p.tok) {
			p.errBefore("expected " + what)
			return
		}
	}
	p.errHere(msg)
}

// errBefore reports msg at the end of the previous token (the last
// character of it): where text is missing when the current token is on a
// later line.
func (p *parser) errBefore(msg string) {
	if p.i == 0 {
		p.errHere(msg)
		return
	}
	sp := p.span(&p.toks[p.i-1])
	sp.Start = sp.End
	if sp.End > 0 {
		sp.Start = sp.End - 1
	}
	p.errSpan(sp, msg)
}

func (p *parser) lineBetween(a, b *ptok) bool {
	if a.file != b.file || a.se > b.ss {
		return false
	}
	src := p.pp.fsrc[a.file]
	if int(b.ss) > len(src) {
		return false
	}
	return strings.IndexByte(src[a.se:b.ss], '\n') >= 0
}

// cut reports whether the current token begins a new line and can only
// begin a module item, never continue what is being parsed: a half-typed
// expression, connection list or statement ends there (the caller reports
// what was left unfinished) and the new line parses as the next item.
// Patterns that are valid inside an expression (a name, a call, a cast,
// cls#(..)::x, `ifdef) never cut; see itemAhead.
func (p *parser) cut() bool {
	if p.i == 0 || p.tok.kind == EOF {
		return false
	}
	prev := &p.toks[p.i-1]
	if !p.lineBetween(prev, p.tok) {
		return false
	}
	return p.itemAhead() || p.directiveBetween(prev, p.tok)
}

// itemAhead reports whether the tokens from the current one can only be
// the start of a module item: IDENT IDENT (a declaration or instance),
// IDENT #... other than cls#(..)::x, pkg::type IDENT, an item keyword, or a
// data type keyword followed by a declared name.
func (p *parser) itemAhead() bool {
	t := p.tok
	switch t.kind {
	case Ident:
		n := p.peek(1)
		switch {
		case isName(n):
			return true
		case isTok(n, "#"):
			if !isTok(p.peek(2), "(") {
				return true
			}
			k := p.skipGroupAt(p.i + 2)
			return k < len(p.toks) && !isTok(&p.toks[k], "::")
		case isTok(n, "::"):
			k := p.i
			for k+2 < len(p.toks) && isTok(&p.toks[k+1], "::") && isName(&p.toks[k+2]) {
				k += 2
			}
			return k > p.i && k+1 < len(p.toks) && isName(&p.toks[k+1])
		}
		return false
	case Keyword:
		s := t.text
		if isDataTypeKeyword(s) {
			switch s {
			case "logic", "reg", "bit", "byte", "shortint", "int", "longint", "integer", "time",
				"real", "shortreal", "realtime", "string":
			default:
				return false
			}
			// a declaration: type [signed] [dims] name
			k := p.i + 1
			if k < len(p.toks) && (isTok(&p.toks[k], "signed") || isTok(&p.toks[k], "unsigned")) {
				k++
			}
			k = p.skipBracketsAt(k)
			return k < len(p.toks) && isName(&p.toks[k])
		}
		return isItemKeyword(s)
	}
	return false
}

// isItemKeyword reports keywords that never occur inside an expression and
// start (or end) an item where the parse can resume.
func isItemKeyword(s string) bool {
	switch s {
	case "input", "output", "inout", "assign", "always", "always_ff", "always_comb",
		"always_latch", "initial", "final", "parameter", "localparam", "function", "task",
		"typedef", "generate", "endgenerate", "genvar", "module", "macromodule", "endmodule",
		"interface", "endinterface", "program", "endprogram", "package", "endpackage", "import",
		"modport", "class", "endclass", "begin", "end", "endcase", "endfunction", "endtask",
		"wire", "tri", "tri0", "tri1", "wand", "wor", "triand", "trior", "trireg", "supply0",
		"supply1", "uwire":
		return true
	}
	return false
}

// directiveBetween reports a `define, `undef, `include or other
// non-conditional directive line between tokens a and b (on different
// lines of one file). Conditional directives (`ifdef...) are not: they
// legitimately split expressions and connection lists.
func (p *parser) directiveBetween(a, b *ptok) bool {
	src := p.pp.fsrc[a.file]
	gap := src[a.se:b.ss]
	for {
		j := strings.IndexByte(gap, '`')
		if j < 0 {
			return false
		}
		k := j
		for k > 0 && (gap[k-1] == ' ' || gap[k-1] == '\t') {
			k--
		}
		if k > 0 && gap[k-1] == '\n' {
			e := j + 1
			for e < len(gap) && (gap[e] >= 'a' && gap[e] <= 'z' || gap[e] == '_') {
				e++
			}
			switch gap[j+1 : e] {
			case "define", "undef", "undefineall", "include", "timescale", "default_nettype",
				"resetall", "celldefine", "endcelldefine", "unconnected_drive",
				"nounconnected_drive", "pragma", "line", "begin_keywords", "end_keywords":
				return true
			}
		}
		gap = gap[j+1:]
	}
}

// instCut reports a module instance (instAhead) beginning a new line: it
// ends a statement list, which cannot contain one.
func (p *parser) instCut() bool {
	return p.i > 0 && p.tok.kind == Ident && p.lineBetween(&p.toks[p.i-1], p.tok) && p.instAhead()
}

// instAhead reports a module instance at the current token: IDENT IDENT (,
// IDENT IDENT [..] ( or IDENT #(..) IDENT (.
func (p *parser) instAhead() bool {
	if p.tok.kind != Ident {
		return false
	}
	n := p.peek(1)
	k := p.i + 1
	if isTok(n, "#") {
		k = p.skipHashAt(k)
	}
	if k >= len(p.toks) || !isName(&p.toks[k]) {
		return false
	}
	k = p.skipBracketsAt(k + 1)
	return k < len(p.toks) && isTok(&p.toks[k], "(")
}

func (p *parser) expect(s, what string) bool {
	if p.accept(s) {
		return true
	}
	p.expected(what)
	return false
}

// syncKeywords stop error recovery: they start or end an item.
func isSyncKeyword(s string) bool {
	switch s {
	case "end", "endcase", "endmodule", "endfunction", "endtask", "endgenerate", "endinterface",
		"endpackage", "endprogram", "endclass", "join", "join_any", "join_none", "endgroup",
		"endproperty", "endsequence", "endclocking", "endspecify", "endprimitive", "endchecker",
		"endconfig", "endtable",
		"module", "macromodule", "program", "package", "primitive", "always", "always_ff",
		"always_comb", "always_latch", "initial", "final", "assign", "generate", "function", "task",
		"typedef", "input", "output", "inout", "wire", "reg", "logic", "genvar", "localparam",
		"parameter", "class", "endspecparam":
		return true
	}
	return false
}

// nest descends one level of item or statement nesting; past maxDepth it
// reports msg, skips to the next item and returns false. A caller that
// nested leaves with defer p.leave().
func (p *parser) nest(msg string) bool {
	if p.depth > maxDepth {
		p.errHere(msg)
		p.sync()
		return false
	}
	p.depth++
	return true
}

func (p *parser) leave() { p.depth-- }

// sync skips to just past the next ';' or to (not past) a keyword that
// starts or ends an item.
func (p *parser) sync() {
	lvl := 0
	for !p.eof() {
		t := p.tok
		if t.kind == Keyword && isSyncKeyword(t.text) {
			return
		}
		if t.kind == Op {
			switch t.text {
			case ";":
				if lvl == 0 {
					p.next()
					return
				}
			case "(", "[", "{", "'{", "(*":
				lvl++
			case ")", "]", "}":
				if lvl > 0 {
					lvl--
				}
			}
		}
		p.next()
	}
}

// stuck makes a list loop progress: when the loop is back at the token
// where its previous iteration started, it skips that token.
func (p *parser) stuck(last *int) {
	if p.i == *last {
		p.next()
	}
	*last = p.i
}

// skipPastSemi skips past the next ';' (stopping before unit keywords).
func (p *parser) skipPastSemi() {
	for !p.eof() {
		if p.accept(";") {
			return
		}
		if p.tok.kind == Keyword && isUnitKeyword(p.tok.text) {
			p.expected("';'")
			return
		}
		p.next()
	}
}

// skipBalanced skips a parenthesised group starting at the current '(' ,
// '[' or '{' (or '#(' ...). It stops early at unit-level keywords.
func (p *parser) skipBalanced() {
	lvl := 0
	for !p.eof() {
		t := p.tok
		if t.kind == Op {
			switch t.text {
			case "(", "[", "{", "'{", "(*":
				lvl++
			case ")", "]", "}":
				lvl--
				if lvl <= 0 {
					p.next()
					return
				}
			}
		} else if t.kind == Keyword && isUnitKeyword(t.text) {
			return
		}
		p.next()
		if lvl == 0 {
			return
		}
	}
}

// skipTo skips up to and including the keyword end (at any nesting). It
// stops before unit-level keywords and reports a missing end.
func (p *parser) skipTo(end string, stops ...string) bool {
	for !p.eof() {
		if p.tok.kind == Keyword {
			if p.tok.text == end {
				p.next()
				return true
			}
			if isUnitKeyword(p.tok.text) {
				break
			}
			for _, s := range stops {
				if p.tok.text == s {
					p.expected("'" + end + "'")
					return false
				}
			}
		}
		p.next()
	}
	p.expected("'" + end + "'")
	return false
}

func isUnitKeyword(s string) bool {
	switch s {
	case "module", "macromodule", "endmodule", "program", "endprogram", "package", "endpackage",
		"primitive", "endprimitive", "endinterface", "config", "endconfig":
		return true
	}
	return false
}

func unitEndFor(kind design.UnitKind) string {
	switch kind {
	case design.UnitModule:
		return "endmodule"
	case design.UnitInterface:
		return "endinterface"
	case design.UnitProgram:
		return "endprogram"
	case design.UnitPackage:
		return "endpackage"
	case design.UnitChecker:
		return "endchecker"
	case design.UnitClass:
		return "endclass"
	}
	return ""
}

// skipAttrs skips (* ... *) attribute instances.
func (p *parser) skipAttrs() {
	for p.at("(*") {
		start := p.i
		p.next()
		for !p.eof() {
			if p.at("*") && isTok(p.peek(1), ")") {
				p.next()
				p.next()
				break
			}
			if p.at(";") {
				p.errSpan(p.spanFrom(start), "unterminated attribute: expected '*)'")
				break
			}
			p.next()
		}
	}
}

// ---- allocation helpers ----

// emark is a position in the expression slabs; release gives back what
// was allocated after it (for expressions the model does not keep:
// conditions, event controls, call statements).
type emark struct {
	e, a int
	ep   *design.Expr
	ap   **design.Expr
}

func (p *parser) exprMark() emark {
	m := emark{e: len(p.eslab), a: len(p.aslab)}
	if cap(p.eslab) > 0 {
		m.ep = &p.eslab[:1][0]
	}
	if cap(p.aslab) > 0 {
		m.ap = &p.aslab[:1][0]
	}
	return m
}

func (p *parser) release(m emark) {
	if cap(p.eslab) > 0 && &p.eslab[:1][0] == m.ep {
		p.eslab = p.eslab[:m.e]
	}
	if cap(p.aslab) > 0 && &p.aslab[:1][0] == m.ap {
		p.aslab = p.aslab[:m.a]
	}
}

// discardExpr parses an expression whose tree is not kept (its refs are).
func (p *parser) discardExpr() {
	m := p.exprMark()
	p.parseExpr()
	p.release(m)
}

// slabSize is the capacity of the next allocation slab: the estimate for
// the first, then doubling, within [lo, hi].
func slabSize(prev, estimate, lo, hi int) int {
	n := estimate
	if prev > 0 {
		n = prev * 2
	}
	return min(max(n, lo), hi)
}

func (p *parser) newExpr(op design.ExprOp, text string, sp design.Span) *design.Expr {
	if len(p.eslab) == cap(p.eslab) {
		p.eslab = make([]design.Expr, 0, slabSize(cap(p.eslab), len(p.toks)/8, 16, 512))
	}
	p.eslab = append(p.eslab, design.Expr{Op: op, Text: text, Span: sp})
	return &p.eslab[len(p.eslab)-1]
}

func (p *parser) list(xs ...*design.Expr) []*design.Expr {
	n := len(xs)
	if cap(p.aslab)-len(p.aslab) < n {
		p.aslab = make([]*design.Expr, 0, max(n, slabSize(cap(p.aslab), len(p.toks)/6, 32, 1024)))
	}
	l := len(p.aslab)
	p.aslab = append(p.aslab, xs...)
	return p.aslab[l : l+n : l+n]
}

func (p *parser) newDecl(kind design.DeclKind, name string, sp design.Span) *design.Decl {
	if len(p.dslab) == cap(p.dslab) {
		p.dslab = make([]design.Decl, 0, slabSize(cap(p.dslab), len(p.toks)/40, 8, 128))
	}
	p.dslab = append(p.dslab, design.Decl{Kind: kind, Name: name, Span: sp})
	return &p.dslab[len(p.dslab)-1]
}

// declName consumes a declared name (the caller has checked isName) and its
// unpacked dimensions, and returns the new decl of that kind and type.
func (p *parser) declName(kind design.DeclKind, typ design.Type) *design.Decl {
	nt := p.tok
	p.next()
	d := p.newDecl(kind, tokName(nt), p.span(nt))
	d.Type = typ
	for p.at("[") {
		d.Type.Unpacked = append(d.Type.Unpacked, p.dim())
	}
	return d
}

// ---- model helpers ----

// addRef records a ref of the current scope. Refs are collected in refBuf
// while their scope is open and copied to the scope, exactly sized, when it
// closes; the index returned addresses refBuf.
func (p *parser) addRef(r design.Ref) int {
	p.refBuf = append(p.refBuf, r)
	return len(p.refBuf) - 1
}

// smark remembers what enter/push changed, for pop.
type smark struct {
	old   *design.Scope
	start int
}

// enter makes s the current scope (not as a child: unit bodies).
func (p *parser) enter(s *design.Scope) smark {
	m := smark{p.scope, len(p.refBuf)}
	p.scope = s
	return m
}

// pop closes the current scope: its pending refs move to it.
func (p *parser) pop(m smark) {
	if s := p.scope; s != nil && len(p.refBuf) > m.start {
		s.Refs = append(s.Refs, p.refBuf[m.start:]...)
	}
	p.refBuf = p.refBuf[:m.start]
	p.scope = m.old
}

func (p *parser) addDecl(d *design.Decl) { p.scope.Decls = append(p.scope.Decls, d) }

// push makes s a child of the current scope and the current scope.
func (p *parser) push(s *design.Scope) smark {
	p.scope.Scopes = append(p.scope.Scopes, s)
	return p.enter(s)
}

func (p *parser) fold(sp design.Span) {
	if sp.File != p.f.Path || sp.End <= sp.Start {
		return
	}
	src := p.pp.fsrc[0]
	if sp.End > len(src) {
		return
	}
	if strings.IndexByte(src[sp.Start:sp.End], '\n') >= 0 {
		p.f.Folds = append(p.f.Folds, sp)
	}
}

// doc returns the doc comment of the item from token start to token end:
// the comment block right above it, or the comment after it on its line.
func (p *parser) doc(start, end int) string {
	a := &p.toks[start]
	if a.macro || a.kind == EOF {
		return ""
	}
	src := p.pp.fsrc[a.file]
	cms := p.pp.comments[a.file]
	if len(cms) == 0 {
		return ""
	}
	if d := docAbove(src, cms, int(a.ss)); d != "" {
		return d
	}
	if end < start || end >= len(p.toks) {
		return ""
	}
	b := &p.toks[end]
	if b.macro || b.file != a.file {
		return ""
	}
	return docAfter(src, cms, int(b.se))
}

// textFrom is the source text of tokens [start, p.i) with whitespace
// collapsed to single spaces and comments dropped.
func (p *parser) textFrom(start int) string {
	end := p.i - 1
	if end < start {
		return ""
	}
	a, b := &p.toks[start], &p.toks[end]
	if start == end {
		return a.text
	}
	if !a.macro && !b.macro && a.file == b.file && b.se >= a.ss {
		src := p.pp.fsrc[a.file][a.ss:b.se]
		clean := true
		for i := 0; i < len(src); i++ {
			c := src[i]
			if c == '\n' || c == '\t' || c == '\r' || c == '/' || c == ' ' && i+1 < len(src) && src[i+1] == ' ' {
				clean = false
				break
			}
		}
		if clean {
			return src
		}
	}
	var sb strings.Builder
	for j := start; j <= end; j++ {
		t := &p.toks[j]
		if j > start {
			prev := &p.toks[j-1]
			if prev.macro || t.macro || prev.file != t.file || prev.se != t.ss {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(t.text)
	}
	return sb.String()
}

func (p *parser) commentFolds() {
	src := p.pp.fsrc[0]
	cms := p.pp.comments[0]
	for i := 0; i < len(cms); i++ {
		c := cms[i]
		if src[c.s+1] == '*' {
			p.fold(design.Span{File: p.f.Path, Start: int(c.s), End: int(c.e)})
			continue
		}
		if !startsLine(src, int(c.s)) {
			continue
		}
		j := i
		for j+1 < len(cms) && src[cms[j+1].s+1] == '/' && startsLine(src, int(cms[j+1].s)) && onlySpaceOneNL(src, int(cms[j].e), int(cms[j+1].s)) {
			j++
		}
		if j > i {
			p.fold(design.Span{File: p.f.Path, Start: int(c.s), End: int(cms[j].e)})
		}
		i = j
	}
}

// ---- file and units ----

func (p *parser) parseFile() {
	for !p.eof() {
		start := p.i
		p.topItem()
		if p.i == start {
			p.errHere("unexpected " + desc(p.tok))
			p.next()
		}
	}
}

func (p *parser) compUnit() *design.Unit {
	if p.cu == nil {
		p.cu = &design.Unit{Kind: design.UnitCompilation, Name: "$unit", Body: &design.Scope{Kind: design.ScopeUnit, Name: "$unit"}}
		p.f.Units = append(p.f.Units, p.cu)
	}
	return p.cu
}

func (p *parser) topItem() {
	p.skipAttrs()
	t := p.tok
	if t.kind == Keyword {
		switch t.text {
		case "module", "macromodule":
			p.parseUnit(design.UnitModule, p.i)
			return
		case "program":
			p.parseUnit(design.UnitProgram, p.i)
			return
		case "package":
			p.parseUnit(design.UnitPackage, p.i)
			return
		case "checker":
			p.parseUnit(design.UnitChecker, p.i)
			return
		case "interface", "virtual":
			if isTok(p.peek(1), "class") {
				start := p.i
				p.next()
				p.class(start, true)
				return
			}
			if t.text == "interface" {
				p.parseUnit(design.UnitInterface, p.i)
				return
			}
		case "class":
			p.class(p.i, true)
			return
		case "primitive":
			p.primitive()
			return
		case "config":
			p.next()
			p.skipTo("endconfig")
			return
		case "library":
			p.sync()
			return
		case "extern":
			if n := p.peek(1); isTok(n, "module") || isTok(n, "interface") || isTok(n, "program") {
				p.sync()
				return
			}
		case "endmodule", "endinterface", "endprogram", "endpackage", "endclass", "endchecker", "endprimitive", "end", "endfunction", "endtask", "endgenerate":
			p.errHere("unexpected '" + t.text + "' outside of a matching block")
			p.next()
			return
		}
	}
	cu := p.compUnit()
	m := p.enter(cu.Body)
	p.unit, p.nonANSI = cu, false
	start := p.i
	p.parseItem(inUnit)
	p.pop(m)
	if p.i > start {
		sp := p.spanFrom(start)
		if !cu.Full.Valid() || cu.Full.File != sp.File {
			cu.Full = sp
		} else {
			cu.Full.End = sp.End
		}
		cu.Body.Full = cu.Full
	}
}

// parseUnit parses module/interface/program/package/checker.
func (p *parser) parseUnit(kind design.UnitKind, start int) {
	endKw := unitEndFor(kind)
	kwTok := p.tok
	p.next()
	if p.at("static") || p.at("automatic") {
		p.next()
	}
	nameIdx := p.i
	name, nsp, ok := p.name("a " + kwTok.text + " name")
	if !ok {
		nsp = p.span(kwTok)
	}
	u := &design.Unit{Kind: kind, Name: name, NameSpan: nsp}
	u.Doc = p.doc(start, nameIdx)
	u.Body = &design.Scope{Kind: design.ScopeUnit, Name: name, NameSpan: nsp}
	p.f.Units = append(p.f.Units, u)
	oldUnit, oldNA := p.unit, p.nonANSI
	m := p.enter(u.Body)
	p.unit, p.nonANSI = u, false
	for p.at("import") {
		p.importDecl()
	}
	if p.at("#") {
		p.paramPortList(u)
	}
	if p.at("(") {
		p.portList(u)
	}
	if !p.accept(";") {
		p.expected("';' after the " + kwTok.text + " header")
		if !p.startsItem() {
			p.sync()
		}
	}
	ctx := inModule
	switch kind {
	case design.UnitInterface:
		ctx = inInterface
	case design.UnitProgram:
		ctx = inProgram
	case design.UnitPackage:
		ctx = inPackage
	case design.UnitChecker:
		ctx = inChecker
	}
	if p.items(ctx, endKw) {
		p.next()
		p.endLabel()
	} else {
		p.expected("'" + endKw + "'")
	}
	u.Full = p.spanFrom(start)
	u.Body.Full = u.Full
	p.fold(u.Full)
	p.pop(m)
	p.unit, p.nonANSI = oldUnit, oldNA
}

// endLabel accepts ": name" after an end keyword.
func (p *parser) endLabel() {
	if p.at(":") && isName(p.peek(1)) {
		p.next()
		p.next()
	} else if p.at(":") && isTok(p.peek(1), "new") {
		p.next()
		p.next()
	}
}

// startsItem reports whether the current token plausibly starts a body item
// (used to avoid skipping good code while recovering).
func (p *parser) startsItem() bool {
	t := p.tok
	if t.kind == Keyword {
		switch t.text {
		case "input", "output", "inout", "wire", "reg", "logic", "bit", "int", "integer", "assign",
			"always", "always_ff", "always_comb", "always_latch", "initial", "final", "parameter",
			"localparam", "function", "task", "typedef", "generate", "genvar", "endmodule",
			"endinterface", "endprogram", "endpackage", "import", "modport", "class", "tri",
			"supply0", "supply1", "end", "endgenerate":
			return true
		}
		return false
	}
	if t.kind == Ident {
		n := p.peek(1)
		return n.kind == Ident || isTok(n, "#") || isTok(n, "::")
	}
	return false
}

// items parses body items until the keyword end; it reports whether it
// stopped at end (not consumed).
func (p *parser) items(ctx ictx, end string) bool {
	for {
		if p.eof() {
			return false
		}
		t := p.tok
		if t.kind == Keyword {
			if t.text == end {
				return true
			}
			if isUnitKeyword(t.text) && !(ctx == inGenerate && t.text == "module") {
				return false
			}
			switch t.text {
			case "endclass", "endinterface", "endchecker":
				return false
			case "endfunction", "endtask":
				if ctx != inGenerate {
					return false
				}
			}
			if ctx == inGenerate && t.text == "endgenerate" && end != "endgenerate" {
				return false
			}
		}
		start := p.i
		p.parseItem(ctx)
		if p.i == start {
			p.errHere("unexpected " + desc(p.tok))
			p.next()
		}
	}
}

func (p *parser) primitive() {
	start := p.i
	p.next()
	nameIdx := p.i
	name, nsp, ok := p.name("a primitive name")
	if !ok {
		nsp = p.span(&p.toks[start])
	}
	u := &design.Unit{Kind: design.UnitPrimitive, Name: name, NameSpan: nsp, Doc: p.doc(start, nameIdx)}
	u.Body = &design.Scope{Kind: design.ScopeUnit, Name: name, NameSpan: nsp}
	p.f.Units = append(p.f.Units, u)
	oldUnit, oldNA := p.unit, p.nonANSI
	m := p.enter(u.Body)
	p.unit, p.nonANSI = u, false
	if p.at("(") {
		p.portList(u)
	}
	for !p.eof() && !p.at("endprimitive") && !(p.tok.kind == Keyword && isUnitKeyword(p.tok.text)) {
		if p.at("input") || p.at("output") || p.at("inout") {
			p.portDecl()
			continue
		}
		if p.at("reg") && p.nonANSI {
			p.dataDecl(inModule, p.i)
			continue
		}
		if p.at("table") {
			p.skipTo("endtable")
			continue
		}
		p.next()
	}
	if !p.accept("endprimitive") {
		p.expected("'endprimitive'")
	}
	u.Full = p.spanFrom(start)
	u.Body.Full = u.Full
	p.fold(u.Full)
	p.pop(m)
	p.unit, p.nonANSI = oldUnit, oldNA
}
