package vhdl

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func benchSource(b *testing.B) []byte {
	files, _ := filepath.Glob("testdata/*.vhd")
	var all [][]byte
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, src)
	}
	return bytes.Join(all, []byte("\n"))
}

// BenchmarkParse parses all test designs as one file; see the report
// metric lines/op to scale to the 200k-line index target.
func BenchmarkParse(b *testing.B) {
	src := benchSource(b)
	lines := bytes.Count(src, []byte("\n"))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Parse("bench.vhd", src)
	}
	b.ReportMetric(float64(lines), "lines/op")
}

func BenchmarkLex(b *testing.B) {
	src := benchSource(b)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Lex(src)
	}
}
