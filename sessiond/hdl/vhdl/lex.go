package vhdl

// TokKind classifies a lexical token.
type TokKind uint8

const (
	TokIdent     TokKind = iota + 1 // basic identifier (not a reserved word)
	TokExtIdent                     // extended identifier \like this\
	TokKeyword                      // reserved word (IsKeyword)
	TokNumber                       // abstract literal: 42, 1.5e3, 16#FF#
	TokBitString                    // bit string literal: x"AB", b"0101", 8ux"F"
	TokChar                         // character literal: '0'
	TokString                       // string literal: "text" (quotes included)
	TokComment                      // -- to end of line, or /* ... */
	TokOperator                     // delimiter or operator: ( ) ; , : . ' => := <= ** ...
	TokError                        // a byte that starts no token, or an unterminated literal
)

func (k TokKind) String() string {
	switch k {
	case TokIdent:
		return "identifier"
	case TokExtIdent:
		return "extended identifier"
	case TokKeyword:
		return "keyword"
	case TokNumber:
		return "number"
	case TokBitString:
		return "bit string"
	case TokChar:
		return "character"
	case TokString:
		return "string"
	case TokComment:
		return "comment"
	case TokOperator:
		return "operator"
	case TokError:
		return "invalid token"
	}
	return "end of file"
}

// Token is one lexical token by byte offsets [Start, End) into the source.
type Token struct {
	Kind       TokKind
	Start, End int
}

// Lex splits src into tokens, comments included, in source order.
// Whitespace is the only text not covered by a token.
func Lex(src []byte) []Token {
	lx := lexer{src: src}
	out := make([]Token, 0, len(src)/4+16)
	for {
		t := lx.next()
		if t.kind == tokEOF {
			return out
		}
		out = append(out, Token{Kind: t.kind, Start: int(t.start), End: int(t.end)})
	}
}

// IsKeyword reports whether word is a VHDL-2008 reserved word, ignoring case.
func IsKeyword(word string) bool {
	return lookupKeyword(word) != 0
}

const tokEOF TokKind = 0

// tok is the parser's token: kind, keyword or operator id, offsets.
type tok struct {
	kind       TokKind
	id         uint8 // keyword id (kw*) or operator id (op*), 0 otherwise
	start, end int32
}

// Operator ids share the id byte with keywords; they start above every keyword.
const (
	opLParen uint8 = 160 + iota
	opRParen
	opSemi
	opComma
	opColon
	opDot
	opTick
	opArrow     // =>
	opVarAssign // :=
	opLE        // <=
	opGE        // >=
	opNE        // /=
	opLT
	opGT
	opEQ
	opPlus
	opMinus
	opStar
	opSlash
	opPow // **
	opAmp
	opBar
	opBox // <>
	opLBrack
	opRBrack
	opCond // ??
	opMEQ  // ?=
	opMNE  // ?/=
	opMLT  // ?<
	opMLE  // ?<=
	opMGT  // ?>
	opMGE  // ?>=
	opDLT  // <<
	opDGT  // >>
	opAt
	opQuestion
	opBacktick
	opCaret
	opOther
)

var opText = [...]string{
	opLParen - 160: "(", opRParen - 160: ")", opSemi - 160: ";", opComma - 160: ",",
	opColon - 160: ":", opDot - 160: ".", opTick - 160: "'", opArrow - 160: "=>",
	opVarAssign - 160: ":=", opLE - 160: "<=", opGE - 160: ">=", opNE - 160: "/=",
	opLT - 160: "<", opGT - 160: ">", opEQ - 160: "=", opPlus - 160: "+", opMinus - 160: "-",
	opStar - 160: "*", opSlash - 160: "/", opPow - 160: "**", opAmp - 160: "&", opBar - 160: "|",
	opBox - 160: "<>", opLBrack - 160: "[", opRBrack - 160: "]", opCond - 160: "??",
	opMEQ - 160: "?=", opMNE - 160: "?/=", opMLT - 160: "?<", opMLE - 160: "?<=",
	opMGT - 160: "?>", opMGE - 160: "?>=", opDLT - 160: "<<", opDGT - 160: ">>",
	opAt - 160: "@", opQuestion - 160: "?", opBacktick - 160: "`", opCaret - 160: "^",
	opOther - 160: "?",
}

// Character classes.
const (
	cLetter = 1 << iota
	cDigit
	cSpace
	cIdent = cLetter | cDigit
)

var class = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLetter
		t[c-'a'+'A'] = cLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	t['_'] = cLetter
	for c := 0x80; c < 0x100; c++ { // Latin-1 letters and UTF-8 bytes
		t[c] = cLetter
	}
	for _, c := range []byte{' ', '\t', '\n', '\r', '\f', '\v'} {
		t[c] = cSpace
	}
	return
}()

type lexer struct {
	src []byte
	pos int
	// tickOK is true when the previous significant token may be the prefix
	// of an attribute name (identifier, ')', ']', 'all'), so ' is a tick.
	tickOK bool
}

func (lx *lexer) next() tok {
	src := lx.src
	i := lx.pos
	for i < len(src) && class[src[i]]&cSpace != 0 {
		i++
	}
	if i >= len(src) {
		lx.pos = i
		return tok{kind: tokEOF, start: int32(i), end: int32(i)}
	}
	start := i
	c := src[i]
	t := tok{start: int32(start)}
	tickOK := false
	switch {
	case class[c]&cLetter != 0:
		i++
		for i < len(src) && class[src[i]]&cIdent != 0 {
			i++
		}
		if i < len(src) && src[i] == '"' && isBaseSpec(src[start:i]) {
			i = lexString(src, i)
			t.kind = TokBitString
			break
		}
		t.id = lookupKeywordBytes(src[start:i])
		if t.id != 0 {
			t.kind = TokKeyword
			tickOK = t.id == kwAll
		} else {
			t.kind = TokIdent
			tickOK = true
		}
	case class[c]&cDigit != 0:
		i, t.kind = lexNumber(src, i)
	case c == '"':
		i = lexString(src, i)
		t.kind = TokString
		if src[i-1] != '"' || i-start < 2 {
			t.kind = TokError
		}
	case c == '\\':
		i++
		t.kind = TokError
		for i < len(src) && src[i] != '\n' {
			if src[i] == '\\' {
				if i+1 < len(src) && src[i+1] == '\\' {
					i += 2
					continue
				}
				i++
				t.kind = TokExtIdent
				tickOK = true
				break
			}
			i++
		}
	case c == '\'':
		if !lx.tickOK && i+2 < len(src) && src[i+2] == '\'' {
			i += 3
			t.kind = TokChar
		} else {
			i++
			t.kind, t.id = TokOperator, opTick
		}
	case c == '-' && i+1 < len(src) && src[i+1] == '-':
		for i < len(src) && src[i] != '\n' {
			i++
		}
		if i > start && src[i-1] == '\r' {
			i--
		}
		t.kind = TokComment
	case c == '/' && i+1 < len(src) && src[i+1] == '*':
		i += 2
		for i < len(src) && !(src[i] == '*' && i+1 < len(src) && src[i+1] == '/') {
			i++
		}
		if i < len(src) {
			i += 2
		} else {
			i = len(src)
		}
		t.kind = TokComment
	default:
		t.kind = TokOperator
		i, t.id = lexOp(src, i)
		tickOK = t.id == opRParen || t.id == opRBrack
		if t.id == opOther {
			t.kind = TokError
		}
	}
	if t.kind != TokComment {
		lx.tickOK = tickOK
	}
	t.end = int32(i)
	lx.pos = i
	return t
}

// isBaseSpec reports whether b is a bit string base specifier
// (B O X D UB UO UX SB SO SX), ignoring case.
func isBaseSpec(b []byte) bool {
	switch len(b) {
	case 1:
		switch b[0] | 0x20 {
		case 'b', 'o', 'x', 'd':
			return true
		}
	case 2:
		s := b[0] | 0x20
		if s != 'u' && s != 's' {
			return false
		}
		switch b[1] | 0x20 {
		case 'b', 'o', 'x':
			return true
		}
	}
	return false
}

// lexString scans a "..." literal starting at the quote; "" is an escaped
// quote. It stops at the end of the line when unterminated.
func lexString(src []byte, i int) int {
	i++
	for i < len(src) {
		switch src[i] {
		case '"':
			if i+1 < len(src) && src[i+1] == '"' {
				i += 2
				continue
			}
			return i + 1
		case '\n':
			return i
		}
		i++
	}
	return i
}

// lexNumber scans a decimal or based abstract literal, or a sized bit
// string literal (8x"FF").
func lexNumber(src []byte, i int) (int, TokKind) {
	digits := func(i int, based bool) int {
		for i < len(src) {
			c := src[i]
			if class[c]&cDigit != 0 || c == '_' || (based && class[c]&cLetter != 0 && c < 0x80) {
				i++
				continue
			}
			break
		}
		return i
	}
	i = digits(i, false)
	// Sized bit string: 12ux"ABC".
	j := i
	for j < len(src) && j-i < 2 && class[src[j]]&cLetter != 0 && src[j] < 0x80 {
		j++
	}
	if j > i && j < len(src) && src[j] == '"' && isBaseSpec(src[i:j]) {
		return lexString(src, j), TokBitString
	}
	if i < len(src) && (src[i] == '#' || src[i] == ':') && i+1 < len(src) && isBasedDigit(src[i+1]) {
		mark := src[i]
		k := digits(i+1, true)
		if k < len(src) && src[k] == '.' {
			k = digits(k+1, true)
		}
		if k < len(src) && src[k] == mark {
			i = k + 1
		} else {
			return k, TokError
		}
	} else if i+1 < len(src) && src[i] == '.' && class[src[i+1]]&cDigit != 0 {
		i = digits(i+1, false)
	}
	if i < len(src) && (src[i]|0x20) == 'e' {
		k := i + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && class[src[k]]&cDigit != 0 {
			i = digits(k, false)
		}
	}

	return i, TokNumber
}

func isBasedDigit(c byte) bool {
	return class[c]&cDigit != 0 || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// opOne is the operator of each byte that is one on its own; the bytes that
// may start a longer one are looked at first by lexOp.
var opOne = [256]uint8{
	'(': opLParen, ')': opRParen, ';': opSemi, ',': opComma, '.': opDot, '&': opAmp,
	'|': opBar, '!': opBar, '[': opLBrack, ']': opRBrack, '+': opPlus, '-': opMinus,
	'@': opAt, '`': opBacktick, '^': opCaret, ':': opColon, '=': opEQ, '*': opStar,
	'/': opSlash, '<': opLT, '>': opGT, '?': opQuestion,
}

func lexOp(src []byte, i int) (int, uint8) {
	c := src[i]
	var c1, c2 byte
	if i+1 < len(src) {
		c1 = src[i+1]
	}
	if i+2 < len(src) {
		c2 = src[i+2]
	}
	switch c {
	case ':':
		if c1 == '=' {
			return i + 2, opVarAssign
		}
	case '=':
		if c1 == '>' {
			return i + 2, opArrow
		}
	case '*':
		if c1 == '*' {
			return i + 2, opPow
		}
	case '/':
		if c1 == '=' {
			return i + 2, opNE
		}
	case '<':
		switch c1 {
		case '=':
			return i + 2, opLE
		case '>':
			return i + 2, opBox
		case '<':
			return i + 2, opDLT
		}
	case '>':
		switch c1 {
		case '=':
			return i + 2, opGE
		case '>':
			return i + 2, opDGT
		}
	case '?':
		switch c1 {
		case '?':
			return i + 2, opCond
		case '=':
			return i + 2, opMEQ
		case '/':
			if c2 == '=' {
				return i + 3, opMNE
			}
		case '<':
			if c2 == '=' {
				return i + 3, opMLE
			}
			return i + 2, opMLT
		case '>':
			if c2 == '=' {
				return i + 3, opMGE
			}
			return i + 2, opMGT
		}
	}
	if op := opOne[c]; op != 0 {
		return i + 1, op
	}
	// Skip a whole UTF-8 sequence or one stray byte.
	return i + 1, opOther
}
