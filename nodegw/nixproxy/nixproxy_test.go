package nixproxy

import (
	"os"
	"path/filepath"
	"testing"
)

// The node's state directory, when the proxy is the first to make it,
// stays the node's (0700): the socket (0666, for every container's user)
// is reachable through the bind mount only, not by the host's other users
// walking into the state directory.
func TestNewMakesTheStateDirectoryTheNodesAlone(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	dir := filepath.Join(state, "nix")
	if _, err := New(Options{CloudURL: "http://127.0.0.1:1", Token: "gwn_x", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{state: 0o700, dir: 0o755} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	// An existing directory is taken as it is, Dir made readable.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{CloudURL: "http://127.0.0.1:1", Token: "gwn_x", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("Dir mode %v after a second New, want 0755", fi.Mode().Perm())
	}
}
