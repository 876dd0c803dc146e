package format

import (
	"os"
	"path/filepath"
	"testing"
)

// seeds adds the golden inputs of the given languages, a few fragments and
// half-typed texts to f's corpus.
func seeds(f *testing.F, exts []string, fragments []string, add func(src []byte)) {
	for _, ext := range exts {
		files, _ := filepath.Glob("testdata/golden/*" + ext)
		for _, p := range files {
			if src, err := os.ReadFile(p); err == nil {
				add(src)
				if len(src) > 40 {
					add(src[:len(src)/2]) // cut in the middle: unbalanced
				}
			}
		}
	}
	for _, s := range fragments {
		add([]byte(s))
	}
}

func FuzzVerilog(f *testing.F) {
	seeds(f, []string{".v", ".sv"}, []string{
		"", "module", "module m (", "module m (\ninput a,\n", "begin\nend\nend\nend", "))))\n(((\n",
		"`define A \\\n", "`ifdef A\n`else\n`elsif\n`endif\n`endif", "/* unterminated\n comment",
		"\"unterminated\nstring", "\"a\\\n b\"\n  x", "case (x\n1: y;\nendcase", "if (a\nelse\n else",
		"class c;\nfunction\nendclass", "\\esc  \n  x;", "a\r\n  b\r\n\r\n", "`M(\n`N\n",
		"always @(posedge clk\n q <= d;", "fork\njoin_any\njoin", "typedef struct packed {\nlogic a;\n",
		"x = '{\n1,\n2};", "(*\n attr *)\nmodule m; endmodule", "wire [7:0 a;\nwire b;",
	}, func(src []byte) { f.Add(src, true, false) })
	f.Fuzz(func(t *testing.T, src []byte, sv, alt bool) {
		st := Style{}
		if alt {
			st = Style{UseTabs: true, IndentWidth: 3, Defines: []string{"A", "SIM"}}
		}
		lang := "v"
		if sv {
			lang = "sv"
		}
		checkProperties(t, lang, src, st)
		checkRangeProperty(t, lang, src, st)
	})
}

func FuzzVHDL(f *testing.F) {
	seeds(f, []string{".vhd"}, []string{
		"", "entity", "entity e is\nport (\n", "end\nend\nend;", "process (clk\nbegin\n",
		"if a then\nelsif\nelse\n", "case x is\nwhen =>\n", "/* block\n comment", "x <= '\n'",
		"a'\n'b", "\"unterminated\n", "\\ext\nid\\", "for i in 0 to 3 loop\n", "package p is new x;",
		"function f return t is\nbegin\n", "type r is record\na : bit;\n", "u: entity work.e port map (\na => b,\n",
	}, func(src []byte) { f.Add(src, false) })
	f.Fuzz(func(t *testing.T, src []byte, alt bool) {
		st := Style{}
		if alt {
			st = Style{UseTabs: true, IndentWidth: 3}
		}
		checkProperties(t, "vhdl", src, st)
		checkRangeProperty(t, "vhdl", src, st)
	})
}

// checkRangeProperty formats the middle third of src and checks that only
// whitespace changed and that nothing outside the lines of the range did.
func checkRangeProperty(t *testing.T, lang string, src []byte, st Style) {
	t.Helper()
	lo, hi := len(src)/3, 2*len(src)/3
	edits, err := formatRange(lang, src, lo, hi, st)
	if err != nil {
		return
	}
	// the first line of the range starts at or before lo, the last one ends at or after hi
	first := lo
	for first > 0 && src[first-1] != '\n' {
		first--
	}
	last := hi
	if lo == hi {
		last = lo + 1
	}
	for last < len(src) && (last == 0 || src[last-1] != '\n') {
		last++
	}
	for _, e := range edits {
		if e.Start < first || e.End > last {
			t.Fatalf("range [%d,%d) (lines [%d,%d)): edit %+v outside", lo, hi, first, last, e)
		}
	}
	out, err := Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	if string(nonSpace(out)) != string(nonSpace(src)) {
		t.Fatalf("range format changed non-whitespace:\n%q\n%q", src, out)
	}
}
