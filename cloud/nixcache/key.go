package nixcache

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// keyName is what a key may be called: Nix splits "name:key" at the first
// colon and writes the name into every signature.
var keyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Key is the cache's signing key, in Nix's formats: secret
// "name:base64(64 bytes)" (what nix-store --generate-binary-cache-key
// writes) and public "name:base64(32 bytes)".
type Key struct {
	Name string
	priv ed25519.PrivateKey
}

// PublicKey is the line for nix.conf's trusted-public-keys.
func (k *Key) PublicKey() string {
	return k.Name + ":" + base64.StdEncoding.EncodeToString(k.priv.Public().(ed25519.PublicKey))
}

// Sign returns Nix's "name:base64(signature)" over the fingerprint.
func (k *Key) Sign(fingerprint string) string {
	return k.Name + ":" + base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, []byte(fingerprint)))
}

// LoadOrCreateKey reads the secret key at path or, when there is none,
// generates one named name and writes it (mode 0600) so that every later
// call, and every replica sharing the directory, gets the same one. The
// secret is never logged.
func LoadOrCreateKey(path, name string) (*Key, error) {
	if k, err := readKey(path); !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if !keyName.MatchString(name) {
		return nil, fmt.Errorf("nix cache key name %q: letters, digits, . _ - only", name)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate nix cache key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("nix cache key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, fmt.Errorf("nix cache key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(name + ":" + base64.StdEncoding.EncodeToString(priv) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write nix cache key: %w", err)
	}
	// A hard link never replaces: a key another process made first wins,
	// and we read that one.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("nix cache key: %w", err)
	}
	return readKey(path)
}

func readKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("nix cache key %s: mode %v lets others read it; chmod 600", path, fi.Mode().Perm())
	}
	name, enc, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	raw, derr := base64.StdEncoding.DecodeString(enc)
	if !ok || !keyName.MatchString(name) || derr != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("nix cache key %s: not a Nix secret key (name:base64)", path)
	}
	return &Key{Name: name, priv: ed25519.PrivateKey(raw)}, nil
}

// Verify reports whether sig ("name:base64") is a valid signature of
// fingerprint by the public key pub ("name:base64").
func Verify(pub, fingerprint, sig string) bool {
	pn, pk, ok1 := strings.Cut(pub, ":")
	sn, sb, ok2 := strings.Cut(sig, ":")
	if !ok1 || !ok2 || pn != sn {
		return false
	}
	k, err1 := base64.StdEncoding.DecodeString(pk)
	s, err2 := base64.StdEncoding.DecodeString(sb)
	if err1 != nil || err2 != nil || len(k) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(k), []byte(fingerprint), s)
}
