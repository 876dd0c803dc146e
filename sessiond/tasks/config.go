package tasks

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/BurntSushi/toml"

	"gatewave.dev/shared/apierr"
)

// ConfigPath is where a workspace defines its named tasks, for example:
//
//	[tasks.build]
//	command = ["make", "-j2"]
//
//	[tasks.sim]
//	command = ["iverilog", "-o", "build/tb", "tb.v", "blinky.v"]
//	dir = "sim"                 # optional, relative to the workspace
//	env = { VERBOSE = "1" }     # optional
const ConfigPath = ".ide/tasks.toml"

// Def is a named task as the workspace defines it.
type Def struct {
	Name    string            `json:"name" toml:"-"`
	Command []string          `json:"command" toml:"command"`
	Dir     string            `json:"dir,omitempty" toml:"dir"`
	Env     map[string]string `json:"env,omitempty" toml:"env"`
	// Default is true for a task sessiond supplies rather than the file.
	Default bool `json:"default,omitempty" toml:"-"`
}

type configFile struct {
	Tasks map[string]Def `toml:"tasks"`
}

// errRestricted stands for the config file of a workspace not trusted.
var errRestricted = errors.New("the workspace is not trusted")

func (s *Service) trusted() bool { return s.opts.Trusted == nil || s.opts.Trusted() }

// openConfig opens ConfigPath, or fails with errRestricted without
// touching it when the workspace is not trusted.
func (s *Service) openConfig() (*os.File, error) {
	if !s.trusted() {
		return nil, errRestricted
	}
	return s.opts.Workspace.Root().Open(ConfigPath)
}

// makefiles are the names GNU make looks for, in its order.
var makefiles = []string{"GNUmakefile", "makefile", "Makefile"}

// Defs reads the workspace's named tasks, sorted by name. A missing file is
// no tasks; a broken one is a 400-class error naming the file and the line.
// When no "build" task is defined and the workspace root has a Makefile,
// "build" runs make.
//
// A workspace that is not trusted (Options.Trusted) has its ConfigPath left
// unread: the file chooses the commands, and a checkout from a stranger
// must not run one because the user clicked Build.
func (s *Service) Defs() ([]Def, error) {
	var cfg configFile
	f, err := s.openConfig()
	switch {
	case errors.Is(err, errRestricted), errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", ConfigPath, err)
	default:
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ConfigPath, err)
		}
		if _, err := toml.Decode(string(data), &cfg); err != nil {
			return nil, apierr.New(422, "bad_task_config", "%s: %v", ConfigPath, err)
		}
	}
	defs := make([]Def, 0, len(cfg.Tasks)+1)
	for name, d := range cfg.Tasks {
		if len(d.Command) == 0 || d.Command[0] == "" {
			return nil, apierr.New(422, "bad_task_config", "%s: task %q has no command (command = [\"program\", \"arg\", ...])", ConfigPath, name)
		}
		d.Name = name
		defs = append(defs, d)
	}
	if _, ok := cfg.Tasks["build"]; !ok {
		for _, mf := range makefiles {
			if fi, err := s.opts.Workspace.Root().Stat(mf); err == nil && fi.Mode().IsRegular() {
				defs = append(defs, Def{Name: "build", Command: []string{"make"}, Default: true})
				break
			}
		}
	}
	slices.SortFunc(defs, func(a, b Def) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return defs, nil
}

// StartNamed starts the workspace's task name.
func (s *Service) StartNamed(name string) (*Task, error) {
	defs, err := s.Defs()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		if d.Name == name {
			env := make([]string, 0, len(d.Env))
			for k, v := range d.Env {
				env = append(env, k+"="+v)
			}
			slices.Sort(env)
			return s.Start(Spec{Name: d.Name, Argv: d.Command, Dir: d.Dir, Env: env})
		}
		names = append(names, d.Name)
	}
	if !s.trusted() {
		if _, err := s.opts.Workspace.Root().Stat(ConfigPath); err == nil {
			return nil, apierr.New(403, "workspace_restricted",
				"task %q may be defined in %s, which is not used until you trust this folder", name, ConfigPath).
				WithDetails(map[string]any{"tasks": names, "config_file": ConfigPath})
		}
	}
	hint := "define it in " + ConfigPath
	if name == "build" {
		hint += " or add a Makefile to the workspace root"
	}
	return nil, apierr.NotFound("no task named %q (%s)", name, hint).WithDetails(map[string]any{"tasks": names})
}
