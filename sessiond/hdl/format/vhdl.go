package format

import (
	"strings"

	"gatewave.dev/sessiond/hdl/vhdl"
)

// VHDL formats VHDL src; lo, hi and the edits are as for Verilog. Bodies of
// entities, architectures, processes, if, case, loops, generates and the
// rest are indented a level and their end dedented; port and generic lists
// align their ':' and modes, port and generic maps their '=>', and runs of
// signal, constant and variable declarations their ':'.
func VHDL(src []byte, lo, hi int, st Style) ([]Edit, error) {
	if err := checkRange(src, lo, hi); err != nil {
		return nil, err
	}
	e := newHEngine(src, st)
	e.run()
	edits := e.d.edits(lo, hi, st)
	lex := func(b []byte) []tokText {
		return tokTexts(vhdl.Lex(b), func(t vhdl.Token) tokText { return tokText{uint8(t.Kind), t.Start, t.End} })
	}
	if err := verify(src, edits, lex, uint8(vhdl.TokComment)); err != nil {
		return nil, err
	}
	return edits, nil
}

// hframe is an open VHDL block or bracket.
type hframe struct {
	id      int
	bracket bool
	list    byte   // bracket: 'p' port/generic/parameter list, 'm' port/generic map
	kind    string // block: what opened it ("entity", "process", "if", "case", ...)
	base    int
	inner   int

	inStmt     bool
	stmtIndent int
	stmtN      int // tokens of the statement so far
	kwPos      int // where the statement's keyword is: after a label and pure/postponed
	label      bool
	pending    *hpending
	hdr        bool // header of process/block/component: up to "is" or the line's end
	sepHdr     bool // if: between elsif/else and then/generate
	itemHdr    bool // case: between when and =>
	inItem     bool // case: after the first when
}

type hpending struct {
	kind string
	base int
}

type hEngine struct {
	src   []byte
	st    Style
	toks  []vhdl.Token
	d     *doc
	stack []*hframe
	ids   int
	level int
	tail  bool // after "end": its keywords and name up to ';'
	prev  string
}

func newHEngine(src []byte, st Style) *hEngine {
	e := &hEngine{src: src, st: st, d: newDoc(src)}
	e.toks = vhdl.Lex(src)
	e.stack = []*hframe{{kind: "root"}}
	return e
}

func (e *hEngine) top() *hframe { return e.stack[len(e.stack)-1] }

// word returns token t's text, lower-cased when it is a keyword.
func (e *hEngine) word(t vhdl.Token) string {
	s := string(e.src[t.Start:t.End])
	if t.Kind == vhdl.TokKeyword {
		return strings.ToLower(s)
	}
	return s
}

func (e *hEngine) next(i int) (vhdl.Token, string) {
	for j := i + 1; j < len(e.toks); j++ {
		if e.toks[j].Kind != vhdl.TokComment {
			return e.toks[j], e.word(e.toks[j])
		}
	}
	return vhdl.Token{}, ""
}

// hEndWords may follow "end" before the closing name and ';'.
var hEndWords = map[string]bool{
	"if": true, "loop": true, "case": true, "process": true, "generate": true, "entity": true,
	"architecture": true, "package": true, "body": true, "component": true, "record": true,
	"units": true, "protected": true, "block": true, "function": true, "procedure": true,
	"configuration": true, "for": true, "context": true, "postponed": true,
}

// hBlockOnly are keywords that never appear inside brackets.
var hBlockOnly = map[string]bool{
	"begin": true, "process": true, "architecture": true, "entity": true, "package": true,
	"elsif": true, "then": true, "loop": true, "generate": true,
}

var hModes = map[string]bool{"in": true, "out": true, "inout": true, "buffer": true, "linkage": true}

func (e *hEngine) run() {
	d := e.d
	for i, t := range e.toks {
		d.addToken(i, t.Start, t.End, t.Kind == vhdl.TokComment)
	}
	d.cur = 0
	cur := -1
	for i, t := range e.toks {
		ln := d.lineOf(t.Start)
		first := ln != cur
		cur = ln
		if t.Kind == vhdl.TokComment {
			if first {
				e.setLevel(ln, e.contextLevel(), false)
			}
			continue
		}
		e.token(i, ln, first)
		e.prev = e.word(t)
	}
}

func (e *hEngine) setLevel(ln, level int, stmt bool) {
	if level < 0 {
		level = 0
	}
	e.d.lines[ln].level = level
	e.level = level
	if f := e.top(); stmt && !f.bracket {
		f.stmtIndent = level
	}
}

func (e *hEngine) contextLevel() int {
	f := e.top()
	if f.bracket || f.sepHdr {
		return f.inner
	}
	if f.itemHdr {
		return f.inner + 1
	}
	l := f.inner
	if f.inItem {
		l++
	}
	if f.inStmt {
		l++
	}
	return l
}

func (e *hEngine) push(f *hframe) {
	e.ids++
	f.id = e.ids
	e.stack = append(e.stack, f)
}

// open starts a block of kind in f at level base.
func (e *hEngine) open(f *hframe, kind string, base int, hdr bool) {
	f.inStmt = false
	f.pending = nil
	e.push(&hframe{kind: kind, base: base, inner: base + 1, stmtIndent: base + 1, hdr: hdr})
}

func (e *hEngine) token(i, ln int, first bool) {
	t := e.toks[i]
	k := t.Kind
	w := e.word(t)
	f := e.top()
	if e.tail {
		if k == vhdl.TokKeyword && hEndWords[w] || k == vhdl.TokIdent || k == vhdl.TokExtIdent || k == vhdl.TokString {
			if first {
				e.setLevel(ln, e.contextLevel(), false)
			}
			return
		}
		e.tail = false
		if w == ";" {
			if first {
				e.setLevel(ln, e.contextLevel(), false)
			}
			return
		}
	}
	if f.bracket && k == vhdl.TokKeyword && hBlockOnly[w] {
		// a bracket left open: the structure resumes at block level
		for len(e.stack) > 1 && e.top().bracket {
			e.stack = e.stack[:len(e.stack)-1]
		}
		f = e.top()
	}
	if k == vhdl.TokKeyword && w == "end" {
		for len(e.stack) > 1 && e.top().bracket {
			e.stack = e.stack[:len(e.stack)-1]
		}
		f = e.top()
		lvl := f.inner
		if len(e.stack) > 1 {
			e.stack = e.stack[:len(e.stack)-1]
			lvl = f.base
			nt := e.top()
			nt.inStmt, nt.pending = false, nil
		}
		if first {
			e.setLevel(ln, lvl, true)
		}
		e.tail = true
		return
	}
	if f.bracket {
		if w == ")" {
			e.stack = e.stack[:len(e.stack)-1]
			if first {
				e.setLevel(ln, f.base, true)
			}
			return
		}
		if first {
			e.setLevel(ln, f.inner, false)
			e.tryAlign(i, ln, f)
		}
		if w == "(" {
			e.push(&hframe{bracket: true, base: e.level, inner: e.level + 1})
		}
		return
	}
	if k == vhdl.TokKeyword && len(e.stack) > 1 {
		switch w {
		case "begin":
			f.inStmt, f.hdr, f.pending, f.sepHdr = false, false, nil, false
			if first {
				e.setLevel(ln, f.base, true)
			}
			return
		case "elsif", "else":
			if (f.kind == "if" || f.kind == "ifgen") && (w == "elsif" || !f.inStmt) {
				f.inStmt = false
				f.sepHdr = w == "elsif" || f.kind == "ifgen"
				if first {
					e.setLevel(ln, f.base, true)
				}
				return
			}
		case "when":
			if (f.kind == "case" || f.kind == "casegen") && !f.inStmt && !f.itemHdr {
				f.itemHdr, f.inItem = true, true
				if first {
					e.setLevel(ln, f.inner, true)
				}
				return
			}
		}
	}
	if first {
		f.hdr = false
		if !f.sepHdr && !f.itemHdr {
			e.tryAlign(i, ln, f)
		}
		e.setLevel(ln, e.contextLevel(), true)
	}
	e.blockToken(i, t, w, f)
}

func (e *hEngine) blockToken(i int, t vhdl.Token, w string, f *hframe) {
	k := t.Kind
	if w == "(" {
		b := &hframe{bracket: true, base: e.level, inner: e.level + 1}
		switch {
		case e.prev == "port" || e.prev == "generic":
			b.list = 'p'
		case e.prev == "map":
			b.list = 'm'
		case f.pending != nil && (f.pending.kind == "function" || f.pending.kind == "procedure"):
			b.list = 'p'
		}
		if !f.inStmt && !f.hdr && !f.sepHdr && !f.itemHdr {
			e.startStmt(f, i, t)
		}
		f.stmtN++
		e.push(b)
		return
	}
	if f.hdr {
		if w == "is" {
			f.hdr = false
		}
		return
	}
	if f.sepHdr {
		if k == vhdl.TokKeyword && (w == "then" || w == "generate") {
			f.sepHdr = false
			f.inStmt = false
		}
		return
	}
	if f.itemHdr {
		if w == "=>" {
			f.itemHdr = false
			f.inStmt = false
		}
		return
	}
	if w == ";" {
		f.pending = nil
		f.inStmt = false
		return
	}
	if !f.inStmt {
		e.startStmt(f, i, t)
	}
	pos := f.stmtN
	f.stmtN++
	if k != vhdl.TokKeyword {
		return
	}
	atKw := pos == f.kwPos
	switch w {
	case "postponed", "pure", "impure":
		if atKw {
			f.kwPos++
		}
	case "entity", "architecture", "package", "configuration", "context":
		if pos == 0 {
			f.pending = &hpending{kind: w, base: f.stmtIndent}
		}
	case "function", "procedure":
		if atKw && !f.label {
			f.pending = &hpending{kind: w, base: f.stmtIndent}
		}
	case "component":
		if pos == 0 {
			e.open(f, "component", f.stmtIndent, true)
		}
	case "process", "block":
		if atKw {
			e.open(f, w, f.stmtIndent, true)
		}
	case "if", "case", "while":
		if atKw {
			f.pending = &hpending{kind: w, base: f.stmtIndent}
		}
	case "for":
		if atKw {
			if f.kind == "configuration" || f.kind == "cfor" {
				e.open(f, "cfor", f.stmtIndent, true)
			} else {
				f.pending = &hpending{kind: w, base: f.stmtIndent}
			}
		}
	case "loop":
		if p := f.pending; p == nil || p.kind == "for" || p.kind == "while" {
			base := f.stmtIndent
			if p != nil {
				base = p.base
			}
			e.open(f, "loop", base, false)
		}
	case "generate":
		if p := f.pending; p == nil || p.kind == "for" || p.kind == "if" || p.kind == "case" {
			kind, base := "generate", f.stmtIndent
			if p != nil {
				base = p.base
				switch p.kind {
				case "if":
					kind = "ifgen"
				case "case":
					kind = "casegen"
				}
			}
			e.open(f, kind, base, false)
		}
	case "then":
		if p := f.pending; p != nil && p.kind == "if" {
			e.open(f, "if", p.base, false)
		}
	case "is":
		if p := f.pending; p != nil {
			switch p.kind {
			case "entity", "architecture", "package", "configuration", "context", "function", "procedure", "case":
				if _, nw := e.next(i); nw == "new" {
					f.pending = nil
					return
				}
				e.open(f, p.kind, p.base, false)
			}
		}
	case "record", "units":
		e.open(f, w, f.stmtIndent, false)
	case "protected":
		e.open(f, w, f.stmtIndent, true)
	}
}

func (e *hEngine) startStmt(f *hframe, i int, t vhdl.Token) {
	f.inStmt, f.stmtN, f.kwPos, f.label = true, 0, 0, false
	if t.Kind == vhdl.TokIdent || t.Kind == vhdl.TokExtIdent {
		if nt, nw := e.next(i); nt.Kind == vhdl.TokOperator && nw == ":" {
			f.kwPos, f.label = 2, true
		}
	}
}

// tryAlign records the alignment cells of line ln, whose first token is
// toks[i], when it is a port/generic list entry, a map association or a
// signal/constant/variable declaration.
func (e *hEngine) tryAlign(i, ln int, f *hframe) {
	if e.st.NoAlign || e.d.lines[ln].verbatim {
		return
	}
	l := &e.d.lines[ln]
	toks := e.toks
	// the line's code tokens; comments only at the end
	j := i
	for n := i; n < len(toks) && toks[n].Start < l.end; n++ {
		if toks[n].Kind == vhdl.TokComment {
			continue
		}
		if n > j {
			return
		}
		j = n + 1
	}
	if j <= i {
		return
	}
	w := func(k int) string { return e.word(toks[k]) }
	switch {
	case f.bracket && f.list == 'p':
		// names : [mode] type
		c := i
		for c < j && w(c) != ":" {
			switch toks[c].Kind {
			case vhdl.TokIdent, vhdl.TokExtIdent:
			case vhdl.TokKeyword:
				if s := w(c); s != "signal" && s != "constant" && s != "variable" && s != "file" {
					return
				}
			default:
				if w(c) != "," {
					return
				}
			}
			c++
		}
		if c == i || c >= j {
			return
		}
		l.akind, l.aframe = alignList, f.id
		l.cells[0] = [2]int{toks[i].Start, toks[c-1].End}
		l.cells[1] = [2]int{toks[c].Start, toks[c].End}
		r := c + 1
		if r < j && toks[r].Kind == vhdl.TokKeyword && hModes[w(r)] {
			l.cells[2] = [2]int{toks[r].Start, toks[r].End}
			r++
		}
		l.rest = l.textEnd
		if r < j {
			l.rest = toks[r].Start
		}
	case f.bracket && f.list == 'm':
		depth := 0
		c := i
		for c < j && !(depth == 0 && w(c) == "=>") {
			switch w(c) {
			case "(":
				depth++
			case ")":
				depth--
			}
			if depth < 0 {
				return
			}
			c++
		}
		if c == i || c >= j {
			return
		}
		l.akind, l.aframe = alignMap, f.id
		l.cells[0] = [2]int{toks[i].Start, toks[c-1].End}
		l.rest = toks[c].Start
	case !f.bracket && !f.inStmt && !f.hdr:
		// signal/constant/variable declarations, record elements
		switch {
		case toks[i].Kind == vhdl.TokKeyword:
			switch w(i) {
			case "signal", "constant", "variable", "shared":
			default:
				return
			}
		case f.kind != "record" || toks[i].Kind != vhdl.TokIdent:
			return
		}
		if w(j-1) != ";" {
			return
		}
		c := i + 1
		for c < j && w(c) != ":" {
			if w(c) == ";" || w(c) == "(" {
				return
			}
			c++
		}
		if c >= j {
			return
		}
		for k := c; k < j-1; k++ {
			if w(k) == ";" {
				return
			}
		}
		l.akind, l.aframe = alignDecl, f.id
		l.cells[0] = [2]int{toks[i].Start, toks[c-1].End}
		l.rest = toks[c].Start
	}
}
