package lsp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"gatewave.dev/sessiond/hdl/langserver"
	"gatewave.dev/sessiond/workspace"
)

// Language is how to run the language server for one language id.
type Language struct {
	// ID is the LSP language id ("c", "go", "verilog").
	ID string `toml:"-" json:"id"`
	// Command is the server binary: a name looked up on PATH (plus the Go
	// bin directories) or an absolute path.
	Command string `toml:"command" json:"command"`
	// Args are passed to Command.
	Args []string `toml:"args" json:"args,omitempty"`
	// Env adds to (or overrides) sessiond's environment for the server.
	Env map[string]string `toml:"env" json:"-"`
	// Extensions are the file extensions the language covers, with the dot.
	Extensions []string `toml:"extensions" json:"extensions"`
	// Builtin marks a server built into sessiond's own executable (run as
	// `sessiond <BuiltinArg> Args...`); Command is then only its name.
	// A workspace entry that sets command replaces it with that program.
	Builtin bool `toml:"-" json:"-"`
}

// BuiltinArg is the first argument that turns sessiond's executable into
// the built-in HDL language server (langserver.MaybeRun in every main).
const BuiltinArg = langserver.Arg

// DefaultLanguages are sessiond's built-in languages. clangd and gopls are
// binaries that may be missing; they stay listed so that the IDE can say
// which one to install (GET api/v1/lsp reports "available"). Verilog,
// SystemVerilog and VHDL are one language, "hdl", served by Gatewave's own
// server inside this executable, so a mixed design is one project.
func DefaultLanguages() map[string]Language {
	return map[string]Language{
		"c":   {Command: "clangd", Args: []string{"--log=error"}, Extensions: []string{".c", ".h"}},
		"cpp": {Command: "clangd", Args: []string{"--log=error"}, Extensions: []string{".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx"}},
		"go":  {Command: "gopls", Extensions: []string{".go"}},
		"hdl": {Command: langserver.Name, Builtin: true, Extensions: []string{".v", ".vh", ".sv", ".svh", ".vhd", ".vhdl", ".pcf", ".lpf", ".cst"}},
	}
}

// DefaultConfigFile is the workspace file that overrides the languages.
const DefaultConfigFile = ".ide/languages.toml"

// configFile is the shape of .ide/languages.toml:
//
//	[languages.verilog]
//	command = "svls"
//	extensions = [".v", ".sv"]
//	[languages.c]
//	args = ["--background-index=false"]
//	env = { CLANGD_FLAGS = "" }
//
// An entry replaces the fields it sets in the built-in entry of the same id
// (or adds a language); `disabled = true` removes one.
type configFile struct {
	Languages map[string]struct {
		Language
		Disabled bool `toml:"disabled"`
	} `toml:"languages"`
}

// configFile is the workspace file to merge over the built-in languages,
// or "" for none. A workspace that is not trusted gets none: its file names
// the commands a language server runs, and those start as soon as a file is
// opened, so an untrusted checkout could run anything without a click.
func (s *Service) configFile() string {
	if s.trusted != nil && !s.trusted() {
		return ""
	}
	return s.cfg.ConfigFile
}

// loadLanguages merges the workspace's config file, when present, over base.
func loadLanguages(ws *workspace.Workspace, file string, base map[string]Language) (map[string]Language, error) {
	langs := make(map[string]Language, len(base))
	for id, l := range base {
		l.ID = id
		langs[id] = l
	}
	if file == "" {
		return langs, nil
	}
	data, err := ws.Root().ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return langs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var cfg configFile
	if _, err := toml.Decode(string(data), &cfg); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	for id, e := range cfg.Languages {
		if !validID(id) {
			return nil, fmt.Errorf("%s: language id %q: use letters, digits, '-', '_' or '.'", file, id)
		}
		if e.Disabled {
			delete(langs, id)
			continue
		}
		l := langs[id]
		l.ID = id
		if e.Command != "" {
			l.Command = e.Command
			l.Builtin = false
		}
		if e.Args != nil {
			l.Args = e.Args
		}
		if e.Env != nil {
			l.Env = e.Env
		}
		if e.Extensions != nil {
			l.Extensions = e.Extensions
		}
		if l.Command == "" {
			return nil, fmt.Errorf("%s: language %q has no command", file, id)
		}
		langs[id] = l
	}
	return langs, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func sortedIDs(langs map[string]Language) []string {
	ids := make([]string, 0, len(langs))
	for id := range langs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// goBinDirs are where `go install` puts binaries such as gopls: $GOBIN, or
// bin under each $GOPATH entry (default $HOME/go).
func goBinDirs() []string {
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		return []string{gobin}
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil
		}
		gopath = filepath.Join(home, "go")
	}
	var dirs []string
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// resolve is the program and arguments that run l: sessiond's own
// executable for a built-in server, else the command found on PATH or in
// extra.
func resolve(l Language, extra []string) (bin string, args []string, err error) {
	if l.Builtin {
		self, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("built-in %s: %w", l.Command, err)
		}
		return self, append([]string{BuiltinArg}, l.Args...), nil
	}
	bin, err = lookPath(l.Command, extra)
	return bin, l.Args, err
}

// lookPath finds command on PATH, then in extra directories.
func lookPath(command string, extra []string) (string, error) {
	if strings.ContainsRune(command, '/') {
		return exec.LookPath(command)
	}
	if p, err := exec.LookPath(command); err == nil {
		return p, nil
	}
	for _, dir := range extra {
		p := filepath.Join(dir, command)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q is not on PATH", command)
}
