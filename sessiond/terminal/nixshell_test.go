package terminal_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/nixshell"
	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/shared/testenv"
)

// shellNix needs no nixpkgs: gw-hello is built by /bin/sh from the host,
// and the shell's shellHook puts it on PATH.
const shellNix = `
let
  hello = builtins.derivation {
    name = "gw-hello"; PATH = "/usr/bin:/bin"; system = builtins.currentSystem; builder = "/bin/sh";
    args = [ "-c" "mkdir -p $out/bin; printf '#!/bin/sh\\necho hello-from-nix\\n' > $out/bin/gw-hello; chmod +x $out/bin/gw-hello" ];
  };
in builtins.derivation {
  name = "gw-shell"; system = builtins.currentSystem; builder = "/bin/sh";
  GW_TOOL = "${hello}";
  shellHook = ''export PATH="${hello}/bin:$PATH"'';
}
`

// nixStore points nix at a store of the test's own (a store dir other
// than /nix/store, so its programs run from where they are, with no
// sandbox and no build users) and leaves no <nixpkgs> in reach.
func nixStore(t *testing.T) {
	testenv.LookPath(t, "nix-shell")
	shell(t)
	d := t.TempDir()
	conf := filepath.Join(d, "etc")
	os.MkdirAll(conf, 0o755)
	os.WriteFile(filepath.Join(conf, "nix.conf"), []byte("sandbox = false\nbuild-users-group =\nsubstituters =\n"), 0o644)
	for k, v := range map[string]string{
		"NIX_STORE_DIR": filepath.Join(d, "store"), "NIX_STATE_DIR": filepath.Join(d, "var"),
		"NIX_LOG_DIR": filepath.Join(d, "log"), "NIX_CONF_DIR": conf, "NIX_PATH": "",
		"XDG_CACHE_HOME": filepath.Join(d, "cache"), "NIX_CONFIG": "",
	} {
		t.Setenv(k, v)
	}
}

func nixStatus(t *testing.T, e *servertest.Env, want nixshell.State) nixshell.Status {
	t.Helper()
	var st nixshell.Status
	deadline := time.Now().Add(testenv.WaitLong)
	for {
		if code := e.Do("GET", "api/v1/nix/shell", nil, &st); code != 200 {
			t.Fatalf("GET nix/shell: %d", code)
		}
		if st.State == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.State != want {
		t.Fatalf("nix shell status %+v, want %s", st, want)
	}
	return st
}

func runTask(t *testing.T, e *servertest.Env, argv ...string) string {
	t.Helper()
	var info struct{ ID string }
	if code := e.Do("POST", "api/v1/tasks", map[string]any{"command": argv}, &info); code != 200 && code != 201 && code != 202 {
		t.Fatalf("start task %v: %d", argv, code)
	}
	out, _, _ := e.TaskLog(testenv.Context(t, testenv.WaitLong), info.ID, nil)
	return out
}

func TestShellNixPutsToolsOnPath(t *testing.T) {
	nixStore(t)
	e := servertest.Start(t, map[string]string{"shell.nix": shellNix})
	st := nixStatus(t, e, nixshell.Ready)
	if st.Vars == 0 || len(st.Hash) != 64 {
		t.Fatalf("status %+v", st)
	}

	c := dial(t, e.WSURL("api/v1/pty?cols=100&rows=30"))
	c.send("gw-hello; echo \"tool=$GW_TOOL\"\r")
	c.expect(`[\r\n]hello-from-nix\r\n`)
	c.expect(`tool=\S+-gw-hello`)
	if strings.Contains(c.out.String(), "[gatewave]") {
		t.Fatalf("a notice in a terminal whose shell.nix worked: %q", c.out.String())
	}

	// A task finds the program in shell.nix's PATH, which sessiond's own lacks.
	if out := runTask(t, e, "gw-hello"); !strings.Contains(out, "hello-from-nix") {
		t.Fatalf("task output %q", out)
	}
	// The environment holds no secret and no PATH entry for the current directory.
	out := runTask(t, e, "sh", "-c", `echo "token=${SESSIOND_TOKEN:-none}"; echo "path=$PATH"`)
	if !strings.Contains(out, "token=none") || strings.Contains(out, "path=.:") || strings.Contains(out, "::") {
		t.Fatalf("task environment: %q", out)
	}

	// Another shell.nix is another environment.
	os.WriteFile(filepath.Join(e.Dir, "shell.nix"), []byte(strings.Replace(shellNix, "hello-from-nix", "hello-again", 1)), 0o644)
	st2 := nixStatus(t, e, nixshell.Ready)
	if st2.Hash == st.Hash {
		t.Fatal("the status still names the old shell.nix")
	}
	if out := runTask(t, e, "gw-hello"); !strings.Contains(out, "hello-again") {
		t.Fatalf("task after changing shell.nix: %q", out)
	}
}

func TestFailingShellNixFallsBack(t *testing.T) {
	nixStore(t)
	// What every new repo starts with: without <nixpkgs> (offline) it fails.
	tmpl, err := os.ReadFile("../../cloud/githost/template/shell.nix")
	if err != nil {
		t.Fatal(err)
	}
	e := servertest.Start(t, map[string]string{"shell.nix": string(tmpl)})
	st := nixStatus(t, e, nixshell.Failed)
	if !strings.Contains(st.Error, "nixpkgs") {
		t.Fatalf("the status does not say why: %+v", st)
	}
	c := dial(t, e.WSURL("api/v1/pty?cols=200&rows=30"))
	c.expect(`\[gatewave\] shell.nix imports <nixpkgs>, which this node does not have; this has the image's own tools`)
	c.send("echo $((6*7))\r")
	c.expect(`[\r\n]42\r\n`)

	out := runTask(t, e, "echo", "plain")
	if !strings.HasPrefix(out, "[gatewave] shell.nix imports <nixpkgs>") || !strings.Contains(out, "\nplain\n") {
		t.Fatalf("task log %q: want the notice first, then the command's output", out)
	}
}
