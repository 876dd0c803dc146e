package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/cloud/cli"
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
