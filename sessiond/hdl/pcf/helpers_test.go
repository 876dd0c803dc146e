package pcf

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/shared/testenv"
)

// chipDB returns the default DB after checking that icestorm's chip
// database is installed (skip, or fail under CI=true, when it is not).
func chipDB(t *testing.T) *DB {
	t.Helper()
	db := DefaultDB()
	if _, err := db.Package("hx1k", "tq144"); err != nil {
		testenv.Missing(t, "icestorm chipdb (chipdb-1k.txt)", "apt-get install fpga-icestorm-chipdb: "+err.Error())
	}
	return db
}

// repoFile reads a file relative to the repository root.
func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// icestickPorts are blinky's ports (examples/blinky/blinky.v).
var icestickPorts = []Port{
	{Name: "clk", Dir: design.DirInput, Width: 1},
	{Name: "led", Dir: design.DirOutput, Width: 5},
}

func hx1k(t *testing.T) Context {
	return Context{Ports: icestickPorts, Target: Target{Device: "hx1k", Package: "tq144"}, DB: chipDB(t)}
}
