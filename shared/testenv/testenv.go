// Package testenv tells tests whether the real components they need
// (dockerd, PostgreSQL, the object store, Chromium, clangd, the FPGA
// toolchain) are present.
// Under CI=true a missing dependency fails the test instead of skipping it,
// so a green run always means the real thing was exercised.
package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// CI reports whether the CI environment variable asks for strict mode.
func CI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Missing skips t, or fails it under CI=true, naming what is missing and how
// to get it.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	if CI() {
		t.Fatalf("required dependency missing: %s (%s); CI=true makes this a failure", what, hint)
	}
	t.Skipf("dependency missing: %s (%s); set CI=true to make this fatal", what, hint)
}

// LookPath returns the path of the named binary, or calls Missing.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, "run `make test`, which installs it")
	}
	return p
}

// Docker checks that a Docker daemon answers and returns the docker CLI path.
func Docker(t testing.TB) string {
	t.Helper()
	p := LookPath(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, p, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		Missing(t, "dockerd", "start it with scripts/dockerd.sh: "+string(out))
	}
	return p
}

// Context returns a context cancelled after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Standard waits, as in coder's testutil: use these instead of bare sleeps.
const (
	WaitShort = 10 * time.Second
	WaitLong  = 60 * time.Second
)
