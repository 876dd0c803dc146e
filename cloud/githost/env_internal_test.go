package githost

import (
	"context"
	"strings"
	"testing"

	"gatewave.dev/shared/testenv"
)

// The cloud's secrets live in its environment; the git it runs gets none
// of it but PATH.
func TestGitGetsNoSecretsFromTheEnvironment(t *testing.T) {
	testenv.LookPath(t, "git")
	t.Setenv("GATEWAVE_ADMIN_TOKEN", "admin-secret-for-the-test")
	t.Setenv("DATABASE_URL", "postgres://u:db-secret-for-the-test@127.0.0.1/x")
	h, err := New(Options{Root: t.TempDir(), Authorize: func(context.Context, string, string, string, bool) error { return ErrUnauthorized }})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.git(context.Background(), h.opts.Root, nil, nil, "-c", "alias.envdump=!env", "envdump")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "PATH=") {
		t.Fatalf("the alias printed no environment: %q", out)
	}
	for _, secret := range []string{"admin-secret-for-the-test", "db-secret-for-the-test"} {
		if strings.Contains(out, secret) {
			t.Fatalf("git's environment holds a secret of the cloud's:\n%s", out)
		}
	}
}
