// Package sim finds a workspace's testbenches and runs them with iverilog,
// verilator or ghdl as tasks (package tasks) with a live log, judging
// from the log and the exit status whether the simulation passed.
//
// # Discovery
//
// A testbench is a file named *_tb.EXT or tb_*.EXT (EXT .v, .sv, .vhd or
// .vhdl) that declares a module or entity (tb_pkg.sv, only a package, is
// none), in the HDL project (.ide/hdl.toml's files and exclude apply), or
// one named in .ide/tasks.toml (see ConfigPath), which is read only in a
// trusted workspace. Its top is a module or entity without ports in that
// file (or the configured top). Its files are found from the project index:
// the file of every unit it instantiates, imports (SystemVerilog packages,
// VHDL use work.x), names (pkg::x, a class or interface type) or
// implements (VHDL architectures and package bodies), transitively, in
// dependency order. Include directories and defines come from
// .ide/hdl.toml, plus the directory of every header the files include.
//
// # Runs
//
// Commands run in the workspace root (so $dumpfile paths are relative to
// it); outputs go under build/sim:
//
//	iverilog  iverilog -g2012 -o build/sim/N.vvp -s TOP -I.. -D.. FILES && vvp -n build/sim/N.vvp [-fst]
//	verilator verilator --binary --timing --assert -Wno-fatal -j 2 --top-module TOP -Mdir build/sim/obj_N [--trace|--trace-fst] -I.. -D.. FILES && build/sim/obj_N/VTOP
//	ghdl      ghdl -a --std=08 --workdir=build/sim/ghdl_N FILES && ghdl --elab-run --std=08 --workdir=build/sim/ghdl_N TOP --vcd=build/sim/N.vcd
//
// where N is the testbench's path without its extension, '/' made '_'.
// A run fails when a command exits non-zero or the log reports a failure
// even with exit status 0:
//
//	iverilog   compile: "f.v:3: error: ..", "f.v:3: syntax error"; run: "ERROR: f.v:5: .." ($error, failed assert), "FATAL: f.v:6: .." ($fatal)
//	verilator  compile: "%Error: f.v:2:10: .."; run: "[5] %Error: f.v:5: Assertion failed in TOP.tb: .." ($error, assert), "%Fatal: .."
//	ghdl       compile: "f.vhd:3:3: .."; run: "f.vhd:12:5:@11ns:(assertion error): ..", "(assertion failure)", "(report error)", "(report failure)"
//
// Waves: a Verilog testbench's first $dumpfile("name") (or dump.vcd when it
// calls $dumpvars without one; verilator then gets --trace, or --trace-fst
// for a .fst name, and vvp -fst); ghdl always writes build/sim/N.vcd.
//
// # API
//
// GET api/v1/sim/testbenches answers
//
//	{"testbenches": [Testbench...], "simulators": [{"name": "iverilog", "available": true}, ...]}
//
// with each Testbench as
//
//	{"file": "blinky_tb.v", "top": "blinky_tb", "lang": "verilog", "files": ["blinky.v", "blinky_tb.v"],
//	 "include_dirs": [], "defines": {..}, "simulators": ["iverilog", "verilator"], "simulator": "iverilog",
//	 "missing": ["SB_PLL40_CORE"], "configured": true, "error": "why it cannot run"}
//
// POST api/v1/sim/run {"testbench": "blinky_tb.v", "simulator": "verilator"} (simulator optional:
// the testbench's default) starts a task named "sim" and answers 201 with the task (package tasks'
// Info; follow it with GET api/v1/tasks/ID and the log WebSocket api/v1/tasks/ID/log). When it ends,
// the task's "result" (in GET api/v1/tasks/ID and the log's exit frame) is a Result:
//
//	{"testbench": "blinky_tb.v", "top": "blinky_tb", "simulator": "iverilog", "passed": false, "stage": "run",
//	 "reason": "$fatal: ring is 00010", "failure": {"file": "blinky_tb.v", "line": 31, "log": "FATAL: blinky_tb.v:31: ring is 00010"},
//	 "waves": "build/blinky_tb.vcd"}
//
// and the task's state is "failed" when passed is false. Errors: 400 no testbench or a simulator
// that does not take the language or is not installed (command_not_found), 404 unknown testbench,
// 422 a testbench that cannot run (its "error") or a malformed .ide/tasks.toml.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"time"

	"gatewave.dev/sessiond/hdl/project"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// Options configure a Service. Workspace and Tasks are required.
type Options struct {
	// Workspace holds the testbenches.
	Workspace *workspace.Workspace
	// Tasks runs the simulations.
	Tasks *tasks.Service
	// Logger is sessiond's logger; nil means slog.Default().
	Logger *slog.Logger
	// Trusted reports whether ConfigPath may be read; nil means trusted.
	Trusted func() bool
}

// Service finds and runs testbenches.
type Service struct {
	opts Options
	log  *slog.Logger
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Workspace == nil || opts.Tasks == nil {
		return nil, errors.New("sim: Options.Workspace and Options.Tasks are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts, log: opts.Logger}, nil
}

// Close stops nothing: the runs are tasks, which the tasks service stops.
func (s *Service) Close() error { return nil }

// Simulator is one simulator and whether this machine has it.
type Simulator struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
}

// Simulators are the three simulators, each with whether it is installed.
func Simulators() []Simulator {
	var out []Simulator
	for _, n := range []string{Iverilog, Verilator, GHDL} {
		_, err := exec.LookPath(n)
		out = append(out, Simulator{Name: n, Available: err == nil})
	}
	return out
}

// view indexes the workspace and calls fn with its testbenches.
func (s *Service) view(fn func(snap *project.Snapshot, tbs []Testbench) error) error {
	var conf []ConfigTestbench
	if s.opts.Trusted == nil || s.opts.Trusted() {
		var err error
		if conf, err = loadConfig(s.opts.Workspace); err != nil {
			return err
		}
	}
	p, err := project.New(project.Options{Root: s.opts.Workspace.Dir(), Logger: s.log})
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer p.Close()
	if err := p.Index(); err != nil {
		return fmt.Errorf("sim: index the workspace: %w", err)
	}
	var ferr error
	p.View(func(snap *project.Snapshot) { ferr = fn(snap, discover(snap, conf)) })
	return ferr
}

// Testbenches lists the workspace's testbenches, sorted by file.
func (s *Service) Testbenches() ([]Testbench, error) {
	var out []Testbench
	err := s.view(func(_ *project.Snapshot, tbs []Testbench) error {
		out = tbs
		return nil
	})
	return out, err
}

// RunRequest is the body of POST api/v1/sim/run.
type RunRequest struct {
	// Testbench is a Testbench's File.
	Testbench string `json:"testbench"`
	// Simulator is one of the testbench's simulators; "" is its default.
	Simulator string `json:"simulator"`
}

// Run starts req's testbench as a task named "sim".
func (s *Service) Run(req RunRequest) (*tasks.Task, error) {
	if req.Testbench == "" {
		return nil, apierr.BadRequest(`name a testbench: {"testbench": "blinky_tb.v"} (GET api/v1/sim/testbenches lists them)`)
	}
	var (
		tb  Testbench
		p   plan
		sim string
	)
	err := s.view(func(snap *project.Snapshot, tbs []Testbench) error {
		i := slices.IndexFunc(tbs, func(t Testbench) bool { return t.File == req.Testbench })
		if i < 0 {
			names := make([]string, len(tbs))
			for j, t := range tbs {
				names[j] = t.File
			}
			return apierr.NotFound("no testbench %q (files named *_tb.* or tb_*.*, or [[sim.testbench]] in %s)", req.Testbench, ConfigPath).
				WithDetails(map[string]any{"testbenches": names})
		}
		tb = tbs[i]
		if tb.Error != "" {
			return apierr.New(422, "testbench_unrunnable", "%s: %s", tb.File, tb.Error)
		}
		sim = req.Simulator
		if sim == "" {
			sim = tb.Simulator
		}
		if !slices.Contains(tb.Simulators, sim) {
			return apierr.BadRequest("%s is %s, which %q does not simulate (use one of %s)", tb.File, tb.Lang, sim, strings.Join(tb.Simulators, ", "))
		}
		p = makePlan(tb, sim, snap)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, d := range p.mkdirs {
		if err := s.opts.Workspace.Mkdir(d, true); err != nil {
			return nil, fmt.Errorf("sim: make %s: %w", d, err)
		}
	}
	start := time.Now()
	runLine := "$ " + strings.Join(p.run, " ") + "\n"
	base := Result{Testbench: tb.File, Top: tb.Top, Simulator: sim}
	ws := s.opts.Workspace
	t, err := s.opts.Tasks.Start(tasks.Spec{
		Name: "sim",
		Argv: p.compile,
		Then: [][]string{p.run},
		Result: func(step, code int, out []byte) (any, bool) {
			r := judge(base, sim, step, code, out, runLine)
			if p.waves != "" && since(ws, p.waves, start) {
				r.Waves = p.waves
			}
			return r, !r.Passed
		},
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("simulation started", "testbench", tb.File, "simulator", sim, "task", t.ID())
	return t, nil
}
