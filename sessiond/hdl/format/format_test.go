package format

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// langOf tells how to format a file by its name: "v", "sv", "vhdl" or "".
func langOf(name string) string {
	switch filepath.Ext(strings.TrimSuffix(name, ".golden")) {
	case ".v", ".vh":
		return "v"
	case ".sv", ".svh":
		return "sv"
	case ".vhd", ".vhdl":
		return "vhdl"
	}
	return ""
}

func formatRange(lang string, src []byte, lo, hi int, st Style) ([]Edit, error) {
	if lang == "vhdl" {
		return VHDL(src, lo, hi, st)
	}
	return Verilog(src, lang == "sv", lo, hi, st)
}

func formatAll(t testing.TB, lang string, src []byte, st Style) []byte {
	t.Helper()
	edits, err := formatRange(lang, src, 0, len(src), st)
	if err != nil {
		t.Fatalf("format: %v", err)
	}
	out, err := Apply(src, edits)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return out
}

func nonSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			out = append(out, c)
		}
	}
	return out
}

// lineCount checks that formatting kept every line break.
func lineCount(b []byte) int { return bytes.Count(b, []byte{'\n'}) }

// checkProperties checks what must hold for every input: only whitespace
// changes, line breaks stay, edits are in order and inside the text, and
// formatting the output again changes nothing.
func checkProperties(t testing.TB, lang string, src []byte, st Style) {
	t.Helper()
	edits, err := formatRange(lang, src, 0, len(src), st)
	if err != nil {
		return // an error is allowed; it must simply not change anything
	}
	prev := 0
	for _, e := range edits {
		if e.Start < prev || e.End < e.Start || e.End > len(src) {
			t.Fatalf("bad edit %+v after %d (len %d)", e, prev, len(src))
		}
		if !bytes.Equal(nonSpace(src[e.Start:e.End]), nonSpace([]byte(e.Text))) {
			t.Fatalf("edit %+v replaces %q: more than whitespace", e, src[e.Start:e.End])
		}
		prev = e.End
	}
	out, err := Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(nonSpace(out), nonSpace(src)) {
		t.Fatalf("non-whitespace changed:\n--- in\n%q\n--- out\n%q", src, out)
	}
	if lineCount(out) != lineCount(src) {
		t.Fatalf("line count %d -> %d:\n%q\n%q", lineCount(src), lineCount(out), src, out)
	}
	again, err := formatRange(lang, out, 0, len(out), st)
	if err != nil {
		t.Fatalf("formatting the output failed: %v\n%q", err, out)
	}
	if len(again) != 0 {
		t.Fatalf("not idempotent: %+v\n--- in\n%q\n--- out\n%q", again, src, out)
	}
}

// TestGolden formats each testdata/golden/NAME.EXT and compares the result
// with NAME.EXT.golden (go test -update rewrites those).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range files {
		lang := langOf(in)
		if lang == "" || strings.HasSuffix(in, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			st := Style{}
			if strings.Contains(in, ".tabs.") {
				st.UseTabs = true
			}
			if strings.Contains(in, ".noalign.") {
				st.NoAlign = true
			}
			if strings.Contains(in, ".indent4.") {
				st.IndentWidth = 4
			}
			got := formatAll(t, lang, src, st)
			if *update {
				if err := os.WriteFile(in+".golden", got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(in + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s.golden:\n%s", in, diffLines(string(want), string(got)))
			}
			checkProperties(t, lang, src, st)
			// the golden file is already formatted
			if edits, err := formatRange(lang, want, 0, len(want), st); err != nil || len(edits) != 0 {
				t.Errorf("formatting %s.golden: %v, edits %+v", in, err, edits)
			}
		})
	}
	if n < 8 {
		t.Fatalf("only %d golden inputs found", n)
	}
}

func diffLines(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y {
			b.WriteString("line " + strconv.Itoa(i+1))
			b.WriteString(":\n  want " + strings.ReplaceAll(x, "\t", "\\t") + "\n  got  " + strings.ReplaceAll(y, "\t", "\\t") + "\n")
		}
	}
	return b.String()
}

// TestRepositoryHDL formats every HDL file of the repository's other test
// data (the corpus, the parsers' testdata): no errors, only whitespace
// changes, idempotent, with every style.
func TestRepositoryHDL(t *testing.T) {
	n := 0
	for _, root := range []string{"../corpus/testdata", "../verilog/testdata", "../vhdl/testdata"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			lang := langOf(p)
			if lang == "" {
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n++
			for _, st := range []Style{{}, {UseTabs: true}, {IndentWidth: 3, NoAlign: true}} {
				if _, err := formatRange(lang, src, 0, len(src), st); err != nil {
					t.Errorf("%s: %v", p, err)
					continue
				}
				checkProperties(t, lang, src, st)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 20 {
		t.Fatalf("only %d HDL files found", n)
	}
}
