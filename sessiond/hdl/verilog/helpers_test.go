package verilog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

// testdataInclude resolves includes from testdata/.
func testdataInclude(name, from string) (string, []byte, bool) {
	p := filepath.ToSlash(filepath.Join(filepath.Dir(from), name))
	b, err := os.ReadFile(p)
	if err != nil {
		return "", nil, false
	}
	return p, b, true
}

func parseTestdata(t testing.TB, name string) (*design.File, string) {
	t.Helper()
	path := "testdata/" + name
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return Parse(path, src, Options{Include: testdataInclude}), string(src)
}

func parseString(src string, sv bool) *design.File {
	lang := design.Verilog
	if sv {
		lang = design.SystemVerilog
	}
	return Parse("t.sv", []byte(src), Options{Lang: lang})
}

func diagString(f *design.File, src string) string {
	var b strings.Builder
	for _, d := range f.Diags {
		line := 1 + strings.Count(src[:min(d.Span.Start, len(src))], "\n")
		b.WriteString(d.Span.File)
		b.WriteString(":")
		b.WriteString(itoa(line))
		b.WriteString(": ")
		b.WriteString(d.Code)
		b.WriteString(": ")
		b.WriteString(d.Message)
		if d.Span.File == f.Path && d.Span.End <= len(src) {
			b.WriteString(" [" + src[d.Span.Start:d.Span.End] + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func validFiles(t testing.TB) []string {
	ents, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".v") || strings.HasSuffix(n, ".sv") {
			out = append(out, n)
		}
	}
	return out
}

func TestValidFilesNoDiags(t *testing.T) {
	for _, name := range validFiles(t) {
		f, src := parseTestdata(t, name)
		if len(f.Diags) > 0 {
			t.Errorf("%s: unexpected diagnostics:\n%s", name, diagString(f, src))
		}
		if len(f.Units) == 0 {
			t.Errorf("%s: no units", name)
		}
	}
}
