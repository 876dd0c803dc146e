// Package bitstream lists the FPGA bitstreams a build left in the workspace
// and serves them for download, so the browser can pipe them into WebUSB:
// exact Content-Length, the SHA-256 as a strong ETag, single byte ranges,
// and the file streamed from its descriptor rather than read into memory.
package bitstream

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// Extensions are the file types listed as bitstreams.
var Extensions = []string{".bin", ".bit", ".bitstream", ".fs", ".svf", ".dfu", ".jed"}

// Options configure a Service. Workspace is required.
type Options struct {
	// Workspace is searched and served.
	Workspace *workspace.Workspace
	// MaxFiles caps a listing; 0 means 1000.
	MaxFiles int
	// Skip names directories never searched; nil means .git, node_modules
	// and other dependency or editor caches.
	Skip []string
}

// Service lists and serves bitstreams.
type Service struct {
	opts Options
	ws   *workspace.Workspace
}

// Bitstream is one listed file.
type Bitstream struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// MTime is the modification time in Unix milliseconds.
	MTime  int64  `json:"mtime"`
	SHA256 string `json:"sha256"`
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Workspace == nil {
		return nil, errors.New("bitstream: Options.Workspace is required")
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 1000
	}
	if opts.Skip == nil {
		opts.Skip = []string{".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__", ".cache"}
	}
	return &Service{opts: opts, ws: opts.Workspace}, nil
}

// Close releases nothing: the service starts no processes.
func (s *Service) Close() error { return nil }

// IsBitstream reports whether name has a bitstream extension.
func IsBitstream(name string) bool {
	return slices.Contains(Extensions, strings.ToLower(path.Ext(name)))
}

// List walks the workspace (without following symlinks) and returns its
// bitstreams, newest first. Hashes come from the workspace's cache, keyed by
// path, size, mtime and inode, so an unchanged file is read only once.
func (s *Service) List() ([]Bitstream, error) {
	var out []Bitstream
	fsys := s.ws.Root().FS()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // unreadable or vanished entry: skip it
		}
		if d.IsDir() {
			if p != "." && slices.Contains(s.opts.Skip, d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !IsBitstream(p) {
			return nil
		}
		sum, fi, err := s.ws.Hash(p)
		if err != nil {
			return nil // removed or replaced mid-walk
		}
		out = append(out, Bitstream{Path: p, Size: fi.Size(), MTime: fi.ModTime().UnixMilli(), SHA256: sum})
		if len(out) >= s.opts.MaxFiles {
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bitstreams: %w", err)
	}
	slices.SortFunc(out, func(a, b Bitstream) int {
		if c := cmp.Compare(b.MTime, a.MTime); c != 0 {
			return c
		}
		return cmp.Compare(a.Path, b.Path)
	})
	return out, nil
}

// Open opens rel for download and returns the file with its info and
// SHA-256. The hash describes the opened descriptor: a file replaced by
// rename while a download runs is still sent whole and consistent.
func (s *Service) Open(rel string) (*os.File, fs.FileInfo, string, error) {
	rel, err := workspace.Clean(rel)
	if err != nil {
		return nil, nil, "", err
	}
	if rel == "." {
		return nil, nil, "", apierr.BadRequest("path is required: GET /api/v1/bitstream?path=build/top.bin")
	}
	f, err := s.ws.Root().Open(rel)
	if err != nil {
		return nil, nil, "", openErr(rel, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, "", fmt.Errorf("stat %q: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, "", apierr.BadRequest("%q is not a regular file", rel)
	}
	sum, ok := s.ws.Hashes.Get(rel, fi)
	if !ok {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
			f.Close()
			return nil, nil, "", fmt.Errorf("hash %q: %w", rel, err)
		}
		sum = hex.EncodeToString(h.Sum(nil))
		s.ws.Hashes.Put(rel, fi, sum)
	}
	return f, fi, sum, nil
}

// openErr maps an open failure to an API error without the on-disk path.
func openErr(rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return apierr.NotFound("bitstream %q: no such file", rel)
	case errors.Is(err, fs.ErrPermission):
		return apierr.Forbidden("bitstream %q: permission denied", rel)
	case strings.Contains(err.Error(), "escapes"):
		return apierr.New(403, "outside_workspace", "bitstream %q: resolves outside the workspace", rel)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("open bitstream %q: %w", rel, err)
}
