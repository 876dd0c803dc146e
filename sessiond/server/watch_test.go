package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type watchEvent struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	Type string `json:"type"`
}

func TestWatchReportsRelativeRecursiveEvents(t *testing.T) {
	ts := start(t)
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(ts.Root, "outlink"))
	write(t, filepath.Join(ts.Root, "old.v"), "x")

	c, _, err := ts.dialWS("/api/v1/files/watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[string]bool{}
	wait := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			missing := ""
			for _, w := range want {
				if !seen[w] {
					missing = w
				}
			}
			if missing == "" {
				return
			}
			c.SetReadDeadline(deadline)
			var batch []watchEvent
			if err := c.ReadJSON(&batch); err != nil {
				t.Fatalf("waiting for %q: %v (seen %v)", missing, err, seen)
			}
			for _, e := range batch {
				if strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path, ts.Root) {
					t.Fatalf("event path is not relative: %+v", e)
				}
				seen[e.Op+" "+e.Path] = true
			}
		}
	}

	write(t, filepath.Join(ts.Root, "top.v"), "module")
	wait("create top.v")

	// A new directory tree is watched as it appears, including files made
	// before its watch could be added.
	os.MkdirAll(filepath.Join(ts.Root, "a", "b"), 0o755)
	write(t, filepath.Join(ts.Root, "a", "b", "deep.v"), "1")
	wait("create a", "create a/b/deep.v")
	time.Sleep(200 * time.Millisecond)
	os.WriteFile(filepath.Join(ts.Root, "a", "b", "deep.v"), []byte("22"), 0o644)
	wait("write a/b/deep.v")

	os.Rename(filepath.Join(ts.Root, "old.v"), filepath.Join(ts.Root, "new.v"))
	wait("rename old.v", "create new.v")
	os.Remove(filepath.Join(ts.Root, "top.v"))
	wait("remove top.v")

	// Changes outside the root, even behind a symlink inside it, are not reported.
	write(t, filepath.Join(outside, "secret.v"), "s")
	write(t, filepath.Join(ts.Root, "marker"), "m")
	wait("create marker")
	for k := range seen {
		if strings.Contains(k, "secret") {
			t.Fatalf("reported a change outside the workspace: %s", k)
		}
	}
}
