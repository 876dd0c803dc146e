package langserver_test

import (
	"strings"
	"testing"
	"time"
)

// A .gitignore'd file (a scratch copy, generated code) stays in the index,
// so what it declares resolves, but its problems are not listed until it is
// opened, as git hides it; a .gitignore edit that un-ignores a file shows
// its problems without a restart.
func TestIgnoredFilesShowNoProblemsUntilOpened(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".gitignore":       "scratch/\n",
		"top.v":            "module top(input clk);\n  helper u_h (.a(clk));\n  missing u_m (.a(clk));\nendmodule\n",
		"scratch/helper.v": "module helper(input a);\n  nothere u_n (.x(a));\nendmodule\n",
		"scratch/other.v":  "module other(input a);\n  gone u_g (.x(a));\nendmodule\n",
	})
	c := newClient(t, root, clientOptions{watch: true})
	ds := c.waitDiags("top.v", "unknown module missing", func(d []diag) bool { return hasCode(d, "unknown-module", "") != nil })
	for _, d := range ds {
		if strings.Contains(d.Message, "helper") {
			t.Errorf("top.v: helper, declared in an ignored file, is not resolved: %s", dump(d))
		}
	}
	time.Sleep(300 * time.Millisecond)
	c.mu.Lock()
	shown := map[string][]diag{"scratch/helper.v": c.diags["scratch/helper.v"], "scratch/other.v": c.diags["scratch/other.v"]}
	c.mu.Unlock()
	for rel, ds := range shown {
		if len(ds) > 0 {
			t.Errorf("%s is .gitignore'd, yet its problems are listed: %s", rel, dump(ds))
		}
	}

	c.open("scratch/helper.v")
	c.waitDiags("scratch/helper.v", "unknown module nothere once open", func(d []diag) bool { return hasCode(d, "unknown-module", "") != nil })

	writeFiles(t, root, map[string]string{".gitignore": "scratch/helper.v\n"})
	c.waitDiags("scratch/other.v", "unknown module gone once not ignored", func(d []diag) bool { return hasCode(d, "unknown-module", "") != nil })
}
