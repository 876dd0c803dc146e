package langserver_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// blinky copies the sample iCE40 project (Makefile naming hx1k/tq144,
// icestick.pcf, blinky.v) into a workspace.
func blinky(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../../../examples/blinky")
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestPinConstraints(t *testing.T) {
	c := newClient(t, blinky(t), clientOptions{})
	c.open("icestick.pcf")
	// The sample is right: no problems.
	if ds := c.waitDiags("icestick.pcf", "none", func([]diag) bool { return true }); len(ds) > 0 {
		t.Fatalf("icestick.pcf: %s", dump(ds))
	}
	text := c.read("icestick.pcf")
	// Break it: a port blinky does not have, a pin tq144 does not have, a
	// pin used twice, and led[4] no longer constrained.
	bad := strings.Replace(text, "set_io led[4] 95", "set_io ledd 96\nset_io clk2 500", 1)
	c.change("icestick.pcf", bad)
	ds := c.waitDiags("icestick.pcf", "the four problems", func(d []diag) bool { return len(d) >= 4 })
	for _, want := range []struct{ code, text string }{
		{"unknown-port", "ledd"}, {"unknown-port", "clk2"}, {"unknown-pin", "500"}, {"pin-used-twice", "96"},
	} {
		found := false
		for _, d := range ds {
			if d.Code == want.code && c.textAt("icestick.pcf", d.Range) == want.text && d.Source == "pcf" {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s on %q: %s", want.code, want.text, dump(ds))
		}
	}
	if hasCode(ds, "unconstrained", "pcf") == nil || !strings.Contains(hasCode(ds, "unconstrained", "pcf").Message, "led[4]") {
		t.Errorf("led[4] left unconstrained is not reported: %s", dump(ds))
	}
	// Completion: the ports not yet constrained, then the free pins.
	c.change("icestick.pcf", text+"set_io \n")
	items := c.complete("icestick.pcf", c.at("icestick.pcf", "set_io \n", 0, 7))
	if len(items) != 0 {
		t.Errorf("every port is constrained, yet completion offers %v", labels(items))
	}
	c.change("icestick.pcf", strings.Replace(text, "set_io led[4] 95\n", "", 1)+"set_io led[4] \n")
	items = c.complete("icestick.pcf", c.at("icestick.pcf", "set_io led[4] \n", 0, 14))
	got := labels(items)
	if slices.Contains(got, "21") || !slices.Contains(got, "95") || !slices.Contains(got, "144") {
		t.Errorf("pin completion: %v", got)
	}
	c.change("icestick.pcf", strings.Replace(text, "set_io led[4] 95\n", "", 1)+"set_io l")
	if got := labels(c.complete("icestick.pcf", c.at("icestick.pcf", "96\nset_io l", 0, 11))); !slices.Equal(got, []string{"led[4]"}) {
		t.Errorf("port completion: %v", got)
	}
	// Hover on a pin: its bank and that it is a global buffer input.
	c.change("icestick.pcf", text)
	h := c.hover("icestick.pcf", c.at("icestick.pcf", "clk    21", 0, 8))
	if !strings.Contains(h, "bank 3") || !strings.Contains(h, "global buffer input: yes") {
		t.Errorf("hover on pin 21:\n%s", h)
	}
	// The design's ports change: the constraints are checked again.
	c.open("blinky.v")
	v := c.read("blinky.v")
	c.change("blinky.v", strings.Replace(v, "output wire [4:0] led", "output wire [5:0] led", 1))
	ds = c.waitDiags("icestick.pcf", "led[5] unconstrained", func(d []diag) bool {
		u := hasCode(d, "unconstrained", "pcf")
		return u != nil && strings.Contains(u.Message, "led[5]")
	})
	_ = ds
}
