package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestQuickOpenFollowsFiles: through sessiond's own route and its one file
// watcher, a file made on disk (as a terminal or build would) is found by
// quick open, without a rebuild, and a deleted one is gone; a link out of
// the workspace never shows up.
func TestQuickOpenFollowsFiles(t *testing.T) {
	ts := start(t)
	write(t, filepath.Join(ts.Root, "top.v"), "module top; endmodule\n")
	query := func(q string) (paths []string, buildMs float64) {
		t.Helper()
		r := ts.get("/api/v1/filenames?q=" + q)
		if r.Status != 200 {
			t.Fatalf("filenames: %d %s", r.Status, r.Body)
		}
		var res struct {
			Results []struct {
				Path string `json:"path"`
			} `json:"results"`
			BuildMs float64 `json:"buildMs"`
		}
		if err := json.Unmarshal(r.Body, &res); err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Results {
			paths = append(paths, m.Path)
		}
		return paths, res.BuildMs
	}
	waitFor := func(what, q string, cond func([]string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, _ := query(q)
			if cond(p) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: quick open answered %v", what, p)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("first index", "top", func(p []string) bool { return slices.Contains(p, "top.v") })
	_, walked := query("top")
	outside := filepath.Join(t.TempDir(), "uart_secret.v")
	write(t, outside, "secret")
	if err := os.Symlink(outside, filepath.Join(ts.Root, "uart_link.v")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(ts.Root, "rtl", "uart_rx.v"), "module uart_rx; endmodule\n")
	waitFor("created file", "uart", func(p []string) bool { return slices.Contains(p, "rtl/uart_rx.v") })
	if p, _ := query("uart"); slices.Contains(p, "uart_link.v") {
		t.Errorf("a link out of the workspace was offered: %v", p)
	}
	if err := os.Remove(filepath.Join(ts.Root, "rtl", "uart_rx.v")); err != nil {
		t.Fatal(err)
	}
	waitFor("deleted file", "uart", func(p []string) bool { return !slices.Contains(p, "rtl/uart_rx.v") })
	// buildMs is the walk's own duration: another walk would change it.
	if _, ms := query("top"); ms != walked {
		t.Errorf("the tree was walked again (buildMs %v, then %v)", walked, ms)
	}
}
