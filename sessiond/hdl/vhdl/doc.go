package vhdl

import (
	"slices"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// doc returns the comment block directly above [start, end) — its last
// line on the line before start, each line starting its own line — or
// else (unless above is set) a comment after end on the same line.
func (p *parser) doc(start, end int, above bool) string {
	cs := p.comments
	if len(cs) == 0 {
		return ""
	}
	i := sort.Search(len(cs), func(i int) bool { return int(cs[i].start) >= start }) - 1
	first, last := -1, -1
	at := start
	for ; i >= 0; i-- {
		c := cs[i]
		if !p.oneLineBreak(int(c.end), at) || !p.startsLine(int(c.start)) {
			break
		}
		if last < 0 {
			last = i
		}
		first = i
		at = int(c.start)
	}
	if last >= 0 {
		return p.commentText(first, last)
	}
	if above {
		return ""
	}
	// Trailing comment on the same line.
	j := sort.Search(len(cs), func(i int) bool { return int(cs[i].start) >= end })
	if j < len(cs) {
		c := cs[j]
		gap := p.src[end:c.start]
		for _, b := range gap {
			switch b {
			case ' ', '\t', ';', ',', ')', '\r':
				continue
			}
			return ""
		}
		return p.commentText(j, j)
	}
	return ""
}

// oneLineBreak reports whether src[a:b] is whitespace with exactly one newline.
func (p *parser) oneLineBreak(a, b int) bool {
	if a > b {
		return false
	}
	n := 0
	for _, c := range p.src[a:b] {
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r', '\f', '\v':
		default:
			return false
		}
	}
	return n == 1
}

// startsLine reports whether only whitespace precedes off on its line.
func (p *parser) startsLine(off int) bool {
	for i := off - 1; i >= 0; i-- {
		switch p.src[i] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

// commentText joins comments [first, last] with markers removed.
func (p *parser) commentText(first, last int) string {
	var b strings.Builder
	for i := first; i <= last; i++ {
		c := p.s[p.comments[i].start:p.comments[i].end]
		var lines []string
		if strings.HasPrefix(c, "--") {
			lines = []string{c[2:]}
		} else {
			c = strings.TrimPrefix(c, "/*")
			c = strings.TrimSuffix(c, "*/")
			lines = strings.Split(c, "\n")
			for k, l := range lines {
				l = strings.TrimSpace(l)
				lines[k] = strings.TrimPrefix(l, "*")
			}
		}
		for _, l := range lines {
			l = strings.TrimSpace(l)
			if strings.Trim(l, "-=*#~_ ") == "" { // decoration line
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(l)
		}
	}
	return b.String()
}

// finish fills Tokens and comment folds and orders the folds.
func (p *parser) finish() {
	toks := make([]design.Token, 0, len(p.toks)+len(p.comments))
	ci := 0
	for _, t := range p.toks {
		for ci < len(p.comments) && p.comments[ci].start < t.start {
			toks = append(toks, design.Token{Kind: design.TokComment, Start: int(p.comments[ci].start), End: int(p.comments[ci].end)})
			ci++
		}
		var k design.TokenKind
		switch t.kind {
		case TokIdent, TokExtIdent:
			k = design.TokIdent
		case TokKeyword:
			k = design.TokKeyword
		case TokNumber, TokBitString:
			k = design.TokNumber
		case TokChar, TokString:
			k = design.TokString
		case TokOperator:
			switch t.id {
			case opLParen, opRParen, opSemi, opComma, opColon, opDot, opLBrack, opRBrack:
				continue
			}
			k = design.TokOperator
		default:
			continue
		}
		toks = append(toks, design.Token{Kind: k, Start: int(t.start), End: int(t.end)})
	}
	p.f.Tokens = toks
	// Comment folds: a block comment over several lines, or a run of
	// line comments on consecutive lines.
	for i := 0; i < len(p.comments); i++ {
		c := p.comments[i]
		j := i
		if p.src[c.start+1] == '-' {
			for j+1 < len(p.comments) && p.src[p.comments[j+1].start+1] == '-' &&
				p.oneLineBreak(int(p.comments[j].end), int(p.comments[j+1].start)) {
				j++
			}
		}
		p.fold(int(c.start), int(p.comments[j].end))
		i = j
	}
	slices.SortFunc(p.f.Folds, func(a, b design.Span) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
}
