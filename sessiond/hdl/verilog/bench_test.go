package verilog

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"gatewave.dev/sessiond/hdl/corpus"
)

func BenchmarkParse(b *testing.B) {
	type file struct {
		path string
		src  []byte
	}
	var files []file
	total := 0
	for _, n := range validFiles(b) {
		src, err := os.ReadFile("testdata/" + n)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, file{"testdata/" + n, src})
		total += len(src)
	}
	hdr, err := os.ReadFile("testdata/inc.vh")
	if err != nil {
		b.Fatal(err)
	}
	inc := func(name, from string) (string, []byte, bool) { return "testdata/inc.vh", hdr, name == "inc.vh" }
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			Parse(f.path, f.src, Options{Include: inc})
		}
	}
}

func BenchmarkLex(b *testing.B) {
	src, err := os.ReadFile("testdata/alu.sv")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Lex(src, true)
	}
}

// BenchmarkParseCorpus200k parses the generated 200k-line / 500-file
// design on two goroutines: the language server's indexing budget is
// 500 ms for it.
func BenchmarkParseCorpus200k(b *testing.B) {
	dir := b.TempDir()
	files, _, err := corpus.Generate(dir, corpus.GenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srcs := make([][]byte, len(files))
	total := 0
	for i, f := range files {
		if srcs[i], err = os.ReadFile(filepath.Join(dir, f)); err != nil {
			b.Fatal(err)
		}
		total += len(srcs[i])
	}
	hdr, err := os.ReadFile(filepath.Join(dir, corpus.GenIncludeDir, "gen_defs.svh"))
	if err != nil {
		b.Fatal(err)
	}
	inc := func(name, from string) (string, []byte, bool) { return corpus.GenIncludeDir + "/" + name, hdr, true }
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var next atomic.Int64
		var diags atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j := int(next.Add(1)) - 1
					if j >= len(files) {
						return
					}
					f := Parse(files[j], srcs[j], Options{Include: inc})
					diags.Add(int64(len(f.Diags)))
				}
			}()
		}
		wg.Wait()
		if diags.Load() != 0 {
			b.Fatalf("%d diagnostics on the generated design", diags.Load())
		}
	}
}
