package lint

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary tool output and source text to every parser
// and checks that each diagnostic has a non-empty range on one line that
// lies inside that line when the line exists.
func FuzzParse(f *testing.F) {
	outs, _ := filepath.Glob("testdata/*.out")
	for _, o := range outs {
		b, err := os.ReadFile(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("module m;\n\twire x; /* c */ wire y;\nendmodule\n"))
	}
	f.Add([]byte("%Error: a.v:2:99: x\n    2 | zz\n      |  ^~~~~~~~~~~~~~\n"), []byte("\n\t\n"))
	f.Add([]byte("ERROR: Module `\\a' referenced in module `\\m' in cell `\\u' does not have a port named 'p'.\n"), []byte("module m; a u(.p(1)); endmodule"))
	f.Add([]byte("a.vhd:1:200:warning: x [-W\nb.v:3: error: ``q'' `\n"), []byte("\t\t\tq"))
	f.Fuzz(func(t *testing.T, out, src []byte) {
		read := func(string) []byte { return src }
		check := func(name string, ds []Diagnostic) {
			for _, d := range ds {
				if d.StartLine < 0 || d.StartLine != d.EndLine || d.StartCol < 0 || d.EndCol <= d.StartCol {
					t.Fatalf("%s: bad range %+v", name, d)
				}
				if l := lineOf(src, d.StartLine); len(l) > 0 && d.EndCol > len(l) && d.StartCol >= len(l) {
					t.Fatalf("%s: range past line %q: %+v", name, l, d)
				}
			}
		}
		check("verilator", ParseVerilator(out, read))
		check("iverilog", ParseIverilog(out, read))
		check("yosys", ParseYosys(out, read, []string{"m.v"}))
		check("ghdl", ParseGHDL(out, read))
		_ = quoted(string(out))
		_ = includes(src)
	})
}
