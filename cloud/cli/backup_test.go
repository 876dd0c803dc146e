package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/testenv"
)

// The backup commands as the compose file's job and an operator run them:
// run, list, verify, restore into an empty database and data dir, and a
// second restore refused.
func TestBackupCommands(t *testing.T) {
	for _, p := range []string{"pg_dump", "pg_restore", "git"} {
		testenv.LookPath(t, p)
	}
	ctx := testenv.Context(t, testenv.WaitLong)
	src, _ := dbtest.New(t)
	data, dir := t.TempDir(), t.TempDir()
	runCmd := func(dbURL, dataDir, stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		e := cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin), Getenv: func(k string) string {
			return map[string]string{"DATABASE_URL": dbURL, "GATEWAVE_DATA_DIR": dataDir}[k]
		}}
		code := cli.Run(ctx, args, e)
		return code, out.String(), errb.String()
	}
	if code, out, errs := runCmd(src, data, "a long password\n", "user", "add", "alice"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	code, out, errs := runCmd(src, data, "", "backup", "run", "--dir", dir)
	file := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(file, filepath.Join(dir, "gatewave-")) || !strings.HasSuffix(file, ".tar") {
		t.Fatalf("backup run: %d %q %s", code, out, errs)
	}
	if code, out, errs := runCmd(src, data, "", "backup", "list", "--dir", dir); code != 0 || !strings.Contains(out, file) ||
		!strings.Contains(out, "REPOS") {
		t.Fatalf("backup list: %d %s %s", code, out, errs)
	}
	if code, out, errs := runCmd("", data, "", "backup", "verify", file); code != 0 || !strings.Contains(out, "is intact") {
		t.Fatalf("backup verify: %d %s %s", code, out, errs)
	}
	target, data2 := dbtest.Empty(t, false), t.TempDir()
	if code, out, errs := runCmd(target, data2, "", "backup", "restore", file); code != 0 || !strings.Contains(out, "repos alice") {
		t.Fatalf("backup restore: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(data2, "git", "alice.git", "HEAD")); err != nil {
		t.Fatalf("restored repo: %v", err)
	}
	if code, _, errs := runCmd(target, t.TempDir(), "", "backup", "restore", file); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("second restore: %d %s", code, errs)
	}
	for _, args := range [][]string{
		{"backup", "run"},
		{"backup", "restore"},
		{"backup", "daemon", "--dir", dir, "--schedule", "3am"},
		{"backup", "frobnicate"},
	} {
		if code, _, errs := runCmd(src, data, "", args...); code != 1 || errs == "" {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
}
