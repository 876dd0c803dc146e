// Package verilog is the Verilog-2005 / SystemVerilog-2017 front end of the
// HDL language server: a byte-level lexer, a preprocessor (`define, `ifdef,
// `include, macro expansion) and an error-tolerant recursive-descent parser
// that turn one source file into a *design.File.
//
// The parser never panics and never loops: every construct it does not
// understand becomes a Diag and parsing resumes at the next ';', 'end*'
// keyword or unit-level keyword.
package verilog

// TokKind classifies a lexical token.
type TokKind uint8

// Token kinds returned by Lex.
const (
	EOF        TokKind = iota
	Ident              // simple or escaped identifier
	Keyword            // reserved word of the selected language
	Number             // integer, based, real, time or unbased-unsized literal
	String             // "..." including the quotes
	Op                 // operator or punctuation
	Comment            // // or /* */ comment
	Directive          // `define, `ifdef, `include, ... (compiler directive)
	MacroUse           // `NAME that is not a directive
	SystemName         // $display, $clog2, ...
	Invalid            // a byte that starts no token
)

var kindNames = [...]string{"EOF", "Ident", "Keyword", "Number", "String", "Op", "Comment", "Directive", "MacroUse", "SystemName", "Invalid"}

func (k TokKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Token is one lexical token: src[Start:End] is its text.
type Token struct {
	Kind       TokKind
	Start, End int
}

// Lex splits src into tokens without preprocessing: comments, directives and
// macro uses are tokens of their own. The last token is EOF at len(src).
func Lex(src []byte, sv bool) []Token {
	lx := lexer{src: string(src), sv: sv}
	toks := make([]Token, 0, len(src)/4+1)
	for {
		k, s, e := lx.next()
		toks = append(toks, Token{Kind: k, Start: s, End: e})
		if k == EOF {
			return toks
		}
	}
}

// lexer is the byte-level scanner shared by Lex and the preprocessor.
type lexer struct {
	src string
	pos int
	sv  bool
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isBasedDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' ||
		c == 'x' || c == 'X' || c == 'z' || c == 'Z' || c == '?' || c == '_'
}

func isBaseChar(c byte) bool {
	switch c {
	case 'b', 'B', 'o', 'O', 'd', 'D', 'h', 'H':
		return true
	}
	return false
}

// next returns the next token, skipping whitespace.
func (lx *lexer) next() (TokKind, int, int) {
	src := lx.src
	p := lx.pos
	for p < len(src) && isSpace(src[p]) {
		p++
	}
	if p >= len(src) {
		lx.pos = len(src)
		return EOF, len(src), len(src)
	}
	s := p
	c := src[p]
	k := Op
	switch {
	case isIdentStart(c):
		p++
		for p < len(src) && isIdentChar(src[p]) {
			p++
		}
		k = Ident
		if IsKeyword(src[s:p], lx.sv) {
			k = Keyword
		}
	case isDigit(c):
		p = lx.number(p)
		k = Number
	case c == '"':
		p = lexString(src, p)
		k = String
	case c == '/' && p+1 < len(src) && src[p+1] == '/':
		for p < len(src) && src[p] != '\n' {
			p++
		}
		if p > s && src[p-1] == '\r' {
			p--
		}
		k = Comment
	case c == '/' && p+1 < len(src) && src[p+1] == '*':
		p += 2
		for p < len(src) && !(src[p] == '*' && p+1 < len(src) && src[p+1] == '/') {
			p++
		}
		p += 2
		if p > len(src) {
			p = len(src)
		}
		k = Comment
	case c == '\\':
		p++
		for p < len(src) && !isSpace(src[p]) {
			p++
		}
		if p == s+1 {
			k = Op
		} else {
			k = Ident
		}
	case c == '$':
		p++
		for p < len(src) && isIdentChar(src[p]) {
			p++
		}
		if p > s+1 {
			k = SystemName
		}
	case c == '`':
		p++
		if p < len(src) && (isIdentStart(src[p]) || src[p] == '\\') {
			if src[p] == '\\' {
				for p < len(src) && !isSpace(src[p]) {
					p++
				}
			} else {
				for p < len(src) && isIdentChar(src[p]) {
					p++
				}
			}
			k = MacroUse
			if isDirective(src[s+1 : p]) {
				k = Directive
			}
		} else if p < len(src) && (src[p] == '`' || src[p] == '"') {
			p++
		} else if p+1 < len(src) && src[p] == '\\' && src[p+1] == '`' && p+2 < len(src) && src[p+2] == '"' {
			p += 3
		} else {
			k = Invalid
		}
	case c == '\'':
		p = lx.tick(p)
		if p-s > 1 && src[s+1] != '{' {
			k = Number
		}
	default:
		n := opLen(src[p:])
		if n == 0 {
			k = Invalid
			n = 1
			// consume a whole UTF-8 sequence so that tokens stay on rune boundaries
			for p+n < len(src) && src[p+n]&0xC0 == 0x80 {
				n++
			}
		}
		p += n
	}
	lx.pos = p
	return k, s, p
}

// lexString returns the end of the string literal starting at p (a '"').
// An unterminated string ends before the newline.
func lexString(src string, p int) int {
	p++
	for p < len(src) {
		switch src[p] {
		case '\\':
			p += 2
			continue
		case '"':
			return p + 1
		case '\n':
			return p
		}
		p++
	}
	if p > len(src) {
		p = len(src)
	}
	return p
}

// number lexes a literal starting with a digit at p: decimal, real, time
// literal, or a size followed by a based value (whitespace allowed).
func (lx *lexer) number(p int) int {
	src := lx.src
	for p < len(src) && (isDigit(src[p]) || src[p] == '_') {
		p++
	}
	real := false
	if p+1 < len(src) && src[p] == '.' && isDigit(src[p+1]) {
		real = true
		p++
		for p < len(src) && (isDigit(src[p]) || src[p] == '_') {
			p++
		}
	}
	if p < len(src) && (src[p] == 'e' || src[p] == 'E') {
		q := p + 1
		if q < len(src) && (src[q] == '+' || src[q] == '-') {
			q++
		}
		if q < len(src) && isDigit(src[q]) {
			for q < len(src) && (isDigit(src[q]) || src[q] == '_') {
				q++
			}
			p = q
			real = true
		}
	}
	// time literal
	if p < len(src) && isIdentStart(src[p]) {
		q := p
		for q < len(src) && isIdentChar(src[q]) {
			q++
		}
		switch src[p:q] {
		case "s", "ms", "us", "ns", "ps", "fs", "step":
			return q
		}
	}
	if real {
		return p
	}
	// size 'base value
	q := p
	for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
		q++
	}
	if q < len(src) && src[q] == '\'' {
		r := q + 1
		if r < len(src) && (src[r] == 's' || src[r] == 'S') {
			r++
		}
		if r < len(src) && isBaseChar(src[r]) {
			return lx.basedValue(r + 1)
		}
	}
	return p
}

// basedValue lexes the digits after the base character (whitespace allowed
// between base and digits).
func (lx *lexer) basedValue(p int) int {
	src := lx.src
	q := p
	for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
		q++
	}
	if q < len(src) && isBasedDigit(src[q]) {
		p = q
		for p < len(src) && isBasedDigit(src[p]) {
			p++
		}
	}
	return p
}

// tick lexes what starts with a ' at p: an unsized based literal ('hFF), an
// unbased unsized literal ('0 '1 'x 'z), '{ or a lone ' (cast).
func (lx *lexer) tick(p int) int {
	src := lx.src
	r := p + 1
	if r < len(src) {
		c := src[r]
		if c == '{' {
			return r + 1
		}
		if c == 's' || c == 'S' {
			if r+1 < len(src) && isBaseChar(src[r+1]) {
				return lx.basedValue(r + 2)
			}
		}
		if isBaseChar(c) {
			// 'b0, 'hFF; but not an identifier-like word such as 'default
			q := lx.basedValue(r + 1)
			if q > r+1 {
				return q
			}
		}
		switch c {
		case '0', '1', 'x', 'X', 'z', 'Z':
			if r+1 >= len(src) || !isIdentChar(src[r+1]) {
				return r + 1
			}
		}
	}
	return p + 1
}

// opLen returns the length of the operator at the start of s, 0 if s does
// not start with one.
func opLen(s string) int {
	c := s[0]
	at := func(i int, b byte) bool { return i < len(s) && s[i] == b }
	switch c {
	case '<', '>':
		// << <<< <<= <<<= and >> >>> >>= >>>=
		if at(1, c) {
			if at(2, c) {
				if at(3, '=') {
					return 4
				}
				return 3
			}
			if at(2, '=') {
				return 3
			}
			return 2
		}
		if c == '<' && at(1, '-') && at(2, '>') {
			return 3
		}
		if at(1, '=') {
			return 2
		}
		return 1
	case '=', '!':
		// == === ==? and != !== !=?
		if at(1, '=') {
			if at(2, '=') || at(2, '?') {
				return 3
			}
			return 2
		}
		if c == '=' && at(1, '>') {
			return 2
		}
		return 1
	case '&':
		if at(1, '&') {
			if at(2, '&') {
				return 3
			}
			return 2
		}
		if at(1, '=') {
			return 2
		}
		return 1
	case '|':
		if at(1, '-') && at(2, '>') || at(1, '=') && at(2, '>') {
			return 3
		}
		if at(1, '|') || at(1, '=') {
			return 2
		}
		return 1
	case '^':
		if at(1, '~') || at(1, '=') {
			return 2
		}
		return 1
	case '~':
		if at(1, '&') || at(1, '|') || at(1, '^') {
			return 2
		}
		return 1
	case '+':
		if at(1, '+') || at(1, '=') || at(1, ':') {
			return 2
		}
		return 1
	case '-':
		if at(1, '>') {
			if at(2, '>') {
				return 3
			}
			return 2
		}
		if at(1, '-') || at(1, '=') || at(1, ':') {
			return 2
		}
		return 1
	case '*':
		if at(1, '*') || at(1, '=') || at(1, '>') {
			return 2
		}
		return 1
	case '/', '%':
		if at(1, '=') {
			return 2
		}
		return 1
	case ':':
		if at(1, ':') || at(1, '=') {
			return 2
		}
		if at(1, '/') && !at(2, '/') && !at(2, '*') {
			return 2
		}
		return 1
	case '#', '@':
		// ## @@
		if at(1, c) {
			return 2
		}
		return 1
	case '.':
		if at(1, '*') {
			return 2
		}
		return 1
	case '(':
		if at(1, '*') && !at(2, ')') {
			return 2
		}
		return 1
	case ')', '[', ']', '{', '}', ',', ';', '?':
		return 1
	}
	return 0
}
