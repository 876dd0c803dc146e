package sim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/BurntSushi/toml"

	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// ConfigPath is the file whose [[sim.testbench]] tables name testbenches
// that discovery by file name would miss, or choose a top, a simulator
// and extra arguments for one it finds. It is the tasks file, read under
// the same rule: only in a trusted workspace.
//
//	[[sim.testbench]]
//	file = "tb/soak.sv"        # workspace-relative, required
//	top = "soak"               # optional: the unit to elaborate
//	simulator = "verilator"    # optional: iverilog, verilator or ghdl
//	args = ["-DSEED=3"]        # optional: added to the compile command
const ConfigPath = tasks.ConfigPath

// ConfigTestbench is one [[sim.testbench]] table.
type ConfigTestbench struct {
	File      string   `toml:"file"`
	Top       string   `toml:"top"`
	Simulator string   `toml:"simulator"`
	Args      []string `toml:"args"`
}

type configFile struct {
	Sim struct {
		Testbench []ConfigTestbench `toml:"testbench"`
	} `toml:"sim"`
}

// loadConfig reads the [sim] table; a missing file is none, a malformed
// one a 422 naming the file.
func loadConfig(ws *workspace.Workspace) ([]ConfigTestbench, error) {
	f, err := ws.Root().Open(ConfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ConfigPath, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ConfigPath, err)
	}
	var cfg configFile
	if _, err := toml.Decode(string(data), &cfg); err != nil {
		return nil, apierr.New(422, "bad_task_config", "%s: %v", ConfigPath, err)
	}
	for i, c := range cfg.Sim.Testbench {
		clean, err := workspace.Clean(c.File)
		if c.File == "" || err != nil || clean == "." {
			return nil, apierr.New(422, "bad_task_config", "%s: [[sim.testbench]] #%d needs file = \"path/to/x_tb.v\" inside the workspace", ConfigPath, i+1)
		}
		switch c.Simulator {
		case "", Iverilog, Verilator, GHDL:
		default:
			return nil, apierr.New(422, "bad_task_config", "%s: testbench %s: unknown simulator %q (iverilog, verilator or ghdl)", ConfigPath, c.File, c.Simulator)
		}
		cfg.Sim.Testbench[i].File = path.Clean(clean)
	}
	return cfg.Sim.Testbench, nil
}
