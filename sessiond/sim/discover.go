package sim

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/project"
)

// Testbench is a simulation the workspace can run, as GET
// api/v1/sim/testbenches lists it.
type Testbench struct {
	// File is the testbench's workspace-relative path; runs name it.
	File string `json:"file"`
	// Top is the unit elaborated: a module or entity without ports.
	Top string `json:"top"`
	// Lang is "verilog", "systemverilog" or "vhdl".
	Lang string `json:"lang"`
	// Files are every file the testbench needs, in dependency order (what
	// a file uses comes before it; the testbench is last). Headers are not
	// listed: they are found through IncludeDirs.
	Files []string `json:"files"`
	// IncludeDirs are .ide/hdl.toml's include_dirs, then the directory of
	// every header the files include.
	IncludeDirs []string `json:"include_dirs"`
	// Defines are .ide/hdl.toml's defines.
	Defines map[string]string `json:"defines,omitempty"`
	// Simulators are those that take the language, the default first.
	Simulators []string `json:"simulators"`
	// Simulator is the default: the configured one, else verilator for a
	// design with classes, iverilog for other Verilog, ghdl for VHDL.
	Simulator string `json:"simulator"`
	// Missing are units the design instantiates that the workspace lacks.
	Missing []string `json:"missing,omitempty"`
	// Configured marks a testbench named in .ide/tasks.toml.
	Configured bool `json:"configured,omitempty"`
	// Error says why the testbench cannot run ("no module without
	// ports"); such a testbench is listed but refused by a run.
	Error string `json:"error,omitempty"`

	args []string // extra simulator arguments from the configuration
}

// IsTestbenchName reports whether a file is a testbench by its name:
// *_tb.EXT or tb_*.EXT with EXT one of .v .sv .vhd .vhdl.
func IsTestbenchName(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	ext := path.Ext(base)
	switch ext {
	case ".v", ".sv", ".vhd", ".vhdl":
	default:
		return false
	}
	stem := strings.TrimSuffix(base, ext)
	return strings.HasSuffix(stem, "_tb") || strings.HasPrefix(stem, "tb_")
}

// discover lists the testbenches of an indexed project: every file named
// like one and every file the configuration names, sorted by path.
func discover(s *project.Snapshot, conf []ConfigTestbench) []Testbench {
	byFile := map[string]ConfigTestbench{}
	for _, c := range conf {
		byFile[c.File] = c
	}
	var files []string
	for _, src := range s.Sources() {
		if _, ok := byFile[src.Path]; ok || (!src.Header && IsTestbenchName(src.Path) && declaresTop(src)) {
			files = append(files, src.Path)
		}
	}
	for f := range byFile {
		if s.Source(f) == nil {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	out := make([]Testbench, 0, len(files))
	for _, f := range files {
		c, configured := byFile[f]
		tb := resolve(s, f, c)
		tb.Configured = configured
		out = append(out, tb)
	}
	return out
}

// declaresTop reports whether src declares a module or entity: a file
// named like a testbench that declares only packages (tb_pkg.sv) is none.
func declaresTop(src *project.Source) bool {
	if src.File == nil {
		return false
	}
	return slices.ContainsFunc(src.File.Units, func(u *design.Unit) bool {
		return u.Kind == design.UnitModule || u.Kind == design.UnitEntity
	})
}

// resolve works out one testbench: its top, its files, the tool options.
func resolve(s *project.Snapshot, file string, c ConfigTestbench) Testbench {
	tb := Testbench{File: file, Files: []string{}, IncludeDirs: []string{}, args: c.Args}
	src := s.Source(file)
	if src == nil || src.File == nil {
		tb.Error = fmt.Sprintf("%s is not part of the HDL project (missing, or left out by %s)", file, project.ConfigFile)
		return tb
	}
	tb.Lang = src.Lang.String()
	top := findTop(src, c.Top)
	if top == nil {
		if c.Top != "" {
			tb.Error = fmt.Sprintf("%s declares no module or entity %q", file, c.Top)
		} else {
			tb.Error = fmt.Sprintf("%s declares no module or entity without ports to simulate", file)
		}
	} else {
		tb.Top = top.Name
	}
	w := walker{s: s, seen: map[string]bool{}, missing: map[string]bool{}}
	w.file(src)
	tb.Files = w.order
	cfg := s.Config()
	tb.IncludeDirs = append(tb.IncludeDirs, cfg.IncludeDirs...)
	for _, f := range w.order {
		for _, inc := range s.Source(f).Included {
			if d := path.Dir(inc); d != "." && !slices.Contains(tb.IncludeDirs, d) {
				tb.IncludeDirs = append(tb.IncludeDirs, d)
			}
		}
	}
	if len(cfg.Defines) > 0 {
		tb.Defines = cfg.Defines
	}
	for m := range w.missing {
		tb.Missing = append(tb.Missing, m)
	}
	sort.Strings(tb.Missing)
	if w.vhdl && w.verilog && tb.Error == "" {
		tb.Error = "the testbench mixes VHDL and Verilog, which none of iverilog, verilator and ghdl simulates"
	}
	if src.Lang == design.VHDL {
		tb.Simulators = []string{GHDL}
	} else if w.classes {
		tb.Simulators = []string{Verilator, Iverilog}
	} else {
		tb.Simulators = []string{Iverilog, Verilator}
	}
	tb.Simulator = tb.Simulators[0]
	if c.Simulator != "" {
		if !slices.Contains(tb.Simulators, c.Simulator) {
			tb.Error = fmt.Sprintf("%s: simulator %q cannot run %s (use one of %s)", ConfigPath, c.Simulator, tb.Lang, strings.Join(tb.Simulators, ", "))
		} else {
			tb.Simulator = c.Simulator
		}
	}
	return tb
}

// findTop is the unit to elaborate: the one named, else a module or
// entity without ports, preferring one the file itself does not
// instantiate and then one named like the file.
func findTop(src *project.Source, name string) *design.Unit {
	var cands []*design.Unit
	used := map[string]bool{}
	for _, u := range src.File.Units {
		project.Scopes(u, func(sc *design.Scope, _ []*design.Scope) {
			for _, in := range sc.Instances {
				used[strings.ToLower(in.Module)] = true
			}
		})
	}
	for _, u := range src.File.Units {
		if u.Kind != design.UnitModule && u.Kind != design.UnitEntity {
			continue
		}
		if name != "" {
			if u.Name == name || src.Lang == design.VHDL && strings.EqualFold(u.Name, name) {
				return u
			}
			continue
		}
		if len(u.Ports) == 0 {
			cands = append(cands, u)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	stem := strings.TrimSuffix(path.Base(src.Path), path.Ext(src.Path))
	best, bestScore := cands[0], -1
	for _, u := range cands {
		score := 0
		if !used[strings.ToLower(u.Name)] {
			score += 2
		}
		if strings.EqualFold(u.Name, stem) {
			score++
		}
		if score > bestScore {
			best, bestScore = u, score
		}
	}
	return best
}

// walker collects the files a testbench needs, depth first, so what a file
// uses is listed before it (VHDL analysis order; SystemVerilog packages
// before their importers).
type walker struct {
	s                      *project.Snapshot
	seen                   map[string]bool
	order                  []string
	missing                map[string]bool
	vhdl, verilog, classes bool
}

func (w *walker) file(src *project.Source) {
	if src == nil || src.File == nil || w.seen[src.Path] {
		return
	}
	w.seen[src.Path] = true
	lang := src.Lang
	if lang == design.VHDL {
		w.vhdl = true
	} else {
		w.verilog = true
	}
	var companions []*project.Source
	for _, u := range src.File.Units {
		switch u.Kind {
		case design.UnitArchitecture:
			w.module(u.Of, lang)
		case design.UnitPackageBody:
			w.unit(u.Of, lang, design.UnitPackage)
		case design.UnitClass:
			w.classes = true
			if u.Of != "" {
				w.unit(u.Of, lang, design.UnitClass)
			}
		}
		project.Scopes(u, func(sc *design.Scope, _ []*design.Scope) {
			if sc.Kind == design.ScopeClass {
				w.classes = true
			}
			for _, in := range sc.Instances {
				if !w.module(in.Module, lang) && !primitive(in.Module) {
					w.missing[in.Module] = true
				}
			}
			for _, im := range sc.Imports {
				w.unit(im.Pkg, lang, design.UnitPackage)
			}
			for i := range sc.Refs {
				r := &sc.Refs[i]
				switch r.Kind {
				case design.RefScoped:
					w.unit(r.Pkg, lang, design.UnitPackage, design.UnitClass)
				case design.RefType:
					w.unit(r.Name, lang, design.UnitClass, design.UnitInterface, design.UnitPackage)
				case design.RefUnit:
					w.unit(r.Name, lang, design.UnitPackage, design.UnitEntity, design.UnitModule)
				}
			}
		})
		// An entity brings its architectures, a package its body; they use
		// it, so they come after this file.
		for _, other := range w.s.AllUnits() {
			if (u.Kind == design.UnitEntity && other.Unit.Kind == design.UnitArchitecture ||
				u.Kind == design.UnitPackage && lang == design.VHDL && other.Unit.Kind == design.UnitPackageBody) &&
				strings.EqualFold(other.Unit.Of, u.Name) && other.Source != src {
				companions = append(companions, other.Source)
			}
		}
	}
	for _, l := range src.File.Libraries {
		parts := strings.Split(strings.ToLower(l.Text), ".")
		if len(parts) >= 2 && parts[0] == "work" {
			w.unit(parts[1], lang, design.UnitPackage, design.UnitEntity)
		}
	}
	if !src.Header {
		w.order = append(w.order, src.Path)
	}
	for _, c := range companions {
		w.file(c)
	}
}

// module visits the file of the module or entity name; false when the
// workspace has none.
func (w *walker) module(name string, from design.Lang) bool {
	m := w.s.Module(name, from)
	if m == nil {
		return false
	}
	w.file(m.Source)
	return true
}

// unit visits the file declaring name as one of kinds, if any.
func (w *walker) unit(name string, from design.Lang, kinds ...design.UnitKind) {
	if name == "" {
		return
	}
	for _, u := range w.s.Units(name, from) {
		if slices.Contains(kinds, u.Unit.Kind) {
			if u.Source.Header {
				// A header's units come with the file that includes it.
				for _, inc := range w.s.Includers(u.Source.Path) {
					w.file(w.s.Source(inc))
				}
				return
			}
			w.file(u.Source)
			return
		}
	}
}

// primitive is a Verilog gate, or a vendor cell the simulator is expected
// to have in a library (iCE40 SB_*).
func primitive(name string) bool {
	switch name {
	case "and", "or", "nand", "nor", "xor", "xnor", "buf", "not", "bufif0", "bufif1", "notif0", "notif1",
		"pullup", "pulldown", "nmos", "pmos", "cmos", "tran", "rtran", "tranif0", "tranif1":
		return true
	}
	return false
}
