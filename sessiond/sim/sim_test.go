package sim_test

import (
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/sessiond/sim"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/testenv"
)

// env is a workspace with a copy of src and the services over it.
type env struct {
	dir string
	ws  *workspace.Workspace
	tk  *tasks.Service
	sim *sim.Service
}

func newEnv(t *testing.T, src string, trusted bool, extra map[string]string) *env {
	t.Helper()
	dir := t.TempDir()
	if src != "" {
		copyDir(t, src, dir)
	}
	for name, body := range extra {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	tk, err := tasks.New(tasks.Options{Workspace: ws, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Options{Workspace: ws, Tasks: tk, Logger: log, Trusted: func() bool { return trusted }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tk.Close()
		ws.Close()
	})
	return &env{dir: dir, ws: ws, tk: tk, sim: s}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "build" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) testbench(t *testing.T, file string) sim.Testbench {
	t.Helper()
	tbs, err := e.sim.Testbenches()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tbs {
		if tb.File == file {
			return tb
		}
	}
	t.Fatalf("no testbench %s among %+v", file, tbs)
	return sim.Testbench{}
}

// run runs a testbench to its end and returns the task and its result.
func (e *env) run(t *testing.T, file, simulator string) (tasks.Info, sim.Result, string) {
	t.Helper()
	task, err := e.sim.Run(sim.RunRequest{Testbench: file, Simulator: simulator})
	if err != nil {
		t.Fatalf("run %s with %s: %v", file, simulator, err)
	}
	info, err := task.Wait(testenv.Context(t, testenv.WaitLong))
	if err != nil {
		t.Fatalf("%s with %s did not finish: %v\n%s", file, simulator, err, task.Output())
	}
	r, ok := info.Result.(sim.Result)
	if !ok {
		t.Fatalf("task result = %#v, want a sim.Result", info.Result)
	}
	return info, r, string(task.Output())
}

func TestIsTestbenchName(t *testing.T) {
	for name, want := range map[string]bool{
		"blinky_tb.v": true, "tb/tb_top.sv": true, "x/alu_tb.vhd": true, "TB_UART.VHDL": true,
		"blinky.v": false, "tb.v": false, "tb_pkg.svh": false, "notes_tb.txt": false, "stb.v": false, "tbx_y.v": false,
	} {
		if got := sim.IsTestbenchName(name); got != want {
			t.Errorf("IsTestbenchName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDiscoverBlinky(t *testing.T) {
	e := newEnv(t, "../../examples/blinky", true, nil)
	tbs, err := e.sim.Testbenches()
	if err != nil {
		t.Fatal(err)
	}
	if len(tbs) != 1 {
		t.Fatalf("testbenches = %+v, want blinky_tb.v only", tbs)
	}
	tb := tbs[0]
	if tb.File != "blinky_tb.v" || tb.Top != "blinky_tb" || tb.Lang != "verilog" || tb.Error != "" ||
		!slices.Equal(tb.Files, []string{"blinky.v", "blinky_tb.v"}) || tb.Simulator != "iverilog" ||
		!slices.Equal(tb.Simulators, []string{"iverilog", "verilator"}) || len(tb.Missing) != 0 {
		t.Errorf("blinky testbench = %+v", tb)
	}
}

func TestDiscoverCorpusTB(t *testing.T) {
	e := newEnv(t, "../hdl/corpus/testdata/tb", true, nil)
	tb := e.testbench(t, "tb/tb_top.sv")
	// The package (with the classes it includes) comes before the top that
	// imports it; the headers are reached through the include directory.
	if tb.Top != "tb_top" || tb.Lang != "systemverilog" || tb.Error != "" || tb.Simulator != "verilator" ||
		len(tb.Files) != 3 || tb.Files[2] != "tb/tb_top.sv" || !slices.Contains(tb.Files, "tb/alu.sv") ||
		slices.Index(tb.Files, "tb/tb_pkg.sv") > slices.Index(tb.Files, "tb/tb_top.sv") ||
		!slices.Equal(tb.IncludeDirs, []string{"tb"}) {
		t.Errorf("corpus testbench = %+v", tb)
	}
	if tbs, _ := e.sim.Testbenches(); len(tbs) != 1 {
		t.Errorf("testbenches = %+v, want tb_top alone (tb_pkg.sv declares no module)", tbs)
	}
}

func TestCorpusTBRunsWithVerilator(t *testing.T) {
	testenv.LookPath(t, "verilator")
	e := newEnv(t, "../hdl/corpus/testdata/tb", true, nil)
	info, r, out := e.run(t, "tb/tb_top.sv", "")
	if info.State != tasks.Succeeded || !r.Passed || r.Simulator != "verilator" || r.Stage != "run" {
		t.Fatalf("corpus testbench: state %s, result %+v\n%s", info.State, r, out)
	}
}

func TestDiscoverVHDLOrder(t *testing.T) {
	e := newEnv(t, "testdata/vhdl", true, nil)
	tb := e.testbench(t, "pass_tb.vhd")
	if tb.Top != "pass_tb" || tb.Lang != "vhdl" || tb.Simulator != "ghdl" || !slices.Equal(tb.Files, []string{"counter.vhd", "pass_tb.vhd"}) {
		t.Errorf("VHDL testbench = %+v", tb)
	}
	tb = e.testbench(t, "broken_tb.vhd")
	if !slices.Equal(tb.Files, []string{"broken_tb.vhd"}) {
		t.Errorf("broken VHDL testbench = %+v", tb)
	}
}

func TestConfiguredTestbench(t *testing.T) {
	files := map[string]string{
		"rtl/soak.sv":     "module soak;\n  initial begin\n    $display(\"soak ran\");\n    $finish;\n  end\nendmodule\n",
		".ide/tasks.toml": "[[sim.testbench]]\nfile = \"rtl/soak.sv\"\nsimulator = \"verilator\"\n",
	}
	e := newEnv(t, "", true, files)
	tb := e.testbench(t, "rtl/soak.sv")
	if !tb.Configured || tb.Top != "soak" || tb.Simulator != "verilator" || tb.Error != "" {
		t.Errorf("configured testbench = %+v", tb)
	}
	// Not trusted: the file is not read, and soak.sv is no testbench by name.
	u := newEnv(t, "", false, files)
	if tbs, err := u.sim.Testbenches(); err != nil || len(tbs) != 0 {
		t.Errorf("untrusted workspace: testbenches %+v, %v; want none", tbs, err)
	}
	// A bad simulator name is a 422 that names the file.
	bad := newEnv(t, "", true, map[string]string{".ide/tasks.toml": "[[sim.testbench]]\nfile = \"x_tb.v\"\nsimulator = \"modelsim\"\n"})
	if _, err := bad.sim.Testbenches(); err == nil || !strings.Contains(err.Error(), "modelsim") || !strings.Contains(err.Error(), ".ide/tasks.toml") {
		t.Errorf("bad simulator: err = %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	e := newEnv(t, "testdata/vhdl", true, map[string]string{"ports_tb.v": "module ports_tb(input a);\nendmodule\n"})
	for _, c := range []struct {
		req  sim.RunRequest
		want string
	}{
		{sim.RunRequest{}, "name a testbench"},
		{sim.RunRequest{Testbench: "nope_tb.v"}, "no testbench"},
		{sim.RunRequest{Testbench: "pass_tb.vhd", Simulator: "iverilog"}, "does not simulate"},
		{sim.RunRequest{Testbench: "ports_tb.v"}, "without ports"},
	} {
		if _, err := e.sim.Run(c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v) = %v, want an error with %q", c.req, err, c.want)
		}
	}
}

// TestVerdicts runs a passing and failing testbenches with each simulator
// and checks the verdict, the reason and the line the result points at.
func TestVerdicts(t *testing.T) {
	type want struct {
		passed bool
		stage  string
		reason string // substring
		file   string
		line   int
		waves  string
	}
	cases := []struct {
		dir, tb, simulator string
		want               want
	}{
		{"verilog", "pass_tb.v", "iverilog", want{true, "run", "", "", 0, "build/pass_tb.vcd"}},
		{"verilog", "pass_tb.v", "verilator", want{true, "run", "", "", 0, "build/pass_tb.vcd"}},
		{"verilog", "fatal_tb.v", "iverilog", want{false, "run", "$fatal: q is 5, want 6", "fatal_tb.v", 11, ""}},
		{"verilog", "fatal_tb.v", "verilator", want{false, "run", "q is 5, want 6", "fatal_tb.v", 11, ""}},
		{"verilog", "assert_tb.sv", "iverilog", want{false, "run", "q is 3, want 4", "assert_tb.sv", 12, ""}},
		{"verilog", "assert_tb.sv", "verilator", want{false, "run", "assertion failed: q is 3, want 4", "assert_tb.sv", 12, ""}},
		{"verilog", "broken_tb.v", "iverilog", want{false, "compile", "undeclared_thing", "broken_tb.v", 4, ""}},
		{"verilog", "broken_tb.v", "verilator", want{false, "compile", "undeclared_thing", "broken_tb.v", 4, ""}},
		{"vhdl", "pass_tb.vhd", "ghdl", want{true, "run", "", "", 0, "build/sim/pass_tb.vcd"}},
		{"vhdl", "fail_tb.vhd", "ghdl", want{false, "run", "assertion failed: q is 5, want 6", "fail_tb.vhd", 24, "build/sim/fail_tb.vcd"}},
		{"vhdl", "error_tb.vhd", "ghdl", want{false, "run", "assertion failed: q is 5, want 7", "error_tb.vhd", 24, "build/sim/error_tb.vcd"}},
		{"vhdl", "broken_tb.vhd", "ghdl", want{false, "compile", "undeclared_thing", "broken_tb.vhd", 7, ""}},
	}
	envs := map[string]*env{"verilog": newEnv(t, "testdata/verilog", true, nil), "vhdl": newEnv(t, "testdata/vhdl", true, nil)}
	for _, c := range cases {
		t.Run(c.tb+"/"+c.simulator, func(t *testing.T) {
			testenv.LookPath(t, c.simulator)
			e := envs[c.dir]
			info, r, out := e.run(t, c.tb, c.simulator)
			w := c.want
			wantState := tasks.Succeeded
			if !w.passed {
				wantState = tasks.Failed
			}
			if info.State != wantState || r.Passed != w.passed || r.Stage != w.stage || r.Simulator != c.simulator ||
				r.Testbench != c.tb || !strings.Contains(r.Reason, w.reason) || (w.passed && r.Reason != "") {
				t.Errorf("state %s, result %+v; want %s, %+v\n%s", info.State, r, wantState, w, out)
			}
			switch {
			case w.line == 0 && r.Failure != nil:
				t.Errorf("failure = %+v, want none", r.Failure)
			case w.line != 0 && (r.Failure == nil || r.Failure.File != w.file || r.Failure.Line != w.line || r.Failure.Log == ""):
				t.Errorf("failure = %+v, want %s:%d\n%s", r.Failure, w.file, w.line, out)
			}
			if r.Waves != w.waves {
				t.Errorf("waves = %q, want %q", r.Waves, w.waves)
			}
			if w.waves != "" {
				if b, err := os.ReadFile(filepath.Join(e.dir, w.waves)); err != nil || !strings.Contains(string(b), "$enddefinitions") {
					t.Errorf("waves file %s: %v (%d bytes), want a VCD", w.waves, err, len(b))
				}
			}
		})
	}
}

// TestBlinkyOverHTTP runs the sample's testbench through sessiond's API with
// both Verilog simulators: it passes and writes its VCD.
func TestBlinkyOverHTTP(t *testing.T) {
	for _, simulator := range []string{"iverilog", "verilator"} {
		t.Run(simulator, func(t *testing.T) {
			testenv.LookPath(t, simulator)
			e := servertest.Start(t, nil)
			e.CopyDir("../../examples/blinky")
			var list struct {
				Testbenches []sim.Testbench `json:"testbenches"`
				Simulators  []sim.Simulator `json:"simulators"`
			}
			if code := e.Do("GET", "api/v1/sim/testbenches", nil, &list); code != http.StatusOK || len(list.Testbenches) != 1 || len(list.Simulators) != 3 {
				t.Fatalf("GET testbenches: %d %+v", code, list)
			}
			var task servertest.Task
			if code := e.Do("POST", "api/v1/sim/run", map[string]any{"testbench": "blinky_tb.v", "simulator": simulator}, &task); code != http.StatusCreated {
				t.Fatalf("POST run: %d %+v", code, task)
			}
			out, exit, _ := e.TaskLog(testenv.Context(t, testenv.WaitLong), task.ID, nil)
			if exit.State != "succeeded" || !strings.Contains(out, "blinky_tb: PASS") {
				t.Fatalf("exit %+v\n%s", exit, out)
			}
			var got struct {
				State  string     `json:"state"`
				Result sim.Result `json:"result"`
			}
			e.Do("GET", "api/v1/tasks/"+task.ID, nil, &got)
			if got.State != "succeeded" || !got.Result.Passed || got.Result.Waves != "build/blinky_tb.vcd" || got.Result.Top != "blinky_tb" {
				t.Errorf("task = %+v", got)
			}
			vcd, err := os.ReadFile(filepath.Join(e.Dir, "build/blinky_tb.vcd"))
			if err != nil || !strings.Contains(string(vcd), "$var") || !strings.Contains(string(vcd), " clk ") {
				t.Errorf("build/blinky_tb.vcd: %v, want a VCD with clk", err)
			}
			var apiErr servertest.APIError
			if code := e.Do("POST", "api/v1/sim/run", map[string]any{"testbench": "blinky.v"}, &apiErr); code != http.StatusNotFound {
				t.Errorf("run a non-testbench: %d %+v", code, apiErr)
			}
		})
	}
}
