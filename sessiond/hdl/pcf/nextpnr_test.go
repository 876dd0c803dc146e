package pcf

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/shared/testenv"
)

// TestNextpnrAgrees places a one-LUT design with nextpnr-ice40 on pins this
// package says hx1k/tq144 has (they must place) and on names it says the
// package lacks (nextpnr must refuse them).
func TestNextpnrAgrees(t *testing.T) {
	db := chipDB(t)
	nextpnr := testenv.LookPath(t, "nextpnr-ice40")
	yosys := testenv.LookPath(t, "yosys")
	dir := t.TempDir()
	v := filepath.Join(dir, "top.v")
	if err := os.WriteFile(v, []byte("module top(input a, output y);\n  assign y = ~a;\nendmodule\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	js := filepath.Join(dir, "top.json")
	if out, err := exec.CommandContext(ctx, yosys, "-q", "-p", "synth_ice40 -top top -json "+js, v).CombinedOutput(); err != nil {
		t.Fatalf("yosys: %v\n%s", err, out)
	}
	pkg, err := db.Package("hx1k", "tq144")
	if err != nil {
		t.Fatal(err)
	}
	ports := []Port{{Name: "a", Dir: 1}, {Name: "y", Dir: 2}}
	run := func(pinA, pinY string) (bool, string) {
		pcf := filepath.Join(dir, "p"+pinA+"_"+pinY+".pcf")
		src := "set_io a " + pinA + "\nset_io y " + pinY + "\n"
		if err := os.WriteFile(pcf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		// Our verdict on the same file.
		f := Parse("p.pcf", []byte(src))
		for _, d := range Diagnose(f, Context{Ports: ports, Target: Target{"hx1k", "tq144"}, DB: db}) {
			if d.Code == CodeUnknownPin {
				return false, "ours: " + d.Message
			}
		}
		out, err := exec.CommandContext(ctx, nextpnr, "-q", "--hx1k", "--package", "tq144", "--pcf", pcf, "--json", js,
			"--asc", filepath.Join(dir, "out.asc")).CombinedOutput()
		return err == nil, string(out)
	}
	// Pins we claim: the iCEstick's clock (a GBIN), an LED, the first and last pins.
	first, last := pkg.Pins[0].Name, pkg.Pins[len(pkg.Pins)-1].Name
	for _, pins := range [][2]string{{"21", "99"}, {first, last}, {"49", "112"}} {
		for _, p := range pins {
			if _, ok := pkg.Pin(p); !ok {
				t.Fatalf("pin %s not in our hx1k tq144", p)
			}
		}
		ok, out := run(pins[0], pins[1])
		if !ok {
			t.Fatalf("nextpnr refused pins %v we list: %s", pins, out)
		}
	}
	// Names we say are not user IO pins of the TQ144 (5 and 140 are supply or
	// config pins there) and a ball name.
	for _, bad := range []string{"5", "140", "A1"} {
		if _, ok := pkg.Pin(bad); ok {
			t.Fatalf("we list pin %s", bad)
		}
		f := Parse("p.pcf", []byte("set_io a 21\nset_io y "+bad+"\n"))
		ds := Diagnose(f, Context{Ports: ports, Target: Target{"hx1k", "tq144"}, DB: db})
		if len(ds) != 1 || ds[0].Code != CodeUnknownPin {
			t.Fatalf("pin %s: %v", bad, ds)
		}
		pcf := filepath.Join(dir, "bad.pcf")
		if err := os.WriteFile(pcf, f.Src, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(ctx, nextpnr, "-q", "--hx1k", "--package", "tq144", "--pcf", pcf, "--json", js,
			"--asc", filepath.Join(dir, "out.asc")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "package does not have a pin named '"+bad+"'") {
			t.Fatalf("nextpnr on pin %s: err=%v\n%s", bad, err, out)
		}
	}
}
