// Package problems turns the output of FPGA and HDL tools into problems
// (errors and warnings with a workspace-relative file, line and column) as
// the output streams: a Collector is an io.Writer that takes a task's output
// in arbitrary chunks, splits it into lines, strips ANSI escape codes and
// runs the matchers on each line.
//
// Formats recognised (seen in the real output of the Debian bookworm tools;
// testdata holds the captures and their versions):
//
//	yosys      "f.v:11: ERROR: msg", "f.v:4: Warning: msg", "ERROR: msg",
//	           "Warning: msg (f.v:6)", "Warning: msg"
//	nextpnr    "ERROR: msg (on line 7)" and "Warning: msg (on line 8)" for
//	           the .pcf given with --pcf, "ERROR: msg", "Warning: msg"
//	icepack    "Error: msg"
//	icetime    "// Checking 2.50 ns (400.00 MHz) clock constraint: FAILED.",
//	           "Can't open input file: ..." while icetime runs
//	iverilog   "f.v:11: syntax error", "f.v:5: error: msg", "f.v:5: warning: msg",
//	           "f.v:11: msg" (a follow-up of an error on that line is dropped)
//	verilator  "%Error: f.v:11:5: msg", "%Warning-WIDTH: f.v:4:16: msg",
//	           "%Error-CODE: ...", "%Error: msg"
//	ghdl       "f.vhd:7:23: msg" (error), "f.vhd:7:23:warning: msg",
//	           "f.vhd:7:23:note: msg", "ghdl:error: msg"
//	make       "Makefile:2: *** missing separator.  Stop.",
//	           "make: *** No rule to make target 'x', needed by 'y'.  Stop.",
//	           "make[1]: *** [Makefile:2: all] Error 1" (a failed recipe; kept
//	           as an error only when nothing else explained the failure)
//
// Which tool wrote a line is known from the command line make echoes before
// running it ("yosys -p ...", "nextpnr-ice40 --pcf x.pcf ..."), or from
// Options.Command; "make[1]: Entering directory '...'" moves the directory
// relative paths are resolved against. Files outside the workspace (yosys'
// own techmap files) keep no file; their location stays in the message.
package problems

import (
	"bytes"
	"path/filepath"
	"strings"
	"sync"
)

// Severity of a problem.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Problem is one error or warning a tool reported.
//
// JSON: {"source":"yosys","severity":"error","file":"blinky.v","line":11,
// "column":5,"message":"syntax error, unexpected TOK_REG","code":"WIDTH"};
// file, line, column and code are left out when the tool gave none. Line
// and column are 1-based.
type Problem struct {
	Source   string   `json:"source"`
	Severity Severity `json:"severity"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Column   int      `json:"column,omitempty"`
	Message  string   `json:"message"`
	Code     string   `json:"code,omitempty"`
}

// Options configure a Collector; the zero value collects with paths kept as
// the tools wrote them.
type Options struct {
	// Root is the workspace's absolute path; paths are made relative to it.
	Root string
	// Dir is the task's working directory relative to Root ("" is Root).
	Dir string
	// Command is the task's argv; it names the first tool (a task that
	// runs yosys directly rather than through make).
	Command []string
	// Max bounds the problems kept; 0 means 1000. Later ones are counted.
	Max int
	// OnProblem, when set, is called (under the collector's lock, so keep
	// it short) for each problem as it is found.
	OnProblem func(Problem)
}

// Command is a tool invocation seen in the output (or the task's argv).
type Command struct {
	Tool string   // base name of argv[0], e.g. "nextpnr-ice40"
	Argv []string // split on blanks, with simple quotes removed
	Dir  string   // working directory relative to Root
}

// Flag returns the value after name in the command ("--pcf" → "x.pcf").
func (c Command) Flag(name string) string {
	for i, a := range c.Argv {
		if a == name && i+1 < len(c.Argv) {
			return c.Argv[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// Collector gathers the problems of one task's output.
type Collector struct {
	opts Options

	mu        sync.Mutex
	partial   []byte
	probs     []Problem
	dropped   int
	cmd       Command   // the tool now running
	commands  []Command // every tool invocation seen, in order
	dirs      []string  // make's directory stack (relative to Root)
	last      *Problem  // for follow-up lines
	explained bool      // a tool's own error was seen since the last make failure
}

// NewCollector returns a Collector for opts.
func NewCollector(opts Options) *Collector {
	if opts.Max <= 0 {
		opts.Max = 1000
	}
	c := &Collector{opts: opts}
	c.dirs = []string{opts.Dir}
	if len(opts.Command) > 0 {
		c.setCommand(opts.Command)
	}
	return c
}

// Write consumes output; it never fails.
func (c *Collector) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			// A line without end stays bounded.
			if len(c.partial) > 64<<10 {
				c.line(c.partial)
				c.partial = c.partial[:0]
			}
			break
		}
		if len(c.partial) > 0 {
			c.partial = append(c.partial, p[:i]...)
			c.line(c.partial)
			c.partial = c.partial[:0]
		} else {
			c.line(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// Flush matches an unfinished last line.
func (c *Collector) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 {
		c.line(c.partial)
		c.partial = nil
	}
}

// Problems returns a copy of the problems found so far and how many more
// were dropped beyond Options.Max.
func (c *Collector) Problems() ([]Problem, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Problem(nil), c.probs...), c.dropped
}

// Len is the number of problems kept so far.
func (c *Collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.probs)
}

// Since returns the problems from index i on.
func (c *Collector) Since(i int) []Problem {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= len(c.probs) {
		return nil
	}
	return append([]Problem(nil), c.probs[i:]...)
}

// Commands returns the tool invocations seen so far.
func (c *Collector) Commands() []Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Command(nil), c.commands...)
}

func (c *Collector) add(p Problem) {
	if p.File != "" {
		p.File = c.rel(p.File)
		if p.File == "" {
			p.Line, p.Column = 0, 0
		}
	}
	if p.Source == "" {
		p.Source = c.source()
	}
	if p.Severity == Error && p.Source != "make" {
		c.explained = true
	}
	if len(c.probs) >= c.opts.Max {
		c.dropped++
		return
	}
	c.probs = append(c.probs, p)
	c.last = &c.probs[len(c.probs)-1]
	if c.opts.OnProblem != nil {
		c.opts.OnProblem(p)
	}
}

func (c *Collector) source() string {
	if c.cmd.Tool != "" {
		return c.cmd.Tool
	}
	return "build"
}

// rel makes a path the tool wrote workspace-relative; "" when it lies
// outside the workspace.
func (c *Collector) rel(p string) string {
	dir := c.dirs[len(c.dirs)-1]
	if c.cmd.Tool != "" {
		dir = c.cmd.Dir
	}
	if filepath.IsAbs(p) {
		if c.opts.Root == "" {
			return filepath.ToSlash(filepath.Clean(p))
		}
		r, err := filepath.Rel(c.opts.Root, p)
		if err != nil || r == ".." || strings.HasPrefix(r, "../") {
			return ""
		}
		return filepath.ToSlash(r)
	}
	r := filepath.ToSlash(filepath.Clean(filepath.Join(dir, p)))
	if r == ".." || strings.HasPrefix(r, "../") {
		return ""
	}
	return r
}

// tools are the programs whose echoed command lines switch the matcher.
var tools = map[string]bool{
	"yosys": true, "nextpnr-ice40": true, "nextpnr-ecp5": true, "nextpnr-gowin": true, "nextpnr-generic": true,
	"icepack": true, "icetime": true, "iceprog": true, "iverilog": true, "vvp": true, "verilator": true, "ghdl": true,
	"make": true, "gmake": true, "ecppack": true, "gowin_pack": true, "openFPGALoader": true,
}

func (c *Collector) setCommand(argv []string) {
	tool := filepath.Base(argv[0])
	c.cmd = Command{Tool: tool, Argv: argv, Dir: c.dirs[len(c.dirs)-1]}
	if tool == "make" || tool == "gmake" {
		c.cmd.Tool = ""
		return
	}
	c.commands = append(c.commands, c.cmd)
}

// splitCommand splits an echoed command line on blanks, honouring simple
// single and double quotes (enough to find flags and their values).
func splitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	in := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == ' ' || ch == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func (c *Collector) line(raw []byte) {
	s := string(StripANSI(bytes.TrimRight(raw, "\r")))
	if strings.TrimSpace(s) == "" {
		return
	}
	// An echoed command line: "yosys -p '...' blinky.v", or a task's
	// "$ iverilog ..." announcing its next command.
	echo := strings.TrimPrefix(s, "$ ")
	if first, _, _ := strings.Cut(echo, " "); tools[filepath.Base(first)] && !strings.Contains(first, ":") {
		c.setCommand(splitCommand(echo))
		c.last = nil
		return
	}
	if c.makeLine(s) {
		return
	}
	var m matcher
	switch tool := c.cmd.Tool; {
	case tool == "yosys":
		m = c.yosys
	case strings.HasPrefix(tool, "nextpnr"):
		m = c.nextpnr
	case tool == "icepack" || tool == "iceprog" || tool == "ecppack":
		m = c.icepack
	case tool == "icetime":
		m = c.icetime
	case tool == "iverilog" || tool == "vvp":
		m = c.iverilog
	case tool == "verilator":
		m = c.verilator
	case tool == "ghdl":
		m = c.ghdl
	}
	if m != nil && m(s) {
		return
	}
	// Unknown context: formats distinctive enough on their own.
	for _, m := range []matcher{c.verilator, c.yosysFile, c.ghdl, c.iverilogStrict} {
		if m(s) {
			return
		}
	}
}

type matcher func(line string) bool
