package cli_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/testenv"
)

func env(u string, out *bytes.Buffer) cli.Env {
	return cli.Env{Stdout: out, Stderr: out, Getenv: func(k string) string {
		switch k {
		case "DATABASE_URL":
			return u
		case "GATEWAVE_ADMIN_TOKEN":
			return "0123456789abcdef0123"
		case "GATEWAVE_LISTEN":
			return "127.0.0.1:0"
		}
		return ""
	}}
}

// `cloud serve` refuses an out-of-date schema and says what to do;
// `cloud migrate` fixes it; `cloud node add` prints a token once and
// stores only its hash.
func TestServeRefusesOldSchemaThenMigrateAndAdd(t *testing.T) {
	u := dbtest.Empty(t, false)
	ctx := testenv.Context(t, testenv.WaitLong)
	var out bytes.Buffer
	if code := cli.Run(ctx, []string{"serve"}, env(u, &out)); code != 1 || !strings.Contains(out.String(), "run `cloud migrate`") {
		t.Fatalf("serve on empty db: exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := cli.Run(ctx, []string{"migrate"}, env(u, &out)); code != 0 || !strings.Contains(out.String(), "schema at version 1") {
		t.Fatalf("migrate: exit %d: %s", code, out.String())
	}
	var stdout bytes.Buffer
	e := env(u, &stdout)
	e.Stderr = &bytes.Buffer{}
	if code := cli.Run(ctx, []string{"node", "add", "lab-1", "--label", "site=a", "--label", "fpga=ice40"}, e); code != 0 {
		t.Fatalf("node add: exit %d: %s", code, e.Stderr)
	}
	token := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(token, "gwn_") || len(token) < 40 {
		t.Fatalf("token %q", token)
	}
	out.Reset()
	if code := cli.Run(ctx, []string{"node", "add", "lab-1"}, env(u, &out)); code != 1 || !strings.Contains(out.String(), "already exists") {
		t.Fatalf("duplicate add: exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := cli.Run(ctx, []string{"node", "list"}, env(u, &out)); code != 0 || !strings.Contains(out.String(), "lab-1") ||
		!strings.Contains(out.String(), "fpga=ice40,site=a") || strings.Contains(out.String(), token) {
		t.Fatalf("list: exit %d:\n%s", code, out.String())
	}
	out.Reset()
	if code := cli.Run(ctx, []string{"node", "revoke", "nope"}, env(u, &out)); code != 1 || !strings.Contains(out.String(), "not found") {
		t.Fatalf("revoke unknown: exit %d: %s", code, out.String())
	}
}

// `cloud user add NAME` reads the password from stdin, stores only its
// argon2id hash and creates the user's repo with the starter project.
func TestUserAdd(t *testing.T) {
	u := dbtest.Empty(t, true)
	ctx := testenv.Context(t, testenv.WaitLong)
	data := t.TempDir()
	run := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		e := env(u, &out)
		get := e.Getenv
		e.Getenv = func(k string) string {
			if k == "GATEWAVE_DATA_DIR" {
				return data
			}
			return get(k)
		}
		e.Stdin = strings.NewReader(stdin)
		return cli.Run(ctx, args, e), out.String()
	}
	if code, out := run("short\n", "user", "add", "ada"); code != 1 || !strings.Contains(out, "at least") {
		t.Fatalf("short password: exit %d: %s", code, out)
	}
	if code, out := run("a long enough password\n", "user", "add", "ada"); code != 0 || !strings.Contains(out, `user "ada" added`) {
		t.Fatalf("user add: exit %d: %s", code, out)
	}
	if out, err := exec.Command("git", "--git-dir", filepath.Join(data, "git", "ada.git"), "ls-tree", "--name-only", "main").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "shell.nix") || !strings.Contains(string(out), "default.nix") || !strings.Contains(string(out), "blinky.v") {
		t.Fatalf("repo: %v %s", err, out)
	}
	if code, out := run("another password\n", "user", "add", "ada"); code != 1 || !strings.Contains(out, "exists") {
		t.Fatalf("duplicate: exit %d: %s", code, out)
	}
}
