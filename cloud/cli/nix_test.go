package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/shared/testenv"
)

func TestNixKeyIsMadeOnceAndPushNeedsTheAdminToken(t *testing.T) {
	dir := t.TempDir()
	key := func() string {
		var out strings.Builder
		e := cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		if code := cli.Run(context.Background(), []string{"nix", "key", "--data-dir", dir}, e); code != 0 {
			t.Fatalf("nix key: %d %s", code, out.String())
		}
		return strings.TrimSpace(out.String())
	}
	k1, k2 := key(), key()
	if k1 != k2 || !strings.HasPrefix(k1, "gatewave-1:") || len(k1) != len("gatewave-1:")+44 {
		t.Fatalf("keys %q, %q", k1, k2)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "nix-cache", "secret.key"))
	if err != nil || strings.Contains(k1, strings.TrimPrefix(strings.TrimSpace(string(secret)), "gatewave-1:")) {
		t.Fatalf("the secret key printed, or not kept: %v", err)
	}
	var out strings.Builder
	e := cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := cli.Run(context.Background(), []string{"nix", "push", "--dir", dir}, e); code != 1 || !strings.Contains(out.String(), "GATEWAVE_ADMIN_TOKEN") {
		t.Fatalf("push without a token: %d %s", code, out.String())
	}
}

// nix copy, run by cloud nix push, gets none of the cloud's secrets: not
// the admin token the push itself sends, not DATABASE_URL. A wrapper
// first on PATH writes the environment it got, then runs the real nix.
func TestNixPushKeepsSecretsFromNix(t *testing.T) {
	real, err := exec.LookPath("nix")
	if err != nil {
		testenv.Missing(t, "nix", "apt-get install nix-bin")
	}
	bin := t.TempDir()
	dump := filepath.Join(t.TempDir(), "env")
	wrapper := "#!/bin/sh\nenv >" + dump + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "nix"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	vars := map[string]string{"GATEWAVE_ADMIN_TOKEN": "admin-secret-1", "DATABASE_URL": "postgres://u:db-secret-2@127.0.0.1/x",
		"GATEWAVE_S3_URL": "http://k:s3-secret-3@127.0.0.1:1/b", "GATEWAVE_URL": "http://127.0.0.1:1"}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	var out strings.Builder
	e := cli.Env{Stdout: &out, Stderr: &out, Getenv: os.Getenv}
	// The path is not in the store, so nix copy fails; what it was given
	// is what this is about.
	if code := cli.Run(context.Background(), []string{"nix", "push", "/nix/store/00000000000000000000000000000000-gatewave-missing"}, e); code == 0 {
		t.Fatalf("push of a missing path succeeded: %s", out.String())
	}
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("nix was not run: %v (%s)", err, out.String())
	}
	for _, secret := range []string{"admin-secret-1", "db-secret-2", "s3-secret-3"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("nix copy inherited %s:\n%s", secret, b)
		}
	}
	if !strings.Contains(string(b), "PATH="+bin) {
		t.Errorf("nix copy lost the ordinary environment:\n%s", b)
	}
}
