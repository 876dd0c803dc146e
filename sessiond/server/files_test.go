package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type listing struct {
	Path    string `json:"path"`
	Entries []struct {
		Name  string `json:"name"`
		Path  string `json:"path"`
		Type  string `json:"type"`
		Size  int64  `json:"size"`
		MTime int64  `json:"mtime"`
	} `json:"entries"`
}

func TestAuth(t *testing.T) {
	ts := start(t)
	if r := ts.do("GET", "/healthz", nil, "Authorization", ""); r.Status != 200 {
		t.Fatalf("healthz without token: %d", r.Status)
	}
	for _, tc := range []struct {
		name, path, auth string
		want             int
	}{
		{"no token", "/api/v1/files", "", 401},
		{"wrong token", "/api/v1/files", "Bearer nope", 401},
		{"wrong scheme", "/api/v1/files", "Basic " + testToken, 401},
		{"bearer", "/api/v1/files", "Bearer " + testToken, 200},
		{"query token", "/api/v1/files?access_token=" + testToken, "", 200},
		{"wrong query token", "/api/v1/files?access_token=x", "", 401},
		{"metrics without token", "/metrics", "", 401},
		{"metrics", "/metrics", "Bearer " + testToken, 200},
		{"telemetry without token", "/api/v1/telemetry", "", 401},
		{"unknown route", "/api/v1/nope", "Bearer " + testToken, 404},
		{"unknown route without token", "/api/v1/nope", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do("GET", tc.path, nil, "Authorization", tc.auth)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if r.Status >= 400 {
				r.err(t)
			}
		})
	}
}

func TestListDirectoriesFirstSorted(t *testing.T) {
	ts := start(t)
	write(t, filepath.Join(ts.Root, "b.v"), "bb")
	write(t, filepath.Join(ts.Root, "a.v"), "a")
	write(t, filepath.Join(ts.Root, "zdir", "x"), "")
	write(t, filepath.Join(ts.Root, "adir", "y"), "")
	os.Symlink("a.v", filepath.Join(ts.Root, "link"))

	r := ts.get("/api/v1/files?path=")
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var l listing
	json.Unmarshal(r.Body, &l)
	var got []string
	for _, e := range l.Entries {
		got = append(got, e.Type+":"+e.Name)
	}
	want := "dir:adir dir:zdir file:a.v file:b.v symlink:link"
	if strings.Join(got, " ") != want {
		t.Fatalf("order %v, want %s", got, want)
	}
	if e := l.Entries[3]; e.Size != 2 || e.Path != "b.v" || e.MTime < 1e12 {
		t.Fatalf("entry %+v", e)
	}
	// Names only: the same entries in the same order, without stat fields.
	var names struct {
		Entries []map[string]any `json:"entries"`
	}
	r = ts.get("/api/v1/files?path=&stat=false")
	json.Unmarshal(r.Body, &names)
	if len(names.Entries) != len(l.Entries) {
		t.Fatalf("names-only listing: %s", r.Body)
	}
	for i, e := range names.Entries {
		if e["name"] != l.Entries[i].Name || e["type"] != l.Entries[i].Type || e["size"] != nil || e["mtime"] != nil {
			t.Fatalf("names-only entry %d = %v, want %+v without size/mtime", i, e, l.Entries[i])
		}
	}
	if r := ts.get("/api/v1/files?path=&stat=maybe"); r.Status != 400 {
		t.Fatalf("bad stat flag: %d", r.Status)
	}
	r = ts.get("/api/v1/files?path=adir")
	json.Unmarshal(r.Body, &l)
	if len(l.Entries) != 1 || l.Entries[0].Path != "adir/y" {
		t.Fatalf("subdir listing %s", r.Body)
	}
	if r := ts.get("/api/v1/files?path=missing"); r.Status != 404 {
		t.Fatalf("missing dir: %d", r.Status)
	}
	if r := ts.get("/api/v1/files?path=a.v"); r.Status != 400 {
		t.Fatalf("listing a file: %d", r.Status)
	}
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return `"` + hex.EncodeToString(h[:]) + `"` }

func TestReadWriteWithETags(t *testing.T) {
	ts := start(t)
	p := filepath.Join(ts.Root, "src", "top.v")
	write(t, p, "module top; endmodule\n")
	os.Chmod(p, 0o755)

	r := ts.get("/api/v1/file?path=src/top.v")
	if r.Status != 200 || string(r.Body) != "module top; endmodule\n" {
		t.Fatalf("read: %d %q", r.Status, r.Body)
	}
	etag := r.Header.Get("ETag")
	if etag != sum("module top; endmodule\n") {
		t.Fatalf("etag %s", etag)
	}
	if r := ts.get("/api/v1/file?path=src/top.v", "If-None-Match", etag); r.Status != 304 {
		t.Fatalf("conditional GET: %d", r.Status)
	}

	// Tab A saves with the ETag it read: accepted, mode kept.
	r = ts.do("PUT", "/api/v1/file?path=src/top.v", []byte("A"), "If-Match", etag)
	if r.Status != 200 || r.Header.Get("ETag") != sum("A") {
		t.Fatalf("save A: %d %s", r.Status, r.Body)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode not kept: %v", fi.Mode())
	}
	// Tab B saves with the stale ETag: refused, A's text intact.
	r = ts.do("PUT", "/api/v1/file?path=src/top.v", []byte("B"), "If-Match", etag)
	if r.Status != 412 {
		t.Fatalf("stale save: %d %s", r.Status, r.Body)
	}
	if e := r.err(t); e.Error.Details["current_etag"] != sum("A") {
		t.Fatalf("412 should name the current etag: %s", r.Body)
	}
	if got := read(t, p); got != "A" {
		t.Fatalf("stale save changed the file: %q", got)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("leftover files: %v", ents)
	}

	// Create-only and parents.
	if r := ts.do("PUT", "/api/v1/file?path=new/dir/f.txt", []byte("x")); r.Status != 404 {
		t.Fatalf("missing parent without mkdirs: %d %s", r.Status, r.Body)
	}
	if _, err := os.Stat(filepath.Join(ts.Root, "new")); !os.IsNotExist(err) {
		t.Fatal("a failed write created directories")
	}
	if r := ts.do("PUT", "/api/v1/file?path=new/dir/f.txt&mkdirs=true", []byte("x"), "If-None-Match", "*"); r.Status != 201 {
		t.Fatalf("create with mkdirs: %d %s", r.Status, r.Body)
	}
	if r := ts.do("PUT", "/api/v1/file?path=new/dir/f.txt", []byte("y"), "If-None-Match", "*"); r.Status != 412 {
		t.Fatalf("create-only over an existing file: %d", r.Status)
	}
	if r := ts.do("PUT", "/api/v1/file?path=gone.txt", []byte("y"), "If-Match", etag); r.Status != 412 {
		t.Fatalf("If-Match on a missing file: %d", r.Status)
	}
	if r := ts.do("PUT", "/api/v1/file?path=src", []byte("y")); r.Status != 400 {
		t.Fatalf("write over a directory: %d", r.Status)
	}
	if r := ts.get("/api/v1/file?path=src"); r.Status != 400 {
		t.Fatalf("read a directory: %d", r.Status)
	}
}

func TestWriteThroughInternalSymlinkUpdatesTarget(t *testing.T) {
	ts := start(t)
	write(t, filepath.Join(ts.Root, "real.v"), "old")
	os.Symlink("real.v", filepath.Join(ts.Root, "alias.v"))
	if r := ts.do("PUT", "/api/v1/file?path=alias.v", []byte("new")); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if got := read(t, filepath.Join(ts.Root, "real.v")); got != "new" {
		t.Fatalf("target %q", got)
	}
	if fi, _ := os.Lstat(filepath.Join(ts.Root, "alias.v")); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
}

func TestMkdirMoveDelete(t *testing.T) {
	ts := start(t)
	write(t, filepath.Join(ts.Root, "d", "f.v"), "f")
	write(t, filepath.Join(ts.Root, "other.v"), "o")

	if r := ts.do("POST", "/api/v1/files/mkdir", []byte(`{"path":"a/b/c"}`)); r.Status != 404 {
		t.Fatalf("mkdir without parents: %d %s", r.Status, r.Body)
	}
	if r := ts.do("POST", "/api/v1/files/mkdir", []byte(`{"path":"a/b/c","parents":true}`)); r.Status != 201 {
		t.Fatalf("mkdir -p: %d %s", r.Status, r.Body)
	}
	if r := ts.do("POST", "/api/v1/files/mkdir", []byte(`{"path":"d"}`)); r.Status != 409 {
		t.Fatalf("mkdir existing: %d", r.Status)
	}
	if r := ts.do("POST", "/api/v1/files/mkdir", []byte(`not json`)); r.Status != 400 {
		t.Fatalf("bad json: %d", r.Status)
	}
	// Move refuses to clobber unless asked.
	if r := ts.do("POST", "/api/v1/files/move", []byte(`{"from":"other.v","to":"d/f.v"}`)); r.Status != 409 {
		t.Fatalf("move onto existing: %d", r.Status)
	}
	if read(t, filepath.Join(ts.Root, "d", "f.v")) != "f" {
		t.Fatal("refused move changed the destination")
	}
	if r := ts.do("POST", "/api/v1/files/move", []byte(`{"from":"other.v","to":"d/f.v","overwrite":true}`)); r.Status != 200 {
		t.Fatalf("move overwrite: %d %s", r.Status, r.Body)
	}
	if read(t, filepath.Join(ts.Root, "d", "f.v")) != "o" {
		t.Fatal("overwrite move did not land")
	}
	if r := ts.do("POST", "/api/v1/files/move", []byte(`{"from":"d","to":"d/inner"}`)); r.Status != 400 {
		t.Fatalf("move into itself: %d", r.Status)
	}
	if r := ts.do("POST", "/api/v1/files/move", []byte(`{"from":"d","to":"e"}`)); r.Status != 200 {
		t.Fatalf("rename dir: %d", r.Status)
	}
	// Delete: a non-empty directory only with recursive.
	if r := ts.do("DELETE", "/api/v1/file?path=e", nil); r.Status != 409 {
		t.Fatalf("delete non-empty: %d %s", r.Status, r.Body)
	}
	if _, err := os.Stat(filepath.Join(ts.Root, "e", "f.v")); err != nil {
		t.Fatal("refused delete lost a file")
	}
	if r := ts.do("DELETE", "/api/v1/file?path=e&recursive=maybe", nil); r.Status != 400 {
		t.Fatalf("bad flag: %d", r.Status)
	}
	if r := ts.do("DELETE", "/api/v1/file?path=e&recursive=true", nil); r.Status != 200 {
		t.Fatalf("delete -r: %d", r.Status)
	}
	if r := ts.do("DELETE", "/api/v1/file?path=e", nil); r.Status != 404 {
		t.Fatalf("delete missing: %d", r.Status)
	}
	for _, root := range []string{"", ".", "/"} {
		if r := ts.do("DELETE", "/api/v1/file?path="+q(root)+"&recursive=true", nil); r.Status/100 != 4 {
			t.Fatalf("delete root %q: %d", root, r.Status)
		}
	}
	if _, err := os.Stat(ts.Root); err != nil {
		t.Fatal("root deleted")
	}
}

func TestWebSocketOriginCheck(t *testing.T) {
	ts := start(t, func(o *serverOptions) { o.AllowedOrigins = []string{"wails://wails"} })
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + host, true},
		{"wails://wails", true},
		{"http://evil.example", false},
		{"null", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, res, err := ts.dialWS("/api/v1/telemetry/stream", h)
		if tc.ok {
			if err != nil {
				t.Fatalf("origin %q refused: %v", tc.origin, err)
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Fatalf("origin %q accepted", tc.origin)
		}
		if res == nil || res.StatusCode != 403 {
			t.Fatalf("origin %q: want 403, got %v", tc.origin, res)
		}
	}
	// And without a token, no upgrade at all.
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/files/watch"
	if _, res, err := websocketDial(u); err == nil || res.StatusCode != 401 {
		t.Fatalf("watch without token: %v %v", err, res)
	}
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	srv := newServer(t, dir)
	ln, err := listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	req, _ := http.NewRequest("GET", "http://sessiond/api/v1/files?path=.", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := unixClient(sock).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v", fi.Mode())
	}
}

func TestBodyLimit(t *testing.T) {
	ts := start(t, func(o *serverOptions) { o.BodyLimit = 1024 })
	write(t, filepath.Join(ts.Root, "f.v"), "keep")
	r := ts.do("PUT", "/api/v1/file?path=f.v", []byte(strings.Repeat("x", 4096)))
	if r.Status != 413 {
		t.Fatalf("oversized upload: %d %s", r.Status, r.Body)
	}
	if e := r.err(t); e.Error.Code != "too_large" {
		t.Fatalf("code %q", e.Error.Code)
	}
	if read(t, filepath.Join(ts.Root, "f.v")) != "keep" {
		t.Fatal("oversized upload changed the file")
	}
}
