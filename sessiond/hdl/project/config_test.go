package project_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/hdl/project"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"rtl/**/*.v", "rtl/a.v", true},
		{"rtl/**/*.v", "rtl/x/y/a.v", true},
		{"rtl/**/*.v", "tb/a.v", false},
		{"rtl/legacy/**", "rtl/legacy/fifo.v", true},
		{"rtl/legacy/**", "rtl/fifo.v", false},
		{"*.vh", "inc/a.vh", false},
		{"inc/*.vh", "inc/a.vh", true},
		{"**", "a/b/c.v", true},
	}
	for _, tt := range tests {
		if got := project.Glob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{`include_dirs = ["../outside"]`, "outside the workspace"},
		{`include_dirs = ["/etc"]`, "outside the workspace"},
		{`defines = { "A B" = "1" }`, "not a macro name"},
		{`files = ["[a"]`, "bad glob"},
		{`tops = "x"`, `unknown key "tops"`},
		{`include_dirs = "inc"`, "include_dirs"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		_ = os.MkdirAll(filepath.Join(dir, ".ide"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, project.ConfigFile), []byte(tt.text), 0o644)
		r, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = project.LoadConfig(r)
		r.Close()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), project.ConfigFile) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", tt.text, err, project.ConfigFile, tt.want)
		}
	}
}

// A broken config does not stop the index: zero configuration applies
// and the error is kept for the server to show.
func TestBrokenConfigFallsBack(t *testing.T) {
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, ".ide"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, project.ConfigFile), []byte("top = [1"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "a.v"), []byte("module a; endmodule\n"), 0o644)
	p, err := project.New(project.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Index(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Config(); err == nil {
		t.Error("no config error kept")
	}
	p.View(func(v *project.Snapshot) {
		if len(v.Units("a", 0)) != 1 {
			t.Error("module a not indexed")
		}
	})
}

func TestLinesUTF16(t *testing.T) {
	src := []byte("a\n// é 😀 x\nlast")
	l := project.NewLines(src)
	off := strings.Index(string(src), "x")
	line, col := l.Position(off, true)
	if line != 1 || col != 8 { // "// é 😀 " is 3+1+1+2+1 UTF-16 units
		t.Errorf("utf16 position of x = %d:%d, want 1:8", line, col)
	}
	if got := l.Offset(1, 8, true); got != off {
		t.Errorf("Offset(1,8) = %d, want %d", got, off)
	}
	if _, c := l.Position(off, false); c != off-2 {
		t.Errorf("byte column %d, want %d", c, off-2)
	}
	if got := l.Offset(0, 99, true); got != 1 {
		t.Errorf("a column past the end clamps to the line end: %d", got)
	}
	if got := l.Offset(9, 0, true); got != len(src) {
		t.Errorf("a line past the end clamps to the end: %d", got)
	}
}
