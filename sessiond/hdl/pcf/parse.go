// Package pcf reads FPGA pin constraint files and answers editor questions
// about them.
//
// It parses the iCE40 .pcf syntax that nextpnr-ice40 reads (set_io,
// set_frequency), and, where cheap, Lattice Diamond/Trellis .lpf (LOCATE,
// IOBUF, FREQUENCY) and Gowin .cst (IO_LOC, IO_PORT) files into a File: every
// statement with the byte spans of its words, plus syntax errors. It knows the
// pins of every iCE40 package from the chip database that icestorm ships
// (chipdb-*.txt, see DB), finds the device and package of a workspace from
// its Makefile (DetectTarget), and offers Complete, Hover and Diagnose over a
// parsed file, the top module's ports and the target. ECP5 and Gowin files are
// parsed and checked against the ports only: no database for them is
// installed.
//
// Positions are byte offsets into the source; spans are design.Span with the
// workspace-relative path the file was parsed under.
package pcf

import (
	"path"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Syntax is the constraint file dialect.
type Syntax uint8

const (
	// SyntaxPCF is iCE40's .pcf as nextpnr-ice40 reads it: one command a
	// line, words separated by blanks, '#' comments.
	SyntaxPCF Syntax = iota
	// SyntaxLPF is Lattice's .lpf (ECP5): statements end in ';', names
	// quoted, '#' and '//' comments.
	SyntaxLPF
	// SyntaxCST is Gowin's .cst: statements end in ';', '//' comments.
	SyntaxCST
)

func (s Syntax) String() string {
	switch s {
	case SyntaxLPF:
		return "lpf"
	case SyntaxCST:
		return "cst"
	}
	return "pcf"
}

// SyntaxFor returns the dialect of a file by its extension (.pcf, .lpf,
// .cst, any case); ok is false for any other file.
func SyntaxFor(name string) (s Syntax, ok bool) {
	switch strings.ToLower(path.Ext(name)) {
	case ".pcf":
		return SyntaxPCF, true
	case ".lpf":
		return SyntaxLPF, true
	case ".cst":
		return SyntaxCST, true
	}
	return SyntaxPCF, false
}

// Kind is what a statement does.
type Kind uint8

const (
	KindOther        Kind = iota // a statement this package does not interpret (LPF/CST)
	KindSetIO                    // pcf: set_io [options] PORT PIN
	KindSetFrequency             // pcf: set_frequency NET MHZ
	KindLocate                   // lpf: LOCATE COMP "port" SITE "pin";
	KindIOBuf                    // lpf: IOBUF PORT "port" KEY=VALUE ...;
	KindFrequency                // lpf: FREQUENCY PORT|NET "name" N MHZ;
	KindIOLoc                    // cst: IO_LOC "port" pin;
	KindIOPort                   // cst: IO_PORT "port" KEY=VALUE ...;
)

func (k Kind) String() string {
	return [...]string{"other", "set_io", "set_frequency", "LOCATE", "IOBUF", "FREQUENCY", "IO_LOC", "IO_PORT"}[k]
}

// AssignsPin reports whether statements of this kind tie a port to a pin.
func (k Kind) AssignsPin() bool { return k == KindSetIO || k == KindLocate || k == KindIOLoc }

// Word is one word of a statement as written. For a quoted string Text is
// the content and Span covers the content without the quotes. A missing
// word has Text "" and an invalid (zero) Span.
type Word struct {
	Text string
	Span design.Span
}

// Valid reports whether the word is present.
func (w Word) Valid() bool { return w.Span.File != "" || w.Span.End > w.Span.Start }

// Option is a flag with its value: "-pullup" "yes", "-nowarn" "" (pcf), or
// "IO_TYPE" "LVCMOS33" (lpf/cst KEY=VALUE).
type Option struct {
	Name, Value Word
}

// Stmt is one statement.
type Stmt struct {
	Kind Kind
	// Span covers the statement from its command to its last word (to the
	// ';' included, in lpf/cst).
	Span    design.Span
	Command Word
	// Port is the port, net or component name ("led[0]"), Pin the package
	// pin or site ("99", "B5"); either may be missing (Word.Valid).
	Port, Pin Word
	// Value is the frequency of set_frequency/FREQUENCY, Unit its unit
	// (lpf: "MHZ"; pcf frequencies are always MHz and Unit is missing).
	Value, Unit Word
	Options     []Option
	// Words are all words after the command as written (strings unquoted),
	// '=' and ';' left out.
	Words []Word
}

// File is a parsed constraint file.
type File struct {
	Path   string
	Syntax Syntax
	Src    []byte // the source as parsed (not copied)
	Stmts  []Stmt
	// Diags are the syntax errors, code "syntax", severity error.
	Diags []design.Diag

	newlines []int // offsets of '\n', for Line
}

// Parse parses src, the content of the workspace-relative file name, in the
// dialect its extension names (.pcf when it names none).
func Parse(name string, src []byte) *File {
	s, _ := SyntaxFor(name)
	return ParseSyntax(name, src, s)
}

// ParseSyntax parses src in the dialect s. It never fails: what it cannot
// read becomes a syntax Diag and parsing goes on with the next line or
// statement. name should not be empty (a Word with an empty Span.File and
// no width counts as missing). The File is read-only afterwards and safe
// to share between goroutines.
func ParseSyntax(name string, src []byte, s Syntax) *File {
	f := &File{Path: name, Syntax: s, Src: src}
	for i, c := range src {
		if c == '\n' {
			f.newlines = append(f.newlines, i)
		}
	}
	if s == SyntaxPCF {
		parsePCF(f)
	} else {
		parseSemi(f)
	}
	sort.SliceStable(f.Diags, func(i, j int) bool { return f.Diags[i].Span.Start < f.Diags[j].Span.Start })
	return f
}

func (f *File) span(start, end int) design.Span {
	return design.Span{File: f.Path, Start: start, End: end}
}

func (f *File) word(start, end int) Word {
	return Word{Text: string(f.Src[start:end]), Span: f.span(start, end)}
}

func (f *File) errorf(start, end int, msg string) {
	f.Diags = append(f.Diags, design.Diag{Span: f.span(start, end), Severity: design.Error, Message: msg, Code: CodeSyntax})
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// pcfWords appends the words of src[start:end] (a line without its comment).
func pcfWords(src []byte, start, end int, dst [][2]int) [][2]int {
	i := start
	for i < end {
		for i < end && isBlank(src[i]) {
			i++
		}
		if i >= end {
			break
		}
		j := i
		for j < end && !isBlank(src[j]) {
			j++
		}
		dst = append(dst, [2]int{i, j})
		i = j
	}
	return dst
}

// pcfLineEnd returns the end of the line starting at i and the end of its
// content before any '#' comment.
func pcfLineEnd(src []byte, i int) (content, line int) {
	content = -1
	for line = i; line < len(src) && src[line] != '\n'; line++ {
		if src[line] == '#' && content < 0 {
			content = line
		}
	}
	if content < 0 {
		content = line
	}
	return content, line
}

// pcfOptionTakesValue tells nextpnr-ice40's set_io options apart: those
// followed by a value, and -nowarn.
func pcfOptionTakesValue(name string) (known, takesValue bool) {
	switch name {
	case "-nowarn":
		return true, false
	case "-pullup", "-pullup_resistor":
		return true, true
	}
	return false, false
}

var (
	pullupValues   = []string{"yes", "no"}
	resistorValues = []string{"3P3K", "6P8K", "10K", "100K"}
)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func parsePCF(f *File) {
	src := f.Src
	var toks [][2]int
	for i := 0; i <= len(src); {
		cend, lend := pcfLineEnd(src, i)
		toks = pcfWords(src, i, cend, toks[:0])
		i = lend + 1
		if len(toks) == 0 {
			continue
		}
		last := toks[len(toks)-1]
		st := Stmt{Span: f.span(toks[0][0], last[1]), Command: f.word(toks[0][0], toks[0][1])}
		for _, t := range toks[1:] {
			st.Words = append(st.Words, f.word(t[0], t[1]))
		}
		switch st.Command.Text {
		case "set_io":
			st.Kind = KindSetIO
			var pos []Word
			for k := 0; k < len(st.Words); k++ {
				w := st.Words[k]
				if !strings.HasPrefix(w.Text, "-") {
					pos = append(pos, w)
					continue
				}
				known, takes := pcfOptionTakesValue(w.Text)
				if !known {
					f.errorf(w.Span.Start, w.Span.End, "set_io: unknown option "+w.Text+" (nextpnr-ice40 knows -nowarn, -pullup yes|no, -pullup_resistor 3P3K|6P8K|10K|100K)")
					continue
				}
				o := Option{Name: w}
				if takes {
					if k+1 >= len(st.Words) {
						f.errorf(w.Span.Start, w.Span.End, "set_io: "+w.Text+" needs a value")
					} else {
						k++
						o.Value = st.Words[k]
						vals := pullupValues
						if w.Text == "-pullup_resistor" {
							vals = resistorValues
						}
						if !contains(vals, o.Value.Text) {
							f.errorf(o.Value.Span.Start, o.Value.Span.End, "set_io: "+w.Text+" must be one of "+strings.Join(vals, ", "))
						}
					}
				}
				st.Options = append(st.Options, o)
			}
			if len(pos) > 0 {
				st.Port = pos[0]
			}
			if len(pos) > 1 {
				st.Pin = pos[1]
			}
			switch {
			case len(pos) < 2:
				f.errorf(st.Span.Start, st.Span.End, "set_io: expected a port and a pin (set_io [options] PORT PIN)")
			case len(pos) > 2:
				f.errorf(pos[2].Span.Start, pos[len(pos)-1].Span.End, "set_io: unexpected words after the pin")
			}
		case "set_frequency":
			st.Kind = KindSetFrequency
			if len(st.Words) > 0 {
				st.Port = st.Words[0]
			}
			if len(st.Words) > 1 {
				st.Value = st.Words[1]
				if !isNumber(st.Value.Text) {
					f.errorf(st.Value.Span.Start, st.Value.Span.End, "set_frequency: "+st.Value.Text+" is not a frequency in MHz")
				}
			}
			switch {
			case len(st.Words) < 2:
				f.errorf(st.Span.Start, st.Span.End, "set_frequency: expected a net and a frequency in MHz (set_frequency NET MHZ)")
			case len(st.Words) > 2:
				f.errorf(st.Words[2].Span.Start, last[1], "set_frequency: unexpected words after the frequency")
			}
		default:
			f.errorf(st.Command.Span.Start, st.Command.Span.End, "unknown command "+st.Command.Text+" (nextpnr-ice40 reads set_io and set_frequency)")
		}
		f.Stmts = append(f.Stmts, st)
	}
}

func isNumber(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// Tokens of the ';'-terminated dialects.
type tokKind uint8

const (
	tokWord tokKind = iota
	tokString
	tokEq
	tokSemi
)

type tok struct {
	kind       tokKind
	start, end int // content (strings without quotes)
	lineStart  bool
	open       bool // a string whose closing quote is missing
}

func isWordByte(c byte) bool {
	return !isBlank(c) && c != '\n' && c != '"' && c != ';' && c != '='
}

// lexSemi lexes src[start:end]; comments are '#' and '//' to the end of
// the line. A string without its closing quote ends at the line end, marked
// open.
func lexSemi(src []byte, start, end int, dst []tok) []tok {
	lineStart := true
	for i := start; i < end; {
		c := src[i]
		switch {
		case c == '\n':
			lineStart = true
			i++
			continue
		case isBlank(c):
			i++
			continue
		case c == '#' || (c == '/' && i+1 < end && src[i+1] == '/'):
			for i < end && src[i] != '\n' {
				i++
			}
			continue
		case c == ';':
			dst = append(dst, tok{kind: tokSemi, start: i, end: i + 1, lineStart: lineStart})
			i++
		case c == '=':
			dst = append(dst, tok{kind: tokEq, start: i, end: i + 1, lineStart: lineStart})
			i++
		case c == '"':
			j := i + 1
			for j < end && src[j] != '"' && src[j] != '\n' {
				j++
			}
			t := tok{kind: tokString, start: i + 1, end: j, lineStart: lineStart}
			if j < end && src[j] == '"' {
				i = j + 1
			} else {
				t.open = true
				i = j
			}
			dst = append(dst, t)
		default:
			j := i
			for j < end && isWordByte(src[j]) && !(src[j] == '/' && j+1 < end && src[j+1] == '/') {
				j++
			}
			dst = append(dst, tok{kind: tokWord, start: i, end: j, lineStart: lineStart})
			i = j
		}
		lineStart = false
	}
	return dst
}

// semiCommands are the commands that start a statement; one at the start of
// a line ends an unterminated statement before it.
var semiCommands = map[string]bool{
	"LOCATE": true, "IOBUF": true, "FREQUENCY": true, "BLOCK": true, "SYSCONFIG": true,
	"IO_LOC": true, "IO_PORT": true, "CLOCK_LOC": true, "INS_LOC": true, "USE_SPAN": true,
	"MAXDELAY": true, "MULTICYCLE": true, "PERIOD": true, "INPUT_SETUP": true, "CLOCK_TO_OUT": true,
	"BANK": true, "LOCATE_PIN": true, "PROHIBIT": true, "COMMERCIAL": true, "INDUSTRIAL": true,
}

func parseSemi(f *File) {
	toks := lexSemi(f.Src, 0, len(f.Src), nil)
	for _, t := range toks {
		if t.kind == tokString && t.open {
			f.errorf(t.start-1, t.end, "string without its closing quote")
		}
	}
	for i := 0; i < len(toks); {
		if toks[i].kind == tokSemi {
			i++ // an empty statement
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].kind != tokSemi {
			if toks[j].lineStart && toks[j].kind == tokWord && semiCommands[strings.ToUpper(string(f.Src[toks[j].start:toks[j].end]))] {
				break
			}
			j++
		}
		end := toks[j-1].end
		if toks[j-1].kind == tokString && !toks[j-1].open {
			end++
		}
		terminated := j < len(toks) && toks[j].kind == tokSemi
		if terminated {
			end = toks[j].end
		} else {
			f.errorf(toks[j-1].start, toks[j-1].end, "missing ';' after this statement")
		}
		f.semiStmt(toks[i:j], toks[i].start, end)
		if terminated {
			j++
		}
		i = j
	}
}

func (f *File) tokWord(t tok) Word { return f.word(t.start, t.end) }

func (f *File) semiStmt(toks []tok, start, end int) {
	st := Stmt{Span: f.span(start, end), Command: f.tokWord(toks[0])}
	if toks[0].kind == tokString {
		st.Command.Span.Start--
	}
	rest := toks[1:]
	// words, with KEY=VALUE pairs folded into options
	var words []Word
	for k := 0; k < len(rest); k++ {
		t := rest[k]
		if t.kind == tokEq {
			if k == 0 || k+1 >= len(rest) || rest[k+1].kind == tokEq {
				f.errorf(t.start, t.end, "'=' needs a KEY=VALUE pair")
				continue
			}
			continue
		}
		w := f.tokWord(t)
		st.Words = append(st.Words, w)
		if k+1 < len(rest) && rest[k+1].kind == tokEq && k+2 < len(rest) && rest[k+2].kind != tokEq {
			st.Options = append(st.Options, Option{Name: w, Value: f.tokWord(rest[k+2])})
			st.Words = append(st.Words, f.tokWord(rest[k+2]))
			k += 2
			continue
		}
		words = append(words, w)
	}
	cmd := strings.ToUpper(st.Command.Text)
	upper := func(i int) string {
		if i < len(words) {
			return strings.ToUpper(words[i].Text)
		}
		return ""
	}
	bad := func(form string) { f.errorf(st.Span.Start, st.Span.End, "expected "+form) }
	if f.Syntax == SyntaxLPF {
		switch cmd {
		case "LOCATE":
			if upper(0) != "COMP" {
				if upper(0) == "" || !strings.HasPrefix(upper(0), "PGROUP") && upper(0) != "UGROUP" && upper(0) != "VREF" {
					bad(`LOCATE COMP "port" SITE "pin";`)
				}
				break
			}
			st.Kind = KindLocate
			if len(words) > 1 {
				st.Port = words[1]
			}
			if upper(2) == "SITE" && len(words) > 3 {
				st.Pin = words[3]
			}
			if len(words) != 4 || upper(2) != "SITE" {
				bad(`LOCATE COMP "port" SITE "pin";`)
			}
		case "IOBUF":
			if upper(0) == "PORT" {
				st.Kind = KindIOBuf
				if len(words) > 1 {
					st.Port = words[1]
				}
				if len(words) != 2 {
					bad(`IOBUF PORT "port" KEY=VALUE ...;`)
				}
			} else if upper(0) != "ALLPORTS" && upper(0) != "GROUP" {
				bad(`IOBUF PORT "port" KEY=VALUE ...;`)
			}
		case "FREQUENCY":
			if upper(0) == "PORT" || upper(0) == "NET" {
				st.Kind = KindFrequency
				if len(words) > 1 {
					st.Port = words[1]
				}
				if len(words) > 2 {
					st.Value = words[2]
				}
				if len(words) > 3 {
					st.Unit = words[3]
				}
				if len(words) != 4 || !isNumber(st.Value.Text) || !isFreqUnit(upper(3)) {
					bad(`FREQUENCY PORT "name" 25 MHZ;`)
				}
			}
		}
	} else {
		switch cmd {
		case "IO_LOC":
			st.Kind = KindIOLoc
			if len(words) > 0 {
				st.Port = words[0]
			}
			if len(words) > 1 {
				st.Pin = words[1]
			}
			if len(words) < 2 || len(words) > 3 {
				bad(`IO_LOC "port" pin;`)
			}
		case "IO_PORT":
			st.Kind = KindIOPort
			if len(words) > 0 {
				st.Port = words[0]
			}
			if len(words) != 1 {
				bad(`IO_PORT "port" KEY=VALUE ...;`)
			}
		}
	}
	f.Stmts = append(f.Stmts, st)
}

func isFreqUnit(u string) bool { return u == "MHZ" || u == "KHZ" || u == "HZ" }

// SplitBit splits a constrained name into the port and the bus bit:
// "led[3]" is ("led", 3, true); "clk" is ("clk", -1, false), as is any name
// whose brackets do not hold a plain decimal index.
func SplitBit(name string) (port string, bit int, ok bool) {
	n := len(name)
	if n < 4 || name[n-1] != ']' {
		return name, -1, false
	}
	open := strings.LastIndexByte(name, '[')
	if open <= 0 || open+1 >= n-1 {
		return name, -1, false
	}
	v := 0
	for i := open + 1; i < n-1; i++ {
		c := name[i]
		if c < '0' || c > '9' || v > 1<<24 {
			return name, -1, false
		}
		v = v*10 + int(c-'0')
	}
	return name[:open], v, true
}
