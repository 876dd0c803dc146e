package pcf

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func TestIcestickClean(t *testing.T) {
	c := hx1k(t)
	f := Parse("examples/blinky/icestick.pcf", repoFile(t, "examples/blinky/icestick.pcf"))
	if ds := Diagnose(f, c); len(ds) != 0 {
		t.Fatalf("icestick.pcf: %s", diagString(f, ds))
	}
	if len(f.Stmts) != 6 {
		t.Fatalf("%d statements", len(f.Stmts))
	}
}

func TestDiagnoseBroken(t *testing.T) {
	c := hx1k(t)
	cases := []struct{ name, src, want string }{
		{"unknown port", "set_io clk 21\nset_io led[0] 99\nset_io led[1] 98\nset_io led[2] 97\nset_io led[3] 96\nset_io led[4] 95\nset_io btn 1\n",
			`unknown-port 106-109 "btn": btn is not a port of the top module` + "\n"},
		{"bit out of range and whole bus", "set_io clk 21\nset_io led 99\nset_io led[5] 98\nset_io clk[0] 97\n",
			`unknown-port 21-24 "led": led is a 5-bit bus: constrain its bits led[0] .. led[4]
unknown-port 35-41 "led[5]": bit 5 is not in output led[4:0] (5 bits)
unknown-port 52-58 "clk[0]": clk is a scalar input: constrain it as clk
unconstrained 62-62 "": output led[4:0] (5 bits) has no pins: constrain led[0] .. led[4]
`},
		{"pin not on package", "set_io clk 5\nset_io led[0] 99\nset_io led[1] 98\nset_io led[2] 97\nset_io led[3] 96\nset_io led[4] A1\n",
			`unknown-pin 11-12 "5": hx1k tq144 has no pin 5
unknown-pin 95-97 "A1": hx1k tq144 has no pin A1
`},
		{"pin twice", "set_io clk 21\nset_io led[0] 99\nset_io led[1] 99\nset_io led[2] 97\nset_io led[3] 21\nset_io led[4] 95\n",
			`pin-used-twice 45-47 "99": pin 99 is already used by led[0] on line 2
pin-used-twice 79-81 "21": pin 21 is already used by clk on line 1
`},
		{"unconstrained after last set_io", "# board\nset_io clk 21\nset_io led[0] 99\n\nset_io led[2] 97 # two\n# end\n",
			`unconstrained 63-63 "": output led[4:0] (5 bits): led[1], led[3], led[4] without a pin` + "\n"},
		{"nothing constrained", "# empty\n",
			`unconstrained 0-0 "": input clk (1 bit) has no pin
unconstrained 0-0 "": output led[4:0] (5 bits) has no pins: constrain led[0] .. led[4]
`},
		{"port twice and syntax", "set_io clk 21\nset_io clk 20\nset_io -pullup on led[0] 99\nset_io led[1] 98\nset_io led[2] 97\nset_io led[3] 96\nset_io led[4] 95",
			`port-twice 21-24 "clk": clk already has a pin on line 1
syntax 43-45 "on": set_io: -pullup must be one of yes, no
`},
		{"set_frequency unknown net", "set_frequency sysclk 12\nset_io clk 21\nset_io led[0] 99\nset_io led[1] 98\nset_io led[2] 97\nset_io led[3] 96\nset_io led[4] 95\n",
			`unknown-port 14-20 "sysclk": sysclk is not a port of the top module` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Parse("b.pcf", []byte(tc.src))
			if got := diagString(f, Diagnose(f, c)); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestDiagnoseNoChipDB(t *testing.T) {
	f := Parse("b.pcf", []byte("set_io clk 21\nset_io clk2 21\n"))
	c := Context{Ports: []Port{{Name: "clk", Dir: design.DirInput}, {Name: "clk2", Dir: design.DirInput}},
		Target: Target{Device: "hx1k", Package: "tq144"}, DB: NewDB(DBOptions{Dirs: []string{t.TempDir()}})}
	ds := Diagnose(f, c)
	if len(ds) != 2 || ds[0].Code != CodeNoChipDB || ds[0].Severity != design.Information || ds[1].Code != CodePinTwice {
		t.Fatalf("%s", diagString(f, ds))
	}
	if !strings.Contains(ds[0].Message, "chipdb-1k.txt") || !strings.Contains(ds[0].Message, "fpga-icestorm-chipdb") {
		t.Fatal(ds[0].Message)
	}
	// An LPF file is checked against the ports only, with no chipdb message.
	l := Parse("b.lpf", []byte("LOCATE COMP \"clk\" SITE \"G2\";\nLOCATE COMP \"nope\" SITE \"G2\";\n"))
	got := diagString(l, Diagnose(l, Context{Ports: c.Ports}))
	want := `unknown-port 42-46 "nope": nope is not a port of the top module
pin-used-twice 54-56 "G2": pin G2 is already used by clk on line 1
unconstrained 59-59 "": input clk2 (1 bit) has no pin
`
	if got != want {
		t.Fatalf("got\n%s", got)
	}
}

func labels(items []Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Label)
	}
	return strings.Join(s, " ")
}

func TestCompletePorts(t *testing.T) {
	c := hx1k(t)
	src := "set_io clk 21\nset_io led[1] 98\nset_io \nset_io le 9\n"
	f := Parse("c.pcf", []byte(src))
	at := strings.Index(src, "set_io \n") + len("set_io ")
	items := Complete(f, at, c)
	if got := labels(items); got != "led[0] led[2] led[3] led[4]" {
		t.Fatalf("ports: %q", got)
	}
	if it := items[0]; it.Kind != ItemPort || it.Detail != "output, bit 0 of led[4:0]" || it.Edit.Start != at || it.Edit.End != at {
		t.Fatalf("%+v", it)
	}
	// In a partly typed word the edit covers the word.
	at = strings.Index(src, "set_io le ") + len("set_io l")
	items = Complete(f, at, c)
	if len(items) != 4 || src[items[0].Edit.Start:items[0].Edit.End] != "le" {
		t.Fatalf("%+v", items)
	}
	// The command position and options.
	if got := labels(Complete(f, 0, c)); got != "set_io set_frequency" {
		t.Fatal(got)
	}
	g := Parse("o.pcf", []byte("set_io -pu"))
	if got := labels(Complete(g, 10, c)); got != "-nowarn -pullup -pullup_resistor" {
		t.Fatal(got)
	}
	g = Parse("o.pcf", []byte("set_io -pullup_resistor "))
	if got := labels(Complete(g, 24, c)); got != "3P3K 6P8K 10K 100K" {
		t.Fatal(got)
	}
	g = Parse("o.pcf", []byte("set_frequency  \n"))
	if got := labels(Complete(g, 14, c)); got != "clk" {
		t.Fatal(got)
	}
	// In a comment: nothing.
	g = Parse("o.pcf", []byte("set_io clk 21 # set_io "))
	if items := Complete(g, 23, c); len(items) != 0 {
		t.Fatal(labels(items))
	}
}

func TestCompletePins(t *testing.T) {
	c := hx1k(t)
	src := "set_io clk 21\nset_io led[0] 99\nset_io led[1] "
	f := Parse("c.pcf", []byte(src))
	items := Complete(f, len(src), c)
	pkg, err := c.DB.Package("hx1k", "tq144")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(pkg.Pins)-2 || len(pkg.Pins) != 96 {
		t.Fatalf("%d items of %d pins", len(items), len(pkg.Pins))
	}
	got := labels(items)
	if strings.Contains(" "+got+" ", " 21 ") || strings.Contains(" "+got+" ", " 99 ") {
		t.Fatal("used pins offered:", got)
	}
	if !strings.HasPrefix(got, "1 2 3 4 7 8 9 10 11 12 19 20 22 ") {
		t.Fatal(got)
	}
	for _, it := range items {
		if it.Label == "20" && (it.Kind != ItemPin || it.Detail != "bank 3, GBIN (global net 4), tile 0/9 io 0") {
			t.Fatalf("%+v", it)
		}
		if it.Label == "49" && it.Detail != "bank 2, GBIN (global net 6), PLL.PLLOUT_A, tile 6/0 io 1" {
			t.Fatalf("%+v", it)
		}
	}
	// Replacing a pin: the statement's own pin is offered again.
	src = "set_io clk 21\n"
	f = Parse("c.pcf", []byte(src))
	items = Complete(f, len("set_io clk 2"), c)
	if len(items) != 96 || src[items[0].Edit.Start:items[0].Edit.End] != "21" {
		t.Fatalf("%d %+v", len(items), items[0])
	}
}

func TestCompleteLPFCST(t *testing.T) {
	c := Context{Ports: icestickPorts}
	src := "LOCATE COMP \"clk\" SITE \"G2\";\nLOCATE COMP \"le"
	f := Parse("c.lpf", []byte(src))
	items := Complete(f, len(src), c)
	if got := labels(items); got != "led[0] led[1] led[2] led[3] led[4]" {
		t.Fatal(got)
	}
	if src[items[0].Edit.Start:items[0].Edit.End] != "le" {
		t.Fatal(items[0].Edit)
	}
	if got := labels(Complete(f, len("LOCATE "), c)); got != "COMP PORT NET SITE" {
		t.Fatal(got)
	}
	g := Parse("c.cst", []byte("IO_LOC \"clk\" 52;\nIO_LOC \""))
	if got := labels(Complete(g, len(g.Src), c)); got != "led[0] led[1] led[2] led[3] led[4]" {
		t.Fatal(got)
	}
	if got := labels(Complete(g, len("IO_LOC \"clk\" 52;\n"), c)); got != "IO_LOC IO_PORT" {
		t.Fatal(got)
	}
}

// chipdbLine finds, in icestorm's own file, the line of a section that
// starts with prefix.
func chipdbLine(t *testing.T, file, section, prefix string) []string {
	t.Helper()
	var path string
	for _, d := range DefaultChipDBDirs {
		if _, err := os.Stat(filepath.Join(d, file)); err == nil {
			path = filepath.Join(d, file)
			break
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	in := false
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, ".") {
			in = l == section
			continue
		}
		if in && strings.HasPrefix(l, prefix) {
			return strings.Fields(l)
		}
	}
	t.Fatalf("%s: no %q in %s", file, prefix, section)
	return nil
}

func TestHoverPin(t *testing.T) {
	c := hx1k(t)
	src := "set_io clk 21\nset_io led[0] 99\nset_io led[1] 5\n"
	f := Parse("h.pcf", []byte(src))
	pin := chipdbLine(t, "chipdb-1k.txt", ".pins tq144", "21 ")
	g := chipdbLine(t, "chipdb-1k.txt", ".gbufpin", pin[1]+" "+pin[2]+" "+pin[3]+" ")
	h, ok := Hover(f, len("set_io clk 2"), c)
	if !ok {
		t.Fatal("no hover")
	}
	want := "**pin 21** of iCE40 HX1K TQ144\n\n- bank 3 (left edge)\n- IO tile x=" + pin[1] + " y=" + pin[2] + ", IO block " + pin[3] +
		"\n- global buffer input: yes, drives global net " + g[3] + "\n"
	if h.Text != want || src[h.Span.Start:h.Span.End] != "21" {
		t.Fatalf("got %q\nwant %q", h.Text, want)
	}
	p99 := chipdbLine(t, "chipdb-1k.txt", ".pins tq144", "99 ")
	h, _ = Hover(f, strings.Index(src, "99"), c)
	want = "**pin 99** of iCE40 HX1K TQ144\n\n- bank 1 (right edge)\n- IO tile x=" + p99[1] + " y=" + p99[2] + ", IO block " + p99[3] + "\n- global buffer input: no\n"
	if h.Text != want {
		t.Fatalf("got %q", h.Text)
	}
	h, _ = Hover(f, strings.Index(src, " 5")+1, c)
	if h.Text != "**5** is not a pin of hx1k tq144" {
		t.Fatal(h.Text)
	}
}

func TestHoverPort(t *testing.T) {
	c := hx1k(t)
	src := "set_io clk 21\nset_io led[3] 96\nset_io foo 1\n"
	f := Parse("h.pcf", []byte(src))
	for off, want := range map[int]string{
		8:                          "**clk**: input clk (1 bit)",
		strings.Index(src, "led"):  "**led[3]**: bit 3 of output led[4:0] (5 bits)",
		strings.Index(src, "foo"):  "**foo**: foo is not a port of the top module",
		strings.Index(src, "set_"): "",
	} {
		h, ok := Hover(f, off, c)
		if h.Text != want || ok != (want != "") {
			t.Fatalf("at %d: %q %v", off, h.Text, ok)
		}
	}
}

func TestPortLSB(t *testing.T) {
	f := Parse("b.pcf", []byte("set_io d[4] 1\nset_io d[7] 2\nset_io d[3] 3\n"))
	c := Context{Ports: []Port{{Name: "d", Dir: design.DirInout, Width: 4, LSB: 4}}}
	want := `unknown-port 35-39 "d[3]": bit 3 is not in inout d[7:4] (4 bits)
unconstrained 42-42 "": inout d[7:4] (4 bits): d[5], d[6] without a pin
`
	if got := diagString(f, Diagnose(f, c)); got != want {
		t.Fatalf("got\n%s", got)
	}
}
