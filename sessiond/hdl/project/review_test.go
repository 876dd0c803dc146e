package project_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatewave.dev/sessiond/hdl/corpus"
	"gatewave.dev/sessiond/hdl/project"
)

// reviewProject indexes a temporary workspace holding files.
func reviewProject(t *testing.T, files map[string]string) *project.Project {
	t.Helper()
	root := t.TempDir()
	for rel, text := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.New(project.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if err := p.Index(); err != nil {
		t.Fatal(err)
	}
	return p
}

// within fails the test when fn does not return in d (unbounded work).
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish in %v (exponential or unbounded work)", what, d)
	}
}

// Source.Lines builds its index lazily and stores it without a lock, but
// it is called under the project's read lock from several goroutines at
// once (a request on the reader goroutine, diagnostics on the timer's).
func TestReviewSourceLinesRace(t *testing.T) {
	p := reviewProject(t, map[string]string{"a.v": "module a;\nwire x;\nendmodule\n"})
	var start, wg sync.WaitGroup
	start.Add(2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.View(func(v *project.Snapshot) {
				src := v.Source("a.v")
				start.Done()
				start.Wait() // both readers hold the read lock now
				_ = src.Lines().Count()
			})
		}()
	}
	wg.Wait()
}

// parameter A = B + B, B = A + A: each level of the cycle doubles the
// work; the depth limit of 64 means 2^64 evaluations.
func TestReviewParamCycleIsBounded(t *testing.T) {
	p := reviewProject(t, map[string]string{"m.v": "module m;\n  parameter A = B + B, B = A + A;\n  wire [A:0] x;\nendmodule\n"})
	within(t, 5*time.Second, "Hierarchy with a parameter cycle", func() {
		p.View(func(v *project.Snapshot) { _ = v.Hierarchy() })
	})
}

// A typedef cycle through struct members: typeWidth's depth limit of 16
// with four members each is 4^16 calls.
func TestReviewTypedefCycleIsBounded(t *testing.T) {
	p := reviewProject(t, map[string]string{"m.sv": `module m;
  typedef struct packed { tb a; tb b; tb c; tb d; } ta;
  typedef struct packed { ta a; ta b; ta c; ta d; } tb;
  ta x;
  logic [3:0] y;
  assign y = x;
endmodule
`})
	within(t, 5*time.Second, "Diagnostics with a typedef cycle", func() {
		p.View(func(v *project.Snapshot) { _ = v.Diagnostics("m.sv") })
	})
}

// Scopes passes the same chain slice to sibling scopes: once its backing
// array has spare capacity, the second sibling overwrites the first's
// entry, so every Where kept past the callback (Occurrences keep them;
// SymbolAt resolves the best one after the walk) names the wrong scope.
func TestReviewSiblingScopesKeepTheirOwnChain(t *testing.T) {
	text := `module m;
  initial begin : a
    begin : c1
      integer x;
      x = 1;
    end
    begin : c2
      integer x;
      x = 2;
    end
  end
endmodule
`
	p := reviewProject(t, map[string]string{"m.v": text})
	use := strings.Index(text, "x = 1")
	decl := strings.Index(text, "integer x;") + len("integer ")
	p.View(func(v *project.Snapshot) {
		y, o := v.SymbolAt("m.v", use)
		if y == nil || o == nil {
			t.Fatalf("no symbol at x = 1")
		}
		if got := y.Span().Start; got != decl {
			t.Errorf("x in c1 resolves to the declaration at byte %d, want c1's at %d (c2's is at %d)", got, decl, strings.LastIndex(text, "integer x;")+len("integer "))
		}
	})
}

// Every rename is References(y, true) turned into edits: two references
// with overlapping spans in one file make a WorkspaceEdit the editor
// rejects. Scan every name in every corpus project.
func TestReviewReferencesNeverOverlap(t *testing.T) {
	for _, name := range []string{"uart", "soc_sv", "mixed", "tb", "ifdefs"} {
		p, err := project.New(project.Options{Root: corpus.Dir(name)})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Index(); err != nil {
			t.Fatal(err)
		}
		p.View(func(v *project.Snapshot) {
			reported := map[string]bool{}
			for _, src := range v.Sources() {
				v.Occurrences(src, func(o *project.Occurrence) bool {
					y, _ := v.SymbolAt(src.Path, o.Span.Start)
					if y == nil {
						return true
					}
					refs := v.References(y, true)
					for i, a := range refs {
						for _, b := range refs[i+1:] {
							if a.Span.File == b.Span.File && a.Span.Start < b.Span.End && b.Span.Start < a.Span.End {
								k := fmt.Sprintf("%s %v %v", name, a.Span, b.Span)
								if !reported[k] {
									reported[k] = true
									t.Errorf("%s: references of %q overlap: %s %d-%d and %d-%d", name, y.Name, a.Span.File, a.Span.Start, a.Span.End, b.Span.Start, b.Span.End)
								}
							}
						}
					}
					return true
				})
			}
		})
		_ = p.Close()
	}
}
