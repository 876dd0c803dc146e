package sim

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gatewave.dev/sessiond/hdl/project"
	"gatewave.dev/sessiond/workspace"
)

// The simulators.
const (
	Iverilog  = "iverilog"
	Verilator = "verilator"
	GHDL      = "ghdl"
)

// OutDir is where runs put what they compile, relative to the workspace.
const OutDir = "build/sim"

// Result is a finished run as the task's "result" reports it.
type Result struct {
	Testbench string `json:"testbench"`
	Top       string `json:"top"`
	Simulator string `json:"simulator"`
	// Passed is true when every command exited 0 and the log shows no
	// failure.
	Passed bool `json:"passed"`
	// Stage is where the run ended: "compile" (the compiler or analyser
	// failed) or "run" (the simulation ran).
	Stage string `json:"stage"`
	// Reason says why a run failed: the failure's message ("assertion
	// failed: count is 3"), or "exit status N" when the log names none.
	Reason string `json:"reason,omitempty"`
	// Failure is where the first failure is, when the log says.
	Failure *Location `json:"failure,omitempty"`
	// Waves is the dump file the run wrote (workspace-relative), if any.
	Waves string `json:"waves,omitempty"`
}

// Location is a place in a source file a tool's log names.
type Location struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Column is 1-based, 0 when the tool gives none.
	Column int `json:"column,omitempty"`
	// Log is the log line it was read from.
	Log string `json:"log"`
}

// plan is the commands of one run and what to expect of them.
type plan struct {
	compile, run []string
	waves        string // the dump file the run should write, or ""
	mkdirs       []string
}

// artifact names the run's outputs after the testbench's path.
func artifact(file string) string {
	stem := strings.TrimSuffix(file, path.Ext(file))
	return strings.NewReplacer("/", "_", " ", "_").Replace(stem)
}

// makePlan builds the commands of tb under simulator. srcText reads a
// source so the plan can find the $dumpfile it asks for.
func makePlan(tb Testbench, simulator string, snap *project.Snapshot) plan {
	name := artifact(tb.File)
	var p plan
	p.mkdirs = []string{OutDir}
	dump, fst := "", false
	if simulator != GHDL {
		dump = dumpFile(tb.Files, snap)
		fst = strings.HasSuffix(strings.ToLower(dump), ".fst")
	}
	var incs, defs []string
	for _, d := range tb.IncludeDirs {
		incs = append(incs, "-I"+d)
	}
	for _, k := range slices.Sorted(maps.Keys(tb.Defines)) {
		if v := tb.Defines[k]; v != "" {
			defs = append(defs, "-D"+k+"="+v)
		} else {
			defs = append(defs, "-D"+k)
		}
	}
	switch simulator {
	case Iverilog:
		out := path.Join(OutDir, name+".vvp")
		p.compile = append([]string{"iverilog", "-g2012", "-o", out, "-s", tb.Top}, incs...)
		p.compile = append(append(append(p.compile, defs...), tb.args...), tb.Files...)
		p.run = []string{"vvp", "-n", out}
		if fst {
			p.run = append(p.run, "-fst")
		}
	case Verilator:
		mdir := path.Join(OutDir, "obj_"+name)
		p.compile = []string{"verilator", "--binary", "--timing", "--assert", "-Wno-fatal", "-j", "2", "--top-module", tb.Top, "-Mdir", mdir}
		switch {
		case fst:
			p.compile = append(p.compile, "--trace-fst")
		case dump != "":
			p.compile = append(p.compile, "--trace")
		}
		p.compile = append(append(append(append(p.compile, incs...), defs...), tb.args...), tb.Files...)
		p.run = []string{path.Join(mdir, "V"+tb.Top)}
	case GHDL:
		work := "--workdir=" + path.Join(OutDir, "ghdl_"+name)
		p.mkdirs = append(p.mkdirs, path.Join(OutDir, "ghdl_"+name))
		p.compile = append(append([]string{"ghdl", "-a", "--std=08", work}, tb.args...), tb.Files...)
		dump = path.Join(OutDir, name+".vcd")
		p.run = []string{"ghdl", "--elab-run", "--std=08", work, tb.Top, "--vcd=" + dump}
	}
	if dump != "" {
		p.waves = dump
		if d := path.Dir(dump); d != "." {
			p.mkdirs = append(p.mkdirs, d)
		}
	}
	return p
}

// dumpFile is the file a Verilog testbench dumps to: the first
// $dumpfile("name") in its files, "dump.vcd" (the tools' default) when it
// calls $dumpvars without one, or "" when it dumps nothing.
func dumpFile(files []string, snap *project.Snapshot) string {
	vars := false
	for _, f := range files {
		src := snap.Source(f)
		if src == nil {
			continue
		}
		text := src.Src
		if i := bytes.Index(text, []byte("$dumpfile")); i >= 0 {
			rest := bytes.TrimLeft(text[i+len("$dumpfile"):], " \t")
			if len(rest) > 0 && rest[0] == '(' {
				rest = bytes.TrimLeft(rest[1:], " \t")
				if len(rest) > 0 && rest[0] == '"' {
					if j := bytes.IndexByte(rest[1:], '"'); j >= 0 {
						if name, err := workspace.Clean(string(rest[1 : 1+j])); err == nil && name != "." {
							return name
						}
					}
				}
			}
		}
		vars = vars || bytes.Contains(text, []byte("$dumpvars"))
	}
	if vars {
		return "dump.vcd"
	}
	return ""
}

// judge reads a finished run's log. step is the command that ran last (0
// the compiler, 1 the simulation), code its exit status, runLine the line
// that announced the simulation in the log.
func judge(r Result, simulator string, step, code int, out []byte, runLine string) Result {
	compileLog, runLog := out, []byte(nil)
	if step >= 1 {
		if i := bytes.Index(out, []byte(runLine)); i >= 0 {
			compileLog, runLog = out[:i], out[i+len(runLine):]
		}
	}
	r.Stage = "compile"
	var fail *failure
	if step >= 1 {
		r.Stage = "run"
		fail = firstFailure(simulator, "run", runLog)
	} else if code != 0 {
		fail = firstFailure(simulator, "compile", compileLog)
	}
	switch {
	case fail != nil:
		r.Reason = fail.reason
		r.Failure = fail.loc
	case code != 0 && r.Stage == "compile":
		r.Reason = fmt.Sprintf("compile failed: exit status %d", code)
	case code != 0:
		r.Reason = "exit status " + strconv.Itoa(code)
	}
	r.Passed = r.Reason == ""
	return r
}

type failure struct {
	reason string
	loc    *Location
}

// firstFailure finds the first line of log that reports a failure.
func firstFailure(simulator, stage string, log []byte) *failure {
	for _, raw := range strings.Split(string(log), "\n") {
		line := strings.TrimRight(raw, "\r")
		if f := lineFailure(simulator, stage, line); f != nil {
			if f.reason = strings.TrimSpace(f.reason); f.reason == "" || strings.HasSuffix(f.reason, ":") {
				f.reason = strings.TrimSpace(line)
			}
			return f
		}
	}
	return nil
}

func lineFailure(simulator, stage, line string) *failure {
	switch simulator {
	case Iverilog:
		if stage == "run" {
			// ERROR: tb.v:12: message   /   FATAL: tb.v:12: message
			for _, kind := range []string{"ERROR: ", "FATAL: "} {
				if rest, ok := strings.CutPrefix(line, kind); ok {
					loc, msg := location(rest, line)
					return &failure{reason: iverilogReason(kind, msg, loc), loc: loc}
				}
			}
			if strings.Contains(line, "Assertion failed") {
				return &failure{reason: line}
			}
			return nil
		}
		// tb.v:3: error: ... / tb.v:3: syntax error / sorry: ...
		if strings.Contains(line, ": error:") || strings.Contains(line, ": syntax error") || strings.Contains(line, ": sorry:") {
			loc, msg := location(line, line)
			return &failure{reason: "compile failed: " + msg, loc: loc}
		}
	case Verilator:
		// [5] %Error: tb.v:5: Assertion failed in TOP.tb: message
		// %Fatal: tb.v:6: message / %Error: tb.v:2:10: message
		s := line
		if strings.HasPrefix(s, "[") {
			if i := strings.Index(s, "] "); i >= 0 {
				s = s[i+2:]
			}
		}
		for _, kind := range []string{"%Error", "%Fatal"} {
			rest, ok := strings.CutPrefix(s, kind)
			if !ok {
				continue
			}
			if i := strings.Index(rest, ": "); i >= 0 && (rest[0] == ':' || rest[0] == '-') {
				rest = rest[i+2:]
			} else {
				continue
			}
			if strings.HasPrefix(rest, "Exiting due to") {
				return nil
			}
			loc, msg := location(rest, line)
			if stage == "compile" {
				return &failure{reason: "compile failed: " + msg, loc: loc}
			}
			if a, ok := strings.CutPrefix(msg, "Assertion failed in "); ok {
				if i := strings.Index(a, ": "); i >= 0 {
					a = a[i+2:]
				}
				return &failure{reason: "assertion failed: " + a, loc: loc}
			}
			if kind == "%Fatal" {
				return &failure{reason: "$fatal: " + msg, loc: loc}
			}
			return &failure{reason: msg, loc: loc}
		}
	case GHDL:
		if stage == "run" {
			// tb.vhd:12:5:@11ns:(assertion error): message
			for _, kind := range []string{"(assertion error)", "(assertion failure)", "(report error)", "(report failure)"} {
				if i := strings.Index(line, ":"+kind+":"); i >= 0 {
					loc, _ := location(line[:i]+": ", line)
					msg := strings.TrimSpace(line[i+len(kind)+2:])
					word := "assertion failed"
					if strings.HasPrefix(kind, "(report") {
						word = "report " + strings.TrimSuffix(strings.TrimPrefix(kind, "(report "), ")")
					}
					return &failure{reason: word + ": " + msg, loc: loc}
				}
			}
			if strings.Contains(line, ":error:") && !strings.Contains(line, "simulation failed") {
				return &failure{reason: line[strings.Index(line, ":error:")+len(":error:"):]}
			}
			return nil
		}
		// tb.vhd:3:3: no declaration for "x"   (warnings say :warning:)
		if strings.Contains(line, ":warning:") || strings.Contains(line, ":note:") {
			return nil
		}
		if loc, msg := location(line, line); loc != nil {
			return &failure{reason: "compile failed: " + strings.TrimPrefix(msg, "error: "), loc: loc}
		}
		if strings.Contains(line, "error:") {
			return &failure{reason: "compile failed: " + line}
		}
	}
	return nil
}

func iverilogReason(kind, msg string, loc *Location) string {
	if kind == "FATAL: " {
		return "$fatal: " + msg
	}
	if msg == "" && loc != nil {
		return fmt.Sprintf("$error or failed assertion at %s:%d", loc.File, loc.Line)
	}
	return msg
}

// location reads "file:line[:col]: message" from the start of s; nil
// when s does not start with a source place.
func location(s, log string) (*Location, string) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 || parts[0] == "" || strings.ContainsAny(parts[0], " \t[]") || !project.IsHDL(parts[0]) {
		return nil, strings.TrimSpace(s)
	}
	ln, err := strconv.Atoi(parts[1])
	if err != nil || ln <= 0 {
		return nil, strings.TrimSpace(s)
	}
	loc := &Location{File: parts[0], Line: ln, Log: strings.TrimSpace(log)}
	rest := strings.Join(parts[2:], ":")
	if len(parts) == 4 {
		if c, err := strconv.Atoi(parts[2]); err == nil {
			loc.Column = c
			rest = parts[3]
		}
	}
	return loc, strings.TrimSpace(rest)
}

// since reports whether the file at rel was written at or after t.
func since(ws *workspace.Workspace, rel string, t time.Time) bool {
	fi, err := ws.Root().Stat(rel)
	return err == nil && fi.Mode().IsRegular() && !fi.ModTime().Before(t.Add(-time.Second))
}
