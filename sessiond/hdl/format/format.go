// Package format formats Verilog/SystemVerilog and VHDL source for the HDL
// language server's document and range formatting: it re-indents every line
// from the code's block structure, aligns port lists, declaration runs and
// named connections in columns and removes trailing whitespace, and it never
// adds, removes or reorders anything but whitespace inside a line. Verible
// runs verible-verilog-format instead when it is installed.
//
// The formatter works on the lexers' tokens, not on a parse tree, so it copes
// with half-typed input: unbalanced blocks or parentheses only make the
// indentation of what follows less pretty. Line breaks are never changed,
// and as the indentation of a line is computed from the tokens alone,
// formatting its own output again yields no edits.
package format

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Style is the stated style. The zero value means: indent 2 spaces (or one
// tab a level when UseTabs), align port lists, parameter lists, consecutive
// declarations and named port connections in columns; spacing inside a
// line is left alone except for alignment and trailing whitespace.
type Style struct {
	IndentWidth int  // spaces a level; 0 (or less) means 2
	UseTabs     bool // indent with one tab a level
	NoAlign     bool // turn column alignment off
	// Defines are the macro names taken as defined when deciding which
	// Verilog `ifdef branches are active (the file's own `define and
	// `undef apply on top). Inactive branches are left as they are.
	Defines []string
}

func (st Style) width() int {
	if st.IndentWidth <= 0 {
		return 2
	}
	return st.IndentWidth
}

func (st Style) indent(level int) string {
	if level <= 0 {
		return ""
	}
	if st.UseTabs {
		return strings.Repeat("\t", level)
	}
	return strings.Repeat(" ", level*st.width())
}

// Edit replaces bytes [Start,End) of the input with Text.
type Edit struct {
	Start, End int
	Text       string
}

// Apply returns src with edits applied; the edits must be sorted and must
// not overlap (as the formatters return them).
func Apply(src []byte, edits []Edit) ([]byte, error) {
	out := make([]byte, 0, len(src))
	prev := 0
	for _, e := range edits {
		if e.Start < prev || e.End < e.Start || e.End > len(src) {
			return nil, fmt.Errorf("apply edit [%d,%d): out of order or out of range", e.Start, e.End)
		}
		out = append(out, src[prev:e.Start]...)
		out = append(out, e.Text...)
		prev = e.End
	}
	return append(out, src[prev:]...), nil
}

// Alignment kinds (line.akind).
const (
	alignNone uint8 = iota
	alignPort       // Verilog ANSI port/parameter declaration: dir, type, range, name
	alignDecl       // Verilog body declaration, or VHDL signal/constant/variable
	alignConn       // Verilog .name (expr)
	alignList       // VHDL port/generic list entry: names : mode type
	alignMap        // VHDL formal => actual
)

const maxCells = 3

// line is one source line and what formatting decided for it.
type line struct {
	start, end int // content [start,end): the line ending is excluded
	// textStart is where the first token starting on the line begins and
	// textEnd where the line's text ends once trailing whitespace is gone;
	// it never lies inside a token.
	textStart, textEnd int
	firstTok           int // index of the first token starting on the line, -1 if none
	level              int
	tokens             bool // a token starts on the line
	code               bool // a token other than a comment starts on the line
	inside             bool // the line begins inside a multi-line token
	verbatim           bool // leave the line exactly as it is
	keep               bool // keep the leading whitespace (a directive at column 0)
	keepTail           bool // keep the trailing whitespace (a `define line)
	directive          bool // the line starts with a preprocessor directive

	akind   uint8 // alignment kind, alignNone for none
	asort   uint8 // sub-kind; only lines of the same sort align together
	aframe  int   // the bracket or block the line belongs to
	cells   [maxCells][2]int
	rest    int // where the text after the aligned cells starts
	body    string
	hasBody bool
}

// doc holds the lines of one source text.
type doc struct {
	src   []byte
	lines []line
	cur   int // line of the last lineOf answer
}

func newDoc(src []byte) *doc {
	n := 1
	for _, c := range src {
		if c == '\n' {
			n++
		}
	}
	d := &doc{src: src, lines: make([]line, 0, n)}
	s := 0
	for i := 0; i <= len(src); i++ {
		if i == len(src) || src[i] == '\n' {
			e := i
			if e > s && src[e-1] == '\r' && i < len(src) {
				e--
			}
			d.lines = append(d.lines, line{start: s, end: e, textStart: e, textEnd: s, firstTok: -1})
			s = i + 1
		}
	}
	return d
}

// lineOf returns the line holding byte off; it is fastest when called with
// increasing offsets.
func (d *doc) lineOf(off int) int {
	i := d.cur
	if i >= len(d.lines) || d.lines[i].start > off {
		i = sort.Search(len(d.lines), func(k int) bool { return d.lines[k].start > off }) - 1
		if i < 0 {
			i = 0
		}
	}
	for i+1 < len(d.lines) && d.lines[i+1].start <= off {
		i++
	}
	d.cur = i
	return i
}

// addToken records token idx spanning [s,e) and returns its line.
func (d *doc) addToken(idx, s, e int, comment bool) int {
	ln := d.lineOf(s)
	l := &d.lines[ln]
	if !l.tokens {
		l.tokens = true
		l.textStart = s
		l.firstTok = idx
	}
	if !comment {
		l.code = true
	} else if e <= l.end {
		// a line comment's trailing whitespace goes like any other
		for e > s+1 && (d.src[e-1] == ' ' || d.src[e-1] == '\t') {
			e--
		}
	}
	if e > l.end {
		l.textEnd = l.end
		last := d.lineOf(e - 1)
		for k := ln + 1; k <= last; k++ {
			d.lines[k].inside = true
			d.lines[k].verbatim = true
		}
		d.cur = ln
	} else if e > l.textEnd {
		l.textEnd = e
	}
	return ln
}

// align computes the aligned text of every group of consecutive lines of
// the same alignment kind, sort and frame; comment-only, directive and
// inactive lines between them do not break a group, blank and other lines
// do.
func (d *doc) align() {
	ls := d.lines
	for i := 0; i < len(ls); {
		l := &ls[i]
		if l.akind == alignNone || l.verbatim || l.directive {
			i++
			continue
		}
		group := []int{i}
		for j := i + 1; j < len(ls); j++ {
			m := &ls[j]
			if m.verbatim || m.directive {
				continue // left as is, or an `ifdef between declarations
			}
			if m.akind == l.akind && m.asort == l.asort && m.aframe == l.aframe {
				group = append(group, j)
				continue
			}
			if m.akind == alignNone && m.tokens && !m.code {
				continue
			}
			break
		}
		var width [maxCells]int
		for _, g := range group {
			for c := 0; c < maxCells; c++ {
				cl := ls[g].cells[c]
				if w := utf8.RuneCount(d.src[cl[0]:cl[1]]); w > width[c] {
					width[c] = w
				}
			}
		}
		for _, g := range group {
			m := &ls[g]
			var b strings.Builder
			for c := 0; c < maxCells; c++ {
				if width[c] == 0 {
					continue
				}
				cell := d.src[m.cells[c][0]:m.cells[c][1]]
				b.Write(cell)
				for k := utf8.RuneCount(cell); k <= width[c]; k++ {
					b.WriteByte(' ')
				}
			}
			if m.rest < m.textEnd {
				b.Write(d.src[m.rest:m.textEnd])
				m.body = b.String()
			} else {
				m.body = strings.TrimRight(b.String(), " ")
			}
			m.hasBody = true
		}
		i = group[len(group)-1] + 1
	}
}

// edits renders every line overlapping [lo,hi) and returns the edits that
// turn the source into the rendering, one per changed line, each as small
// as the common prefix and suffix allow.
func (d *doc) edits(lo, hi int, st Style) []Edit {
	var out []Edit
	if !st.NoAlign {
		d.align()
	}
	for i := range d.lines {
		l := &d.lines[i]
		next := len(d.src) + 1
		if i+1 < len(d.lines) {
			next = d.lines[i+1].start
		}
		if lo == hi {
			if !(l.start <= lo && lo < next) {
				continue
			}
		} else if !(l.start < hi && lo < next) {
			continue
		}
		if l.verbatim {
			continue
		}
		old := string(d.src[l.start:l.end])
		var nw string
		switch {
		case !l.tokens:
			nw = ""
		default:
			ind := st.indent(l.level)
			if l.keep {
				ind = string(d.src[l.start:l.textStart])
			}
			end := l.textEnd
			if l.keepTail {
				end = l.end
			}
			body := string(d.src[l.textStart:end])
			if l.hasBody {
				body = l.body
			}
			nw = ind + body
		}
		if nw == old {
			continue
		}
		p := 0
		for p < len(old) && p < len(nw) && old[p] == nw[p] {
			p++
		}
		s := 0
		for s < len(old)-p && s < len(nw)-p && old[len(old)-1-s] == nw[len(nw)-1-s] {
			s++
		}
		out = append(out, Edit{Start: l.start + p, End: l.end - s, Text: nw[p : len(nw)-s]})
	}
	return out
}

func checkRange(src []byte, lo, hi int) error {
	if lo < 0 || hi > len(src) || lo > hi {
		return fmt.Errorf("format range [%d,%d) of a %d-byte document: out of range", lo, hi, len(src))
	}
	return nil
}

// sameTokens reports the first offset where two token streams differ in
// kind or text, or -1 when they agree.
func sameTokens(a, b []byte, ak, bk []tokText, comment uint8) int {
	n := len(ak)
	if len(bk) < n {
		n = len(bk)
	}
	for i := 0; i < n; i++ {
		x, y := ak[i], bk[i]
		if x.kind != y.kind {
			return x.s
		}
		xs, ys := string(a[x.s:x.e]), string(b[y.s:y.e])
		if x.kind == comment {
			xs, ys = strings.TrimRight(xs, " \t"), strings.TrimRight(ys, " \t")
		}
		if xs != ys {
			return x.s
		}
	}
	if len(ak) != len(bk) {
		if n < len(ak) {
			return ak[n].s
		}
		return len(a)
	}
	return -1
}

type tokText struct {
	kind uint8
	s, e int
}

// tokTexts converts a lexer's tokens for verify.
func tokTexts[T any](ts []T, conv func(T) tokText) []tokText {
	out := make([]tokText, len(ts))
	for i, t := range ts {
		out[i] = conv(t)
	}
	return out
}

// verify re-lexes the edited text and fails when a token changed, which
// would mean the edits touched more than whitespace between tokens (or
// at the end of a comment of kind comment) (it
// guards against corner cases of the lexers, such as a VHDL tick and a
// character literal, that whitespace decides).
func verify(src []byte, edits []Edit, lex func([]byte) []tokText, comment uint8) error {
	if len(edits) == 0 {
		return nil
	}
	out, err := Apply(src, edits)
	if err != nil {
		return err
	}
	if off := sameTokens(src, out, lex(src), lex(out), comment); off >= 0 {
		return fmt.Errorf("format: re-indenting would change the tokens at offset %d; no edits made", off)
	}
	return nil
}
