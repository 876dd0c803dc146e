package search

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchFiles is the size of the bench's tree: issue 15's 100k-file
// workspace.
const benchFiles = 100_000

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchTree builds, once per test binary run, 100 top directories × 100
// subdirectories × 10 files of Verilog-like text (about 600 bytes each),
// a root .gitignore excluding one subdirectory per top directory, and a
// needle in one file of every 97.
func benchTree(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "gatewave-search-bench-")
		if benchErr != nil {
			return
		}
		body := []byte(strings.Repeat("    always @(posedge clk) counter <= counter + 1; // rotate the ring\n", 9))
		needle := []byte("    assign led = ring_needle_xyz; // the needle\n")
		n := 0
		for top := range 100 {
			for sub := range 100 {
				dir := filepath.Join(benchDir, fmt.Sprintf("t%02d", top), fmt.Sprintf("s%02d", sub))
				if benchErr = os.MkdirAll(dir, 0o755); benchErr != nil {
					return
				}
				for f := range 10 {
					data := body
					if n%97 == 0 {
						data = append(append([]byte{}, body...), needle...)
					}
					n++
					if benchErr = os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.v", f)), data, 0o644); benchErr != nil {
						return
					}
				}
			}
		}
		benchErr = os.WriteFile(filepath.Join(benchDir, ".gitignore"), []byte("s99/\n"), 0o644)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// BenchmarkSearchVsRipgrep searches the 100k-file tree with Run and with
// rg (same pattern, .gitignore honoured by both) in the same run, and
// reports ours/rg as "ratio" (issue 15's target: ≤ 1.3).
func BenchmarkSearchVsRipgrep(b *testing.B) {
	rg, err := exec.LookPath("rg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("rg (Debian's ripgrep) is not installed; scripts/bootstrap.sh installs it")
		}
		b.Skip("rg not installed (Debian package ripgrep)")
	}
	dir := benchTree(b)
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	for _, bc := range []struct {
		name string
		q    Query
		args []string
	}{
		{"literal", Query{Pattern: "ring_needle_xyz", CaseSensitive: true}, []string{"--fixed-strings", "ring_needle_xyz"}},
		{"literal-ignorecase", Query{Pattern: "RING_NEEDLE_XYZ"}, []string{"--fixed-strings", "--ignore-case", "RING_NEEDLE_XYZ"}},
		{"regex", Query{Pattern: `ring_\w+_xyz`, Regex: true, CaseSensitive: true}, []string{`ring_\w+_xyz`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// rg's default output (path:line:col:text) is what we send, and
			// --no-require-git makes it read .gitignore outside a git repo.
			rgArgs := append([]string{"--no-require-git", "--line-number", "--column", "--no-heading", "--color=never", "--no-config"}, bc.args...)
			runRg := func() ([]byte, time.Duration) {
				cmd := exec.Command(rg, append(rgArgs, ".")...)
				cmd.Dir = dir
				start := time.Now()
				out, err := cmd.Output()
				d := time.Since(start)
				if err != nil {
					b.Fatalf("rg: %v", err)
				}
				return out, d
			}
			runOurs := func() (Summary, time.Duration) {
				start := time.Now()
				s, err := Run(context.Background(), root, bc.q, Options{}, func(*FileMatches) error { return nil })
				d := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				return s, d
			}
			// Warm the page cache and check both find the same matches.
			out, _ := runRg()
			sum, _ := runOurs()
			if rgMatches := bytes.Count(out, []byte("\n")); rgMatches != sum.Matches || sum.Truncated {
				b.Fatalf("rg found %d matches, we found %d (truncated %v)", rgMatches, sum.Matches, sum.Truncated)
			}
			if sum.Scanned < benchFiles*98/100 {
				b.Fatalf("scanned %d files, want ~%d", sum.Scanned, benchFiles*99/100)
			}
			// Each iteration alternates three rounds of each and keeps the
			// best of each: the machine is shared, and the minimum is the
			// figure least disturbed by others' load.
			var ours, theirs time.Duration
			b.ResetTimer()
			for range b.N {
				bestOurs, bestRg := time.Duration(1<<62), time.Duration(1<<62)
				for range 3 {
					_, d := runOurs()
					bestOurs = min(bestOurs, d)
					b.StopTimer()
					_, r := runRg()
					bestRg = min(bestRg, r)
					b.StartTimer()
				}
				ours += bestOurs
				theirs += bestRg
			}
			b.ReportMetric(float64(ours.Microseconds())/1000/float64(b.N), "ms/search")
			b.ReportMetric(float64(theirs.Microseconds())/1000/float64(b.N), "rg-ms/search")
			b.ReportMetric(float64(ours)/float64(theirs), "ratio")
			b.Logf("%s: ours %s, rg %s per search (%d files, %d matches); ratio %s", bc.name, ours/time.Duration(b.N), theirs/time.Duration(b.N), sum.Scanned, sum.Matches, strconv.FormatFloat(float64(ours)/float64(theirs), 'f', 2, 64))
		})
	}
}
