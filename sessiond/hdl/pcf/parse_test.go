package pcf

import (
	"fmt"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

// at returns the text a span covers.
func text(f *File, w Word) string { return string(f.Src[w.Span.Start:w.Span.End]) }

func TestParsePCF(t *testing.T) {
	src := "# header\nset_io -nowarn -pullup yes -pullup_resistor 10K led[0] 99 # trailing\n\n  set_frequency clk 12.5\nset_io clk 21"
	f := Parse("board.pcf", []byte(src))
	if len(f.Diags) != 0 {
		t.Fatalf("diags: %v", f.Diags)
	}
	if len(f.Stmts) != 3 {
		t.Fatalf("got %d statements", len(f.Stmts))
	}
	s := f.Stmts[0]
	if s.Kind != KindSetIO || s.Port.Text != "led[0]" || s.Pin.Text != "99" || text(f, s.Port) != "led[0]" || text(f, s.Pin) != "99" {
		t.Fatalf("stmt 0: %+v", s)
	}
	if got := src[s.Span.Start:s.Span.End]; got != "set_io -nowarn -pullup yes -pullup_resistor 10K led[0] 99" {
		t.Fatalf("span %q", got)
	}
	var opts []string
	for _, o := range s.Options {
		opts = append(opts, o.Name.Text+"="+o.Value.Text)
	}
	if strings.Join(opts, " ") != "-nowarn= -pullup=yes -pullup_resistor=10K" {
		t.Fatalf("options %v", opts)
	}
	if s.Port.Span.File != "board.pcf" {
		t.Fatal("span file", s.Port.Span)
	}
	fr := f.Stmts[1]
	if fr.Kind != KindSetFrequency || fr.Port.Text != "clk" || fr.Value.Text != "12.5" || text(f, fr.Value) != "12.5" {
		t.Fatalf("stmt 1: %+v", fr)
	}
	if f.Stmts[2].Pin.Text != "21" || f.Stmts[2].Pin.Span.End != len(src) {
		t.Fatalf("stmt 2: %+v", f.Stmts[2])
	}
	if b, i, ok := SplitBit("led[12]"); b != "led" || i != 12 || !ok {
		t.Fatal(b, i, ok)
	}
	for _, n := range []string{"clk", "a[]", "a[x]", "[3]", "a[1:0]"} {
		if _, _, ok := SplitBit(n); ok {
			t.Fatal(n)
		}
	}
}

// diagString renders diagnostics as "code start-end 'covered text': message".
func diagString(f *File, ds []design.Diag) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s %d-%d %q: %s\n", d.Code, d.Span.Start, d.Span.End, string(f.Src[d.Span.Start:d.Span.End]), d.Message)
	}
	return b.String()
}

func TestParsePCFErrors(t *testing.T) {
	src := "set_io led[0]\nset_io -pullup maybe a 1\nset_io -drive 8 b 2\nset_io c 3 4\nset_frequency clk fast\nset_location x 1\nset_io -pullup_resistor"
	f := Parse("e.pcf", []byte(src))
	want := `syntax 0-13 "set_io led[0]": set_io: expected a port and a pin (set_io [options] PORT PIN)
syntax 29-34 "maybe": set_io: -pullup must be one of yes, no
syntax 46-52 "-drive": set_io: unknown option -drive (nextpnr-ice40 knows -nowarn, -pullup yes|no, -pullup_resistor 3P3K|6P8K|10K|100K)
syntax 57-58 "2": set_io: unexpected words after the pin
syntax 70-71 "4": set_io: unexpected words after the pin
syntax 90-94 "fast": set_frequency: fast is not a frequency in MHz
syntax 95-107 "set_location": unknown command set_location (nextpnr-ice40 reads set_io and set_frequency)
syntax 112-135 "set_io -pullup_resistor": set_io: expected a port and a pin (set_io [options] PORT PIN)
syntax 119-135 "-pullup_resistor": set_io: -pullup_resistor needs a value
`
	if got := diagString(f, f.Diags); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseLPF(t *testing.T) {
	src := "# ULX3S\nLOCATE COMP \"clk\" SITE \"G2\";\nIOBUF PORT \"clk\" IO_TYPE=LVCMOS33 PULLMODE=NONE;\n" +
		"FREQUENCY PORT \"clk\" 25 MHZ; // comment\nLOCATE COMP \"led[0]\" SITE \"B2\"; BLOCK RESETPATHS;\nSYSCONFIG CONFIG_IOVOLTAGE=3.3;\n"
	f := Parse("ulx3s.lpf", []byte(src))
	if len(f.Diags) != 0 {
		t.Fatalf("diags: %v", f.Diags)
	}
	var got []string
	for _, s := range f.Stmts {
		got = append(got, fmt.Sprintf("%s port=%s pin=%s value=%s unit=%s opts=%d span=%q", s.Kind, text(f, s.Port), text(f, s.Pin), s.Value.Text, s.Unit.Text, len(s.Options), src[s.Span.Start:s.Span.End]))
	}
	want := []string{
		`LOCATE port=clk pin=G2 value= unit= opts=0 span="LOCATE COMP \"clk\" SITE \"G2\";"`,
		`IOBUF port=clk pin= value= unit= opts=2 span="IOBUF PORT \"clk\" IO_TYPE=LVCMOS33 PULLMODE=NONE;"`,
		`FREQUENCY port=clk pin= value=25 unit=MHZ opts=0 span="FREQUENCY PORT \"clk\" 25 MHZ;"`,
		`LOCATE port=led[0] pin=B2 value= unit= opts=0 span="LOCATE COMP \"led[0]\" SITE \"B2\";"`,
		`other port= pin= value= unit= opts=0 span="BLOCK RESETPATHS;"`,
		`other port= pin= value= unit= opts=1 span="SYSCONFIG CONFIG_IOVOLTAGE=3.3;"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
	if o := f.Stmts[1].Options[0]; o.Name.Text != "IO_TYPE" || o.Value.Text != "LVCMOS33" {
		t.Fatal(o)
	}
}

func TestParseLPFErrors(t *testing.T) {
	src := "LOCATE COMP \"a\" SITE \"B5\"\nLOCATE COMP \"b\" \"C5\";\nIOBUF PORT \"c;\nFREQUENCY PORT \"clk\" fast MHZ;"
	f := Parse("e.lpf", []byte(src))
	want := `syntax 22-24 "B5": missing ';' after this statement
syntax 26-47 "LOCATE COMP \"b\" \"C5\";": expected LOCATE COMP "port" SITE "pin";
syntax 59-62 "\"c;": string without its closing quote
syntax 60-62 "c;": missing ';' after this statement
syntax 63-93 "FREQUENCY PORT \"clk\" fast MHZ;": expected FREQUENCY PORT "name" 25 MHZ;
`
	if got := diagString(f, f.Diags); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if len(f.Stmts) != 4 || f.Stmts[0].Pin.Text != "B5" || f.Stmts[2].Port.Text != "c;" {
		t.Fatalf("%+v", f.Stmts)
	}
}

func TestParseCST(t *testing.T) {
	src := "// Tang Nano 9K\nIO_LOC \"clk\" 52;\nIO_PORT \"clk\" IO_TYPE=LVCMOS33 PULL_MODE=UP;\nIO_LOC  \"led[0]\" 10;\nIO_LOC \"x\";\n"
	f := Parse("tn9k.cst", []byte(src))
	if len(f.Stmts) != 4 {
		t.Fatalf("%d statements", len(f.Stmts))
	}
	if s := f.Stmts[0]; s.Kind != KindIOLoc || s.Port.Text != "clk" || s.Pin.Text != "52" || text(f, s.Port) != "clk" {
		t.Fatalf("%+v", s)
	}
	if s := f.Stmts[1]; s.Kind != KindIOPort || len(s.Options) != 2 || s.Options[1].Value.Text != "UP" {
		t.Fatalf("%+v", s)
	}
	if s := f.Stmts[2]; s.Port.Text != "led[0]" || text(f, s.Pin) != "10" {
		t.Fatalf("%+v", s)
	}
	want := `syntax 99-110 "IO_LOC \"x\";": expected IO_LOC "port" pin;` + "\n"
	if got := diagString(f, f.Diags); got != want {
		t.Fatalf("got\n%s", got)
	}
}

func TestSyntaxFor(t *testing.T) {
	for name, want := range map[string]Syntax{"a/b.PCF": SyntaxPCF, "x.lpf": SyntaxLPF, "t.cst": SyntaxCST} {
		if s, ok := SyntaxFor(name); !ok || s != want {
			t.Fatal(name, s, ok)
		}
	}
	if _, ok := SyntaxFor("top.v"); ok {
		t.Fatal("top.v")
	}
}
