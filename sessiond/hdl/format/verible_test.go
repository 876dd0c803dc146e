package format

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVeribleOnPath: with the real PATH, Verible reports ok exactly when
// verible-verilog-format is installed (it is not packaged in Debian
// bookworm), and when it is, its output is a whole-document edit.
func TestVeribleOnPath(t *testing.T) {
	src := []byte("module m;\nwire a;\nendmodule\n")
	_, lookErr := exec.LookPath(VeribleCommand)
	edits, ok, err := Verible(context.Background(), src, Style{})
	if lookErr != nil {
		if ok || err != nil || edits != nil {
			t.Fatalf("not installed: got edits %v ok %v err %v, want nil false nil", edits, ok, err)
		}
		return
	}
	if !ok || err != nil {
		t.Fatalf("installed: ok %v err %v", ok, err)
	}
	for _, e := range edits {
		if e.Start != 0 || e.End != len(src) {
			t.Errorf("edit %+v is not the whole document", e)
		}
	}
}

// fakeVerible puts a verible-verilog-format script on PATH.
func fakeVerible(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, VeribleCommand)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func TestVeribleUsedWhenOnPath(t *testing.T) {
	for _, tool := range []string{"sed", "cat", "sleep", "dirname"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("no %s", tool)
		}
	}
	src := []byte("module m;\n      wire a;\nendmodule\n")

	t.Run("output becomes one whole-document edit; flags passed", func(t *testing.T) {
		dir := fakeVerible(t, `echo "$@" > "$(dirname "$0")/args"; sed 's/^ *wire/    wire/'`+"\n")
		edits, ok, err := Verible(context.Background(), src, Style{IndentWidth: 4})
		if !ok || err != nil {
			t.Fatalf("ok %v err %v", ok, err)
		}
		want := "module m;\n    wire a;\nendmodule\n"
		if len(edits) != 1 || edits[0].Start != 0 || edits[0].End != len(src) || edits[0].Text != want {
			t.Fatalf("edits %+v", edits)
		}
		args, err := os.ReadFile(filepath.Join(dir, "args"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(args)); got != "--indentation_spaces=4 -" {
			t.Errorf("args %q", got)
		}
	})
	t.Run("unchanged output: no edits", func(t *testing.T) {
		fakeVerible(t, "exec cat\n")
		edits, ok, err := Verible(context.Background(), src, Style{})
		if !ok || err != nil || len(edits) != 0 {
			t.Fatalf("edits %v ok %v err %v", edits, ok, err)
		}
	})
	t.Run("failure carries stderr", func(t *testing.T) {
		fakeVerible(t, "echo 'syntax error at line 2' >&2; exit 1\n")
		edits, ok, err := Verible(context.Background(), src, Style{})
		if !ok || err == nil || !strings.Contains(err.Error(), "syntax error at line 2") || edits != nil {
			t.Fatalf("edits %v ok %v err %v", edits, ok, err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		fakeVerible(t, "exec sleep 10\n")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, ok, err := Verible(ctx, src, Style{}); !ok || err == nil {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
}
