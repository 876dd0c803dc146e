package lint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// yosysSafe reports whether p can be written in a yosys script as is:
// yosys' command tokenizer splits on blanks, treats ';' and '#' specially
// and does not unquote option arguments.
func yosysSafe(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-+./=,@%", c) >= 0) {
			return false
		}
	}
	return true
}

// yosysArgs builds yosys' command line: a script reading the defines (from
// a generated header, since option values cannot hold blanks), each file
// and checking the hierarchy. Paths yosys cannot take are reached through
// symlinks in tmp; undo maps a path yosys prints back to the workspace.
func yosysArgs(o *Options, tmp string) ([]string, func(string) string, error) {
	al := &aliaser{root: o.Root, tmp: tmp, safe: yosysSafe}
	name := al.name
	var sb strings.Builder
	var incs []string
	for _, d := range o.IncludeDirs {
		a, err := name(d, true)
		if err != nil {
			return nil, nil, err
		}
		incs = append(incs, "-I", a)
	}
	if len(o.Defines) > 0 {
		var hdr strings.Builder
		for _, n := range o.sortedDefines() {
			v := strings.ReplaceAll(o.Defines[n], "\n", "\\\n")
			fmt.Fprintf(&hdr, "`define %s %s\n", n, v)
		}
		f := filepath.Join(tmp, "defines.vh")
		if err := os.WriteFile(f, []byte(hdr.String()), 0o600); err != nil {
			return nil, nil, fmt.Errorf("write defines: %w", err)
		}
		if !yosysSafe(f) {
			return nil, nil, fmt.Errorf("temporary directory %q cannot be named in a yosys script", tmp)
		}
		sb.WriteString("read_verilog " + f + "; ")
	}
	for _, f := range o.Verilog {
		a, err := name(f, false)
		if err != nil {
			return nil, nil, err
		}
		sb.WriteString("read_verilog ")
		if isSV(f) {
			sb.WriteString("-sv ")
		}
		for _, s := range incs {
			sb.WriteString(s + " ")
		}
		sb.WriteString(a + "; ")
	}
	sb.WriteString("hierarchy -check")
	if o.Top != "" {
		sb.WriteString(" -top " + o.Top)
	}
	return []string{"-q", "-p", sb.String()}, al.undo, nil
}

// ParseYosys parses the output of yosys 0.23 (-q). Messages are
//
//	file.v:6: ERROR: syntax error, unexpected TOK_WIRE
//	undeclared.v:5: Warning: Identifier `\x' is implicitly declared.
//	Warning: reg '\r' is assigned in a continuous assignment at f.v:3.10-3.15.
//	ERROR: Module `\foo' referenced in module `\top' in cell `\u' is not part of the design.
//	ERROR: Can't open include file `widths.vh'!
//
// A message without a file prefix is placed by its "at file:line[.col-
// line.col]" part, or for hierarchy errors at the cell in the module's
// source among files (the range on the missing module, port or parameter
// name), or for a missing include at the `include directive; an ERROR that
// cannot be placed is returned by Run on the first file. Lines without
// "ERROR:"/"Warning:" are dropped, as are "not supported" messages.
// Escaped names lose their backslash (`\x' -> `x').
func ParseYosys(out []byte, read func(path string) []byte, files []string) []Diagnostic {
	ds, _, _ := parseYosys(out, read, files, func(p string) string { return p })
	return ds
}

func parseYosys(out []byte, read func(string) []byte, files []string, undo func(string) string) ([]Diagnostic, []string, bool) {
	var ds []Diagnostic
	sawError := false
	var unlocated []string
	for _, l := range lines(out) {
		l = bytes.TrimSpace(l)
		var p string
		line, col, endCol := 0, 0, 0
		rest := l
		if lp, ln, c, ec, r, ok := yosysLocation(l); ok {
			p, line, col, endCol, rest = lp, ln, c, ec, bytes.TrimSpace(r)
		}
		var sev design.Severity
		var msg string
		switch {
		case bytes.HasPrefix(rest, []byte("ERROR: ")):
			sev, msg = design.Error, string(rest[len("ERROR: "):])
		case bytes.HasPrefix(rest, []byte("Warning: ")):
			sev, msg = design.Warning, string(rest[len("Warning: "):])
		default:
			continue
		}
		sawError = sawError || sev == design.Error
		if lower := strings.ToLower(msg); strings.Contains(lower, "not supported") || strings.Contains(lower, "unsupported") {
			continue
		}
		msg = strings.ReplaceAll(msg, "`\\", "`")
		msg = strings.ReplaceAll(msg, "'\\", "'")
		hints := quoted(msg)
		if p == "" {
			if at := strings.LastIndex(msg, " at "); at >= 0 {
				if lp, ln, c, ec, _, ok := yosysLocation([]byte(strings.TrimSuffix(msg[at+4:], ".") + ":")); ok {
					p, line, col, endCol = lp, ln, c, ec
				}
			}
		}
		if p == "" {
			var ok bool
			p, line, col, endCol, ok = yosysPlace(msg, read, files)
			if !ok {
				if sev == design.Error {
					unlocated = append(unlocated, msg)
				}
				continue
			}
		}
		p = cleanPath(undo(p))
		d := mk(read, p, line, col, hints)
		if endCol > col && col > 0 && endCol-1 <= len(lineOf(read(p), line-1)) {
			d.StartCol, d.EndCol = col-1, endCol-1
		}
		d.Severity, d.Message, d.Source = sev, msg, Yosys
		ds = append(ds, d)
	}
	return ds, unlocated, sawError
}

// yosysLocation parses "path:line:" or "path:line.col-line.col:" at the
// start of s (columns 1-based, end exclusive; only a one-line range keeps
// its end).
func yosysLocation(s []byte) (p string, line, col, endCol int, rest []byte, ok bool) {
	for i := 1; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '-') {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != ':' {
			continue
		}
		spec := string(s[i+1 : j])
		from, to, _ := strings.Cut(spec, "-")
		ls, cs, _ := strings.Cut(from, ".")
		n, ok1 := atoi([]byte(ls))
		if !ok1 || n == 0 {
			continue
		}
		line = n
		col, _ = atoi([]byte(cs))
		if to != "" {
			l2, c2, _ := strings.Cut(to, ".")
			if n2, _ := atoi([]byte(l2)); n2 == line {
				endCol, _ = atoi([]byte(c2))
			}
		}
		p = string(s[:i])
		if strings.ContainsAny(p, " \t") {
			return "", 0, 0, 0, nil, false
		}
		return p, line, col, endCol, s[j+1:], true
	}
	return "", 0, 0, 0, nil, false
}

// yosysPlace finds the source place of a hierarchy or include error.
func yosysPlace(msg string, read func(string) []byte, files []string) (string, int, int, int, bool) {
	if strings.HasPrefix(msg, "Can't open include file `") {
		name, _, _ := strings.Cut(msg[len("Can't open include file `"):], "'")
		for _, f := range files {
			for _, inc := range includes(read(f)) {
				if inc.name == name {
					return f, inc.line + 1, inc.start + 1, inc.end + 1, true
				}
			}
		}
		return "", 0, 0, 0, false
	}
	q := quoted(msg)
	mi := strings.Index(msg, " referenced in module `")
	ci := strings.Index(msg, " in cell `")
	if mi < 0 || ci < 0 || len(q) < 3 {
		return "", 0, 0, 0, false
	}
	typ, mod, cell := q[0], q[1], q[2]
	target := typ
	for _, k := range []string{"port named '", "parameter named '"} {
		if i := strings.Index(msg, k); i >= 0 {
			if n, _, ok := strings.Cut(msg[i+len(k):], "'"); ok {
				target = "." + n
			}
		}
	}
	for _, f := range files {
		src := read(f)
		ms := findModule(src, mod)
		if ms < 0 {
			continue
		}
		body := src[ms:]
		if e := findWordBytes(body, "endmodule", 0); e >= 0 {
			body = body[:e]
		}
		ci := findWordBytes(body, cell, 0)
		if ci < 0 {
			return "", 0, 0, 0, false
		}
		off := ms + ci
		if target != typ { // .port after the cell name
			if t := bytes.Index(body[ci:], []byte(target)); t >= 0 {
				off = ms + ci + t + 1
				target = target[1:]
			}
		} else if t := lastWordBefore(body[:ci], typ); t >= 0 {
			off = ms + t
		} else {
			target = cell
		}
		line := bytes.Count(src[:off], []byte("\n"))
		lstart := bytes.LastIndexByte(src[:off], '\n') + 1
		c := off - lstart + 1
		if c+len(target) > len(lineOf(src, line))+1 {
			return f, line + 1, c, 0, true
		}
		return f, line + 1, c, c + len(target), true
	}
	return "", 0, 0, 0, false
}

// findModule returns the offset of "module name" (or interface, program)
// in src, -1 when absent.
func findModule(src []byte, name string) int {
	for off := 0; ; {
		i := findWordBytes(src, name, off)
		if i < 0 {
			return -1
		}
		off = i + 1
		j := i
		for j > 0 && isSpace(src[j-1]) || j > 0 && src[j-1] == '\n' {
			j--
		}
		for _, kw := range []string{"module", "macromodule", "interface", "program"} {
			if j >= len(kw) && string(src[j-len(kw):j]) == kw && (j == len(kw) || !isIdentByte(src[j-len(kw)-1])) {
				return i
			}
		}
	}
}

func findWordBytes(src []byte, w string, from int) int {
	for off := from; off <= len(src)-len(w); {
		i := bytes.Index(src[off:], []byte(w))
		if i < 0 {
			return -1
		}
		i += off
		off = i + 1
		if i > 0 && isIdentByte(src[i-1]) || i+len(w) < len(src) && isIdentByte(src[i+len(w)]) {
			continue
		}
		return i
	}
	return -1
}

// lastWordBefore returns the offset of the last occurrence of w as a word
// in b, -1 when absent.
func lastWordBefore(b []byte, w string) int {
	last := -1
	for off := 0; ; {
		i := findWordBytes(b, w, off)
		if i < 0 {
			return last
		}
		last, off = i, i+1
	}
}

// dropYosysSVSyntax drops yosys' syntax errors in SystemVerilog files; see
// the package doc.
func dropYosysSVSyntax(ds []Diagnostic) []Diagnostic {
	out := ds[:0]
	for _, d := range ds {
		if isSV(d.Path) && strings.Contains(d.Message, "syntax error") {
			continue
		}
		out = append(out, d)
	}
	return out
}
