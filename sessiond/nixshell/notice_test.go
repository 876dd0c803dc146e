package nixshell

import (
	"errors"
	"strings"
	"testing"
)

func TestFailedNotice(t *testing.T) {
	// What nix 2.8 says for the template's shell.nix without a channel.
	noChannel := errors.New("error: file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)")
	if got := failedNotice(noChannel); !strings.Contains(got, "does not have") || strings.Contains(got, "error:") {
		t.Errorf("no nixpkgs: %q", got)
	}
	typo := errors.New("error: undefined variable 'yosis'")
	if got := failedNotice(typo); !strings.Contains(got, "failed") || !strings.Contains(got, "yosis") {
		t.Errorf("a typo: %q", got)
	}
}
