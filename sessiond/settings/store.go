// Package settings keeps the user's IDE settings (shared/settings) for
// sessiond: a small JSON file, written atomically, and the GET/PUT
// api/v1/settings routes. The desktop app keeps it in the user's config
// dir; a cloud container keeps none (the cloud answers those routes from
// PostgreSQL before they reach the container).
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	shared "gatewave.dev/shared/settings"
)

// DefaultPath is <user config dir>/gatewave/settings.json ($XDG_CONFIG_HOME
// or ~/.config on Linux), next to the desktop's recent and trusted folders.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user config dir: %w", err)
	}
	return filepath.Join(dir, "gatewave", "settings.json"), nil
}

// File is a settings file. Its methods are safe for concurrent use.
type File struct {
	// Path is the JSON file; it and its directory are created on the first
	// Save (the directory with mode 0700).
	Path string

	mu sync.Mutex
}

// Load returns the saved settings, Defaults when there is no file. A file
// that cannot be read fully still gives usable settings (see
// shared/settings.FromStored) together with the error saying why.
func (f *File) Load() (shared.Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := readBounded(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return shared.Defaults(), nil
	}
	if err != nil {
		return shared.Defaults(), fmt.Errorf("read settings %s: %w", f.Path, err)
	}
	s, err := shared.FromStored(b)
	if err != nil {
		return s, fmt.Errorf("settings %s: %w", f.Path, err)
	}
	return s, nil
}

// readBounded reads a regular file of at most 64 KiB: a settings path
// pointed at a device or a huge file costs nothing.
func readBounded(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() > 64<<10 {
		return nil, fmt.Errorf("%d bytes is too large for a settings file", fi.Size())
	}
	b := make([]byte, fi.Size())
	n, err := fh.ReadAt(b, 0)
	if err != nil && n != len(b) {
		return nil, err
	}
	return b[:n], nil
}

// Save validates s and replaces the file with it: a temp file (mode 0600)
// in the same directory, synced, then renamed over Path, so a crash leaves
// the old settings or the new ones, never half of either.
func (f *File) Save(s shared.Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+"-*")
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cherr := tmp.Chmod(0o600)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, cherr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings %s: %w", f.Path, err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings %s: %w", f.Path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename itself survives a crash
		d.Close()
	}
	return nil
}
