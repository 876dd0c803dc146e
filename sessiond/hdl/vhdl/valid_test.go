package vhdl

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// validFiles are the valid VHDL-2008 test designs in dependency order.
var validFiles = []string{
	"types_pkg.vhd", "ctx.vhd", "fifo.vhd", "alu.vhd", "top.vhd", "tb_fifo.vhd",
	"counter.vhd", "util_pkg.vhd", "config.vhd", "gen2008.vhd", "literals.vhd", "uart_tx.vhd", "tricky.vhd",
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

// TestValidFilesGHDL checks that ghdl accepts every valid test design, so
// the zero-diagnostics test below is about real VHDL-2008.
func TestValidFilesGHDL(t *testing.T) {
	ghdl := needTool(t, "ghdl")
	work := t.TempDir()
	for _, name := range validFiles {
		path := filepath.Join("testdata", name)
		if out, err := exec.Command(ghdl, "-s", "--std=08", "--workdir="+work, path).CombinedOutput(); err != nil {
			t.Errorf("ghdl -s %s: %v\n%s", name, err, out)
		}
		if out, err := exec.Command(ghdl, "-a", "--std=08", "--workdir="+work, path).CombinedOutput(); err != nil {
			t.Errorf("ghdl -a %s: %v\n%s", name, err, out)
		}
	}
}

func TestValidFilesNoDiags(t *testing.T) {
	for _, name := range validFiles {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		f := Parse("testdata/"+name, src)
		for _, d := range f.Diags {
			t.Errorf("%s:%d: %s (%q)", name, lineOf(src, d.Span.Start), d.Message, src[d.Span.Start:min(d.Span.End, len(src))])
		}
		if len(f.Units) == 0 && name != "ctx.vhd" {
			t.Errorf("%s: no units", name)
		}
	}
}

func lineOf(src []byte, off int) int {
	n := 1
	for _, c := range src[:min(off, len(src))] {
		if c == '\n' {
			n++
		}
	}
	return n
}
