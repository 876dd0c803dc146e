// Package trust remembers which workspace folders the desktop user trusts
// to choose programs to run (their .ide/languages.toml and .ide/tasks.toml),
// in a small JSON file in the user's config directory next to the recent
// folders. A folder is untrusted until the user says otherwise, as in VS
// Code's restricted mode.
//
// A folder is known by its real path and by the device and inode of the
// directory there: a folder deleted and cloned again at the same path is a
// new checkout and is not trusted by the old answer.
package trust

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"gatewave.dev/desktop/jsonfile"
)

// Store is a trusted-folders file. The zero value uses DefaultPath.
type Store struct {
	// Path is the JSON file; empty means DefaultPath().
	Path string
}

// Folder is one trusted folder.
type Folder struct {
	// Path is the folder's absolute path with symlinks resolved.
	Path string `json:"path"`
	// Dev and Ino identify the directory at Path (0 where the platform
	// reports none).
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

type file struct {
	Folders []Folder `json:"folders"`
}

// DefaultPath is <user config dir>/gatewave/trusted-folders.json.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user config dir: %w", err)
	}
	return filepath.Join(dir, "gatewave", "trusted-folders.json"), nil
}

func (s Store) path() (string, error) {
	if s.Path != "" {
		return s.Path, nil
	}
	return DefaultPath()
}

// identify resolves dir to the Folder that stands for it now.
func identify(dir string) (Folder, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Folder{}, fmt.Errorf("trust %q: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return Folder{}, fmt.Errorf("trust %q: %w", dir, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return Folder{}, fmt.Errorf("trust %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return Folder{}, fmt.Errorf("trust %q: not a directory", dir)
	}
	dev, ino := fileID(fi)
	return Folder{Path: real, Dev: dev, Ino: ino}, nil
}

func (s Store) load() ([]Folder, error) {
	p, err := s.path()
	if err != nil {
		return nil, err
	}
	var f file
	if err := jsonfile.Read(p, &f); err != nil {
		return nil, fmt.Errorf("trusted folders: %w", err)
	}
	return f.Folders, nil
}

// Trusted reports whether the user trusts dir. Any error (an unreadable or
// corrupt file, a folder that cannot be resolved) reports false with it:
// trust fails closed.
func (s Store) Trusted(dir string) (bool, error) {
	want, err := identify(dir)
	if err != nil {
		return false, err
	}
	list, err := s.load()
	if err != nil {
		return false, err
	}
	return slices.Contains(list, want), nil
}

// Trust records that the user trusts dir as it is now. A corrupt file is
// replaced rather than blocking the user.
func (s Store) Trust(dir string) error {
	f, err := identify(dir)
	if err != nil {
		return err
	}
	list, err := s.load()
	if err != nil {
		list = nil
	}
	// Another checkout once trusted at this path loses its entry.
	list = slices.DeleteFunc(list, func(o Folder) bool { return o.Path == f.Path })
	return s.save(append(list, f))
}

// Revoke forgets trust in dir; dir need not exist any more.
func (s Store) Revoke(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("revoke trust in %q: %w", dir, err)
	}
	paths := []string{filepath.Clean(abs)}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		paths = append(paths, real)
	}
	list, err := s.load()
	if err != nil {
		list = nil
	}
	return s.save(slices.DeleteFunc(list, func(o Folder) bool { return slices.Contains(paths, o.Path) }))
}

// save writes the list atomically with mode 0600.
func (s Store) save(list []Folder) error {
	p, err := s.path()
	if err != nil {
		return err
	}
	if err := jsonfile.Write(p, file{Folders: list}); err != nil {
		return fmt.Errorf("trusted folders: %w", err)
	}
	return nil
}
