package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
)

// needTools skips the test when a tool is missing, or fails it under CI.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (scripts/bootstrap.sh installs it)", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// want is one expected diagnostic: Tok is the text its range covers.
type want struct {
	Path   string
	Line   int // 0-based
	Tok    string
	Sev    design.Severity
	Source string
	Code   string
	Msg    string // the message contains it
	Also   []string
}

func brokenRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("testdata/broken")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// readUnder returns a read function for files under root.
func readUnder(root string) func(string) []byte {
	return func(p string) []byte {
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		return b
	}
}

// covered returns the text d's range covers.
func covered(read func(string) []byte, d Diagnostic) string {
	l := lineOf(read(d.Path), d.StartLine)
	if d.StartLine != d.EndLine || d.StartCol < 0 || d.EndCol > len(l) || d.StartCol >= d.EndCol {
		return "<bad range>"
	}
	return string(l[d.StartCol:d.EndCol])
}

func checkDiags(t *testing.T, read func(string) []byte, got []Diagnostic, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, d := range got {
			t.Logf("got %s:%d:%d-%d %q sev=%d %s %q code=%s also=%v", d.Path, d.StartLine, d.StartCol, d.EndCol, covered(read, d), d.Severity, d.Source, d.Message, d.Code, d.Also)
		}
		t.Fatalf("got %d diagnostics, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		d := got[i]
		tok := covered(read, d)
		if d.Path != w.Path || d.StartLine != w.Line || tok != w.Tok || d.Severity != w.Sev || d.Source != w.Source || d.Code != w.Code || !strings.Contains(d.Message, w.Msg) || strings.Join(d.Also, ",") != strings.Join(w.Also, ",") {
			t.Errorf("diag %d:\n got %s:%d %q sev=%d %s code=%q %q also=%v\nwant %s:%d %q sev=%d %s code=%q %q also=%v",
				i, d.Path, d.StartLine, tok, d.Severity, d.Source, d.Code, d.Message, d.Also,
				w.Path, w.Line, w.Tok, w.Sev, w.Source, w.Code, w.Msg, w.Also)
		}
	}
}
