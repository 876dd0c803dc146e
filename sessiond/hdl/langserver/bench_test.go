package langserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/hdl/corpus"
	"gatewave.dev/sessiond/hdl/langserver"
	"gatewave.dev/sessiond/hdl/lint"
	"gatewave.dev/sessiond/hdl/project"
	"gatewave.dev/sessiond/lsp/jsonrpc"
	"gatewave.dev/shared/testenv"
)

// generated is the benchmark design: 500 files, 200k lines.
func generated(b *testing.B) (root string, files []string, top string) {
	b.Helper()
	root = b.TempDir()
	files, top, err := corpus.Generate(root, corpus.GenOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return root, files, top
}

// withCorpus adds our corpus projects (includes, macros, packages,
// interfaces, classes, mixed VHDL and Verilog) under corpus/ and returns
// their HDL files.
func withCorpus(b *testing.B, root string) []string {
	b.Helper()
	var rels []string
	for _, name := range []string{"uart", "soc_sv", "mixed", "tb"} {
		src := corpus.Dir(name)
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			dst := filepath.Join(root, "corpus", name, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if project.IsHDL(p) {
				rels = append(rels, filepath.ToSlash(filepath.Join("corpus", name, rel)))
			}
			return os.WriteFile(dst, data, 0o644)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	sort.Strings(rels)
	return rels
}

func countLines(b *testing.B, root string) int {
	n := 0
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && project.IsHDL(p) {
			data, _ := os.ReadFile(p)
			n += strings.Count(string(data), "\n")
		}
		return nil
	})
	return n
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkIndex indexes the generated 200k-line design (the target is
// under 500 ms on 2 cores; vhdl_ls's published figure is 160 ms on 8) and
// reports it against `verilator --lint-only` on the same tree, run in the
// same invocation, plus the heap and resident memory the index holds.
func BenchmarkIndex(b *testing.B) {
	testenv.LookPath(b, "verilator")
	root, files, top := generated(b)
	lines := countLines(b, root)
	var best time.Duration
	var p *project.Project
	for i := 0; i < 3; i++ {
		if p != nil {
			_ = p.Close()
		}
		var err error
		p, err = project.New(project.Options{Root: root})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := p.Index(); err != nil {
			b.Fatal(err)
		}
		if d := time.Since(start); i == 0 || d < best {
			best = d
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	units := 0
	p.View(func(v *project.Snapshot) { units = len(v.AllUnits()) })
	_ = p.Close()

	srvRSS, srvPeak := serverMemory(b, root)

	args := []string{"--lint-only", "-Wall", "-Wno-fatal", "-I" + corpus.GenIncludeDir, "--top-module", top}
	args = append(args, files...)
	cmd := exec.Command("verilator", args...)
	cmd.Dir = root
	start := time.Now()
	out, err := cmd.CombinedOutput()
	vt := time.Since(start)
	if err != nil {
		b.Fatalf("verilator: %v\n%s", err, out)
	}
	b.ReportMetric(float64(lines), "lines")
	b.ReportMetric(float64(units), "units")
	b.ReportMetric(ms(best), "index_ms")
	b.ReportMetric(ms(vt), "verilator_ms")
	b.ReportMetric(float64(best)/float64(vt), "index/verilator")
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap_MB")
	b.ReportMetric(srvRSS, "server_rss_MB")
	b.ReportMetric(srvPeak, "server_peak_rss_MB")
}

// serverMemory starts a real server process (this test binary as the
// server, see TestMain) on root, lets it index and publish every file's
// problems, and reads its resident and peak resident memory.
func serverMemory(b *testing.B, root string) (rss, peak float64) {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self, langserver.Arg)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	w := jsonrpc.NewWriter(in)
	r := jsonrpc.NewReader(out, jsonrpc.ReaderOptions{})
	_ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"rootUri":"file://` + root + `","capabilities":{}}}`))
	for {
		msg, err := r.Read()
		if err != nil {
			b.Fatalf("server: %v", err)
		}
		// Every file's diagnostics are out once this arrives.
		if strings.Contains(string(msg), `"gatewave/hierarchyChanged"`) {
			break
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// BenchmarkRequests measures completion, hover and definition latency
// through the whole server (JSON-RPC in and out) at every identifier of
// the corpus and of 40 generated files, in the generated design plus the
// corpus, against a request that does no analysis (a folding
// range of an empty file) as the baseline.
func BenchmarkRequests(b *testing.B) {
	root, _, _ := generated(b)
	corpusFiles := withCorpus(b, root)
	writeFilesB(b, root, map[string]string{"empty.v": ""})
	c := newClient(b, root, clientOptions{})
	c.waitNote("gatewave/hierarchyChanged", 1)
	var targets []string
	_ = filepath.WalkDir(filepath.Join(root, "rtl"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sv") {
			rel, _ := filepath.Rel(root, p)
			targets = append(targets, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(targets) == 0 {
		b.Fatal("no generated files")
	}
	sort.Strings(targets)
	targets = append(corpusFiles, targets...)
	measure := func(method string, params func(i int) map[string]any, n int) []time.Duration {
		var out []time.Duration
		for i := 0; i < n; i++ {
			p := params(i)
			start := time.Now()
			if _, e := c.call(method, p); e != "" {
				b.Fatalf("%s: %s", method, e)
			}
			out = append(out, time.Since(start))
		}
		return out
	}
	// Positions: every identifier start in the first lines of a file.
	type spot struct {
		rel string
		p   pos
	}
	var spots []spot
	for _, rel := range targets[:min(40+len(corpusFiles), len(targets))] {
		text := c.read(rel)
		for ln, l := range strings.Split(text, "\n") {
			for col := 1; col < len(l); col++ {
				if isIdent(l[col]) && !isIdent(l[col-1]) {
					spots = append(spots, spot{rel, pos{ln, col + 1}})
				}
			}
		}
	}
	n := min(2000, len(spots))
	step := max(1, len(spots)/n)
	at := func(i int) spot { return spots[(i*step)%len(spots)] }
	base := measure("textDocument/foldingRange", func(int) map[string]any {
		return map[string]any{"textDocument": map[string]any{"uri": c.uri("empty.v")}}
	}, n)
	comp := measure("textDocument/completion", func(i int) map[string]any { s := at(i); return c.docPos(s.rel, s.p) }, n)
	hov := measure("textDocument/hover", func(i int) map[string]any { s := at(i); return c.docPos(s.rel, s.p) }, n)
	def := measure("textDocument/definition", func(i int) map[string]any { s := at(i); return c.docPos(s.rel, s.p) }, n)
	b.ReportMetric(ms(pct(base, 0.99)), "noop_p99_ms")
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"completion", comp}, {"hover", hov}, {"definition", def}} {
		b.ReportMetric(ms(pct(m.d, 0.5)), m.name+"_p50_ms")
		b.ReportMetric(ms(pct(m.d, 0.99)), m.name+"_p99_ms")
		b.ReportMetric(float64(pct(m.d, 0.99))/float64(max(pct(base, 0.99), time.Microsecond)), m.name+"_p99/noop")
	}
}

func isIdent(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func writeFilesB(b *testing.B, root string, files map[string]string) {
	for rel, text := range files {
		p := filepath.Join(root, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiagnosticsAfterKeystroke types into a 5,000-line file in the
// generated design, one incremental change per keystroke as the editor
// sends them, and times each edit until its diagnostics arrive (the 30 ms
// debounce excluded: the server is started with 1 ms), against the same
// round trip for a 50-line file as the baseline.
func BenchmarkDiagnosticsAfterKeystroke(b *testing.B) {
	root, _, _ := generated(b)
	// A 5k-line file: many small modules, each instantiating the previous.
	var big strings.Builder
	for i := 0; big.Len() == 0 || strings.Count(big.String(), "\n") < 5000; i++ {
		fmt.Fprintf(&big, "// Stage %d of the pipeline.\nmodule big_%d #(parameter W = 8) (\n  input  logic clk,\n  input  logic [W-1:0] d,\n  output logic [W-1:0] q\n);\n  logic [W-1:0] r;\n", i, i)
		if i > 0 {
			fmt.Fprintf(&big, "  logic [W-1:0] t;\n  big_%d #(.W(W)) u_prev (.clk(clk), .d(d), .q(t));\n  always_ff @(posedge clk) r <= t ^ d;\n", i-1)
		} else {
			big.WriteString("  always_ff @(posedge clk) r <= d;\n")
		}
		big.WriteString("  assign q = r;\nendmodule\n\n")
	}
	small := "module small_m (input logic a, output logic b);\n  assign b = a;\nendmodule\n" + strings.Repeat("// padding\n", 47)
	writeFilesB(b, root, map[string]string{"rtl/big.sv": big.String(), "rtl/small.sv": small})
	c := newClient(b, root, clientOptions{delay: time.Millisecond})
	// The first publication of every file's problems ends with this.
	c.waitNote("gatewave/hierarchyChanged", 1)
	type doc struct{ rel, text string }
	run := func(d doc, n int) []time.Duration {
		c.open(d.rel)
		var out []time.Duration
		text := d.text
		end := pos{strings.Count(text, "\n"), 0}
		for i := 0; i < n; i++ {
			// Alternately type and delete a broken line at the end, one
			// incremental change each, so every edit changes the
			// diagnostics and they are published.
			seq := c.diagSeq(d.rel)
			start := time.Now()
			if i%2 == 0 {
				c.edit(d.rel, end, end, "wire oops\n", text+"wire oops\n")
			} else {
				c.edit(d.rel, end, pos{end.Line + 1, 0}, "", text)
			}
			c.waitSeq(d.rel, seq)
			out = append(out, time.Since(start))
		}
		return out
	}
	base := run(doc{"rtl/small.sv", small}, 400)
	bigd := run(doc{"rtl/big.sv", big.String()}, 400)
	b.ReportMetric(ms(pct(base, 0.5)), "small_p50_ms")
	b.ReportMetric(ms(pct(base, 0.99)), "small_p99_ms")
	b.ReportMetric(ms(pct(bigd, 0.5)), "5k_p50_ms")
	b.ReportMetric(ms(pct(bigd, 0.9)), "5k_p90_ms")
	b.ReportMetric(ms(pct(bigd, 0.95)), "5k_p95_ms")
	b.ReportMetric(ms(pct(bigd, 0.99)), "5k_p99_ms")
	b.ReportMetric(float64(pct(bigd, 0.99))/float64(pct(base, 0.99)), "5k_p99/small")
}

// BenchmarkOnSaveChecks runs the on-save tools through lint.Run on the
// generated design against plain `verilator --lint-only` on it.
func BenchmarkOnSaveChecks(b *testing.B) {
	testenv.LookPath(b, "verilator")
	root, files, top := generated(b)
	args := []string{"--lint-only", "-Wall", "-Wno-fatal", "-I" + corpus.GenIncludeDir, "--top-module", top}
	cmd := exec.Command("verilator", append(args, files...)...)
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("verilator: %v\n%s", err, out)
	}
	vt := time.Since(start)
	p, err := project.New(project.Options{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if err := p.Index(); err != nil {
		b.Fatal(err)
	}
	var o lint.Options
	p.View(func(v *project.Snapshot) { o, _ = langserver.LintOptions(v, root) })
	o.Top, o.Tools, o.Timeout = top, []string{lint.Verilator}, 10*time.Minute
	start = time.Now()
	ds, err := lint.Run(context.Background(), o)
	lt := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	errs := 0
	for _, d := range ds {
		if d.Severity == 1 {
			errs++
		}
	}
	if errs > 0 {
		b.Fatalf("on-save checks report %d errors on a valid design: %v", errs, ds[:min(5, len(ds))])
	}
	b.ReportMetric(ms(vt), "verilator_ms")
	b.ReportMetric(ms(lt), "onsave_ms")
	b.ReportMetric(float64(lt)/float64(vt), "onsave/verilator")
}
