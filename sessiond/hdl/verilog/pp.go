package verilog

import (
	"strconv"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// ptok is a preprocessed token as the parser sees it. text is a substring of
// the buffer it was lexed from (a file or a macro expansion); the span
// (file, ss, se) is where it is written, which for expanded text is the
// macro use.
type ptok struct {
	kind   TokKind
	macro  bool // came from a macro expansion
	file   int32
	ss, se int32
	text   string
}

type macroDef struct {
	name   string
	fn     bool
	params []string
	defs   []string
	hasDef []bool
	body   string
}

type span0 struct{ ss, se int32 }

type cmt struct{ s, e int32 }

type cond struct{ active, taken, parent bool }

const (
	maxMacroDepth   = 32
	maxIncludeDepth = 32
	maxExpansions   = 1 << 15
	maxExpandBytes  = 8 << 20
)

// pp is the preprocessor: it lexes the file, runs directives, expands
// macros and includes, and produces the token stream for the parser.
type pp struct {
	opts     *Options
	sv       bool
	f        *design.File
	files    []string // file index -> workspace-relative path
	fsrc     []string // file index -> source text
	comments [][]cmt  // file index -> comments in source order
	own      map[string]*macroDef
	noExt    bool // `undefineall: ignore Options.Defines
	toks     []ptok
	incStack []string
	nexp     int
	nbytes   int
	budget   bool // expansion budget exhausted (reported)
}

func newPP(path string, src string, opts *Options, sv bool, f *design.File) *pp {
	p := &pp{opts: opts, sv: sv, f: f, own: make(map[string]*macroDef)}
	p.files = append(p.files, path)
	p.fsrc = append(p.fsrc, src)
	p.comments = append(p.comments, make([]cmt, 0, 16))
	p.toks = make([]ptok, 0, len(src)/4+16)
	f.Tokens = make([]design.Token, 0, len(src)/4+16)
	p.incStack = append(p.incStack, path)
	return p
}

func (p *pp) diag(fi int32, s, e int, sev design.Severity, code, msg string) {
	if len(p.f.Diags) >= maxDiags {
		return
	}
	p.f.Diags = append(p.f.Diags, design.Diag{Span: design.Span{File: p.files[fi], Start: s, End: e}, Severity: sev, Message: msg, Code: code})
}

var tokClass = [...]design.TokenKind{
	Ident: design.TokIdent, Keyword: design.TokKeyword, Number: design.TokNumber, String: design.TokString,
	Op: design.TokOperator, Comment: design.TokComment, Directive: design.TokDirective,
	MacroUse: design.TokMacro, SystemName: design.TokSystem,
}

func (p *pp) emitTok(k TokKind, s, e int) {
	if int(k) < len(tokClass) && tokClass[k] != 0 {
		p.f.Tokens = append(p.f.Tokens, design.Token{Kind: tokClass[k], Start: s, End: e})
	}
}

// lexRange emits highlighting tokens for src[s:e] of the main file.
func (p *pp) lexRange(src string, s, e int) {
	lx := lexer{src: src[:e], pos: s, sv: p.sv}
	for {
		k, ts, te := lx.next()
		if k == EOF {
			return
		}
		if k == Op && src[ts] == '\\' {
			continue
		}
		p.emitTok(k, ts, te)
	}
}

func lineEnd(src string, pos int) int {
	if i := strings.IndexByte(src[pos:], '\n'); i >= 0 {
		return pos + i
	}
	return len(src)
}

// run preprocesses src. fi is the file the spans name; use, when not nil,
// is the macro use all tokens get as their span.
func (p *pp) run(src string, fi int32, use *span0, depth int) {
	main := fi == 0 && use == nil
	lx := lexer{src: src, sv: p.sv}
	var stack []cond
	inStart := -1 // start of the current inactive region
	active := func() bool { return len(stack) == 0 || stack[len(stack)-1].active }
	for {
		k, s, e := lx.next()
		if k == EOF {
			break
		}
		if !active() {
			if k != Directive {
				continue
			}
			switch src[s+1 : e] {
			case "ifdef", "ifndef", "elsif", "else", "endif":
			default:
				continue
			}
		}
		switch k {
		case Comment:
			if use == nil {
				p.comments[fi] = append(p.comments[fi], cmt{int32(s), int32(e)})
				if main {
					p.emitTok(k, s, e)
				}
			}
			continue
		case Directive:
			name := src[s+1 : e]
			switch name {
			case "ifdef", "ifndef", "elsif", "else", "endif":
				before := active()
				var mname string
				var ns, ne int
				if name != "else" && name != "endif" {
					save := lx.pos
					nk, a, b := lx.next()
					if (nk == Ident || nk == Keyword) && !strings.Contains(src[save:a], "\n") {
						mname, ns, ne = src[a:b], a, b
						if mname[0] == '\\' {
							mname = mname[1:]
						}
					} else {
						lx.pos = save
						if before || name == "elsif" {
							p.diag(fi, s, e, design.Error, "syntax", "expected a macro name after `"+name)
						}
					}
				}
				switch name {
				case "ifdef", "ifndef":
					if !before {
						stack = append(stack, cond{parent: false, taken: true})
					} else {
						d := mname != "" && p.lookup(mname) != nil
						if name == "ifndef" {
							d = mname != "" && !d
						}
						stack = append(stack, cond{active: d, taken: d, parent: true})
					}
				case "elsif":
					if len(stack) == 0 {
						p.diag(fi, s, e, design.Error, "syntax", "`elsif without `ifdef")
						continue
					}
					t := &stack[len(stack)-1]
					if t.parent && !t.taken && mname != "" && p.lookup(mname) != nil {
						t.active, t.taken = true, true
					} else {
						t.active = false
					}
				case "else":
					if len(stack) == 0 {
						p.diag(fi, s, e, design.Error, "syntax", "`else without `ifdef")
						continue
					}
					t := &stack[len(stack)-1]
					t.active = t.parent && !t.taken
					t.taken = true
				case "endif":
					if len(stack) == 0 {
						p.diag(fi, s, e, design.Error, "syntax", "`endif without `ifdef")
						continue
					}
					stack = stack[:len(stack)-1]
				}
				after := active()
				if !before && use == nil {
					p.endInactive(src, fi, inStart, s, main)
					inStart = -1
				}
				if main {
					p.emitTok(Directive, s, e)
					if ne > 0 {
						p.emitTok(MacroUse, ns, ne)
					}
				}
				if !after {
					inStart = lx.pos
				}
			case "define":
				if main {
					p.emitTok(Directive, s, e)
				}
				p.define(&lx, s, fi, use)
			case "undef":
				if main {
					p.emitTok(Directive, s, e)
				}
				save := lx.pos
				nk, a, b := lx.next()
				if nk == Ident || nk == Keyword {
					p.own[src[a:b]] = nil
					if main {
						p.emitTok(MacroUse, a, b)
					}
				} else {
					lx.pos = save
					p.diag(fi, s, e, design.Error, "syntax", "expected a macro name after `undef")
				}
			case "undefineall":
				if main {
					p.emitTok(Directive, s, e)
				}
				for k := range p.own {
					p.own[k] = nil
				}
				p.noExt = true
			case "include":
				if main {
					p.emitTok(Directive, s, e)
				}
				p.include(&lx, s, e, fi, use, depth, main)
			case "resetall", "celldefine", "endcelldefine", "end_keywords", "nounconnected_drive",
				"delay_mode_distributed", "delay_mode_path", "delay_mode_unit", "delay_mode_zero",
				"protect", "endprotect", "timescale_reset":
				if main {
					p.emitTok(Directive, s, e)
				}
			default: // `timescale, `default_nettype, `line, `pragma, `begin_keywords, ...: rest of line
				le := lineEnd(src, lx.pos)
				if main {
					p.emitTok(Directive, s, e)
					p.lexRange(src, lx.pos, le)
				}
				lx.pos = le
			}
			continue
		case MacroUse:
			p.expand(&lx, s, e, fi, use, depth, main)
			continue
		}
		t := ptok{kind: k, file: fi, text: src[s:e]}
		if use != nil {
			t.ss, t.se, t.macro = use.ss, use.se, true
		} else {
			t.ss, t.se = int32(s), int32(e)
		}
		p.toks = append(p.toks, t)
		if main {
			p.emitTok(k, s, e)
		}
	}
	if len(stack) > 0 {
		if use == nil {
			p.diag(fi, len(src), len(src), design.Error, "syntax", "missing `endif")
		}
		if !active() && use == nil {
			p.endInactive(src, fi, inStart, len(src), main)
		}
	}
}

// endInactive records the inactive region from start (just after the
// directive that opened it) to end (the directive that closes it).
func (p *pp) endInactive(src string, fi int32, start, end int, main bool) {
	if start < 0 {
		return
	}
	// begin after the opening directive's line, end at the start of the
	// closing directive's line
	q := start
	for q < end && (src[q] == ' ' || src[q] == '\t' || src[q] == '\r') {
		q++
	}
	if q < end && src[q] == '\n' {
		start = q + 1
	}
	r := end
	for r > start && (src[r-1] == ' ' || src[r-1] == '\t') {
		r--
	}
	if r > start && src[r-1] == '\n' {
		end = r
	}
	if end <= start {
		return
	}
	p.f.Inactive = append(p.f.Inactive, design.Span{File: p.files[fi], Start: start, End: end})
	if !main {
		return
	}
	for ls := start; ls < end; {
		le := ls
		for le < end && src[le] != '\n' {
			le++
		}
		a, b := ls, le
		for a < b && isSpace(src[a]) {
			a++
		}
		for b > a && isSpace(src[b-1]) {
			b--
		}
		if b > a {
			p.f.Tokens = append(p.f.Tokens, design.Token{Kind: design.TokInactive, Start: a, End: b})
		}
		ls = le + 1
	}
}

func (p *pp) lookup(name string) *macroDef {
	if d, ok := p.own[name]; ok {
		return d
	}
	if p.noExt || p.opts.Defines == nil {
		return nil
	}
	m := p.opts.Defines[name]
	if m == nil {
		return nil
	}
	d := &macroDef{name: name, body: m.Body, fn: m.Params != nil}
	for _, prm := range m.Params {
		nm, def, has := strings.Cut(prm, "=")
		d.params = append(d.params, strings.TrimSpace(nm))
		d.defs = append(d.defs, strings.TrimSpace(def))
		d.hasDef = append(d.hasDef, has)
	}
	p.own[name] = d
	return d
}

// define handles `define; lx.pos is just after the directive.
func (p *pp) define(lx *lexer, dirStart int, fi int32, use *span0) {
	src := lx.src
	main := fi == 0 && use == nil
	q := lx.pos
	for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
		q++
	}
	ns := q
	if q < len(src) && src[q] == '\\' {
		for q < len(src) && !isSpace(src[q]) {
			q++
		}
	} else if q < len(src) && isIdentStart(src[q]) {
		for q < len(src) && isIdentChar(src[q]) {
			q++
		}
	}
	if q == ns {
		p.diag(fi, dirStart, lx.pos, design.Error, "syntax", "expected a macro name after `define")
		lx.pos = lineEnd(src, q)
		return
	}
	ne := q
	name := src[ns:ne]
	if name[0] == '\\' {
		name = name[1:]
	}
	d := &macroDef{name: name}
	var mparams []string
	if q < len(src) && src[q] == '(' {
		d.fn = true
		mparams = []string{}
		q++
	params:
		for q < len(src) {
			for q < len(src) && (isSpace(src[q]) || src[q] == '\\') {
				q++
			}
			if q >= len(src) {
				break
			}
			if src[q] == ')' {
				q++
				break
			}
			ps := q
			for q < len(src) && isIdentChar(src[q]) {
				q++
			}
			if q == ps {
				p.diag(fi, q, q+1, design.Error, "syntax", "expected a parameter name in `define "+name)
				for q < len(src) && src[q] != ')' && src[q] != '\n' {
					q++
				}
				if q < len(src) && src[q] == ')' {
					q++
				}
				break
			}
			pname := src[ps:q]
			for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
				q++
			}
			def, has := "", false
			if q < len(src) && src[q] == '=' {
				has = true
				q++
				ds := q
				lvl := 0
				for q < len(src) && src[q] != '\n' {
					c := src[q]
					if c == '"' {
						q = lexString(src, q)
						continue
					}
					if c == '(' || c == '[' || c == '{' {
						lvl++
					} else if c == ')' || c == ']' || c == '}' {
						if lvl == 0 {
							break
						}
						lvl--
					} else if c == ',' && lvl == 0 {
						break
					}
					q++
				}
				def = strings.TrimSpace(src[ds:q])
			}
			d.params = append(d.params, pname)
			d.defs = append(d.defs, def)
			d.hasDef = append(d.hasDef, has)
			if has {
				mparams = append(mparams, pname+"="+def)
			} else {
				mparams = append(mparams, pname)
			}
			for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
				q++
			}
			if q < len(src) {
				switch src[q] {
				case ',':
					q++
				case ')':
					q++
					break params
				default:
					p.diag(fi, q, q+1, design.Error, "syntax", "expected ',' or ')' in the parameters of `define "+name)
					break params
				}
			}
		}
	}
	bodyStart := q
	var b []byte
	seg := q
	built := false
	for q < len(src) {
		c := src[q]
		if c == '\n' {
			break
		}
		if c == '\\' && (q+1 < len(src) && src[q+1] == '\n' || q+2 < len(src) && src[q+1] == '\r' && src[q+2] == '\n') {
			built = true
			b = append(b, src[seg:q]...)
			b = append(b, '\n')
			if src[q+1] == '\r' {
				q += 3
			} else {
				q += 2
			}
			seg = q
			continue
		}
		if c == '"' {
			q = lexString(src, q)
			continue
		}
		if c == '/' && q+1 < len(src) && src[q+1] == '/' {
			built = true
			b = append(b, src[seg:q]...)
			le := lineEnd(src, q)
			t := le
			if t > q && src[t-1] == '\r' {
				t--
			}
			if t > q && src[t-1] == '\\' && le < len(src) {
				b = append(b, '\n')
				q = le + 1
				seg = q
				continue
			}
			q = le
			seg = q
			break
		}
		if c == '/' && q+1 < len(src) && src[q+1] == '*' {
			built = true
			b = append(b, src[seg:q]...)
			b = append(b, ' ')
			if i := strings.Index(src[q+2:], "*/"); i >= 0 {
				q = q + 2 + i + 2
			} else {
				q = len(src)
			}
			seg = q
			continue
		}
		q++
	}
	end := q
	var body string
	if built {
		b = append(b, src[seg:end]...)
		body = string(b)
	} else {
		body = src[bodyStart:end]
	}
	d.body = strings.TrimSpace(body)
	lx.pos = end
	p.own[name] = d
	fullEnd := end
	if fullEnd > dirStart && src[fullEnd-1] == '\r' {
		fullEnd--
	}
	if main {
		p.emitTok(MacroUse, ns, ne)
		p.lexRange(src, ne, end)
		m := &design.Macro{
			Name: name, Params: mparams, Body: d.body,
			Span: design.Span{File: p.files[fi], Start: ns, End: ne},
			Full: design.Span{File: p.files[fi], Start: dirStart, End: fullEnd},
		}
		m.Doc = docAbove(src, p.comments[fi], dirStart)
		p.f.Macros = append(p.f.Macros, m)
	}
}

// include handles `include; lx.pos is just after the directive.
func (p *pp) include(lx *lexer, s, e int, fi int32, use *span0, depth int, main bool) {
	src := lx.src
	save := lx.pos
	k, a, b := lx.next()
	var name string
	switch {
	case strings.Contains(src[save:a], "\n") || k == EOF:
		lx.pos = save
		p.diag(fi, s, e, design.Error, "syntax", "expected a file name after `include")
		return
	case k == String:
		name = src[a:b]
		name = strings.TrimPrefix(name, "\"")
		name = strings.TrimSuffix(name, "\"")
	case k == Op && src[a] == '<':
		q := a + 1
		for q < len(src) && src[q] != '>' && src[q] != '\n' {
			q++
		}
		name = src[a+1 : q]
		if q < len(src) && src[q] == '>' {
			q++
		}
		b = q
		lx.pos = q
	case k == MacroUse:
		if d := p.lookup(src[a+1 : b]); d != nil && len(d.body) >= 2 && d.body[0] == '"' {
			name = strings.Trim(d.body, "\"")
		} else {
			p.diag(fi, a, b, design.Error, "syntax", "expected a file name after `include")
			return
		}
	default:
		lx.pos = save
		p.diag(fi, s, e, design.Error, "syntax", "expected a file name after `include")
		return
	}
	if main {
		p.emitTok(String, a, b)
	}
	sp := design.Span{File: p.files[fi], Start: a, End: b}
	if use != nil {
		sp.Start, sp.End = int(use.ss), int(use.se)
	}
	inc := design.Include{Name: name, Span: sp}
	defer func() { p.f.Includes = append(p.f.Includes, inc) }()
	if p.opts.Include == nil {
		p.f.Diags = appendDiag(p.f.Diags, design.Diag{Span: sp, Severity: design.Warning, Code: "include-not-found", Message: "cannot find include file \"" + name + "\""})
		return
	}
	path, isrc, ok := p.opts.Include(name, p.files[fi])
	if !ok {
		p.f.Diags = appendDiag(p.f.Diags, design.Diag{Span: sp, Severity: design.Warning, Code: "include-not-found", Message: "cannot find include file \"" + name + "\""})
		return
	}
	inc.Resolved = path
	for _, x := range p.incStack {
		if x == path {
			p.f.Diags = appendDiag(p.f.Diags, design.Diag{Span: sp, Severity: design.Error, Code: "include-cycle", Message: "\"" + name + "\" includes itself (through " + strings.Join(p.incStack, " -> ") + ")"})
			return
		}
	}
	if len(p.incStack) > maxIncludeDepth {
		p.f.Diags = appendDiag(p.f.Diags, design.Diag{Span: sp, Severity: design.Error, Code: "include-depth", Message: "includes nested more than " + strconv.Itoa(maxIncludeDepth) + " deep"})
		return
	}
	nfi := int32(len(p.files))
	p.files = append(p.files, path)
	is := string(isrc)
	p.fsrc = append(p.fsrc, is)
	p.comments = append(p.comments, nil)
	p.incStack = append(p.incStack, path)
	p.run(is, nfi, nil, depth)
	p.incStack = p.incStack[:len(p.incStack)-1]
}

func appendDiag(ds []design.Diag, d design.Diag) []design.Diag {
	if len(ds) >= maxDiags {
		return ds
	}
	return append(ds, d)
}

// expand handles a macro use `NAME at src[s:e].
func (p *pp) expand(lx *lexer, s, e int, fi int32, use *span0, depth int, main bool) {
	src := lx.src
	name := src[s+1 : e]
	if name[0] == '\\' {
		name = name[1:]
	}
	if main {
		p.emitTok(MacroUse, s, e)
	}
	site := span0{int32(s), int32(e)}
	if use != nil {
		site = *use
	} else {
		p.f.MacroUses = append(p.f.MacroUses, design.Ref{Kind: design.RefMacro, Name: name, Span: design.Span{File: p.files[fi], Start: s, End: e}})
	}
	switch name {
	case "__FILE__", "__LINE__":
		t := ptok{kind: String, file: fi, ss: site.ss, se: site.se, macro: use != nil}
		if name == "__FILE__" {
			t.text = strconv.Quote(p.files[fi])
		} else {
			t.kind = Number
			fs := p.fsrc[fi]
			if int(site.ss) <= len(fs) {
				fs = fs[:site.ss]
			}
			t.text = strconv.Itoa(1 + strings.Count(fs, "\n"))
		}
		p.toks = append(p.toks, t)
		return
	}
	d := p.lookup(name)
	if d == nil {
		p.diag(fi, int(site.ss), int(site.se), design.Error, "undefined-macro", "macro `"+name+" is not defined")
		if e < len(src) && src[e] == '(' {
			lx.pos = e + 1
			p.readArgs(lx, fi, main)
		}
		return
	}
	var args []string
	if d.fn {
		save := lx.pos
		k, a, b := lx.next()
		for k == Comment {
			k, a, b = lx.next()
		}
		if k == Op && src[a:b] == "(" {
			if main {
				p.emitTok(Op, a, b)
			}
			var end int
			args, end = p.readArgs(lx, fi, main)
			if use == nil {
				site.se = int32(end)
			}
		} else {
			lx.pos = save
			if use == nil {
				p.diag(fi, s, e, design.Error, "macro-args", "macro `"+name+" needs arguments")
			}
		}
		n := len(args)
		if n == 1 && args[0] == "" && len(d.params) == 0 {
			n = 0
		}
		if n > len(d.params) && use == nil {
			p.diag(fi, s, e, design.Error, "macro-args", "macro `"+name+" takes "+strconv.Itoa(len(d.params))+" arguments, not "+strconv.Itoa(n))
		}
	}
	if depth >= maxMacroDepth {
		p.diag(fi, int(site.ss), int(site.se), design.Error, "macro-recursion", "macro `"+name+" expands recursively (more than "+strconv.Itoa(maxMacroDepth)+" levels)")
		return
	}
	p.nexp++
	if p.nexp > maxExpansions || p.nbytes > maxExpandBytes {
		if !p.budget {
			p.budget = true
			p.diag(fi, int(site.ss), int(site.se), design.Error, "macro-recursion", "too many macro expansions; the rest are not expanded")
		}
		return
	}
	text := d.body
	if d.fn && len(d.params) > 0 || strings.Contains(text, "`") {
		text = p.substitute(d, args)
	}
	if text == "" {
		return
	}
	p.nbytes += len(text)
	p.run(text, fi, &site, depth+1)
}

// readArgs reads macro arguments after the '('; it returns them trimmed and
// the end of the closing ')'.
func (p *pp) readArgs(lx *lexer, fi int32, main bool) ([]string, int) {
	src := lx.src
	lvl := 0
	start := lx.pos
	var args []string
	for {
		k, s, e := lx.next()
		if k == EOF {
			p.diag(fi, start, start, design.Error, "syntax", "unterminated macro arguments: expected ')'")
			args = append(args, strings.TrimSpace(src[start:]))
			return args, len(src)
		}
		if main {
			p.emitTok(k, s, e)
		}
		if k != Op {
			continue
		}
		switch src[s:e] {
		case "(", "[", "{", "'{", "(*":
			lvl++
		case ")", "]", "}":
			if lvl == 0 {
				if src[s] == ')' {
					args = append(args, strings.TrimSpace(src[start:s]))
					return args, e
				}
				continue
			}
			lvl--
		case ",":
			if lvl == 0 {
				args = append(args, strings.TrimSpace(src[start:s]))
				start = e
			}
		}
	}
}

// substitute returns d's body with the arguments in place of the parameters
// and “ `" `\`" processed.
func (p *pp) substitute(d *macroDef, args []string) string {
	body := d.body
	var b strings.Builder
	b.Grow(len(body) + 32)
	lx := lexer{src: body, sv: p.sv}
	last := 0
	for {
		k, s, e := lx.next()
		if k == EOF {
			break
		}
		switch k {
		case Ident:
			for i, prm := range d.params {
				if prm == body[s:e] {
					b.WriteString(body[last:s])
					switch {
					case i < len(args) && args[i] != "":
						b.WriteString(args[i])
					case d.hasDef[i]:
						b.WriteString(d.defs[i])
					}
					last = e
					break
				}
			}
		case Op:
			switch body[s:e] {
			case "``":
				b.WriteString(body[last:s])
				last = e
			case "`\"":
				b.WriteString(body[last:s])
				b.WriteByte('"')
				last = e
			case "`\\`\"":
				b.WriteString(body[last:s])
				b.WriteString("\\\"")
				last = e
			}
		}
	}
	b.WriteString(body[last:])
	return b.String()
}

// docAbove returns the comment block that ends on the line just above pos
// (or "" if none), markers stripped.
func docAbove(src string, cms []cmt, pos int) string {
	// pos must start its line
	ls := pos
	for ls > 0 && (src[ls-1] == ' ' || src[ls-1] == '\t') {
		ls--
	}
	if ls > 0 && src[ls-1] != '\n' {
		return ""
	}
	// last comment ending before pos
	lo, hi := 0, len(cms)
	for lo < hi {
		m := (lo + hi) / 2
		if int(cms[m].e) <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	k0 := lo - 1
	first := -1
	at := pos
	for k := k0; k >= 0; k-- {
		c := cms[k]
		if !onlySpaceOneNL(src, int(c.e), at) || !startsLine(src, int(c.s)) {
			break
		}
		// only runs of line comments merge
		if first >= 0 && (src[c.s+1] == '*' || src[cms[first].s+1] == '*') {
			break
		}
		first = k
		at = int(c.s)
	}
	if first < 0 {
		return ""
	}
	last := k0
	return stripComments(src, cms[first:last+1])
}

// docAfter returns the comment that follows end on the same line (after
// only spaces and ',' or ';'), markers stripped.
func docAfter(src string, cms []cmt, end int) string {
	lo, hi := 0, len(cms)
	for lo < hi {
		m := (lo + hi) / 2
		if int(cms[m].s) < end {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo >= len(cms) {
		return ""
	}
	c := cms[lo]
	for q := end; q < int(c.s); q++ {
		switch src[q] {
		case ' ', '\t', ',', ';':
		default:
			return ""
		}
	}
	return stripComments(src, cms[lo:lo+1])
}

func onlySpaceOneNL(src string, a, b int) bool {
	nl := 0
	for q := a; q < b; q++ {
		switch src[q] {
		case '\n':
			nl++
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return nl <= 1
}

func startsLine(src string, s int) bool {
	for q := s - 1; q >= 0; q-- {
		switch src[q] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

func stripComments(src string, cms []cmt) string {
	var b strings.Builder
	for _, c := range cms {
		t := src[c.s:c.e]
		if strings.HasPrefix(t, "//") {
			t = strings.TrimLeft(t[2:], "/!")
			t = strings.TrimPrefix(t, " ")
			t = strings.TrimRight(t, " \t\r")
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(t)
			continue
		}
		t = strings.TrimPrefix(t, "/*")
		t = strings.TrimSuffix(t, "*/")
		t = strings.TrimLeft(t, "*!")
		for _, line := range strings.Split(t, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "*") && !strings.HasPrefix(line, "*/") {
				line = strings.TrimPrefix(strings.TrimPrefix(line, "*"), " ")
			}
			if line == "" && b.Len() == 0 {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(line)
		}
	}
	return strings.TrimRight(b.String(), "\n ")
}
