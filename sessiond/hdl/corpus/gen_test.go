package corpus

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// countTree returns the number of files and lines under dir.
func countTree(t *testing.T, dir string) (files, lines int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files++
		lines += bytes.Count(b, []byte("\n"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, lines
}

// TestGenerateValid lints a small generated design: the Verilog with
// verilator -Wall (no warning allowed), the VHDL with ghdl analysis and
// elaboration of its top.
func TestGenerateValid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files, top, err := Generate(dir, GenOptions{Files: 20, Lines: 5000, Seed: 7, VHDLShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	n, lines := countTree(t, dir)
	if n != 20 || lines < 4500 || lines > 5500 {
		t.Errorf("got %d files, %d lines; want 20 files, about 5000 lines", n, lines)
	}
	if len(files) != n-1 {
		t.Errorf("%d compilation units for %d files; only the header should be left out", len(files), n)
	}
	var sv, vhd []string
	for _, f := range files {
		if strings.HasSuffix(f, ".vhd") {
			vhd = append(vhd, f)
		} else {
			sv = append(sv, f)
		}
	}
	if len(vhd) != 4 {
		t.Errorf("%d VHDL files, want 4 (20%% of 20)", len(vhd))
	}
	clean(t, dir, "verilator", append([]string{"--lint-only", "-Wall", "-I" + GenIncludeDir, "--top-module", top}, sv...)...)

	work := "--workdir=" + t.TempDir()
	clean(t, dir, "ghdl", append([]string{"-a", "--std=08", work}, vhd...)...)
	clean(t, dir, "ghdl", "-e", "--std=08", work, "vtop")
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	o := GenOptions{Files: 30, Lines: 6000, Seed: 42, VHDLShare: 0.1}
	fa, _, err := Generate(a, o)
	if err != nil {
		t.Fatal(err)
	}
	fb, _, err := Generate(b, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(fa, "\n") != strings.Join(fb, "\n") {
		t.Fatalf("file lists differ:\n%v\n%v", fa, fb)
	}
	for _, f := range append(fa, genHeader) {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
	c := t.TempDir()
	o.Seed++
	if _, _, err := Generate(c, o); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(a, fa[1]))
	y, _ := os.ReadFile(filepath.Join(c, fa[1]))
	if bytes.Equal(x, y) {
		t.Errorf("seeds %d and %d give the same %s", o.Seed-1, o.Seed, fa[1])
	}
}

// TestGenerateDefault checks the size of the benchmark tree (the zero
// options). No tool runs on it here; verilator takes about 35 s.
func TestGenerateDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Now()
	files, top, err := Generate(dir, GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated in %v", time.Since(start))
	n, lines := countTree(t, dir)
	if n != 500 || lines < 190_000 || lines > 210_000 {
		t.Errorf("got %d files, %d lines; want 500 files, 190k-210k lines", n, lines)
	}
	if len(files) != 499 || files[0] != genPkg || files[len(files)-1] != "rtl/"+top+".sv" {
		t.Errorf("compilation order: %d files, first %s, last %s", len(files), files[0], files[len(files)-1])
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".vhd") {
			t.Errorf("VHDL file %s with VHDLShare 0", f)
		}
	}
}

func TestGenerateOptions(t *testing.T) {
	if _, _, err := Generate(t.TempDir(), GenOptions{Files: 5}); err == nil {
		t.Error("5 files: no error")
	}
	if _, _, err := Generate(t.TempDir(), GenOptions{VHDLShare: 0.9}); err == nil {
		t.Error("VHDLShare 0.9: no error")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, _, err := Generate(b.TempDir(), GenOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
