package childenv

import (
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
