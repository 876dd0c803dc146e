package waves

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadersAgree checks, on one dump from a real simulation, that the VCD
// reader, the FST reader (on vcd2fst's output with each compression) and
// the VCD reader on fst2vcd's output give the same trees and changes.
func TestReadersAgree(t *testing.T) {
	vcd := simulate(t)
	dir := filepath.Dir(vcd)
	ref := readVCDFile(t, vcd)
	tree := describe(ref.meta)
	for _, want := range []string{
		"module tb\n", "      module u_leaf\n", // three scopes below tb
		`wire \weird.name w1`, "reg wide w16 [15:0]", "real phase w64", "event tick w1",
		"wire clk w1 [0:0] = #", // dut.clk aliases tb.clk
	} {
		if !strings.Contains(tree, want) {
			t.Errorf("tree lacks %q:\n%s", want, tree)
		}
	}
	wide := signalChanges(ref)["tb.wide"]
	if len(wide) < 3 || wide[0].v != strings.Repeat("x", 16) || wide[1].v != "0000zzzz0001xxxx" || wide[2].v != "1011111011101111" {
		t.Errorf("tb.wide = %v", wide)
	}
	if ph := signalChanges(ref)["tb.phase"]; len(ph) < 3 || ph[1].v != "0.125" {
		t.Errorf("tb.phase = %v", ph)
	}
	if tri := signalChanges(ref)["tb.dut.u_mid.u_leaf.tri_out"]; len(tri) < 2 || tri[1].v != "zzzz" {
		t.Errorf("tri_out = %v", tri)
	}

	for _, pack := range []struct{ name, flag string }{{"lz4", "-4"}, {"fastlz", "-F"}, {"zlib", "-Z"}, {"wrapped", "-c"}} {
		t.Run(pack.name, func(t *testing.T) {
			fst := filepath.Join(dir, pack.name+".fst")
			runTool(t, dir, "vcd2fst", pack.flag, vcd, fst)
			got := readFSTFile(t, fst)
			if d := describe(got.meta); d != tree {
				t.Errorf("FST tree differs:\n%s\nVCD tree:\n%s", d, tree)
			}
			if got.meta.Timescale != ref.meta.Timescale || got.meta.End != ref.meta.End {
				t.Errorf("FST timescale %s end %d, VCD %s end %d", got.meta.Timescale, got.meta.End, ref.meta.Timescale, ref.meta.End)
			}
			diffChanges(t, "fst vs vcd", got, ref)

			back := filepath.Join(dir, pack.name+".back.vcd")
			out, err := os.Create(back)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec(t, dir, "fst2vcd", fst)
			cmd.Stdout = out
			if err := cmd.Run(); err != nil {
				t.Fatalf("fst2vcd: %v", err)
			}
			out.Close()
			rb := readVCDFile(t, back)
			if d := describe(rb.meta); d != tree {
				t.Errorf("fst2vcd tree differs:\n%s", d)
			}
			diffChanges(t, "fst2vcd vs vcd", rb, ref)
		})
	}
}
