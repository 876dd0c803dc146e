package pcf

import (
	"errors"
	"testing"
)

func TestDetectTarget(t *testing.T) {
	if got := DetectTarget(repoFile(t, "examples/blinky/Makefile"), Target{}); got != (Target{"hx1k", "tq144"}) {
		t.Fatalf("blinky: %+v", got)
	}
	cases := []struct {
		mk       string
		explicit Target
		want     Target
	}{
		{"all:\n\tnextpnr-ice40 --up5k --package sg48 --pcf x.pcf --json x.json\n", Target{}, Target{"up5k", "sg48"}},
		{"PNR = nextpnr-ice40\nFLAGS := --hx8k --package=ct256\nx:\n\t$(PNR) $(FLAGS) --json a\n", Target{}, Target{"hx8k", "ct256"}},
		{"x:\n\t/usr/bin/nextpnr-ice40 --lp8k \\\n\t  --package cm81 --asc a\n", Target{}, Target{"lp8k", "cm81"}},
		{"x:\n\ticetime -d hx1k -P vq100 -mtr a.rpt a.asc\n", Target{}, Target{"hx1k", "vq100"}},
		{"x:\n\tarachne-pnr -d 8k -P ct256 a.blif\n", Target{}, Target{"hx8k", "ct256"}},
		{"FPGA_DEVICE ?= iCE40UP5K # the board\n", Target{}, Target{"up5k", "sg48"}},
		{"DEVICE := hx1k\n", Target{}, Target{"hx1k", "tq144"}},
		{"DEVICE := hx1k\nPKG := tq144\n", Target{Package: "vq100"}, Target{"hx1k", "vq100"}},
		{"DEVICE := hx1k\n", Target{Device: "iCE40HX8K", Package: "CB132"}, Target{"hx8k", "cb132"}},
		{"", Target{}, Target{}},
		{"all:\n\tyosys -p synth_ecp5\n", Target{}, Target{}},
	}
	for _, tc := range cases {
		if got := DetectTarget([]byte(tc.mk), tc.explicit); got != tc.want {
			t.Errorf("%q %+v: got %+v want %+v", tc.mk, tc.explicit, got, tc.want)
		}
	}
	if DetectTarget(nil, Target{Device: "hx1k"}) != (Target{"hx1k", "tq144"}) {
		t.Fatal("explicit device")
	}
	for in, want := range map[string]string{"iCE40HX1K": "hx1k", "--lp384": "lp384", "ice40-up5k": "up5k", "ecp5": "", "iCE5LP4K": "u4k"} {
		if got := NormalizeDevice(in); got != want {
			t.Errorf("%s: %q", in, got)
		}
	}
}

func TestChipDB(t *testing.T) {
	db := chipDB(t)
	// What icestorm ships per device, as read from its chipdb files.
	want := map[string]string{
		"hx1k":  "cb121 cb132 cb81 cm121 cm36 cm49 cm81 qn84 swg16tr tq144 vq100",
		"hx4k":  "bg121 cb132 cm121 cm225 cm81 tq144",
		"hx8k":  "bg121 cb132 cm121 cm225 cm81 ct256",
		"lp384": "cm36 cm49 qn32",
		"up5k":  "sg48 uwg30",
		"u4k":   "sg48",
	}
	for dev, pk := range want {
		got, err := db.Packages(dev)
		if err != nil {
			t.Fatal(err)
		}
		if s := joinWords(got); s != pk {
			t.Errorf("%s: %s", dev, s)
		}
	}
	counts := map[[2]string]int{{"hx1k", "tq144"}: 96, {"hx8k", "ct256"}: 206, {"hx4k", "tq144"}: 107, {"up5k", "sg48"}: 39, {"lp384", "qn32"}: 21}
	for k, n := range counts {
		p, err := db.Package(k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Pins) != n {
			t.Errorf("%v: %d pins", k, len(p.Pins))
		}
	}
	p, _ := db.Package("up5k", "sg48")
	rgb, _ := p.Pin("39")
	if rgb.Bank != -1 || joinWords(rgb.Functions) != "RGBA_DRV.RGB0" {
		t.Fatalf("%+v", rgb)
	}
	p, _ = db.Package("hx8k", "ct256")
	if j3, ok := p.Pin("j3"); !ok || !j3.GBIN() {
		t.Fatalf("hx8k ct256 J3 (the iCE40-HX8K breakout's 12 MHz clock): %+v", j3)
	}
	// The PLL of the 1k is locked on vq100: its pads carry no PLL function there.
	p, _ = db.Package("hx1k", "vq100")
	if pin, _ := p.Pin("33"); len(pin.Functions) != 0 || !pin.GBIN() {
		t.Fatalf("%+v", pin)
	}
	if _, err := db.Package("hx8k", "tq144"); !errors.Is(err, ErrUnknownPackage) {
		t.Fatal(err)
	}
	if _, err := db.Package("ecp5", "cabga381"); !errors.Is(err, ErrUnknownDevice) {
		t.Fatal(err)
	}
	if _, err := NewDB(DBOptions{Dirs: []string{t.TempDir()}}).Package("hx1k", "tq144"); !errors.Is(err, ErrNoChipDB) {
		t.Fatal(err)
	}
}

func joinWords(s []string) string {
	out := ""
	for i, w := range s {
		if i > 0 {
			out += " "
		}
		out += w
	}
	return out
}
