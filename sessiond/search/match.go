package search

import (
	"bytes"
	"fmt"
	"regexp"
	"unicode/utf16"
	"unicode/utf8"

	"gatewave.dev/shared/apierr"
)

// Query is one search. The zero value of every field but Pattern is a
// sensible default: a case-insensitive literal search of every file that
// .gitignore does not exclude, capped at DefaultMaxResults matches.
type Query struct {
	// Pattern is the text (or, with Regex, the RE2 expression) to find.
	Pattern string `json:"pattern"`
	// Regex treats Pattern as a Go (RE2) regular expression.
	Regex bool `json:"regex,omitempty"`
	// CaseSensitive matches letters exactly; false folds case.
	CaseSensitive bool `json:"caseSensitive,omitempty"`
	// WholeWord requires a word boundary (\b) on both ends of a match.
	WholeWord bool `json:"wholeWord,omitempty"`
	// Include, when not empty, limits the search to files matching one of
	// these globs (each entry may hold several, comma-separated).
	Include []string `json:"include,omitempty"`
	// Exclude skips files and directories matching one of these globs.
	Exclude []string `json:"exclude,omitempty"`
	// NoIgnore searches files .gitignore excludes as well.
	NoIgnore bool `json:"noIgnore,omitempty"`
	// MaxResults caps the matches reported; 0 means DefaultMaxResults.
	MaxResults int `json:"maxResults,omitempty"`
	// Replace, when set, asks for a preview: every match carries the text
	// it would become (for a regex, with $1 / ${name} expanded).
	Replace *string `json:"replace,omitempty"`
}

// DefaultMaxResults is the cap on matches when Query.MaxResults is 0.
const DefaultMaxResults = 20000

// matcher finds a query's matches in a buffer.
type matcher struct {
	lit  []byte         // set for a case-sensitive literal without whole-word
	re   *regexp.Regexp // set otherwise
	expr bool           // the replacement is a template ($1 expands)
	// pre, when set, is a necessary condition for re to match, far cheaper
	// than re: most files fail it and never reach the regexp engine.
	pre func([]byte) bool
}

func compile(q Query) (*matcher, error) {
	if q.Pattern == "" {
		return nil, apierr.BadRequest("search: the pattern is empty")
	}
	if !q.Regex && q.CaseSensitive && !q.WholeWord {
		return &matcher{lit: []byte(q.Pattern)}, nil
	}
	expr := q.Pattern
	if !q.Regex {
		expr = regexp.QuoteMeta(expr)
	}
	if q.WholeWord {
		expr = `\b(?:` + expr + `)\b`
	}
	if !q.CaseSensitive {
		expr = `(?i)` + expr
	}
	// (?m) so ^ and $ mean line starts and ends, as in every editor.
	re, err := regexp.Compile(`(?m)` + expr)
	if err != nil {
		return nil, apierr.BadRequest("search: invalid regular expression: %v", err)
	}
	m := &matcher{re: re, expr: q.Regex}
	switch {
	case !q.Regex && !q.CaseSensitive:
		if f := newFoldLiteral(q.Pattern); f != nil {
			m.pre = f.contains
		}
	case !q.Regex:
		lit := []byte(q.Pattern)
		m.pre = func(b []byte) bool { return bytes.Contains(b, lit) }
	default:
		// A case-sensitive regexp's literal prefix ("ring_" of ring_\w+)
		// must appear wherever it matches.
		if prefix, _ := re.LiteralPrefix(); prefix != "" {
			lit := []byte(prefix)
			m.pre = func(b []byte) bool { return bytes.Contains(b, lit) }
		}
	}
	return m, nil
}

// Match is one match, on one line.
type Match struct {
	// Line is 1-based.
	Line int `json:"line"`
	// Col and Len are the match's start column and length in UTF-16 code
	// units (what an editor counts), within the line. A match that spans
	// several lines ends at the end of its first line.
	Col int `json:"col"`
	Len int `json:"len"`
	// Text is the line (without its newline), cut to MaxPreview bytes.
	Text string `json:"text"`
	// Replacement is the text the match would become (preview only).
	Replacement *string `json:"replacement,omitempty"`
}

// MaxPreview bounds Match.Text, so a minified file's single line is not
// sent for each of its matches.
const MaxPreview = 400

// find appends data's matches (at most limit) to out.
func (m *matcher) find(data []byte, limit int, repl *string, out []Match) []Match {
	var (
		line      = 1
		lineStart = 0
		scanned   = 0 // newlines counted up to here
	)
	add := func(s, e int, rep *string) {
		// Advance the line count to s.
		for {
			i := bytes.IndexByte(data[scanned:s], '\n')
			if i < 0 {
				break
			}
			line++
			lineStart = scanned + i + 1
			scanned = lineStart
		}
		scanned = s
		lineEnd := len(data)
		if i := bytes.IndexByte(data[s:], '\n'); i >= 0 {
			lineEnd = s + i
		}
		if e > lineEnd {
			e = lineEnd
		}
		text := data[lineStart:lineEnd]
		text = bytes.TrimSuffix(text, []byte{'\r'})
		col := utf16Len(data[lineStart:s])
		n := utf16Len(data[s:e])
		if len(text) > MaxPreview {
			text = text[:cutUTF8(text, MaxPreview)]
		}
		out = append(out, Match{Line: line, Col: col, Len: n, Text: string(text), Replacement: rep})
	}
	if m.lit != nil {
		for off := 0; len(out) < limit; {
			i := bytes.Index(data[off:], m.lit)
			if i < 0 {
				break
			}
			s := off + i
			add(s, s+len(m.lit), repl)
			off = s + max(len(m.lit), 1)
		}
		return out
	}
	if repl == nil {
		for _, loc := range m.re.FindAllIndex(data, limit-len(out)) {
			add(loc[0], loc[1], nil)
		}
		return out
	}
	tmpl := []byte(*repl)
	for _, loc := range m.re.FindAllSubmatchIndex(data, limit-len(out)) {
		r := *repl
		if m.expr {
			r = string(m.re.Expand(nil, tmpl, data, loc))
		}
		add(loc[0], loc[1], &r)
	}
	return out
}

// has reports whether data holds at least one match: the cheap test that
// rules out most files.
func (m *matcher) has(data []byte) bool {
	if m.lit != nil {
		return bytes.Contains(data, m.lit)
	}
	if m.pre != nil && !m.pre(data) {
		return false
	}
	return m.re.Match(data)
}

// replaceAll returns data with every match replaced, and how many there were.
func (m *matcher) replaceAll(data []byte, repl string) ([]byte, int) {
	if m.lit != nil {
		n := bytes.Count(data, m.lit)
		return bytes.ReplaceAll(data, m.lit, []byte(repl)), n
	}
	n := len(m.re.FindAllIndex(data, -1))
	if n == 0 {
		return data, 0
	}
	if m.expr {
		return m.re.ReplaceAll(data, []byte(repl)), n
	}
	return m.re.ReplaceAllLiteral(data, []byte(repl)), n
}

// utf16Len counts the UTF-16 code units of b (invalid bytes count one each,
// as the editor's decoder turns each into U+FFFD).
func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			n++
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		n += max(utf16.RuneLen(r), 1)
		b = b[size:]
	}
	return n
}

// cutUTF8 returns the largest n <= limit that does not split a rune.
func cutUTF8(b []byte, limit int) int {
	n := limit
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return n
}

func errBadGlob(p string) error {
	return apierr.BadRequest("%s", fmt.Sprintf("search: invalid glob %q", p))
}
