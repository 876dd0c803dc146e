package fleetproto

import (
	"os/exec"
	"testing"

	"gatewave.dev/shared/testenv"
)

// Every name ValidGitBranch accepts, git accepts as a branch too; the
// names an attacker would try (options, refspecs, paths out of refs/heads,
// the autosave namespace) are refused.
func TestValidGitBranch(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "apt-get install git")
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"main", true}, {"feature/x", true}, {"fix-1.2", true}, {"ünïcode", true}, {"a/b/c", true},
		{"", false}, {"--force", false}, {"-o", false}, {"main:refs/heads/other", false}, {"+main", true},
		{"refs/heads/../../x", false}, {"../x", false}, {"a..b", false}, {"a//b", false}, {"/a", false}, {"a/", false},
		{"a.lock", false}, {"a/.b", false}, {".a", false}, {"a.", false}, {"a b", false}, {"a~1", false}, {"a^", false},
		{"a?", false}, {"a*", false}, {"a[", false}, {"a\\b", false}, {"a@{1}", false}, {"@", false}, {"HEAD", false},
		{"a\x00b", false}, {"a\nb", false}, {"a\x7fb", false}, {"ide/autosave", false}, {"ide/recovered/x", false}, {"ide", false},
		{"refs/heads/main", false}, {string([]byte{0xff, 0xfe}), false},
	}
	for _, tt := range tests {
		if got := ValidGitBranch(tt.name); got != tt.ok {
			t.Errorf("ValidGitBranch(%q) = %v, want %v", tt.name, got, tt.ok)
		}
		if tt.ok {
			if out, err := exec.Command("git", "check-ref-format", "--branch", tt.name).CombinedOutput(); err != nil {
				t.Errorf("git refuses %q, which ValidGitBranch accepts: %s", tt.name, out)
			}
		}
	}
}
