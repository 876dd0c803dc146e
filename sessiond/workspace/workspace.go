// Package workspace confines every file operation of sessiond to one
// directory tree. It is built on os.Root, which resolves each path component
// with openat and refuses symlinks that lead outside, so a symlink swapped in
// between a check and a use still cannot escape.
package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"gatewave.dev/shared/apierr"
)

// Limits on client-supplied paths, matching Linux's PATH_MAX and NAME_MAX.
const (
	MaxPathLen     = 4096
	MaxNameLen     = 255
	defaultPerm    = 0o644
	defaultDirPerm = 0o755
)

// Workspace is a confined view of one directory.
type Workspace struct {
	dir  string
	root *os.Root
	// Hashes caches content hashes by path, size and mtime.
	Hashes *HashCache
	locks  pathLocks
}

// Open opens dir as a workspace. dir must exist and be a directory.
func Open(dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace %q: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open workspace %q: %w", abs, err)
	}
	return &Workspace{dir: abs, root: root, Hashes: NewHashCache()}, nil
}

// Dir is the workspace's absolute path on disk.
func (w *Workspace) Dir() string { return w.dir }

// Root is the os.Root through which all access goes.
func (w *Workspace) Root() *os.Root { return w.root }

// Close releases the root directory handle.
func (w *Workspace) Close() error { return w.root.Close() }

// Clean validates a client-supplied path and returns it in canonical
// slash-separated relative form ("." for the root). Absolute paths, ".."
// components, NUL bytes, backslash tricks and over-long paths are refused
// with a 400-class *apierr.Error before anything touches the disk.
func Clean(p string) (string, error) {
	if len(p) > MaxPathLen {
		return "", apierr.New(414, "path_too_long", "path is %d bytes; the limit is %d", len(p), MaxPathLen)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", apierr.BadRequest("path contains a NUL byte")
	}
	if p == "" || p == "/" || p == "." {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", apierr.Forbidden("absolute path %q is outside the workspace; paths are relative to the workspace root", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", apierr.Forbidden("path %q leaves the workspace", p)
		}
		if len(part) > MaxNameLen {
			return "", apierr.New(414, "path_too_long", "path component is %d bytes; the limit is %d", len(part), MaxNameLen)
		}
	}
	c := path.Clean(p)
	if !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", apierr.Forbidden("path %q leaves the workspace", p)
	}
	return c, nil
}

// Abs returns the on-disk path for a cleaned relative path. It is for handing
// a location to a child process (a build, a programmer); every read and write
// by sessiond itself goes through the Root.
func (w *Workspace) Abs(rel string) string {
	return filepath.Join(w.dir, filepath.FromSlash(rel))
}

// mapErr turns an OS error into an API error that names the relative path
// and never leaks the on-disk location of the workspace.
func mapErr(op, rel string, err error) error {
	if err == nil {
		return nil
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return apierr.NotFound("%s %q: no such file or directory", op, rel)
	case errors.Is(err, fs.ErrExist):
		return apierr.Conflict("%s %q: already exists", op, rel)
	case errors.Is(err, fs.ErrPermission):
		return apierr.Forbidden("%s %q: permission denied", op, rel)
	case errors.Is(err, syscall.ENOTDIR):
		return apierr.BadRequest("%s %q: a path component is not a directory", op, rel)
	case errors.Is(err, syscall.EISDIR):
		return apierr.BadRequest("%s %q: is a directory", op, rel)
	case errors.Is(err, syscall.ENOTEMPTY):
		return apierr.Conflict("%s %q: directory not empty (pass recursive=true to delete it and its contents)", op, rel)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return apierr.New(414, "path_too_long", "%s %q: name too long", op, rel)
	case errors.Is(err, syscall.ELOOP):
		return apierr.Forbidden("%s %q: too many levels of symbolic links", op, rel)
	case strings.Contains(err.Error(), "path escapes from parent"):
		return apierr.New(403, "outside_workspace", "%s %q: resolves outside the workspace", op, rel)
	}
	return fmt.Errorf("%s %q: %w", op, rel, stripPath(err))
}

// stripPath drops the absolute path a *PathError carries.
func stripPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
