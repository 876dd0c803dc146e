package childenv

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestBase(t *testing.T) {
	t.Setenv("SESSIOND_TOKEN", "secret")
	t.Setenv("MAKEFLAGS", "w")
	t.Setenv("MAKELEVEL", "1")
	t.Setenv("TERM", "dumb")
	t.Setenv("KEEP_ME", "1")
	env := Base("TERM")
	for _, kv := range env {
		for _, bad := range []string{"SESSIOND_TOKEN=", "MAKEFLAGS=", "MAKELEVEL=", "TERM="} {
			if len(kv) >= len(bad) && kv[:len(bad)] == bad {
				t.Errorf("%s leaked into a child's environment", kv)
			}
		}
	}
	if !slices.Contains(env, "KEEP_ME=1") {
		t.Error("an ordinary variable was dropped")
	}
}

func TestLookPathUsesTheChildsPath(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "only-here")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "not-exec"), []byte("x"), 0o644)
	env := []string{"PATH=/nonexistent", "PATH=" + dir}
	if got, err := LookPath(env, "only-here"); err != nil || got != prog {
		t.Fatalf("LookPath = %q, %v; want %q (the last PATH wins)", got, err, prog)
	}
	if _, err := LookPath(env, "not-exec"); err == nil {
		t.Fatal("a file without the exec bit was found")
	}
	if _, err := LookPath([]string{"PATH=" + dir}[:0], "only-here"); err == nil {
		t.Fatal("found without a PATH")
	}
	if got, _ := LookPath(nil, "./rel/x"); got != "./rel/x" {
		t.Fatalf("a name with a slash changed: %q", got)
	}
}
