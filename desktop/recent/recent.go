// Package recent remembers the workspace folders the desktop user opened,
// most recent first, in a small JSON file in the user's config directory.
// It stores folder paths and nothing else: never a token.
package recent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"gatewave.dev/desktop/jsonfile"
)

// List is a recent-folders file. The zero value uses DefaultPath and keeps
// 10 entries.
type List struct {
	// Path is the JSON file; empty means DefaultPath().
	Path string
	// Max caps the list; 0 means 10.
	Max int
}

type file struct {
	Folders []string `json:"folders"`
}

// DefaultPath is <user config dir>/gatewave/recent-folders.json
// ($XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user config dir: %w", err)
	}
	return filepath.Join(dir, "gatewave", "recent-folders.json"), nil
}

func (l List) path() (string, error) {
	if l.Path != "" {
		return l.Path, nil
	}
	return DefaultPath()
}

func (l List) max() int {
	if l.Max > 0 {
		return l.Max
	}
	return 10
}

// Load returns the remembered folders, most recent first, leaving out those
// that are no longer directories. A missing file is an empty list.
func (l List) Load() ([]string, error) {
	p, err := l.path()
	if err != nil {
		return nil, err
	}
	var f file
	if err := jsonfile.Read(p, &f); err != nil {
		return nil, fmt.Errorf("recent folders: %w", err)
	}
	out := make([]string, 0, len(f.Folders))
	for _, d := range f.Folders {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && filepath.IsAbs(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// Add puts the absolute folder dir first, dropping an older copy and
// anything beyond Max, and saves the list atomically with mode 0600. A
// corrupt file is replaced rather than blocking the user.
func (l List) Add(dir string) ([]string, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("recent folder %q is not absolute", dir)
	}
	dir = filepath.Clean(dir)
	p, err := l.path()
	if err != nil {
		return nil, err
	}
	old, err := l.Load()
	if err != nil {
		old = nil
	}
	folders := append([]string{dir}, slices.DeleteFunc(old, func(d string) bool { return d == dir })...)
	if len(folders) > l.max() {
		folders = folders[:l.max()]
	}
	if err := jsonfile.Write(p, file{Folders: folders}); err != nil {
		return nil, fmt.Errorf("recent folders: %w", err)
	}
	return folders, nil
}
