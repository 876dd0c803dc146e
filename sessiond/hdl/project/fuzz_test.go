package project_test

import (
	"os"
	"path/filepath"
	"testing"

	"gatewave.dev/sessiond/hdl/corpus"
	"gatewave.dev/sessiond/hdl/project"
)

// FuzzAnalysis feeds arbitrary text as one file of a real project and runs
// every analysis on it: diagnostics, the hierarchy, and resolution,
// references, widths at every offset. Nothing may panic or hang.
func FuzzAnalysis(f *testing.F) {
	for _, name := range []string{"uart", "soc_sv", "mixed"} {
		_ = filepath.WalkDir(corpus.Dir(name), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && project.IsHDL(p) {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(filepath.Ext(p), b)
				}
			}
			return nil
		})
	}
	f.Add(".v", []byte("module m #(parameter W = 1 << 70) (input [W-1:0] a); m u (.a(a)); endmodule"))
	f.Add(".sv", []byte("typedef struct packed { t a; } t; module m; t x; assign x.a.a.a = 1; endmodule"))
	f.Add(".vhd", []byte("entity e is port (a : in bit_vector(e'length downto 0)); end; architecture a of e is begin u: entity work.e port map (a => a); end;"))
	root := f.TempDir()
	src := corpus.Dir("uart")
	_ = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		_ = os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755)
		b, _ := os.ReadFile(p)
		return os.WriteFile(filepath.Join(root, rel), b, 0o644)
	})
	p, err := project.New(project.Options{Root: root})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	if err := p.Index(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ext string, text []byte) {
		switch ext {
		case ".v", ".sv", ".vhd", ".vh", ".svh":
		default:
			ext = ".v"
		}
		if len(text) > 16<<10 {
			return
		}
		rel := "rtl/fuzz" + ext
		p.SetOpen(rel, text)
		defer p.CloseOpen(rel)
		p.View(func(v *project.Snapshot) {
			v.Diagnostics(rel)
			v.Hierarchy()
			for off := 0; off <= len(text); off += 1 + len(text)/64 {
				w := v.At(rel, off)
				ev := v.NewEval(w)
				if y, _ := v.SymbolAt(rel, off); y != nil {
					v.References(y, true)
					if y.Decl != nil {
						ev.Width(y.Decl)
					}
				}
			}
		})
	})
}
