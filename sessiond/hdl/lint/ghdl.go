package lint

import (
	"bytes"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

func ghdlArgs(o *Options, workdir string) []string {
	args := []string{"-s", "--std=08", "-Wunused", "--workdir=" + workdir}
	for _, f := range o.VHDL {
		args = append(args, toolArg(f))
	}
	return args
}

// ParseGHDL parses the output of ghdl 2 (-s). Messages are
//
//	file.vhd:10:10: can't match 'a' with type integer
//	file.vhd:10:14:warning: variable "a" is never referenced [-Wunused]
//
// (errors have no severity word; "warning:" and "note:" do), optionally
// followed by the source line and a caret line, which, like any other line
// without a location, are dropped. Columns are 1-based with tabs expanded
// to multiples of 8; the range is the token at that place. The trailing
// "[-Wname]" becomes Code "name".
func ParseGHDL(out []byte, read func(path string) []byte) []Diagnostic {
	ds, _, _ := parseGHDL(out, read)
	return ds
}

func parseGHDL(out []byte, read func(string) []byte) ([]Diagnostic, []string, bool) {
	var ds []Diagnostic
	for _, l := range lines(out) {
		p, line, col, rest, ok := location(l)
		if !ok || col == 0 {
			continue
		}
		msg := string(bytes.TrimSpace(rest))
		sev := design.Error
		switch {
		case strings.HasPrefix(msg, "warning:"):
			msg, sev = strings.TrimSpace(msg[len("warning:"):]), design.Warning
		case strings.HasPrefix(msg, "note:"):
			msg, sev = strings.TrimSpace(msg[len("note:"):]), design.Information
		case strings.HasPrefix(msg, "error:"):
			msg = strings.TrimSpace(msg[len("error:"):])
		}
		code := ""
		if strings.HasSuffix(msg, "]") {
			if i := strings.LastIndex(msg, " [-W"); i >= 0 {
				code = msg[i+4 : len(msg)-1]
				msg = msg[:i]
			}
		}
		p = cleanPath(p)
		bcol := byteColumn(lineOf(read(p), line-1), col)
		d := mk(read, p, line, bcol, nil)
		d.Severity, d.Message, d.Source, d.Code = sev, msg, GHDL, code
		ds = append(ds, d)
	}
	return ds, nil, hasError(ds)
}

// byteColumn converts ghdl's 1-based column (tabs to multiples of 8) to a
// 1-based byte column of l.
func byteColumn(l []byte, col int) int {
	c := 1
	for i := 0; i < len(l); i++ {
		if c >= col {
			return i + 1
		}
		if l[i] == '\t' {
			c = ((c-1)/8+1)*8 + 1
		} else {
			c++
		}
	}
	return len(l) + 1 + max(col-c, 0)
}
