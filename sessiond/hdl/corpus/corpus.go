// Package corpus holds Gatewave's own HDL designs for golden tests of the
// HDL language server, and a generator of large synthetic designs for
// benchmarks.
//
// The designs live in testdata/<project>/ (one small multi-file project an
// FPGA developer might have per directory) and are embedded in FS, so tests
// in other packages can read them either from disk (Dir) or from FS. Every
// project is valid: corpus_test.go checks each with verilator, iverilog,
// yosys and ghdl as appropriate.
package corpus

import (
	"embed"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
)

// FS holds testdata/ (including dot directories such as .ide/). Paths in
// it are "testdata/<project>/<file>".
//
//go:embed all:testdata
var FS embed.FS

// Dir returns the absolute path of testdata/<project> on disk. It does not
// check that the project exists; see Projects.
func Dir(project string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", project)
	}
	return filepath.Join(filepath.Dir(file), "testdata", project)
}

// Projects returns the names of the corpus projects, sorted.
func Projects() []string {
	entries, err := fs.ReadDir(FS, "testdata")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "fuzz" {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
