package sim

import (
	"strings"
	"testing"
)

// FuzzJudge feeds arbitrary logs to the verdict: it never panics, a
// failure's line is positive, and a run whose commands exited 0 with a log
// that names no failure passes.
func FuzzJudge(f *testing.F) {
	for _, seed := range []string{
		"ERROR: f.v:5: one is not zero\n       Time: 5 Scope: f_tb\nFATAL: f.v:6: bad thing 3\n",
		"[5] %Error: f.v:5: Assertion failed in TOP.f_tb: one is not zero\n%Error: f.v:5: Verilog $stop\nAborting...\n",
		"%Error: bad.v:2:10: Can't find definition of variable: 'x'\n%Error: Exiting due to 1 error(s)\n",
		"v_tb.vhd:12:5:@11ns:(assertion error): s is not two\n/usr/bin/ghdl-mcode:error: assertion failed\n",
		"bad.vhd:3:3: no declaration for \"x\"\n", "bad.v:2: error: Could not find variable\n", "f.v:x: ::\n", ":::", "[",
		"%Error-", "%Fatal: ", "a.vhd:1:2:@:(report failure):",
	} {
		f.Add(seed, 0, 1)
		f.Add(seed, 1, 0)
	}
	f.Fuzz(func(t *testing.T, log string, step, code int) {
		step &= 1
		for _, simulator := range []string{Iverilog, Verilator, GHDL} {
			runLine := "$ run\n"
			out := log
			if step == 1 {
				out = "compiled\n" + runLine + log
			}
			r := judge(Result{}, simulator, step, code, []byte(out), runLine)
			if r.Failure != nil && (r.Failure.Line <= 0 || r.Failure.File == "") {
				t.Fatalf("%s: failure %+v", simulator, r.Failure)
			}
			if r.Passed != (r.Reason == "") {
				t.Fatalf("%s: passed %v with reason %q", simulator, r.Passed, r.Reason)
			}
			if code != 0 && r.Passed {
				t.Fatalf("%s: exit %d passed", simulator, code)
			}
			if step == 1 && code == 0 && !r.Passed && firstFailure(simulator, "run", []byte(log)) == nil {
				t.Fatalf("%s: failed with no failure in the log: %q", simulator, r.Reason)
			}
			if strings.Contains(r.Reason, "\n") {
				t.Fatalf("%s: reason spans lines: %q", simulator, r.Reason)
			}
		}
	})
}
