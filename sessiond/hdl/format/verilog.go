package format

import (
	"gatewave.dev/sessiond/hdl/verilog"
)

// Verilog formats src (sv selects SystemVerilog keywords); lo/hi limit the
// change to the lines that overlap the byte range [lo,hi) (lo=0,
// hi=len(src) for the whole document). It returns one edit per changed
// line, in order. Text inside strings and comments, `define bodies and
// `ifdef branches inactive under st.Defines and the file's own `defines is
// left alone; a directive at column 0 stays there.
func Verilog(src []byte, sv bool, lo, hi int, st Style) ([]Edit, error) {
	if err := checkRange(src, lo, hi); err != nil {
		return nil, err
	}
	e := newVEngine(src, sv, st)
	e.run()
	edits := e.d.edits(lo, hi, st)
	lex := func(b []byte) []tokText {
		return tokTexts(verilog.Lex(b, sv), func(t verilog.Token) tokText { return tokText{uint8(t.Kind), t.Start, t.End} })
	}
	if err := verify(src, edits, lex, uint8(verilog.Comment)); err != nil {
		return nil, err
	}
	return edits, nil
}

// Token roles decided by the preprocessor pass.
const (
	vNormal    uint8 = iota
	vSkip            // inactive text or a `define body: no effect on structure
	vDirective       // a directive or its arguments
)

// vframe is an open block (module, begin, case, ...) or bracket.
type vframe struct {
	id      int
	bracket bool
	closer  string // block: the keyword that closes it ("end", "endmodule", "join")
	base    int    // level of the opening line (and of the closer)
	inner   int    // level of the lines inside

	decl bool // bracket: a port or parameter declaration list
	// bracket: the { } of a struct or union, whose members align like
	// declarations
	structBody bool
	// bracket: a { } right after a name or ')' (constraint, coverpoint):
	// its } ends the statement
	bodyBrace bool
	caseHdr   bool // bracket: the (expr) of a case; block: still waiting for it
	ctlHdr    bool // bracket: the (cond) of an if, for, while, @...

	// block state
	inStmt     bool   // a statement (or a control header) has started and not ended
	stmtSlot   int    // level of the current statement
	stmtIndent int    // level of the last line started in this block
	stmtFirst  string // first keyword of the statement
	stmtN      int    // tokens of the statement so far (at this level)
	macro      uint8  // 1: the statement is a macro use, 2: and its (args) closed
	afterCase  bool   // right after a case's (expr): accept "inside"/"matches"
	pending    *vpending
	hdrImport  bool // inside an import ...; of a unit header

	// control statements (if, else, for, always...) whose body is the
	// statement in progress, innermost last
	ctl       []vctl
	hdr       uint8 // control header in progress: hdrParen, hdrEvent, hdrAt
	hdrIf     bool
	afterBody bool // a statement just ended: an else may continue the ctl chain
}

// Control header states.
const (
	hdrNone  uint8 = iota
	hdrParen       // expecting the (cond)
	hdrEvent       // always: an optional @ event control may follow
	hdrAt          // after @: expecting (expr), * or a name
)

type vctl struct {
	level  int
	isIf   bool
	isElse bool
}

// slot is the level of a new statement in block f.
func (f *vframe) slot() int {
	if n := len(f.ctl); n > 0 {
		return f.ctl[n-1].level + 1
	}
	return f.inner
}

// vControl are the statement prefixes whose body is the next statement.
var vControl = map[string]uint8{
	"if": hdrParen, "for": hdrParen, "while": hdrParen, "repeat": hdrParen, "foreach": hdrParen,
	"wait": hdrParen, "else": hdrNone, "forever": hdrNone, "initial": hdrNone, "final": hdrNone,
	"always_comb": hdrNone, "always_latch": hdrNone, "do": hdrNone,
	"always": hdrEvent, "always_ff": hdrEvent,
}

// vpending is a unit, function, class... whose body starts after the ';'
// that ends its header.
type vpending struct {
	closer string
	base   int
	sawAt  bool // clocking blocks need an event
}

type vEngine struct {
	src      []byte
	sv       bool
	st       Style
	toks     []verilog.Token
	role     []uint8
	d        *doc
	stack    []*vframe
	ids      int
	level    int    // level of the current line
	label    uint8  // 1: a label ": name" may follow, 2: its name
	prev     string // the previous code token
	prevKind verilog.TokKind
	// lines of the current and the previous code token
	ln, prevLn int
}

func newVEngine(src []byte, sv bool, st Style) *vEngine {
	e := &vEngine{src: src, sv: sv, st: st, d: newDoc(src)}
	e.toks = verilog.Lex(src, sv)
	e.role = make([]uint8, len(e.toks))
	e.stack = []*vframe{{id: 0}}
	return e
}

func (e *vEngine) text(t verilog.Token) string { return string(e.src[t.Start:t.End]) }

func (e *vEngine) top() *vframe { return e.stack[len(e.stack)-1] }

// vCloser maps closing keywords to the closer their block records.
var vCloser = map[string]string{
	"end": "end", "join": "join", "join_any": "join", "join_none": "join",
	"endmodule": "endmodule", "endinterface": "endinterface", "endprogram": "endprogram",
	"endpackage": "endpackage", "endclass": "endclass", "endfunction": "endfunction",
	"endtask": "endtask", "endcase": "endcase", "endgenerate": "endgenerate",
	"endspecify": "endspecify", "endtable": "endtable", "endprimitive": "endprimitive",
	"endconfig": "endconfig", "endclocking": "endclocking", "endgroup": "endgroup",
	"endproperty": "endproperty", "endsequence": "endsequence", "endchecker": "endchecker",
}

// vHeader maps keywords whose body follows a header ending in ';' to their closer.
var vHeader = map[string]string{
	"module": "endmodule", "macromodule": "endmodule", "interface": "endinterface",
	"program": "endprogram", "package": "endpackage", "class": "endclass",
	"function": "endfunction", "task": "endtask", "covergroup": "endgroup",
	"property": "endproperty", "sequence": "endsequence", "clocking": "endclocking",
	"checker": "endchecker", "primitive": "endprimitive", "config": "endconfig",
}

var vDirs = map[string]uint8{
	"input": 2, "output": 2, "inout": 2, "ref": 2, "parameter": 3, "localparam": 3,
}

var vTypeWords = map[string]bool{
	"wire": true, "reg": true, "logic": true, "bit": true, "byte": true, "int": true,
	"shortint": true, "longint": true, "integer": true, "time": true, "real": true,
	"realtime": true, "shortreal": true, "string": true, "chandle": true, "event": true,
	"genvar": true, "tri": true, "tri0": true, "tri1": true, "triand": true, "trior": true,
	"trireg": true, "wand": true, "wor": true, "uwire": true, "supply0": true, "supply1": true,
	"var": true, "signed": true, "unsigned": true, "interconnect": true, "type": true,
	"rand": true, "randc": true, "local": true, "protected": true, "static": true,
	"automatic": true, "const": true, "virtual": true,
}

// preprocess marks `define bodies, directive arguments and inactive `ifdef
// branches.
func (e *vEngine) preprocess() {
	defined := map[string]bool{}
	for _, n := range e.st.Defines {
		defined[n] = true
	}
	type cond struct{ parent, taken bool }
	var stack []cond
	active := true
	toks := e.toks
	d := e.d
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind == verilog.EOF {
			break
		}
		if t.Kind != verilog.Directive {
			if !active {
				e.role[i] = vSkip
			}
			continue
		}
		ln := d.lineOf(t.Start)
		lineEnd := d.lines[ln].end
		role := func(on bool) uint8 {
			if on {
				return vDirective
			}
			return vSkip
		}
		// arg consumes the name after the directive when it is on its line.
		arg := func(r uint8) string {
			if i+1 < len(toks) && toks[i+1].Kind != verilog.EOF && toks[i+1].Start < lineEnd &&
				(toks[i+1].Kind == verilog.Ident || toks[i+1].Kind == verilog.Keyword || toks[i+1].Kind == verilog.String) {
				i++
				e.role[i] = r
				return e.text(toks[i])
			}
			return ""
		}
		restOfLine := func(r uint8) {
			for i+1 < len(toks) && toks[i+1].Kind != verilog.EOF && toks[i+1].Start < lineEnd {
				i++
				e.role[i] = r
				if toks[i].End > lineEnd {
					break
				}
			}
		}
		di := i
		dirActive := active
		name := string(e.src[t.Start+1 : t.End])
		switch name {
		case "define":
			e.role[i] = role(active)
			// the body runs to the end of the line, continued by a backslash
			// right before the line break; a comment or string that starts
			// in it takes the body on to the line it ends on
			last := ln
			for {
				l := d.lines[last]
				if l.end > l.start && e.src[l.end-1] == '\\' && last+1 < len(d.lines) {
					last++
					continue
				}
				j := i + 1
				end := d.lines[last].end
				grew := false
				for j < len(toks) && toks[j].Kind != verilog.EOF && toks[j].Start < end {
					if toks[j].End > end {
						// (a string may end on the \r of a CRLF: same line)
						if nl := d.lineOf(toks[j].End - 1); nl > last {
							last = nl
							grew = true
						}
						break
					}
					j++
				}
				if !grew {
					break
				}
			}
			end := d.lines[last].end
			first := true
			for i+1 < len(toks) && toks[i+1].Kind != verilog.EOF && toks[i+1].Start < end {
				i++
				e.role[i] = vSkip
				if first && active && (toks[i].Kind == verilog.Ident || toks[i].Kind == verilog.Keyword) {
					defined[e.text(toks[i])] = true
				}
				first = false
			}
			d.lines[ln].keepTail = true
			for k := ln + 1; k <= last; k++ {
				d.lines[k].verbatim = true
			}
			d.cur = ln
			continue
		case "undef":
			e.role[i] = role(active)
			if n := arg(role(active)); active {
				delete(defined, n)
			}
			continue
		case "ifdef", "ifndef":
			n := arg(role(active))
			c := defined[n]
			if name == "ifndef" {
				c = !c
			}
			stack = append(stack, cond{parent: active, taken: c})
			active = active && c
		case "elsif":
			if len(stack) == 0 {
				arg(role(active))
				break
			}
			top := &stack[len(stack)-1]
			dirActive = top.parent
			c := defined[arg(role(dirActive))]
			active = top.parent && !top.taken && c
			if c {
				top.taken = true
			}
		case "else":
			if len(stack) == 0 {
				break
			}
			top := &stack[len(stack)-1]
			dirActive = top.parent
			active = top.parent && !top.taken
			top.taken = true
		case "endif":
			if len(stack) == 0 {
				break
			}
			dirActive = stack[len(stack)-1].parent
			active = dirActive
			stack = stack[:len(stack)-1]
		case "include", "timescale", "default_nettype", "line", "pragma", "begin_keywords",
			"unconnected_drive", "default_decay_time", "default_trireg_strength":
			e.role[i] = role(active)
			restOfLine(role(active))
			continue
		}
		e.role[di] = role(dirActive)
	}
	d.cur = 0
}

func (e *vEngine) run() {
	e.preprocess()
	d := e.d
	for i, t := range e.toks {
		if t.Kind == verilog.EOF {
			break
		}
		d.addToken(i, t.Start, t.End, t.Kind == verilog.Comment)
	}
	// a line whose first token is inactive or in a `define body stays as it is
	for k := range d.lines {
		if l := &d.lines[k]; l.firstTok >= 0 && e.role[l.firstTok] == vSkip {
			l.verbatim = true
		}
	}
	d.cur = 0
	cur := -1
	for i, t := range e.toks {
		if t.Kind == verilog.EOF {
			break
		}
		ln := d.lineOf(t.Start)
		first := ln != cur
		cur = ln
		switch {
		case e.role[i] == vSkip:
			continue
		case t.Kind == verilog.Comment:
			if first {
				e.setLevel(ln, e.commentLevel(i), false)
			}
			continue
		case e.role[i] == vDirective:
			if first {
				d.lines[ln].directive = true
				if l := &d.lines[ln]; l.textStart == l.start {
					l.keep = true
					e.level = 0
				} else {
					e.setLevel(ln, e.top().inner, false)
				}
			}
			continue
		}
		e.ln = ln
		e.token(i, ln, first)
		e.prev = e.text(t)
		e.prevKind = t.Kind
		e.prevLn = ln
	}
}

// setLevel sets the level of line ln; stmt tells that the line starts at
// the current block's statement level (not inside a bracket).
func (e *vEngine) setLevel(ln, level int, stmt bool) {
	if level < 0 {
		level = 0
	}
	e.d.lines[ln].level = level
	e.level = level
	if f := e.top(); stmt && !f.bracket {
		f.stmtIndent = level
	}
}

// contextLevel is the level of a line starting with an ordinary token:
// the bracket's inner level, or the block's statement slot, one more in a
// statement's continuation; a begin or fork on its own line stays at the
// level of the statement or control it belongs to.
func (e *vEngine) contextLevel(opener bool) int {
	f := e.top()
	if f.bracket {
		return f.inner
	}
	if f.inStmt {
		if opener {
			return f.stmtSlot
		}
		return f.stmtSlot + 1
	}
	if opener && len(f.ctl) > 0 {
		return f.ctl[len(f.ctl)-1].level
	}
	return f.slot()
}

// commentLevel is the level of a line starting with a comment before
// token i: like contextLevel, but after a finished statement it looks at
// the next code to tell whether an else continues the control chain.
func (e *vEngine) commentLevel(i int) int {
	f := e.top()
	if f.bracket || !f.afterBody {
		return e.contextLevel(false)
	}
	if e.nextText(i) == "else" {
		for k := len(f.ctl) - 1; k >= 0; k-- {
			if f.ctl[k].isIf {
				return f.ctl[k].level
			}
		}
	}
	return f.inner
}

func (e *vEngine) push(f *vframe) {
	e.ids++
	f.id = e.ids
	e.stack = append(e.stack, f)
}

// pushBlock opens a block in the current block f at level base.
func (e *vEngine) pushBlock(f *vframe, closer string, base int) *vframe {
	f.inStmt = false
	f.macro = 0
	f.pending = nil
	nb := &vframe{closer: closer, base: base, inner: base + 1, stmtIndent: base + 1}
	e.push(nb)
	return nb
}

// endBody records that the statement in progress in f ended.
func (f *vframe) endBody() {
	f.inStmt = false
	f.macro = 0
	f.hdr = hdrNone
	f.afterBody = true
}

// complete ends a control header: the next statement is its body.
func (f *vframe) complete() {
	f.ctl = append(f.ctl, vctl{level: f.stmtSlot, isIf: f.hdrIf})
	f.hdr = hdrNone
	f.inStmt = false
	f.afterBody = false
}

// bracket opens a bracket frame for the opener txt on the current line.
func (e *vEngine) bracket(txt string) *vframe {
	b := &vframe{bracket: true, base: e.level, inner: e.level + 1}
	if txt == "{" {
		switch e.prev {
		case "struct", "union", "packed", "tagged", "signed", "unsigned":
			b.structBody = true
		}
	}
	return b
}

// vBlockOnly are keywords that never appear inside brackets: one there
// means a bracket was left open, and the structure resumes at block level.
var vBlockOnly = map[string]bool{
	"always": true, "always_ff": true, "always_comb": true, "always_latch": true,
	"initial": true, "final": true, "assign": true, "module": true, "macromodule": true,
	"begin": true, "generate": true, "endgenerate": true,
}

func isOpenBracket(s string) bool {
	return s == "(" || s == "[" || s == "{" || s == "'{" || s == "(*"
}

func isCloseBracket(s string) bool { return s == ")" || s == "]" || s == "}" }

func (e *vEngine) nextText(i int) string {
	for j := i + 1; j < len(e.toks) && e.toks[j].Kind != verilog.EOF; j++ {
		if e.toks[j].Kind != verilog.Comment && e.role[j] == vNormal {
			return e.text(e.toks[j])
		}
	}
	return ""
}

func (e *vEngine) token(i, ln int, first bool) {
	t := e.toks[i]
	k := t.Kind
	txt := e.text(t)
	f := e.top()
	if f.bracket && k == verilog.Keyword && vBlockOnly[txt] {
		for len(e.stack) > 1 && e.top().bracket {
			e.stack = e.stack[:len(e.stack)-1]
		}
		f = e.top()
		if p := f.pending; p != nil {
			f.pending, f.hdrImport = nil, false
			f = e.pushBlock(f, p.closer, p.base)
		}
	}
	if k == verilog.Keyword {
		if c, ok := vCloser[txt]; ok {
			idx := -1
			for j := len(e.stack) - 1; j > 0; j-- {
				if !e.stack[j].bracket && e.stack[j].closer == c {
					idx = j
					break
				}
			}
			if idx > 0 {
				cl := e.stack[idx]
				e.stack = e.stack[:idx]
				nt := e.top()
				nt.pending = nil
				nt.endBody()
				if first {
					e.setLevel(ln, cl.base, true)
				}
			} else if first {
				e.setLevel(ln, e.contextLevel(false), true)
			}
			e.label = 1
			return
		}
	}
	if f.bracket {
		if k == verilog.Op && isCloseBracket(txt) {
			e.stack = e.stack[:len(e.stack)-1]
			nt := e.top()
			if first {
				e.setLevel(ln, f.base, true)
			}
			if !nt.bracket {
				switch {
				case f.caseHdr:
					nt.caseHdr = false
					nt.afterCase = true
					nt.inStmt = false
				case f.ctlHdr:
					nt.complete()
				case f.bodyBrace:
					nt.endBody()
				}
				if nt.macro == 1 {
					nt.macro = 2
				}
			}
			return
		}
		if first {
			e.setLevel(ln, f.inner, false)
			e.tryAlign(i, ln, f)
		}
		if k == verilog.Op && isOpenBracket(txt) {
			e.push(e.bracket(txt))
		}
		return
	}
	// block level
	switch e.label {
	case 1:
		e.label = 0
		if k == verilog.Op && txt == ":" {
			e.label = 2
			return
		}
	case 2:
		e.label = 0
		if k == verilog.Ident {
			return
		}
	}
	if first && f.inStmt && f.macro > 0 {
		// a macro use alone on its line(s) is a statement of its own
		f.endBody()
	}
	if f.afterBody {
		f.afterBody = false
		if k == verilog.Keyword && txt == "else" {
			for c := len(f.ctl) - 1; c >= 0; c-- {
				if f.ctl[c].isIf {
					lvl := f.ctl[c].level
					f.ctl = append(f.ctl[:c], vctl{level: lvl, isElse: true})
					if first {
						e.setLevel(ln, lvl, true)
					}
					return
				}
			}
		}
		f.ctl = f.ctl[:0]
	}
	switch f.hdr {
	case hdrParen:
		if k == verilog.Op && txt == "(" {
			if first {
				e.setLevel(ln, f.stmtSlot+1, true)
			}
			e.push(&vframe{bracket: true, ctlHdr: true, base: e.level, inner: e.level + 1})
			return
		}
		f.complete()
	case hdrEvent:
		if k == verilog.Op && txt == "@" {
			f.hdr = hdrAt
			if first {
				e.setLevel(ln, f.stmtSlot+1, true)
			}
			return
		}
		f.complete()
	case hdrAt:
		if k == verilog.Op && txt == "(" {
			if first {
				e.setLevel(ln, f.stmtSlot+1, true)
			}
			e.push(&vframe{bracket: true, ctlHdr: true, base: e.level, inner: e.level + 1})
			return
		}
		if txt == "*" || k == verilog.Ident {
			if first {
				e.setLevel(ln, f.stmtSlot+1, true)
			}
			f.complete()
			return
		}
		f.complete()
	}
	if first {
		e.tryAlign(i, ln, f)
		// begin or fork on its own line, and the #( or ( of a unit's
		// header, stay at the level of what they belong to
		opener := k == verilog.Keyword && (txt == "begin" || txt == "fork") ||
			f.pending != nil && !f.hdrImport && (txt == "#" || txt == "(")
		e.setLevel(ln, e.contextLevel(opener), true)
	}
	e.blockToken(i, t, txt, f)
}

func (e *vEngine) blockToken(i int, t verilog.Token, txt string, f *vframe) {
	k := t.Kind
	if f.afterCase {
		f.afterCase = false
		if k == verilog.Keyword && (txt == "inside" || txt == "matches") {
			return
		}
	}
	if k == verilog.Op && isOpenBracket(txt) {
		b := e.bracket(txt)
		if txt == "{" && f.inStmt && (e.prevKind == verilog.Ident || e.prev == ")") {
			b.bodyBrace = true
		}
		if f.caseHdr && txt == "(" {
			b.caseHdr = true
			e.push(b)
			return
		}
		if f.pending != nil && txt == "(" && e.prev != "@" && f.pending.closer != "endclocking" {
			b.decl = true
		}
		if !f.inStmt {
			e.startStmt(f, k, txt)
		}
		if !(f.macro == 1 && f.stmtN == 1 && txt == "(") {
			f.macro = 0
		}
		f.stmtN++
		e.push(b)
		return
	}
	if k == verilog.Op && txt == ";" {
		if p := f.pending; p != nil {
			if f.hdrImport {
				f.hdrImport = false
				return
			}
			f.pending = nil
			f.inStmt = false
			if p.closer != "endclocking" || p.sawAt {
				e.pushBlock(f, p.closer, p.base)
			}
			return
		}
		f.endBody()
		return
	}
	control := false
	if !f.inStmt {
		e.startStmt(f, k, txt)
		control = true
	} else {
		f.macro = 0
		control = f.stmtN == 1 && (e.prev == "unique" || e.prev == "unique0" || e.prev == "priority")
	}
	if f.closer == "endproperty" || f.closer == "endsequence" {
		control = false // a property's body is an expression, not statements
	}
	f.stmtN++
	if k != verilog.Keyword {
		if txt == "@" {
			if f.pending != nil {
				f.pending.sawAt = true
			} else if control {
				f.hdr, f.hdrIf = hdrAt, false
			}
		}
		return
	}
	if mode, ok := vControl[txt]; ok && control && f.pending == nil {
		if txt == "if" && e.prev == "else" && e.prevLn == e.ln {
			// else if: the chain stays at the else's level
			if n := len(f.ctl); n > 0 && f.ctl[n-1].isElse {
				f.stmtSlot = f.ctl[n-1].level
				f.ctl = f.ctl[:n-1]
			}
		}
		f.hdrIf = txt == "if"
		f.hdr = mode
		if mode == hdrNone {
			f.complete()
		}
		return
	}
	switch txt {
	case "begin":
		e.pushBlock(f, "end", f.stmtIndent)
		e.label = 1
		return
	case "fork":
		if e.prev != "wait" && e.prev != "disable" {
			e.pushBlock(f, "join", f.stmtIndent)
			e.label = 1
		}
		return
	case "case", "casex", "casez", "randsequence":
		closer := "endcase"
		if txt == "randsequence" {
			closer = "endsequence"
		}
		nb := e.pushBlock(f, closer, f.stmtIndent)
		nb.caseHdr = true
		return
	case "randcase":
		e.pushBlock(f, "endcase", f.stmtIndent)
		return
	case "generate":
		e.pushBlock(f, "endgenerate", f.stmtIndent)
		return
	case "specify":
		e.pushBlock(f, "endspecify", f.stmtIndent)
		return
	case "table":
		e.pushBlock(f, "endtable", f.stmtIndent)
		return
	case "import":
		if f.pending != nil {
			f.hdrImport = true
		}
		return
	}
	closer, ok := vHeader[txt]
	if !ok || f.pending != nil {
		return
	}
	switch txt {
	case "interface":
		if e.prev == "virtual" || e.nextText(i) == "class" {
			return
		}
	case "function", "task":
		switch f.stmtFirst {
		case "extern", "pure", "import", "export", "typedef":
			return
		}
	case "class":
		if f.stmtFirst == "typedef" {
			return
		}
	case "property", "sequence":
		if f.stmtN != 1 {
			return
		}
	default:
		if f.stmtFirst == "extern" {
			return
		}
	}
	f.pending = &vpending{closer: closer, base: f.stmtIndent}
}

func (e *vEngine) startStmt(f *vframe, k verilog.TokKind, txt string) {
	f.inStmt, f.stmtFirst, f.stmtN, f.macro = true, "", 0, 0
	f.stmtSlot = f.slot()
	if k == verilog.Keyword {
		f.stmtFirst = txt
	}
	if k == verilog.MacroUse {
		f.macro = 1
	}
}

// lineCode returns the indexes [i,j) of the tokens starting on line ln
// from i on that are code, and whether only comments follow them on the
// line; ok is false when an inactive or directive token is among them or
// a comment sits between them.
func (e *vEngine) lineCode(i, ln int) (j int, ok bool) {
	end := e.d.lines[ln].end
	j = i
	n := i
	for n < len(e.toks) && e.toks[n].Kind != verilog.EOF && e.toks[n].Start < end {
		if e.role[n] != vNormal {
			return 0, false
		}
		if e.toks[n].Kind == verilog.Comment {
			n++
			continue
		}
		if n > j {
			return 0, false // a comment before more code
		}
		n++
		j = n
	}
	return j, true
}

// skipDims skips [..] groups starting at token a (before b).
func (e *vEngine) skipDims(a, b int) int {
	for a < b && e.text(e.toks[a]) == "[" {
		depth := 0
		k := a
		for ; k < b; k++ {
			switch e.text(e.toks[k]) {
			case "[":
				depth++
			case "]":
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if k >= b {
			return a
		}
		a = k + 1
	}
	return a
}

// tryAlign records the alignment cells of line ln, whose first token is
// toks[i], when it is a declaration or named connection in frame f.
func (e *vEngine) tryAlign(i, ln int, f *vframe) {
	if e.st.NoAlign || e.d.lines[ln].verbatim {
		return
	}
	j, ok := e.lineCode(i, ln)
	if !ok || j <= i {
		return
	}
	l := &e.d.lines[ln]
	toks := e.toks
	if f.bracket && !f.decl && !f.structBody {
		// .name (expr)
		if j-i >= 3 && e.text(toks[i]) == "." && toks[i+1].Kind == verilog.Ident && e.text(toks[i+2]) == "(" {
			l.akind, l.aframe = alignConn, f.id
			l.cells[0] = [2]int{toks[i].Start, toks[i+1].End}
			l.rest = toks[i+2].Start
		}
		return
	}
	body := !f.bracket || f.structBody
	if !f.bracket && (f.inStmt || f.hdr != hdrNone || len(f.ctl) > 0) {
		return
	}
	var cells [maxCells][2]int
	a := i
	sort := uint8(1)
	if toks[a].Kind == verilog.Keyword && vDirs[e.text(toks[a])] != 0 {
		sort = vDirs[e.text(toks[a])]
		cells[0] = [2]int{toks[a].Start, toks[a].End}
		a++
	}
	ts := a
	for a < j && toks[a].Kind == verilog.Keyword && vTypeWords[e.text(toks[a])] {
		a++
	}
	if a < j && toks[a].Kind == verilog.Ident {
		// a named type: T, pkg::T or intf.modport, followed by the name
		k := a + 1
		for k+1 < j && (e.text(toks[k]) == "::" || e.text(toks[k]) == ".") && toks[k+1].Kind == verilog.Ident {
			k += 2
		}
		if m := e.skipDims(k, j); m < j && toks[m].Kind == verilog.Ident {
			a = k
		}
	}
	if a > ts {
		cells[1] = [2]int{toks[ts].Start, toks[a-1].End}
	}
	rs := a
	a = e.skipDims(a, j)
	if a > rs {
		cells[2] = [2]int{toks[rs].Start, toks[a-1].End}
	}
	if a >= j || toks[a].Kind != verilog.Ident {
		return
	}
	if body {
		if cells[0] == cells[1] && cells[1] == cells[2] {
			return // neither direction nor type: not a declaration
		}
		if a+1 < j && e.text(toks[a+1]) == "(" {
			return // an instance
		}
		if e.text(toks[j-1]) != ";" {
			return
		}
		depth := 0
		for k := a; k < j-1; k++ {
			switch e.text(toks[k]) {
			case "(", "[", "{", "'{":
				depth++
			case ")", "]", "}":
				depth--
			case ";", "#", "begin":
				return
			}
			if depth < 0 {
				return
			}
		}
		if depth != 0 {
			return
		}
		l.akind = alignDecl
	} else {
		l.akind = alignPort
		sort = 0 // ports and parameters of one list align whatever their direction
	}
	l.asort, l.aframe, l.cells, l.rest = sort, f.id, cells, toks[a].Start
}
