package trust_test

import (
	"os"
	"path/filepath"
	"testing"

	"gatewave.dev/desktop/trust"
)

func newStore(t *testing.T) trust.Store {
	t.Helper()
	return trust.Store{Path: filepath.Join(t.TempDir(), "cfg", "trusted-folders.json")}
}

func trusted(t *testing.T, s trust.Store, dir string) bool {
	t.Helper()
	ok, err := s.Trusted(dir)
	if err != nil {
		t.Fatalf("Trusted(%s): %v", dir, err)
	}
	return ok
}

func TestUntrustedUntilTrusted(t *testing.T) {
	s := newStore(t)
	a, b := t.TempDir(), t.TempDir()
	if trusted(t, s, a) {
		t.Fatal("a folder is trusted before the user said so")
	}
	if err := s.Trust(a); err != nil {
		t.Fatal(err)
	}
	if !trusted(t, s, a) || trusted(t, s, b) {
		t.Errorf("after trusting %s: a %v, b %v", a, trusted(t, s, a), trusted(t, s, b))
	}
	// Another view of the same folder is the same folder.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	if !trusted(t, s, link) || !trusted(t, s, a+"/.") {
		t.Error("a symlink to, or another spelling of, a trusted folder is not trusted")
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("trust file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := s.Revoke(a); err != nil {
		t.Fatal(err)
	}
	if trusted(t, s, a) {
		t.Error("still trusted after Revoke")
	}
}

// TestReplacedFolderIsNotTrusted: trust given to one checkout does not pass
// to another put at the same path later, and a symlink swapped in at a
// trusted path does not carry trust to its target.
func TestReplacedFolderIsNotTrusted(t *testing.T) {
	s := newStore(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "project")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Trust(dir); err != nil {
		t.Fatal(err)
	}
	// The old checkout moves aside (so its inode stays taken and cannot be
	// reused) and a new one is made at the same path.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if trusted(t, s, dir) {
		t.Error("a new folder at a trusted path inherited the trust")
	}
	other := t.TempDir()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, dir); err != nil {
		t.Fatal(err)
	}
	if trusted(t, s, dir) {
		t.Error("a symlink at a trusted path passed the trust to its target")
	}
}

func TestCorruptFileFailsClosed(t *testing.T) {
	s := newStore(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path, []byte(`{"folders":[{"path":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Trusted(dir); ok || err == nil {
		t.Errorf("Trusted with a corrupt file = %v, %v; want false and an error", ok, err)
	}
	if err := s.Trust(dir); err != nil {
		t.Fatalf("Trust over a corrupt file: %v", err)
	}
	if !trusted(t, s, dir) {
		t.Error("not trusted after replacing the corrupt file")
	}
	if ok, err := s.Trusted(filepath.Join(dir, "missing")); ok || err == nil {
		t.Errorf("Trusted(missing) = %v, %v; want false and an error", ok, err)
	}
}
