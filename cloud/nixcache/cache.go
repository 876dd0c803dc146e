// Package nixcache is the cloud's Nix binary cache: the HTTP binary-cache
// protocol Nix substitutes from (nix-cache-info, <hash>.narinfo, nar/...)
// under /nix-cache/, every narinfo signed with the cloud's own ed25519 key,
// and uploads (admin only) that the cache checks before it signs them.
//
// Files live in Options.Dir: secret.key (0600, generated once),
// narinfo/<hash>.narinfo and nar/<sha256 nix32>.nar. NARs are kept
// uncompressed and named by their own hash, so a NAR cannot be replaced by
// another, and a narinfo, once written, is never replaced: a second
// upload of the same path must say the same thing or is refused.
package nixcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
)

// Options configures a Cache.
type Options struct {
	// Dir holds the key, the narinfos and the NARs. Required.
	Dir string
	// KeyName names the key generated on first use ("" means
	// "gatewave-1"); an existing key keeps its own name.
	KeyName string
	// Authorize decides whether a request's bearer token may read
	// (write false) or upload (write true). Required.
	Authorize func(ctx context.Context, token string, write bool) error
	// Priority is nix-cache-info's Priority (0 means 30, below
	// cache.nixos.org's 40, so this cache is asked first).
	Priority int
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// Cache is the binary cache. Create it with New; mount it with Mount.
type Cache struct {
	opts   Options
	key    *Key
	log    *slog.Logger
	served atomic.Int64
}

// ErrConflict: a narinfo for that path already says something else.
var ErrConflict = errors.New("nix cache: the path is already in the cache with other contents")

// New loads (or, the first time, makes) the signing key and the cache's
// directories.
func New(opts Options) (*Cache, error) {
	if opts.Dir == "" {
		return nil, errors.New("nixcache: Options.Dir is required")
	}
	if opts.Authorize == nil {
		return nil, errors.New("nixcache: Options.Authorize is required")
	}
	if opts.KeyName == "" {
		opts.KeyName = "gatewave-1"
	}
	if opts.Priority == 0 {
		opts.Priority = 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	for _, d := range []string{opts.Dir, filepath.Join(opts.Dir, "narinfo"), filepath.Join(opts.Dir, "nar")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("nix cache: %w", err)
		}
	}
	key, err := LoadOrCreateKey(filepath.Join(opts.Dir, "secret.key"), opts.KeyName)
	if err != nil {
		return nil, err
	}
	return &Cache{opts: opts, key: key, log: opts.Logger}, nil
}

// PublicKey is the key sessions trust (nix.conf trusted-public-keys).
func (c *Cache) PublicKey() string { return c.key.PublicKey() }

// NarsServed counts NAR downloads, for tests and metrics.
func (c *Cache) NarsServed() int64 { return c.served.Load() }

// Info is nix-cache-info.
func (c *Cache) Info() string {
	return fmt.Sprintf("StoreDir: %s\nWantMassQuery: 1\nPriority: %d\n", StoreDir, c.opts.Priority)
}

var (
	narInfoName = regexp.MustCompile(`^(` + hashPart + `)\.narinfo$`)
	narName     = regexp.MustCompile(`^[0-9a-df-np-sv-z]{52}\.nar$`)
)

func (c *Cache) narInfoPath(hash string) string {
	return filepath.Join(c.opts.Dir, "narinfo", hash+".narinfo")
}

func (c *Cache) narPath(name string) string { return filepath.Join(c.opts.Dir, "nar", name) }

// narMagic starts every NAR: the length-prefixed "nix-archive-1".
var narMagic = append([]byte{13, 0, 0, 0, 0, 0, 0, 0}, "nix-archive-1\x00\x00\x00"...)

// PutNar stores an uncompressed NAR under name, which must be its own
// sha256 in nix32 plus ".nar".
func (c *Cache) PutNar(name string, nar []byte) error {
	if !narName.MatchString(name) {
		return fmt.Errorf("nix cache: NAR name %q: want <sha256 nix32>.nar (uncompressed)", name)
	}
	if !bytes.HasPrefix(nar, narMagic) {
		return errors.New("nix cache: not an uncompressed NAR (no nix-archive-1 header)")
	}
	sum := sha256.Sum256(nar)
	if got := nix32(sum[:]) + ".nar"; got != name {
		return fmt.Errorf("nix cache: NAR %s hashes to %s", name, got)
	}
	return writeOnce(c.narPath(name), nar, true)
}

// PutNarInfo checks an uploaded narinfo against the NAR already uploaded
// and the references already in the cache, signs it and stores it under
// hash. It returns ErrConflict when the path is there with other contents.
func (c *Cache) PutNarInfo(hash, text string) (*NarInfo, error) {
	n, err := ParseNarInfo(text)
	if err != nil {
		return nil, err
	}
	if n.Hash() != hash {
		return nil, fmt.Errorf("nix cache: %s.narinfo describes %s", hash, n.StorePath)
	}
	fi, err := os.Stat(c.narPath(n.NarFile()))
	if err != nil {
		return nil, fmt.Errorf("nix cache: upload nar/%s before its narinfo", n.NarFile())
	}
	if fi.Size() != n.NarSize {
		return nil, fmt.Errorf("nix cache: NarSize %d, but nar/%s has %d bytes", n.NarSize, n.NarFile(), fi.Size())
	}
	self := filepath.Base(n.StorePath)
	for _, r := range n.References {
		if r == self {
			continue
		}
		if _, err := os.Stat(c.narInfoPath(r[:32])); err != nil {
			return nil, fmt.Errorf("nix cache: reference %s is not in the cache: upload it first", r)
		}
	}
	n.Sigs = []string{c.key.Sign(n.Fingerprint())}
	err = writeOnce(c.narInfoPath(hash), []byte(n.String()), false)
	if errors.Is(err, fs.ErrExist) {
		old, rerr := c.NarInfo(hash)
		if rerr != nil {
			return nil, rerr
		}
		if old.Fingerprint() != n.Fingerprint() || old.Deriver != n.Deriver || old.CA != n.CA {
			return nil, ErrConflict
		}
		return old, nil
	}
	if err != nil {
		return nil, err
	}
	c.log.Info("nix cache: added", "path", n.StorePath, "nar_size", n.NarSize)
	return n, nil
}

// NarInfo reads a stored narinfo.
func (c *Cache) NarInfo(hash string) (*NarInfo, error) {
	b, err := os.ReadFile(c.narInfoPath(hash))
	if err != nil {
		return nil, err
	}
	return ParseNarInfo(string(b))
}

// writeOnce writes b to path through a temporary file and a hard link, so
// a reader never sees half a file and nothing is replaced: fs.ErrExist
// when path exists, unless same says identical content is fine (a NAR,
// named by its hash).
func writeOnce(path string, b []byte, same bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".up-*")
	if err != nil {
		return fmt.Errorf("nix cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("nix cache: write %s: %w", filepath.Base(path), err)
	}
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) && same {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("nix cache: %w", err)
	}
	return err
}

// NarFileName is the name under nar/ an uncompressed NAR is uploaded as:
// its sha256 in nix32, plus ".nar".
func NarFileName(nar []byte) string {
	sum := sha256.Sum256(nar)
	return nix32(sum[:]) + ".nar"
}
