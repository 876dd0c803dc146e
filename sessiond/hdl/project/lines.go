package project

import (
	"sort"
	"unicode/utf8"
)

// Lines maps byte offsets of one text to LSP positions (0-based line and
// UTF-16 column, or byte column when the client speaks UTF-8) and back.
type Lines struct {
	src   []byte
	start []int // byte offset of each line's first byte
}

// NewLines indexes src.
func NewLines(src []byte) *Lines {
	start := make([]int, 1, len(src)/32+1)
	for i, c := range src {
		if c == '\n' {
			start = append(start, i+1)
		}
	}
	return &Lines{src: src, start: start}
}

// Count is the number of lines.
func (l *Lines) Count() int { return len(l.start) }

// LineOf is the 0-based line holding byte offset off.
func (l *Lines) LineOf(off int) int {
	return sort.SearchInts(l.start, off+1) - 1
}

// LineStart is the byte offset where line begins (clamped).
func (l *Lines) LineStart(line int) int {
	if line < 0 {
		return 0
	}
	if line >= len(l.start) {
		return len(l.src)
	}
	return l.start[line]
}

// LineEnd is the byte offset of line's end, before its newline.
func (l *Lines) LineEnd(line int) int {
	if line+1 < len(l.start) {
		e := l.start[line+1] - 1
		if e > 0 && l.src[e-1] == '\r' {
			e--
		}
		return e
	}
	return len(l.src)
}

// Position converts a byte offset to line and column; utf16 selects UTF-16
// code units for the column, else bytes.
func (l *Lines) Position(off int, utf16 bool) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(l.src) {
		off = len(l.src)
	}
	line = l.LineOf(off)
	s := l.start[line]
	if !utf16 {
		return line, off - s
	}
	for i := s; i < off; {
		c := l.src[i]
		if c < utf8.RuneSelf {
			col++
			i++
			continue
		}
		r, n := utf8.DecodeRune(l.src[i:])
		if r >= 0x10000 {
			col += 2
		} else {
			col++
		}
		i += n
	}
	return line, col
}

// Offset converts line and column back to a byte offset, clamping a column
// past the line's end to the end (as LSP says).
func (l *Lines) Offset(line, col int, utf16 bool) int {
	if line < 0 {
		return 0
	}
	if line >= len(l.start) {
		return len(l.src)
	}
	s, e := l.start[line], l.LineEnd(line)
	if !utf16 {
		return min(s+max(col, 0), e)
	}
	i := s
	for n := 0; i < e && n < col; {
		c := l.src[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, sz := utf8.DecodeRune(l.src[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += sz
	}
	return i
}
