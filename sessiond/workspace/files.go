package workspace

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"gatewave.dev/shared/apierr"
)

// ETag formats a content hash as a strong HTTP entity tag.
func ETag(sum string) string { return `"` + sum + `"` }

// File is an open workspace file ready to be sent to a client.
type File struct {
	Info fs.FileInfo
	// Sum is the SHA-256 of exactly the bytes in Data (or, for large files
	// streamed from Reader, of the file as it was hashed).
	Sum    string
	Data   []byte
	Reader *os.File
}

// smallFile is the size up to which Read loads a file into memory, so that
// the bytes sent and the ETag always describe the same content.
const smallFile = 8 << 20

// Read opens rel for sending. Small files are read whole; larger ones are
// hashed (cached) and left open for streaming; the caller closes Reader.
func (w *Workspace) Read(rel string) (*File, error) {
	f, err := w.root.Open(rel)
	if err != nil {
		return nil, mapErr("read", rel, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, mapErr("read", rel, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, apierr.BadRequest("read %q: is a directory; list it with GET /api/v1/files", rel)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, apierr.BadRequest("read %q: not a regular file", rel)
	}
	if fi.Size() <= smallFile {
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, smallFile+1))
		if err != nil {
			return nil, mapErr("read", rel, err)
		}
		// The cached hash describes these bytes only if the file did not
		// change while they were read.
		if sum, ok := w.Hashes.Get(rel, fi); ok && int64(len(data)) == fi.Size() {
			if after, err := f.Stat(); err == nil && keyOf(rel, after) == keyOf(rel, fi) {
				return &File{Info: fi, Sum: sum, Data: data}, nil
			}
		}
		s := sha256.Sum256(data)
		sum := hex.EncodeToString(s[:])
		if after, err := f.Stat(); err == nil && keyOf(rel, after) == keyOf(rel, fi) && int64(len(data)) == fi.Size() {
			w.Hashes.Put(rel, fi, sum)
		}
		return &File{Info: fi, Sum: sum, Data: data}, nil
	}
	sum, ok := w.Hashes.Get(rel, fi)
	if !ok {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			f.Close()
			return nil, mapErr("read", rel, err)
		}
		sum = hex.EncodeToString(h.Sum(nil))
		w.Hashes.Put(rel, fi, sum)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, mapErr("read", rel, err)
		}
	}
	return &File{Info: fi, Sum: sum, Reader: f}, nil
}

// WriteOptions are the preconditions and choices of a Write.
type WriteOptions struct {
	// IfMatch, when set, is the ETag (quoted or bare hash) the file must
	// currently have; "*" means the file must exist. Empty: no check.
	IfMatch string
	// IfNoneMatch "*" means the file must not exist yet (create only).
	IfNoneMatch string
	// MakeParents creates missing parent directories. Without it a missing
	// parent is a 404, so a typo never scatters directories.
	MakeParents bool
	// Mode is the permission for a new file; 0 means 0644. An existing
	// file keeps its own mode.
	Mode fs.FileMode
}

// WriteResult describes the file after a successful Write.
type WriteResult struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	Sum     string `json:"sha256"`
	Created bool   `json:"created"`
}

// Write replaces rel's contents atomically: the data goes to a temporary file
// in the same directory, is fsynced, takes the old file's mode and owner and
// is renamed over rel, so readers see the old or the new file, never a mix.
// Writes through a symlink inside the workspace update the link's target.
func (w *Workspace) Write(rel string, r io.Reader, o WriteOptions) (*WriteResult, error) {
	target, err := w.resolveLinks(rel)
	if err != nil {
		return nil, err
	}
	unlock := w.locks.lock(target)
	defer unlock()

	dir, base := path.Split(target)
	dir = path.Clean(dir)
	if o.MakeParents && dir != "." {
		if err := w.root.MkdirAll(dir, defaultDirPerm); err != nil {
			return nil, mapErr("create parents of", rel, err)
		}
	}
	if dfi, err := w.root.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, apierr.NotFound("write %q: parent directory %q does not exist (pass mkdirs=true to create it)", rel, dir)
		}
		return nil, mapErr("write", rel, err)
	} else if !dfi.IsDir() {
		return nil, apierr.BadRequest("write %q: parent %q is not a directory", rel, dir)
	}

	old, err := w.root.Lstat(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, mapErr("write", rel, err)
	}
	if exists && old.IsDir() {
		return nil, apierr.BadRequest("write %q: is a directory", rel)
	}
	if exists && !old.Mode().IsRegular() {
		return nil, apierr.BadRequest("write %q: not a regular file", rel)
	}
	if o.IfNoneMatch == "*" && exists {
		return nil, apierr.PreconditionFailed("write %q: file already exists", rel)
	}
	if o.IfMatch != "" {
		if !exists {
			return nil, apierr.PreconditionFailed("write %q: file no longer exists", rel)
		}
		if want := unquote(o.IfMatch); want != "*" {
			cur, _, err := w.Hash(target)
			if err != nil {
				return nil, err
			}
			if cur != want {
				return nil, apierr.PreconditionFailed("write %q: file changed on disk since it was read", rel).
					WithDetails(map[string]string{"current_etag": ETag(cur)})
			}
		}
	}

	perm := o.Mode.Perm()
	if perm == 0 {
		perm = defaultPerm
	}
	if exists {
		perm = old.Mode().Perm()
	}
	tmp := path.Join(dir, "."+base+".gw-"+randHex(6)+".tmp")
	f, err := w.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, mapErr("write", rel, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			_ = w.root.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, fmt.Errorf("write %q: %w", rel, stripPath(err))
	}
	// Chmod on the open descriptor: immune to umask and to path swaps.
	if err := f.Chmod(perm); err != nil {
		return nil, mapErr("write", rel, err)
	}
	if exists {
		if st, ok := old.Sys().(*syscall.Stat_t); ok {
			_ = f.Chown(int(st.Uid), int(st.Gid)) // best effort: needs privilege
		}
	}
	if err := f.Sync(); err != nil {
		return nil, mapErr("write", rel, err)
	}
	// The temporary file's inode, size and mtime are the target's after the
	// rename: they key the new content's hash, so the next read is free.
	written, statErr := f.Stat()
	if err := f.Close(); err != nil {
		return nil, mapErr("write", rel, err)
	}
	if err := w.root.Rename(tmp, target); err != nil {
		return nil, mapErr("write", rel, err)
	}
	committed = true
	w.syncDir(dir)
	sum := hex.EncodeToString(h.Sum(nil))
	if statErr == nil {
		w.Hashes.Put(target, written, sum)
	}
	return &WriteResult{Path: target, Size: n, Sum: sum, Created: !exists}, nil
}

// resolveLinks follows symlinks at rel (up to 8 hops) so a write lands on
// the link's target, which must itself be inside the workspace.
func (w *Workspace) resolveLinks(rel string) (string, error) {
	cur, err := Clean(rel)
	if err != nil {
		return "", err
	}
	if cur == "." {
		return "", apierr.BadRequest("write: the workspace root is a directory")
	}
	for hops := 0; hops < 8; hops++ {
		fi, err := w.root.Lstat(cur)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return cur, nil
		}
		link, err := w.root.Readlink(cur)
		if err != nil {
			return "", mapErr("write", rel, err)
		}
		if path.IsAbs(link) {
			return "", apierr.New(403, "outside_workspace", "write %q: symlink points outside the workspace", rel)
		}
		next, err := Clean(path.Join(path.Dir(cur), link))
		if err != nil {
			return "", apierr.New(403, "outside_workspace", "write %q: symlink points outside the workspace", rel)
		}
		cur = next
	}
	return "", apierr.Forbidden("write %q: too many levels of symbolic links", rel)
}

func (w *Workspace) syncDir(dir string) {
	if d, err := w.root.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Stat describes rel without following a final symlink.
func (w *Workspace) Stat(rel string) (Entry, error) {
	fi, err := w.root.Lstat(rel)
	if err != nil {
		return Entry{}, mapErr("stat", rel, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return Entry{Name: path.Base(rel), Path: rel, Type: typeOf(st.Mode), Size: fi.Size(), MTime: fi.ModTime().UnixMilli()}, nil
}

// Mkdir creates directory rel; with parents, missing parents too and an
// existing directory is not an error.
func (w *Workspace) Mkdir(rel string, parents bool) error {
	if rel == "." {
		return apierr.Conflict("mkdir: the workspace root already exists")
	}
	if parents {
		return mapErr("mkdir", rel, w.root.MkdirAll(rel, defaultDirPerm))
	}
	return mapErr("mkdir", rel, w.root.Mkdir(rel, defaultDirPerm))
}

// Move renames from to to. Without overwrite an existing destination is a
// 409 and nothing changes.
func (w *Workspace) Move(from, to string, overwrite bool) error {
	if from == "." || to == "." {
		return apierr.BadRequest("move: the workspace root cannot be moved or replaced")
	}
	if from == to {
		return nil
	}
	if len(to) > len(from) && to[:len(from)] == from && to[len(from)] == '/' {
		return apierr.BadRequest("move %q: cannot move a directory into itself", from)
	}
	defer w.locks.lockPair(from, to)()
	if _, err := w.root.Lstat(from); err != nil {
		return mapErr("move", from, err)
	}
	if !overwrite {
		if _, err := w.root.Lstat(to); err == nil {
			return apierr.Conflict("move %q: destination %q already exists (pass overwrite=true to replace it)", from, to)
		}
	}
	return mapErr("move", from, w.root.Rename(from, to))
}

// Remove deletes rel. A non-empty directory is removed only when recursive
// is set; the workspace root never is.
func (w *Workspace) Remove(rel string, recursive bool) error {
	if rel == "." {
		return apierr.BadRequest("delete: the workspace root cannot be deleted")
	}
	if _, err := w.root.Lstat(rel); err != nil {
		return mapErr("delete", rel, err)
	}
	if recursive {
		return mapErr("delete", rel, w.root.RemoveAll(rel))
	}
	return mapErr("delete", rel, w.root.Remove(rel))
}

func unquote(etag string) string {
	etag = string(bytes.TrimPrefix([]byte(etag), []byte("W/")))
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag[1 : len(etag)-1]
	}
	return etag
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
