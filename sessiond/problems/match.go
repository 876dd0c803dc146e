package problems

import (
	"path/filepath"
	"strings"
)

// fileLine parses a "path:line[:col]:" prefix (col only with wantCol or
// when present) and returns what follows, trimmed.
func fileLine(s string) (file string, line, col int, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || strings.ContainsAny(s[:i], " \t(") {
		return "", 0, 0, "", false
	}
	file = s[:i]
	s = s[i+1:]
	line, n := digits(s)
	if n == 0 || n >= len(s) || s[n] != ':' {
		return "", 0, 0, "", false
	}
	s = s[n+1:]
	if c, m := digits(s); m > 0 && m < len(s) && s[m] == ':' {
		col = c
		s = s[m+1:]
	}
	return file, line, col, strings.TrimSpace(s), true
}

// digits parses a leading decimal number; n is how many bytes it took.
func digits(s string) (v, n int) {
	for n < len(s) && s[n] >= '0' && s[n] <= '9' && n < 9 {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

// cutSeverity splits "ERROR: msg" / "Warning: msg" style prefixes.
func cutSeverity(s string, prefixes map[string]Severity) (Severity, string, bool) {
	for p, sev := range prefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return sev, strings.TrimSpace(rest), true
		}
	}
	return "", "", false
}

var yosysSev = map[string]Severity{"ERROR:": Error, "Warning:": Warning}

// yosysName drops RTLIL's backslash from escaped identifiers ("`\sub'").
func yosysName(s string) string { return strings.ReplaceAll(s, "`\\", "`") }

// yosysFile matches the located forms: "f.v:11: ERROR: msg".
func (c *Collector) yosysFile(s string) bool {
	f, l, col, rest, ok := fileLine(s)
	if !ok {
		return false
	}
	sev, msg, ok := cutSeverity(rest, yosysSev)
	if !ok {
		return false
	}
	c.add(Problem{Source: "yosys", Severity: sev, File: f, Line: l, Column: col, Message: yosysName(msg)})
	return true
}

func (c *Collector) yosys(s string) bool {
	if c.yosysFile(s) {
		return true
	}
	sev, msg, ok := cutSeverity(s, yosysSev)
	if !ok {
		return false
	}
	p := Problem{Severity: sev, Message: yosysName(msg)}
	// "Warning: Literal has a width of 8 bit, but value requires 12 bit. (warn2.v:6)"
	if strings.HasSuffix(msg, ")") {
		if i := strings.LastIndex(msg, " ("); i > 0 {
			if f, l, col, rest, ok := fileLine(msg[i+2:len(msg)-1] + ":"); ok && rest == "" {
				p.File, p.Line, p.Column, p.Message = f, l, col, yosysName(msg[:i])
			}
		}
	}
	c.add(p)
	return true
}

var nextpnrSev = map[string]Severity{"ERROR:": Error, "Warning:": Warning}

// nextpnr: "ERROR: package does not have a pin named '300' (on line 7)",
// the line being the --pcf file's.
func (c *Collector) nextpnr(s string) bool {
	sev, msg, ok := cutSeverity(s, nextpnrSev)
	if !ok {
		return false
	}
	p := Problem{Severity: sev, Message: msg}
	if i := strings.LastIndex(msg, " (on line "); i > 0 && strings.HasSuffix(msg, ")") {
		if l, n := digits(msg[i+10:]); n > 0 && i+10+n == len(msg)-1 {
			if pcf := c.cmd.Flag("--pcf"); pcf != "" {
				p.File, p.Line = pcf, l
			}
			p.Message = msg[:i]
		}
	}
	c.add(p)
	return true
}

// icepack: "Error: Failed to open input file."
func (c *Collector) icepack(s string) bool {
	if rest, ok := strings.CutPrefix(s, "Error: "); ok {
		c.add(Problem{Severity: Error, Message: strings.TrimSpace(rest)})
		return true
	}
	return false
}

// icetime: "// Checking 2.50 ns (400.00 MHz) clock constraint: FAILED."
func (c *Collector) icetime(s string) bool {
	switch {
	case strings.Contains(s, "clock constraint: FAILED"):
		c.add(Problem{Severity: Error, Message: strings.TrimSpace(strings.TrimPrefix(s, "//"))})
	case strings.HasPrefix(s, "Can't open"), strings.HasPrefix(s, "Error"):
		c.add(Problem{Severity: Error, Message: s})
	default:
		return false
	}
	return true
}

var iverilogSev = map[string]Severity{"error:": Error, "warning:": Warning, "sorry:": Error}

// iverilog: "f.v:11: syntax error", "f.v:5: error: Unknown module type: sub".
func (c *Collector) iverilog(s string) bool { return c.iverilogLine(s, false) }

func (c *Collector) iverilogStrict(s string) bool { return c.iverilogLine(s, true) }

func (c *Collector) iverilogLine(s string, strict bool) bool {
	f, l, col, rest, ok := fileLine(s)
	if !ok {
		return false
	}
	sev, msg, ok := cutSeverity(rest, iverilogSev)
	switch {
	case ok:
	case rest == "syntax error":
		sev, msg = Error, rest
	case strict:
		return false
	case c.last != nil && c.last.Line == l && c.last.File == c.rel(f):
		return true // "f.v:11: Syntax in assignment statement l-value." after the syntax error
	case strings.HasPrefix(rest, ":"):
		return true // a continuation
	default:
		sev, msg = Error, rest
	}
	c.add(Problem{Source: "iverilog", Severity: sev, File: f, Line: l, Column: col, Message: msg})
	return true
}

// verilator: "%Warning-WIDTH: vwarn.v:4:16: Operator ...".
func (c *Collector) verilator(s string) bool {
	if !strings.HasPrefix(s, "%") {
		return false
	}
	head, rest, ok := strings.Cut(s[1:], ": ")
	if !ok {
		return false
	}
	kind, code, _ := strings.Cut(head, "-")
	var sev Severity
	switch kind {
	case "Error":
		sev = Error
	case "Warning":
		sev = Warning
	default:
		return false
	}
	if strings.HasPrefix(rest, "Exiting due to") {
		return true
	}
	p := Problem{Source: "verilator", Severity: sev, Code: code, Message: rest}
	if f, l, col, msg, ok := fileLine(rest); ok {
		p.File, p.Line, p.Column, p.Message = f, l, col, msg
	}
	c.add(p)
	return true
}

// ghdl: "bad.vhd:7:23: missing \";\" ...", "f.vhd:3:1:warning: ...".
func (c *Collector) ghdl(s string) bool {
	if rest, ok := strings.CutPrefix(s, "ghdl:error:"); ok {
		c.add(Problem{Source: "ghdl", Severity: Error, Message: strings.TrimSpace(rest)})
		return true
	}
	f, l, col, rest, ok := fileLine(s)
	if !ok || col == 0 || strings.HasPrefix(f, "ghdl") {
		return false
	}
	sev := Error
	for p, sv := range map[string]Severity{"warning:": Warning, "note:": Info, "error:": Error} {
		if r, ok := strings.CutPrefix(rest, p); ok {
			sev, rest = sv, strings.TrimSpace(r)
		}
	}
	c.add(Problem{Source: "ghdl", Severity: sev, File: f, Line: l, Column: col, Message: rest})
	return true
}

// makeLine handles make's own messages and its directory changes.
func (c *Collector) makeLine(s string) bool {
	prog, rest, ok := strings.Cut(s, ": ")
	isMake := ok && (prog == "make" || prog == "gmake" || strings.HasPrefix(prog, "make[") || strings.HasPrefix(prog, "gmake["))
	if isMake {
		if d, ok := strings.CutPrefix(rest, "Entering directory "); ok {
			d = strings.Trim(d, "'`\"")
			c.dirs = append(c.dirs, c.relDir(d))
			return true
		}
		if strings.HasPrefix(rest, "Leaving directory ") {
			if len(c.dirs) > 1 {
				c.dirs = c.dirs[:len(c.dirs)-1]
			}
			return true
		}
		if msg, ok := strings.CutPrefix(rest, "*** "); ok {
			c.cmd = Command{}
			// "[Makefile:2: all] Error 1": a recipe failed.
			if strings.HasPrefix(msg, "[") {
				if c.explained {
					return true
				}
				c.explained = true
				inner, status, _ := strings.Cut(msg[1:], "] ")
				p := Problem{Source: "make", Severity: Error}
				if f, l, _, target, ok := fileLine(inner); ok {
					p.File, p.Line = f, l
					p.Message = "recipe for target '" + target + "' failed (" + status + ")"
				} else {
					p.Message = "recipe for target '" + inner + "' failed (" + status + ")"
				}
				c.add(p)
				return true
			}
			c.add(Problem{Source: "make", Severity: Error, Message: trimStop(msg)})
			c.explained = true
			return true
		}
		if msg, ok := strings.CutPrefix(rest, "warning: "); ok {
			c.add(Problem{Source: "make", Severity: Warning, Message: msg})
			return true
		}
		return false
	}
	// "Makefile:2: *** missing separator.  Stop."
	if f, l, _, msg, ok := fileLine(s); ok && strings.HasPrefix(msg, "*** ") && isMakefile(f) {
		c.cmd = Command{}
		c.add(Problem{Source: "make", Severity: Error, File: f, Line: l, Message: trimStop(msg[4:])})
		c.explained = true
		return true
	} else if ok && strings.HasPrefix(msg, "warning: ") && isMakefile(f) {
		c.add(Problem{Source: "make", Severity: Warning, File: f, Line: l, Message: msg[9:]})
		return true
	}
	return false
}

func isMakefile(f string) bool {
	b := filepath.Base(f)
	return strings.Contains(strings.ToLower(b), "makefile") || strings.HasSuffix(b, ".mk")
}

func trimStop(s string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "Stop."))
}

// relDir makes make's absolute directory workspace-relative.
func (c *Collector) relDir(d string) string {
	if c.opts.Root == "" || !filepath.IsAbs(d) {
		return d
	}
	r, err := filepath.Rel(c.opts.Root, d)
	if err != nil || strings.HasPrefix(r, "..") {
		return d
	}
	if r == "." {
		return ""
	}
	return filepath.ToSlash(r)
}
