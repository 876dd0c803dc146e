package verilog

import (
	"os"
	"testing"
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
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			Parse(f.path, f.src, Options{Include: testdataInclude})
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
