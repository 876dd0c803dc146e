package pcf

import (
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		"set_io clk 21\nset_io -nowarn -pullup yes led[0] 99 # c\nset_frequency clk 12\n",
		"set_io -pullup_resistor\nset_io\n\tset_io a b c\r\n#\n",
		"LOCATE COMP \"clk\" SITE \"G2\";\nIOBUF PORT \"clk\" IO_TYPE=LVCMOS33;\nFREQUENCY PORT \"clk\" 25 MHZ;\n",
		"LOCATE COMP \"a\nIOBUF = = ;;\"",
		"IO_LOC \"x\" 3;\nIO_PORT \"x\" IO_TYPE=LVCMOS33 // c\n",
		"a[99999999999] =\"",
	}
	for i, s := range seeds {
		f.Add(s, uint8(i%3))
	}
	ports := []Port{{Name: "clk", Dir: design.DirInput}, {Name: "led", Dir: design.DirOutput, Width: 5}, {Name: "a", Width: 3, LSB: 2}}
	f.Fuzz(func(t *testing.T, src string, syn uint8) {
		file := ParseSyntax("f.x", []byte(src), Syntax(syn%3))
		check := func(sp design.Span, what string) {
			if sp.Start < 0 || sp.End < sp.Start || sp.End > len(src) {
				t.Fatalf("%s span %v out of %d bytes", what, sp, len(src))
			}
		}
		for _, d := range file.Diags {
			check(d.Span, "diag")
		}
		for _, st := range file.Stmts {
			check(st.Span, "stmt")
			for _, w := range append([]Word{st.Command, st.Port, st.Pin, st.Value}, st.Words...) {
				if w.Valid() {
					check(w.Span, "word")
				}
			}
		}
		c := Context{Ports: ports}
		for _, d := range Diagnose(file, c) {
			check(d.Span, "diagnose")
		}
		for off := 0; off <= len(src); off += 1 + len(src)/16 {
			for _, it := range Complete(file, off, c) {
				check(it.Edit, "edit")
				if it.Edit.Start > off || it.Edit.End < off {
					t.Fatalf("edit %v does not hold the cursor %d", it.Edit, off)
				}
			}
			if h, ok := Hover(file, off, c); ok {
				check(h.Span, "hover")
			}
		}
	})
}
