package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConfinement covers every way a path could leave the workspace. For
// each, the request is refused with a 4xx and nothing outside is read,
// written, listed or removed.
func TestConfinement(t *testing.T) {
	ts := start(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret.txt"), "TOP SECRET")
	write(t, filepath.Join(ts.Root, "inside.txt"), "ok")
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(ts.Root, "abs-link"))
	rel, _ := filepath.Rel(ts.Root, filepath.Join(outside, "secret.txt"))
	os.Symlink(rel, filepath.Join(ts.Root, "rel-link"))
	os.Symlink(outside, filepath.Join(ts.Root, "outdir"))

	long := strings.Repeat("a/", 2100)
	longName := strings.Repeat("n", 300)
	bad := []struct{ name, path string }{
		{"dotdot", "../secret.txt"},
		{"dotdot inside", "sub/../../secret.txt"},
		{"dotdot only", ".."},
		{"absolute", "/etc/passwd"},
		{"absolute outside", filepath.Join(outside, "secret.txt")},
		{"nul byte", "inside.txt\x00.v"},
		{"over-long path", long},
		{"over-long name", longName},
		{"absolute symlink", "abs-link"},
		{"relative symlink", "rel-link"},
		{"through symlinked dir", "outdir/secret.txt"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			check := func(op string, r resp) {
				t.Helper()
				if r.Status < 400 || r.Status >= 500 {
					t.Fatalf("%s %q: status %d, want 4xx: %s", op, b.path, r.Status, r.Body)
				}
				r.err(t)
				if strings.Contains(string(r.Body), "TOP SECRET") {
					t.Fatalf("%s leaked outside content", op)
				}
			}
			check("read", ts.get("/api/v1/file?path="+q(b.path)))
			check("write", ts.do("PUT", "/api/v1/file?path="+q(b.path)+"&mkdirs=true", []byte("pwned")))
			check("mkdir", ts.do("POST", "/api/v1/files/mkdir", mustJSON(map[string]any{"path": b.path + "/x", "parents": true})))
			if strings.HasSuffix(b.name, " symlink") {
				// Listing, renaming or deleting the link itself is fine:
				// the link lives inside; only following it is refused.
				return
			}
			check("list", ts.get("/api/v1/files?path="+q(b.path)))
			check("delete", ts.do("DELETE", "/api/v1/file?path="+q(b.path)+"&recursive=true", nil))
			check("move from", ts.do("POST", "/api/v1/files/move", mustJSON(map[string]any{"from": b.path, "to": "stolen.txt"})))
			check("move to", ts.do("POST", "/api/v1/files/move", mustJSON(map[string]any{"from": "inside.txt", "to": b.path, "overwrite": true})))
		})
	}
	if got := read(t, filepath.Join(outside, "secret.txt")); got != "TOP SECRET" {
		t.Fatalf("outside file changed: %q", got)
	}
	ents, _ := os.ReadDir(outside)
	if len(ents) != 1 {
		t.Fatalf("something was created outside: %v", ents)
	}
	if read(t, filepath.Join(ts.Root, "inside.txt")) != "ok" {
		t.Fatal("inside file was moved or changed")
	}
	// Deleting a symlinked directory removes the link, never what it points at.
	if r := ts.do("DELETE", "/api/v1/file?path=outdir&recursive=true", nil); r.Status != 200 {
		t.Fatalf("delete link: %d %s", r.Status, r.Body)
	}
	if read(t, filepath.Join(outside, "secret.txt")) != "TOP SECRET" {
		t.Fatal("deleting a symlink removed its target")
	}
	os.Symlink(outside, filepath.Join(ts.Root, "outdir"))
	// The symlinks themselves are listed as symlinks, not followed.
	var l listing
	json.Unmarshal(ts.get("/api/v1/files?path=.").Body, &l)
	for _, e := range l.Entries {
		if strings.HasSuffix(e.Name, "link") || e.Name == "outdir" {
			if e.Type != "symlink" {
				t.Fatalf("%s listed as %s", e.Name, e.Type)
			}
		}
	}
}

// TestSymlinkSwapRace swaps a directory for a symlink to the outside while
// requests read through it: os.Root resolves each component with openat and
// O_NOFOLLOW, so no request may ever return the outside file.
func TestSymlinkSwapRace(t *testing.T) {
	ts := start(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "f.txt"), "OUTSIDE")
	dir := filepath.Join(ts.Root, "d")
	write(t, filepath.Join(dir, "f.txt"), "inside")
	parked := filepath.Join(ts.Root, "parked")

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			os.Rename(dir, parked)
			os.Symlink(outside, dir)
			time.Sleep(50 * time.Microsecond)
			os.Remove(dir)
			os.Rename(parked, dir)
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	var inside, refused int
	for time.Now().Before(deadline) {
		r := ts.get("/api/v1/file?path=d/f.txt")
		switch {
		case strings.Contains(string(r.Body), "OUTSIDE"):
			stop.Store(true)
			wg.Wait()
			t.Fatal("read through a swapped-in symlink reached outside the workspace")
		case r.Status == 200:
			inside++
		default:
			refused++
		}
		w := ts.do("PUT", "/api/v1/file?path=d/f.txt", []byte("inside"))
		if w.Status == 200 && read(t, filepath.Join(outside, "f.txt")) != "OUTSIDE" {
			stop.Store(true)
			wg.Wait()
			t.Fatal("write through a swapped-in symlink changed a file outside")
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("reads: %d inside, %d refused during swaps", inside, refused)
	if read(t, filepath.Join(outside, "f.txt")) != "OUTSIDE" {
		t.Fatal("outside file changed")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
