package problems

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files from the matchers' output")

// cases are the captures in testdata (real output of the tools listed in
// testdata/VERSIONS on deliberately broken inputs) with the command that
// produced each; the golden file next to each capture is what the matchers
// must find, checked by hand when written.
var cases = []struct {
	name    string
	command string
	dir     string
}{
	{"yosys_syntax", "yosys -p 'synth_ice40 -top blinky -json x.json' syntax.v", ""}, // missing ';'
	{"yosys_unknown", "yosys -p 'synth_ice40 -top warn -json x.json' warn.v", ""},    // undeclared id, unknown module
	{"yosys_warn", "yosys -p 'synth_ice40 -top warn2 -json x.json' warn2.v", ""},     // literal width, undriven wire
	{"nextpnr_badpin", "nextpnr-ice40 --hx1k --package tq144 --pcf badpin.pcf --json blinky.json --asc x.asc", ""},
	{"nextpnr_dup", "nextpnr-ice40 --hx1k --package tq144 --pcf dup.pcf --json blinky.json --asc x.asc", ""},         // two ports on one pin
	{"nextpnr_unkport", "nextpnr-ice40 --hx1k --package tq144 --pcf unkport.pcf --json blinky.json --asc x.asc", ""}, // port not in the design
	{"nextpnr_syntax", "nextpnr-ice40 --hx1k --package tq144 --pcf syntax.pcf --json blinky.json --asc x.asc", ""},   // bad option, pin twice
	{"nextpnr_timing", "nextpnr-ice40 --hx1k --package tq144 --pcf icestick.pcf --json blinky.json --asc x.asc --freq 400", ""},
	{"iverilog_syntax", "iverilog -o x syntax.v", ""},
	{"iverilog_elab", "iverilog -o x warn.v", ""},
	{"verilator_syntax", "verilator --lint-only -Wall syntax.v", ""},
	{"verilator_warn", "verilator --lint-only -Wall vwarn.v", ""},
	{"ghdl_syntax", "ghdl -a bad.vhd", ""},
	{"ghdl_sem", "ghdl -a bad2.vhd", ""},
	{"make_missing", "make -f Makefile.missing", ""},
	{"make_separator", "make -f Makefile.sep", ""},
	{"make_fail", "make -f Makefile.fail", ""},
	{"make_recursive", "make -f Makefile.rec", ""},
	{"icepack_missing", "icepack nosuch.asc x.bin", ""},
	{"icetime_fail", "icetime -d hx1k -p icestick.pcf -c 400 x.asc", ""},
	{"icetime_missing", "icetime -d hx1k nosuch.asc", ""},
}

func TestGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", tc.name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			// The captures ran in /tmp/bh/cap: that is the workspace root.
			c := NewCollector(Options{Root: "/tmp/bh/cap", Dir: tc.dir, Command: splitCommand(tc.command)})
			// Feed in odd-sized chunks: matching must not depend on how the
			// output arrives.
			for len(out) > 0 {
				n := min(len(out), 7)
				c.Write(out[:n])
				out = out[n:]
			}
			c.Flush()
			got, _ := c.Problems()
			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			gotJSON = append(gotJSON, '\n')
			golden := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(gotJSON, want) {
				t.Errorf("problems differ from %s:\ngot:\n%s\nwant:\n%s", golden, gotJSON, want)
			}
		})
	}
}

// TestMakeDrivenBuild feeds a make log with echoed commands: the tool of
// each line comes from the command make printed before it.
func TestMakeDrivenBuild(t *testing.T) {
	log := "mkdir -p build\n" +
		"\x1b[1myosys -p 'synth_ice40 -top blinky -json build/blinky.json' blinky.v\x1b[0m\n" +
		"blinky.v:4: Warning: Identifier `\\x' is implicitly declared.\n" +
		"nextpnr-ice40 --hx1k --package tq144 --pcf icestick.pcf --json build/blinky.json --asc build/blinky.asc\n" +
		"ERROR: package does not have a pin named '300' (on line 7)\n" +
		"ERROR: Loading PCF failed.\n" +
		"make: *** [Makefile:15: build/blinky.asc] Error 255\n"
	c := NewCollector(Options{Root: "/w", Dir: "hw", Command: []string{"make"}})
	c.Write([]byte(log))
	got, _ := c.Problems()
	want := []Problem{
		{Source: "yosys", Severity: Warning, File: "hw/blinky.v", Line: 4, Message: "Identifier `x' is implicitly declared."},
		{Source: "nextpnr-ice40", Severity: Error, File: "hw/icestick.pcf", Line: 7, Message: "package does not have a pin named '300'"},
		{Source: "nextpnr-ice40", Severity: Error, Message: "Loading PCF failed."},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	cmds := c.Commands()
	if len(cmds) != 2 || cmds[1].Flag("--json") != "build/blinky.json" || cmds[1].Dir != "hw" {
		t.Errorf("commands = %+v", cmds)
	}
}

func TestMaxAndStrip(t *testing.T) {
	c := NewCollector(Options{Max: 2, Command: []string{"verilator"}})
	c.Write([]byte(strings.Repeat("\x1b[31m%Error: a.v:1:2: bad\x1b[0m\n", 5)))
	got, dropped := c.Problems()
	if len(got) != 2 || dropped != 3 || got[0].Message != "bad" || got[0].Column != 2 {
		t.Errorf("got %+v dropped %d", got, dropped)
	}
	if s := string(StripANSI([]byte("a\x1b[1;31mb\x1b]0;title\x07c\x1b[Kd"))); s != "abcd" {
		t.Errorf("StripANSI = %q", s)
	}
}

func FuzzCollector(f *testing.F) {
	for _, tc := range cases {
		if b, err := os.ReadFile(filepath.Join("testdata", tc.name+".txt")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewCollector(Options{Root: "/w", Command: []string{"make"}})
		c.Write(b)
		c.Flush()
		ps, _ := c.Problems()
		for _, p := range ps {
			if p.Severity == "" || strings.HasPrefix(p.File, "../") {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
