package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// ConfigFile is the optional workspace file that shapes the project.
const ConfigFile = ".ide/hdl.toml"

// Config is .ide/hdl.toml. The zero value is zero configuration: every HDL
// file in the workspace, include directories inferred, no defines, tops
// detected.
//
//	include_dirs = ["inc"]
//	defines = { USE_FIFO = "1", DEPTH = "16" }
//	files = ["rtl/**/*.v", "inc/*.vh"]
//	exclude = ["rtl/legacy/**"]
//	top = "chip"
type Config struct {
	// IncludeDirs are searched for `include after the including file's own
	// directory and before the inferred ones (workspace-relative).
	IncludeDirs []string `toml:"include_dirs"`
	// Defines are macros defined before every file; "" defines one empty.
	Defines map[string]string `toml:"defines"`
	// Files are globs (** matches any number of directories) of the files
	// that make up the design; empty means every HDL file.
	Files []string `toml:"files"`
	// Exclude are globs of files left out even when Files matches them.
	Exclude []string `toml:"exclude"`
	// Top is the top unit; "" means every unit nothing instantiates.
	Top string `toml:"top"`
	// Device and Package name the FPGA for pin constraints ("hx1k",
	// "tq144"); "" means what the Makefile's nextpnr line says.
	Device  string `toml:"device"`
	Package string `toml:"package"`
}

// Extensions are the HDL file extensions the project indexes.
var Extensions = []string{".v", ".vh", ".sv", ".svh", ".vhd", ".vhdl"}

// IsHDL reports whether name has an HDL extension.
func IsHDL(name string) bool {
	return slices.Contains(Extensions, strings.ToLower(path.Ext(name)))
}

// IsHeader reports whether name is a Verilog header by its extension.
func IsHeader(name string) bool {
	e := strings.ToLower(path.Ext(name))
	return e == ".vh" || e == ".svh"
}

// LoadConfig reads ConfigFile from root. A missing file is the zero
// Config; a malformed one is an error that says where.
func LoadConfig(root *os.Root) (Config, error) {
	var c Config
	data, err := root.ReadFile(ConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read %s: %w", ConfigFile, err)
	}
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		return Config{}, fmt.Errorf("%s: unknown key %q (known: include_dirs, defines, files, exclude, top, device, package)", ConfigFile, u[0].String())
	}
	for i, d := range c.IncludeDirs {
		clean := path.Clean(strings.TrimPrefix(d, "./"))
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return Config{}, fmt.Errorf("%s: include_dirs entry %q is outside the workspace", ConfigFile, d)
		}
		c.IncludeDirs[i] = clean
	}
	for _, g := range append(slices.Clone(c.Files), c.Exclude...) {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
			return Config{}, fmt.Errorf("%s: bad glob %q: %w", ConfigFile, g, err)
		}
	}
	for name := range c.Defines {
		if !validMacroName(name) {
			return Config{}, fmt.Errorf("%s: define %q is not a macro name", ConfigFile, name)
		}
	}
	return c, nil
}

func validMacroName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' || i > 0 && r == '$') {
			return false
		}
	}
	return true
}

// Includes reports whether the config puts rel (a workspace-relative HDL
// file) in the project.
func (c Config) Includes(rel string) bool {
	if !IsHDL(rel) {
		return false
	}
	for _, g := range c.Exclude {
		if Glob(g, rel) {
			return false
		}
	}
	if len(c.Files) == 0 {
		return true
	}
	for _, g := range c.Files {
		if Glob(g, rel) {
			return true
		}
	}
	return false
}

// Glob matches a slash-separated path against pattern, where a "**"
// segment matches zero or more segments and the rest is path.Match.
func Glob(pattern, name string) bool {
	return globSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func globSegs(p, n []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(n); i++ {
				if globSegs(p[1:], n[i:]) {
					return true
				}
			}
			return false
		}
		if len(n) == 0 {
			return false
		}
		if ok, _ := path.Match(p[0], n[0]); !ok {
			return false
		}
		p, n = p[1:], n[1:]
	}
	return len(n) == 0
}
