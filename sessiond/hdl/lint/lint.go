// Package lint runs the external HDL tools (verilator, iverilog, yosys and
// ghdl) over a workspace's files when one is saved and turns their messages
// into diagnostics with exact ranges in the source.
//
// Each tool runs in its own process group with the workspace as working
// directory, a timeout and a cap on its output. Messages are parsed per
// tool (the ParseX functions), mapped to the token they are about, tagged
// with the tool's name, and merged: when two tools report a problem on the
// same line the one from the more precise tool is kept (verilator, then
// ghdl, iverilog, yosys) and the others are named in Diagnostic.Also.
//
// Tool selection and noise policy:
//   - verilator: --lint-only -Wall -Wno-fatal --timing; -Wno-MULTITOP when
//     no Top is given (a workspace has several tops: testbenches).
//   - iverilog: -t null -Wall, -g2012 when a file is SystemVerilog. With
//     Options.Tools nil it runs only when no file is SystemVerilog (.sv,
//     .svh): iverilog 11 rejects many SV constructs (header imports,
//     classes) with syntax errors that are not errors. Its "sorry: ... not
//     supported" messages are always dropped.
//   - yosys: one read_verilog per file (-sv for .sv), then hierarchy -check
//     (-top T when Top is set). Without Top it does not use -auto-top:
//     that removes every module outside the chosen top's hierarchy, and
//     their unknown-module errors with them. Yosys stops at its first
//     error; its syntax errors in SystemVerilog files are dropped when
//     verilator ran too (verilator reports a real one itself, so what
//     remains is yosys not supporting a construct), as are its
//     "not supported"/"unsupported" messages.
//   - ghdl: -s --std=08 -Wunused --workdir=<temp> over the VHDL files in
//     order; ghdl stops at the first file with errors.
package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"gatewave.dev/sessiond/hdl/design"
)

// Tool names, also the Source of their diagnostics.
const (
	Verilator = "verilator"
	Iverilog  = "iverilog"
	Yosys     = "yosys"
	GHDL      = "ghdl"
)

// allTools in de-duplication priority order (most precise first).
var allTools = []string{Verilator, GHDL, Iverilog, Yosys}

// Options says what to lint and how. The zero value lints nothing.
type Options struct {
	// Root is the absolute workspace directory; tools run with it as working directory; paths below are workspace-relative with '/'.
	Root string
	// Verilog are the Verilog/SV files in compilation order (headers that are only `include'd are NOT in it); VHDL the VHDL files in dependency order (packages before users).
	Verilog, VHDL []string
	IncludeDirs   []string          // workspace-relative
	Defines       map[string]string // NAME -> value ("" = defined empty)
	Top           string            // "" = let the tool decide (yosys: hierarchy -check over all modules, see the package doc)
	// Tools limits which run ("verilator","iverilog","yosys","ghdl"); nil = every installed one applicable to the files.
	Tools []string
	// Timeout per tool; 0 = 30 s. A tool that times out yields one Diagnostic saying so (Severity Warning), not an error.
	Timeout time.Duration
	// Env is the environment for the tools; nil = os.Environ() (the caller scrubs secrets).
	Env []string
}

// Diagnostic is one tool message mapped to its place in the source.
type Diagnostic struct {
	Path string // workspace-relative; messages about files outside Root are attached to the `include directive that pulled them in when one names them, else dropped
	// 0-based line and byte column, end exclusive; always a non-empty range on the line (e.g. the identifier or token the message is about).
	StartLine, StartCol, EndLine, EndCol int
	Severity                             design.Severity
	Message                              string // the tool's message without the file:line prefix and without its context lines
	Source                               string // "verilator", "iverilog", "yosys", "ghdl"
	Code                                 string // verilator's warning/error code ("WIDTH"), ghdl's warning name ("unused"), else ""
	// Also names the other tools that reported the same problem on the
	// same line (their diagnostics were merged into this one).
	Also []string `json:",omitempty"`
}

// maxOutput caps what is kept of one tool's output; past it the tool is
// killed.
const maxOutput = 4 << 20

// Available lists the installed tools (found in PATH).
func Available() []string {
	var out []string
	for _, t := range []string{Verilator, Iverilog, Yosys, GHDL} {
		if _, err := exec.LookPath(t); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// Run runs the applicable tools concurrently and returns their merged,
// de-duplicated diagnostics sorted by path and position. Cancelling ctx
// kills the tools' process groups; Run then returns ctx's error.
func Run(ctx context.Context, opts Options) ([]Diagnostic, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	tools := opts.selectTools()
	if len(tools) == 0 {
		return nil, nil
	}
	fr := newFileReader(opts.Root)
	results := make([][]Diagnostic, len(tools))
	errs := make([]error, len(tools))
	var wg sync.WaitGroup
	for i, t := range tools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runTool(ctx, t, &opts, fr)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	var all []Diagnostic
	for _, r := range results {
		for _, d := range r {
			if d, ok := fr.place(d, &opts); ok {
				all = append(all, d)
			}
		}
	}
	return Merge(all), nil
}

func (o *Options) check() error {
	if len(o.Verilog)+len(o.VHDL) == 0 {
		return nil
	}
	if !filepath.IsAbs(o.Root) {
		return fmt.Errorf("root %q is not absolute", o.Root)
	}
	for name := range o.Defines {
		if !isIdent(name) {
			return fmt.Errorf("define %q is not an identifier", name)
		}
	}
	if o.Top != "" && !isIdent(o.Top) {
		return fmt.Errorf("top %q is not an identifier", o.Top)
	}
	for _, t := range o.Tools {
		switch t {
		case Verilator, Iverilog, Yosys, GHDL:
		default:
			return fmt.Errorf("unknown tool %q", t)
		}
	}
	return nil
}

// selectTools picks the tools to run in priority order: those asked for
// (or all) that are installed and have files to work on.
func (o *Options) selectTools() []string {
	want := func(t string) bool {
		if o.Tools == nil {
			return true
		}
		for _, x := range o.Tools {
			if x == t {
				return true
			}
		}
		return false
	}
	sv := o.hasSV()
	var out []string
	for _, t := range allTools {
		if !want(t) {
			continue
		}
		if _, err := exec.LookPath(t); err != nil {
			continue
		}
		switch t {
		case GHDL:
			if len(o.VHDL) == 0 {
				continue
			}
		case Iverilog:
			if len(o.Verilog) == 0 || sv && o.Tools == nil {
				continue
			}
		default:
			if len(o.Verilog) == 0 {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func (o *Options) hasSV() bool {
	for _, f := range o.Verilog {
		if isSV(f) {
			return true
		}
	}
	return false
}

func isSV(f string) bool {
	ext := strings.ToLower(path.Ext(f))
	return ext == ".sv" || ext == ".svh"
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 30 * time.Second
}

// toolArg makes a workspace-relative path safe as a command argument: one
// starting with '-' or '+' would be taken for an option.
func toolArg(p string) string {
	if strings.HasPrefix(p, "-") || strings.HasPrefix(p, "+") {
		return "./" + p
	}
	return p
}

// runTool runs one tool and parses its output.
func runTool(ctx context.Context, tool string, o *Options, fr *fileReader) ([]Diagnostic, error) {
	tmp, err := os.MkdirTemp("", "gatewave-lint-"+tool+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: temp dir: %w", tool, err)
	}
	defer os.RemoveAll(tmp)
	var args []string
	var parse func(out []byte) ([]Diagnostic, []string, bool)
	anchorFiles := o.Verilog
	switch tool {
	case Verilator:
		var undo func(string) string
		args, undo, err = verilatorArgs(o, tmp)
		if err != nil {
			return nil, fmt.Errorf("verilator: %w", err)
		}
		parse = func(out []byte) ([]Diagnostic, []string, bool) {
			ds, un, sawError := parseVerilator(out, fr.read, undo)
			return ds, un, sawError
		}
	case Iverilog:
		args = iverilogArgs(o)
		parse = func(out []byte) ([]Diagnostic, []string, bool) { return parseIverilog(out, fr.read) }
	case Yosys:
		var undo func(string) string
		args, undo, err = yosysArgs(o, tmp)
		if err != nil {
			return nil, fmt.Errorf("yosys: %w", err)
		}
		withVerilator := false
		for _, t := range o.selectTools() {
			withVerilator = withVerilator || t == Verilator
		}
		parse = func(out []byte) ([]Diagnostic, []string, bool) {
			ds, un, sawError := parseYosys(out, func(p string) []byte { return fr.read(undo(p)) }, o.Verilog, undo)
			if withVerilator {
				ds = dropYosysSVSyntax(ds)
			}
			return ds, un, sawError
		}
	case GHDL:
		args = ghdlArgs(o, tmp)
		parse = func(out []byte) ([]Diagnostic, []string, bool) { return parseGHDL(out, fr.read) }
		anchorFiles = o.VHDL
	}
	res, err := execTool(ctx, tool, args, o.Root, o.env(), o.timeout())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	if ctx.Err() != nil {
		return nil, nil
	}
	ds, unlocated, sawError := parse(res.out)
	anchor := func(msg string, sev design.Severity) {
		if d, ok := fr.anchor(anchorFiles, tool, msg, sev); ok {
			ds = append(ds, d)
		}
	}
	for _, m := range unlocated {
		anchor(m, design.Error)
	}
	switch {
	case res.timedOut:
		anchor(fmt.Sprintf("%s timed out after %s", tool, o.timeout()), design.Warning)
	case res.truncated:
		anchor(fmt.Sprintf("%s printed more than %d bytes; stopped", tool, maxOutput), design.Warning)
	case res.exitErr != nil && !sawError && len(unlocated) == 0:
		anchor(fmt.Sprintf("%s failed (%v): %s", tool, res.exitErr, lastLine(res.out)), design.Warning)
	}
	return ds, nil
}

func hasError(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == design.Error {
			return true
		}
	}
	return false
}

func lastLine(out []byte) string {
	out = bytes.TrimSpace(out)
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	if len(out) > 200 {
		out = out[:200]
	}
	return string(bytes.TrimSpace(out))
}

func (o *Options) env() []string {
	if o.Env != nil {
		return o.Env
	}
	return os.Environ()
}

// sortedDefines returns the define names in a stable order.
func (o *Options) sortedDefines() []string {
	names := make([]string, 0, len(o.Defines))
	for n := range o.Defines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func toolRank(t string) int {
	for i, x := range allTools {
		if x == t {
			return i
		}
	}
	return len(allTools)
}

// Merge de-duplicates and sorts diagnostics. Rules: the same message at
// the same place from one tool is kept once; a diagnostic from a tool is
// merged into one from a higher-priority tool (verilator > ghdl > iverilog
// > yosys) at the same path and line whose severity is at least as high
// (iverilog and yosys give no column, and two tools reporting on one line
// are, in practice, reporting the same problem); the merged tool is listed
// in Also. The result is sorted by path, line, column, tool priority and
// message.
func Merge(ds []Diagnostic) []Diagnostic {
	sort.SliceStable(ds, func(i, j int) bool { return less(&ds[i], &ds[j]) })
	type lineKey struct {
		path string
		line int
	}
	// byLine holds the indices in out of the kept diagnostics per line.
	byLine := map[lineKey][]int{}
	// order by priority so higher-priority tools are kept first
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return toolRank(ds[idx[a]].Source) < toolRank(ds[idx[b]].Source) })
	keep := make([]bool, len(ds))
	for _, i := range idx {
		d := &ds[i]
		k := lineKey{d.Path, d.StartLine}
		dup := false
		for _, j := range byLine[k] {
			e := &ds[j]
			if e.Source == d.Source {
				if e.Message == d.Message && (e.StartCol == d.StartCol || e.Source != Verilator) {
					dup = true
					break
				}
				continue
			}
			if e.Severity <= d.Severity { // design.Error is 1: lower is more severe
				dup = true
				if !contains(e.Also, d.Source) {
					e.Also = append(e.Also, d.Source)
				}
				break
			}
		}
		if dup {
			continue
		}
		keep[i] = true
		byLine[k] = append(byLine[k], i)
	}
	out := ds[:0:0]
	for i := range ds {
		if keep[i] {
			out = append(out, ds[i])
		}
	}
	for i := range out {
		sort.Slice(out[i].Also, func(a, b int) bool { return toolRank(out[i].Also[a]) < toolRank(out[i].Also[b]) })
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func less(a, b *Diagnostic) bool {
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	if a.StartLine != b.StartLine {
		return a.StartLine < b.StartLine
	}
	if a.StartCol != b.StartCol {
		return a.StartCol < b.StartCol
	}
	if ra, rb := toolRank(a.Source), toolRank(b.Source); ra != rb {
		return ra < rb
	}
	return a.Message < b.Message
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			return false
		}
	}
	return true
}
