package lint

import (
	"bytes"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

func iverilogArgs(o *Options) []string {
	args := []string{"-t", "null", "-Wall"}
	if o.hasSV() {
		args = append(args, "-g2012")
	}
	if o.Top != "" {
		args = append(args, "-s", o.Top)
	}
	for _, d := range o.IncludeDirs {
		args = append(args, "-I"+d)
	}
	for _, n := range o.sortedDefines() {
		// "-DNAME" alone would define NAME as 1.
		args = append(args, "-D"+n+"="+o.Defines[n])
	}
	for _, f := range o.Verilog {
		args = append(args, toolArg(f))
	}
	return args
}

// ParseIverilog parses the output of Icarus Verilog 11 (-t null). Messages
// are "file.v:12: error: text", "file.v:12: warning: text", "file.v:12:
// syntax error", "file.v:12: sorry: text" and "file.v:2: Include file x.vh
// not found"; there is no column. Lines "file.v:12:        : text" and
// "file.v:1: ...: text" continue the previous message (they are dropped);
// summaries ("2 error(s) during elaboration.", "*** These modules were
// missing:") have no location and are dropped, as are "sorry" (not
// supported) messages. The range is the first name the message quotes
// (`x', “x”, or after "Unknown module type: ") found on the line, else
// the line's text.
func ParseIverilog(out []byte, read func(path string) []byte) []Diagnostic {
	ds, _, _ := parseIverilog(out, read)
	return ds
}

func parseIverilog(out []byte, read func(string) []byte) ([]Diagnostic, []string, bool) {
	var ds []Diagnostic
	sawError := false
	for _, l := range lines(out) {
		p, line, _, rest, ok := location(l)
		if !ok {
			continue
		}
		rest = bytes.TrimSpace(rest)
		if len(rest) == 0 || rest[0] == ':' || bytes.HasPrefix(rest, []byte("...")) {
			continue // continuation of the previous message
		}
		msg := string(rest)
		sev := design.Error
		switch {
		case strings.HasPrefix(msg, "error: "):
			msg = msg[len("error: "):]
		case strings.HasPrefix(msg, "warning: "):
			msg, sev = msg[len("warning: "):], design.Warning
		case strings.HasPrefix(msg, "sorry: "):
			sawError = true
			continue
		}
		if strings.Contains(msg, "not supported") || strings.Contains(msg, "not currently supported") {
			sawError = sawError || sev == design.Error
			continue
		}
		hints := quoted(msg)
		if i := strings.Index(msg, "Unknown module type: "); i >= 0 {
			hints = append([]string{strings.TrimSpace(msg[i+len("Unknown module type: "):])}, hints...)
		}
		p = cleanPath(p)
		if strings.HasPrefix(msg, "Include file ") {
			name, _, _ := strings.Cut(msg[len("Include file "):], " ")
			hints = []string{name}
			// iverilog reports the line after the directive.
			if l := lineOf(read(p), line-1); findWord(l, name, -1) < 0 && line > 1 {
				if findWord(lineOf(read(p), line-2), name, -1) >= 0 {
					line--
				}
			}
		}
		d := mk(read, p, line, 0, hints)
		d.Severity, d.Message, d.Source = sev, msg, Iverilog
		ds = append(ds, d)
	}
	return ds, nil, sawError || hasError(ds)
}
