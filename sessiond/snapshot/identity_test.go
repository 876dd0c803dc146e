package snapshot

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/shared/fleetproto"
)

// commitAs commits in ws with no identity but the repository's own (no
// global or system config, no GIT_AUTHOR_* in the environment), as the
// user's git in the container does, and returns the author line.
func commitAs(t *testing.T, ws string) (string, error) {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "EMAIL=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	run := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = ws, env
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	write(t, filepath.Join(ws, "new.v"), "module n; endmodule\n")
	if out, err := run("add", "new.v"); err != nil {
		t.Fatalf("git add: %v: %s", err, out)
	}
	if out, err := run("-c", "user.useConfigOnly=true", "commit", "-qm", "mine"); err != nil {
		return out, err
	}
	return run("log", "-1", "--format=%an <%ae>")
}

func TestRestoreRecordsTheAccountIdentity(t *testing.T) {
	bare := remote(t)
	stream, _, _ := resumeStream(t, bare)
	ws := t.TempDir()
	id := &fleetproto.GitIdentity{Name: "alice", Email: "alice@users.cloud.example"}
	if _, err := Restore(context.Background(), Options{Root: ws}, RestoreOptions{Origin: "http://cloud/git/alice.git", Identity: id}, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	got, err := commitAs(t, ws)
	if err != nil || got != "alice <alice@users.cloud.example>" {
		t.Fatalf("commit in the restored workspace: %q, %v", got, err)
	}
	// Without one, a commit there still needs the user to say who they are.
	ws2 := t.TempDir()
	if _, err := Restore(context.Background(), Options{Root: ws2}, RestoreOptions{}, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if out, err := commitAs(t, ws2); err == nil {
		t.Fatalf("a commit without an identity went in: %s", out)
	}
}

// Values that would start a section, a key or a second line if written
// into the config file by hand go in as one value each, byte for byte;
// a newline or an option-looking value is refused before anything is
// written.
func TestRestoreIdentityCannotInjectConfig(t *testing.T) {
	bare := remote(t)
	stream, _, _ := resumeStream(t, bare)
	odd := fleetproto.GitIdentity{Name: `Eve "]" [core] hooksPath = /tmp/x ; # \ end`, Email: `"e]ve"@[core]`}
	ws := t.TempDir()
	if _, err := Restore(context.Background(), Options{Root: ws}, RestoreOptions{Origin: "http://cloud/git/e.git", Identity: &odd}, bytes.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	list := sh(t, ws, nil, "config", "--local", "--list")
	for _, line := range strings.Split(list, "\n") {
		key, _, _ := strings.Cut(line, "=")
		switch {
		case key == "user.name" || key == "user.email":
		case strings.HasPrefix(key, "core.hookspath"), strings.HasPrefix(key, "core.sshcommand"):
			t.Fatalf("the identity injected %q:\n%s", line, list)
		}
	}
	if got := sh(t, ws, nil, "config", "--local", "--get", "user.name"); got != odd.Name {
		t.Errorf("user.name = %q, want %q", got, odd.Name)
	}
	if got := sh(t, ws, nil, "config", "--local", "--get", "user.email"); got != odd.Email {
		t.Errorf("user.email = %q, want %q", got, odd.Email)
	}
	if _, err := exec.Command("git", "-C", ws, "config", "--local", "--get", "core.hookspath").Output(); err == nil {
		t.Fatal("core.hooksPath is set")
	}

	for _, bad := range []fleetproto.GitIdentity{
		{Name: "Eve\n[core]\n\thooksPath = /tmp/x", Email: "e@x"},
		{Name: "Eve", Email: "e@x\n[core]"},
		{Name: "Eve\r", Email: "e@x"},
		{Name: "Eve\x00", Email: "e@x"},
		{Name: "-x", Email: "e@x"},
		{Name: "Eve", Email: "--global"},
		{Name: "Eve <e@x>", Email: "e@x"},
		{Name: strings.Repeat("a", fleetproto.MaxGitName+1), Email: "e@x"},
		{Name: "Eve", Email: "e x@y"},
		{Name: "", Email: "e@x"},
	} {
		ws := t.TempDir()
		_, err := Restore(context.Background(), Options{Root: ws}, RestoreOptions{Identity: &bad}, bytes.NewReader(stream))
		if err == nil {
			t.Errorf("identity %q accepted", bad)
		}
		if _, serr := os.Lstat(filepath.Join(ws, ".git")); serr == nil {
			t.Errorf("identity %q: a repository was made before it was refused", bad)
		}
	}
}

// An identity the repository already has is the user's: it stays.
func TestSetIdentityKeepsTheUsers(t *testing.T) {
	ws := t.TempDir()
	sh(t, ws, nil, "init", "-q", ws)
	sh(t, ws, nil, "config", "--local", "user.name", "Alice Liddell")
	g := &runner{o: Options{Root: ws}, env: append(baseEnv(ws), "GIT_DIR="+filepath.Join(ws, ".git"), "GIT_WORK_TREE="+ws), dir: ws}
	if err := setIdentity(context.Background(), g, fleetproto.GitIdentity{Name: "alice", Email: "alice@users.h"}); err != nil {
		t.Fatal(err)
	}
	if got := sh(t, ws, nil, "config", "--local", "--get", "user.name"); got != "Alice Liddell" {
		t.Errorf("user.name = %q, want the user's", got)
	}
	if got := sh(t, ws, nil, "config", "--local", "--get", "user.email"); got != "alice@users.h" {
		t.Errorf("user.email = %q", got)
	}
}
