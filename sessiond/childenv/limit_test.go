package childenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ShimArg {
		err := Shim(os.Args[2:])
		os.Stderr.WriteString(err.Error())
		os.Exit(126)
	}
	os.Exit(m.Run())
}

func TestLimitSetsTheChildsProcessLimit(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	run := func() string {
		cmd := exec.Command(sh, "-c", "grep '^Max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3")
		Limit(cmd)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	if out := run(); strings.HasPrefix(out, "37\n") {
		t.Fatalf("limited without a limit set: %q", out)
	}
	SetProcLimit(37)
	defer SetProcLimit(0)
	if out := run(); !strings.HasPrefix(out, "37\n") {
		t.Fatalf("child's ulimit -u = %q, want 37", out)
	}
	// A command that was not found stays not found.
	cmd := exec.Command("no-such-program-gatewave")
	Limit(cmd)
	if cmd.Err == nil {
		t.Fatal("lookup error lost")
	}
}
