package lint

import (
	"bytes"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// verilatorArgs builds verilator's command line; paths with blanks are
// reached through symlinks in tmp (verilator cuts them in its messages),
// undo maps them back.
func verilatorArgs(o *Options, tmp string) ([]string, func(string) string, error) {
	al := &aliaser{root: o.Root, tmp: tmp, safe: noBlanks}
	args := []string{"--lint-only", "-Wall", "-Wno-fatal", "--timing", "--error-limit", "1000"}
	if o.Top != "" {
		args = append(args, "--top-module", o.Top)
	} else {
		args = append(args, "-Wno-MULTITOP")
	}
	for _, d := range o.IncludeDirs {
		a, err := al.name(d, true)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, "-I"+a)
	}
	for _, n := range o.sortedDefines() {
		args = append(args, "-D"+n+"="+o.Defines[n])
	}
	for _, f := range o.Verilog {
		a, err := al.name(f, false)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, a)
	}
	return args, al.undo, nil
}

// ParseVerilator parses the output of verilator 5 (--lint-only). A message
// is a line
//
//	%Warning-UNUSEDSIGNAL: file.v:5:10: Signal is not driven, nor used: 'x'
//	%Error: file.v:6:5: Cannot find file containing module: 'foo'
//
// followed by context lines (never starting with '%'): "   : ... In
// instance t", the source line "    5 |     wire x;" and its underline
// "      |          ^~~~~~~~~" (the range's length when it is for the
// message's own line and column), URLs and notes. The context is not kept
// in the message. Messages without a file (the "Exiting due to" summary)
// are dropped; verilator's second "This may be because there's no search
// path" error after an unknown module is dropped too. Verilator's columns
// are 1-based bytes of the preprocessed line (comments before the token
// shift them), so the token under the underline is looked up in the real
// line near that column.
func ParseVerilator(out []byte, read func(path string) []byte) []Diagnostic {
	ds, _, _ := parseVerilator(out, read, func(p string) string { return p })
	return ds
}

type vmsg struct {
	sev        design.Severity
	code       string
	path       string
	line, col  int
	msg        string
	tok        string // text under the underline
	gotSnippet bool
	snippetLn  int // line number of the first snippet line seen
	snippetTxt []byte
}

func parseVerilator(out []byte, read func(string) []byte, undo func(string) string) ([]Diagnostic, []string, bool) {
	var ds []Diagnostic
	var unlocated []string
	var cur *vmsg
	flush := func() {
		if cur == nil {
			return
		}
		m := cur
		cur = nil
		if strings.HasPrefix(m.msg, "This may be because there's no search path") {
			return
		}
		hints := []string{m.tok}
		hints = append(hints, quoted(m.msg)...)
		d := mk(read, m.path, m.line, m.col, hints)
		d.Severity, d.Message, d.Source, d.Code = m.sev, m.msg, Verilator, m.code
		ds = append(ds, d)
	}
	for _, l := range lines(out) {
		if len(l) > 0 && l[0] == '%' {
			flush()
			i := bytes.IndexByte(l, ':')
			if i < 0 {
				continue
			}
			head, rest := string(l[1:i]), bytes.TrimLeft(l[i+1:], " ")
			kind, code, _ := strings.Cut(head, "-")
			var sev design.Severity
			switch kind {
			case "Error":
				sev = design.Error
			case "Warning":
				sev = design.Warning
			default:
				sev = design.Information
			}
			p, line, col, msg, ok := location(rest)
			if !ok {
				m := string(rest)
				if sev == design.Error && !strings.HasPrefix(m, "Exiting due to") {
					unlocated = append(unlocated, m)
				}
				continue
			}
			cur = &vmsg{sev: sev, code: code, path: cleanPath(undo(cleanPath(p))), line: line, col: col, msg: string(bytes.TrimSpace(msg))}
			continue
		}
		if cur == nil || cur.gotSnippet {
			continue
		}
		// "   12 | text" or "      |    ^~~~"
		bar := bytes.Index(l, []byte(" | "))
		if bar < 0 {
			if t := bytes.TrimRight(l, " "); bytes.HasSuffix(t, []byte(" |")) {
				bar = len(t) - 2
			} else {
				continue
			}
		}
		num := bytes.TrimSpace(l[:bar])
		txt := l[min(bar+3, len(l)):]
		if len(num) > 0 {
			n, ok := atoi(num)
			if !ok {
				continue
			}
			cur.snippetLn, cur.snippetTxt = n, txt
			continue
		}
		if cur.snippetLn == 0 {
			continue
		}
		c := bytes.IndexByte(txt, '^')
		if c < 0 {
			continue
		}
		e := c + 1
		for e < len(txt) && txt[e] == '~' {
			e++
		}
		cur.gotSnippet = true
		if cur.snippetLn == cur.line && c == cur.col-1 && e <= len(cur.snippetTxt) {
			cur.tok = string(cur.snippetTxt[c:e])
		}
	}
	flush()
	return ds, unlocated, hasError(ds)
}
