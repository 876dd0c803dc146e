package lint

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"gatewave.dev/sessiond/hdl/design"
)

// fileReader reads (and caches) the files tools mention, relative to Root.
type fileReader struct {
	root  string
	mu    sync.Mutex
	cache map[string][]byte
}

func newFileReader(root string) *fileReader {
	return &fileReader{root: root, cache: map[string][]byte{}}
}

// read returns the contents of p (relative to root or absolute), nil when
// it cannot be read.
func (fr *fileReader) read(p string) []byte {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if b, ok := fr.cache[p]; ok {
		return b
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(fr.root, filepath.FromSlash(p))
	}
	b, err := os.ReadFile(full)
	if err != nil {
		b = nil
	}
	fr.cache[p] = b
	return b
}

// rel makes a tool's path workspace-relative; ok is false for a path
// outside the workspace.
func (fr *fileReader) rel(p string) (string, bool) {
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(fr.root, p)
		if err != nil {
			return "", false
		}
		p = filepath.ToSlash(r)
	}
	p = path.Clean(p)
	if p == ".." || strings.HasPrefix(p, "../") || p == "." {
		return "", false
	}
	return p, true
}

// place makes d's path workspace-relative. A diagnostic in a file outside
// the workspace is moved to an `include directive naming that file (by its
// base name) in one of the Verilog files, with the original place in its
// message; without such a directive it is dropped.
func (fr *fileReader) place(d Diagnostic, o *Options) (Diagnostic, bool) {
	if p, ok := fr.rel(d.Path); ok {
		d.Path = p
		return d, true
	}
	base := path.Base(filepath.ToSlash(d.Path))
	for _, f := range o.Verilog {
		src := fr.read(f)
		for _, inc := range includes(src) {
			if path.Base(inc.name) != base {
				continue
			}
			d.Message = "in " + filepath.ToSlash(d.Path) + ":" + itoa(d.StartLine+1) + ": " + d.Message
			d.Path = f
			d.StartLine, d.EndLine = inc.line, inc.line
			d.StartCol, d.EndCol = inc.start, inc.end
			return d, true
		}
	}
	return d, false
}

// anchor makes a diagnostic for a message that has no place: the first
// non-blank line of the first of files.
func (fr *fileReader) anchor(files []string, tool, msg string, sev design.Severity) (Diagnostic, bool) {
	if len(files) == 0 {
		return Diagnostic{}, false
	}
	f := files[0]
	src := fr.read(f)
	d := Diagnostic{Path: f, Severity: sev, Message: msg, Source: tool}
	ls := lines(src)
	for i, l := range ls {
		if len(bytes.TrimSpace(l)) > 0 {
			d.StartLine, d.EndLine = i, i
			d.StartCol, d.EndCol = nonBlank(l)
			return d, true
		}
	}
	d.EndCol = 1
	return d, true
}

type include struct {
	name       string
	line       int
	start, end int // the quoted name including quotes
}

// includes finds the `include "name" directives of a Verilog source.
func includes(src []byte) []include {
	var out []include
	for ln, l := range lines(src) {
		i := bytes.Index(l, []byte("`include"))
		if i < 0 {
			continue
		}
		rest := l[i+len("`include"):]
		j := bytes.IndexAny(rest, "\"<")
		if j < 0 || len(bytes.TrimSpace(rest[:j])) != 0 {
			continue
		}
		closer := byte('"')
		if rest[j] == '<' {
			closer = '>'
		}
		k := bytes.IndexByte(rest[j+1:], closer)
		if k < 0 {
			continue
		}
		s := i + len("`include") + j
		out = append(out, include{name: string(rest[j+1 : j+1+k]), line: ln, start: s, end: s + k + 2})
	}
	return out
}

// lines splits src into lines without their terminators.
func lines(src []byte) [][]byte {
	if len(src) == 0 {
		return nil
	}
	ls := bytes.Split(src, []byte("\n"))
	for i, l := range ls {
		ls[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	if len(ls) > 0 && len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// lineOf returns line n (0-based) of src, nil when absent.
func lineOf(src []byte, n int) []byte {
	for i := 0; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return nil
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return bytes.TrimSuffix(src, []byte("\r"))
}

// nonBlank returns the range of l's text without surrounding blanks (0,1
// for a blank line).
func nonBlank(l []byte) (int, int) {
	s, e := 0, len(l)
	for s < e && isSpace(l[s]) {
		s++
	}
	for e > s && isSpace(l[e-1]) {
		e--
	}
	if s == e {
		return 0, 1
	}
	return s, e
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' }

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// findWord finds w in l bounded by non-identifier characters (where w's
// own ends are identifier characters), the occurrence nearest near (or
// the first when near < 0); -1 when absent.
func findWord(l []byte, w string, near int) int {
	if w == "" {
		return -1
	}
	best := -1
	for off := 0; off <= len(l)-len(w); {
		i := bytes.Index(l[off:], []byte(w))
		if i < 0 {
			break
		}
		i += off
		off = i + 1
		if isIdentByte(w[0]) && i > 0 && isIdentByte(l[i-1]) {
			continue
		}
		if e := i + len(w); isIdentByte(w[len(w)-1]) && e < len(l) && isIdentByte(l[e]) {
			continue
		}
		if near < 0 {
			return i
		}
		if best < 0 || abs(i-near) < abs(best-near) {
			best = i
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// tokenAt returns the end of the token starting at l[s] (identifier,
// number, string, escaped identifier or one- or two-character operator).
func tokenAt(l []byte, s int) int {
	c := l[s]
	switch {
	case c == '\\': // escaped identifier, up to white space
		e := s + 1
		for e < len(l) && !isSpace(l[e]) {
			e++
		}
		return e
	case c == '"':
		e := s + 1
		for e < len(l) && l[e] != '"' {
			if l[e] == '\\' {
				e++
			}
			e++
		}
		return min(e+1, len(l))
	case c == '`' && s+1 < len(l) && isIdentByte(l[s+1]):
		e := s + 1
		for e < len(l) && isIdentByte(l[e]) {
			e++
		}
		return e
	case isIdentByte(c):
		e := s
		for e < len(l) && (isIdentByte(l[e]) || l[e] == '\'' && e+1 < len(l) && isIdentByte(l[e+1]) && isNumberish(l[s:e])) {
			e++
		}
		return e
	}
	if s+1 < len(l) {
		switch string(l[s : s+2]) {
		case "<=", ">=", "==", "!=", "=>", ":=", "/=", "**", "&&", "||", "<<", ">>", "::", "+:", "-:":
			return s + 2
		}
	}
	return s + 1
}

// isNumberish reports whether b could be the size of a sized literal (8'hFF).
func isNumberish(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// span finds the range on line l for a message: at col (0-based byte, -1
// when unknown) when the first hint is written there, else the hint
// occurrence nearest col (hints in order), else the token at col, else
// the line's text.
func span(l []byte, col int, hints ...string) (int, int) {
	for i, h := range hints {
		if h == "" {
			continue
		}
		if i == 0 && col >= 0 && col+len(h) <= len(l) && string(l[col:col+len(h)]) == h {
			return col, col + len(h)
		}
		if s := findWord(l, h, col); s >= 0 {
			return s, s + len(h)
		}
		if j := strings.LastIndexAny(h, ".:"); j >= 0 && j+1 < len(h) {
			if s := findWord(l, h[j+1:], col); s >= 0 {
				return s, s + len(h) - j - 1
			}
		}
	}
	if col >= 0 {
		s := col
		for s < len(l) && isSpace(l[s]) {
			s++
		}
		if s < len(l) {
			return s, tokenAt(l, s)
		}
		// past the end: the line's last token
		_, e := nonBlank(l)
		if e > 0 && e <= len(l) {
			b := e - 1
			for b > 0 && isIdentByte(l[b]) && isIdentByte(l[b-1]) {
				b--
			}
			return b, e
		}
	}
	return nonBlank(l)
}

// quoted extracts the names a message quotes: `x', “x”, 'x', "x", in
// order, with a leading backslash (yosys' escaped names) removed.
func quoted(msg string) []string {
	var out []string
	for i := 0; i < len(msg); i++ {
		var closer byte
		open := 1
		switch msg[i] {
		case '`':
			closer = '\''
			if i+1 < len(msg) && msg[i+1] == '`' {
				open = 2
			}
		case '\'', '"':
			closer = msg[i]
			if i > 0 && isIdentByte(msg[i-1]) { // don't, can't
				continue
			}
		default:
			continue
		}
		s := i + open
		j := strings.IndexByte(msg[s:], closer)
		if j <= 0 {
			continue
		}
		q := msg[s : s+j]
		q = strings.TrimPrefix(q, "\\")
		if q != "" && !strings.ContainsAny(q, " \t") {
			out = append(out, q)
		}
		i = s + j + open - 1
		if open == 2 && s+j+1 < len(msg) && msg[s+j+1] == '\'' {
			i++
		}
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// atoi parses a non-negative decimal; ok is false when b is not one.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// location parses "path:line:" or "path:line:col:" at the start of s. It
// returns the path, 1-based line, 1-based column (0 when absent) and the
// rest after the last colon. ok is false when s does not start so.
func location(s []byte) (p string, line, col int, rest []byte, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != ':' || i == 0 {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != ':' {
			continue
		}
		n, ok := atoi(s[i+1 : j])
		if !ok || n == 0 {
			continue
		}
		p, line = string(s[:i]), n
		rest = s[j+1:]
		k := 0
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		if k > 0 && k < len(rest) && rest[k] == ':' {
			col, _ = atoi(rest[:k])
			rest = rest[k+1:]
		}
		if strings.ContainsAny(p, "\t\n") || strings.HasPrefix(p, " ") {
			return "", 0, 0, nil, false
		}
		return p, line, col, rest, true
	}
	return "", 0, 0, nil, false
}

// cleanPath tidies a path a tool printed ("./a.v" -> "a.v").
func cleanPath(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return path.Clean(filepath.ToSlash(p))
}

// mk builds a diagnostic on line (1-based) of p with the range span
// finds; line 0 or past the end of the file gives the range 0..1 on the
// clamped line.
func mk(read func(string) []byte, p string, line, col int, hints []string) Diagnostic {
	d := Diagnostic{Path: p}
	if line < 1 {
		line = 1
	}
	d.StartLine, d.EndLine = line-1, line-1
	src := read(p)
	l := lineOf(src, line-1)
	if len(l) == 0 {
		d.StartCol, d.EndCol = 0, 1
		if col > 0 {
			d.StartCol, d.EndCol = col-1, col
		}
		return d
	}
	d.StartCol, d.EndCol = span(l, col-1, hints...)
	return d
}
