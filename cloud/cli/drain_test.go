package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/testenv"
)

// `cloud node drain` and `undrain` on the database; `cloud node list`
// shows the drain (a node holding nothing is drained at once).
func TestNodeDrainUndrain(t *testing.T) {
	u := dbtest.Empty(t, false)
	ctx := testenv.Context(t, testenv.WaitLong)
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		return cli.Run(ctx, args, env(u, &out)), out.String()
	}
	if code, out := run("migrate"); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, out)
	}
	if code, out := run("node", "add", "lab-1"); code != 0 {
		t.Fatalf("node add: exit %d: %s", code, out)
	}
	if code, out := run("node", "drain", "lab-1"); code != 0 || !strings.Contains(out, `node "lab-1" draining`) {
		t.Fatalf("drain: exit %d: %s", code, out)
	}
	if code, out := run("node", "list"); code != 0 || !strings.Contains(out, "new, drained") {
		t.Fatalf("list while drained: exit %d:\n%s", code, out)
	}
	if code, out := run("node", "undrain", "lab-1"); code != 0 || !strings.Contains(out, "takes claims again") {
		t.Fatalf("undrain: exit %d: %s", code, out)
	}
	if code, out := run("node", "list"); code != 0 || strings.Contains(out, "drain") {
		t.Fatalf("list after undrain: exit %d:\n%s", code, out)
	}
	if code, out := run("node", "drain", "nope"); code != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("drain unknown: exit %d: %s", code, out)
	}
	if code, out := run("node", "drain"); code != 1 || !strings.Contains(out, "usage: cloud node drain NAME") {
		t.Fatalf("drain without a name: exit %d: %s", code, out)
	}
}
