package verilog

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireTool skips (or, under CI=true, fails) when a tool is missing.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// toolCases say which real tool validates each testdata file, with the
// files it needs before it. Testbench class files (tb_*.sv) use constructs
// verilator does not support, so only Parse checks them.
var toolCases = []struct {
	file      string
	verilator bool
	iverilog  bool
	before    []string
}{
	{file: "counter.v", verilator: true, iverilog: true},
	{file: "nonansi.v", verilator: true, iverilog: true},
	{file: "gen.v", verilator: true, iverilog: true},
	{file: "gates.v", iverilog: true}, // verilator does not support wand/wor
	{file: "preproc.v", verilator: true, iverilog: true},
	{file: "mem.v", verilator: true, iverilog: true},
	{file: "tb_counter.v", iverilog: true, before: []string{"counter.v"}},
	{file: "pkg.sv", verilator: true},
	{file: "alu.sv", verilator: true, before: []string{"pkg.sv"}},
	{file: "axi_if.sv", verilator: true},
	{file: "fsm.sv", verilator: true},
	{file: "structs.sv", verilator: true},
	{file: "top.sv", verilator: true},
	{file: "misc.sv", verilator: true},
	{file: "sv_more.sv", verilator: true},
}

func TestRealToolsAcceptTestdata(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range toolCases {
		covered[c.file] = true
	}
	for _, name := range validFiles(t) {
		if !covered[name] && !strings.HasPrefix(name, "tb_classes") {
			t.Errorf("testdata/%s has no tool case", name)
		}
	}
	for _, c := range toolCases {
		c := c
		t.Run(c.file, func(t *testing.T) {
			files := append(append([]string{}, c.before...), c.file)
			if c.verilator {
				v := requireTool(t, "verilator")
				args := append([]string{"--lint-only", "--timing", "-Wno-fatal", "-Wno-MULTITOP", "-Wno-DECLFILENAME", "-I."}, files...)
				cmd := exec.Command(v, args...)
				cmd.Dir = "testdata"
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("verilator rejects %s: %v\n%s", c.file, err, out)
				}
			}
			if c.iverilog {
				iv := requireTool(t, "iverilog")
				args := append([]string{"-g2005", "-t", "null", "-I."}, files...)
				cmd := exec.Command(iv, args...)
				cmd.Dir = "testdata"
				if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "error") {
					t.Errorf("iverilog rejects %s: %v\n%s", c.file, err, out)
				}
			}
			f, src := parseTestdata(t, c.file)
			if len(f.Diags) > 0 {
				t.Errorf("Parse reports diagnostics on valid %s:\n%s", c.file, diagString(f, src))
			}
		})
	}
}
