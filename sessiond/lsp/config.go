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
}

// DefaultLanguages are sessiond's built-in languages. The FPGA ones need
// binaries that are not always installed; they stay listed so that the IDE
// can say which binary to install (GET api/v1/lsp reports "available").
func DefaultLanguages() map[string]Language {
	return map[string]Language{
		"c":             {Command: "clangd", Args: []string{"--log=error"}, Extensions: []string{".c", ".h"}},
		"cpp":           {Command: "clangd", Args: []string{"--log=error"}, Extensions: []string{".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx"}},
		"go":            {Command: "gopls", Extensions: []string{".go"}},
		"verilog":       {Command: "verible-verilog-ls", Extensions: []string{".v", ".vh"}},
		"systemverilog": {Command: "verible-verilog-ls", Extensions: []string{".sv", ".svh"}},
		"vhdl":          {Command: "vhdl_ls", Extensions: []string{".vhd", ".vhdl"}},
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
