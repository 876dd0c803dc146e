package bitstream_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/shared/testenv"
)

type listing struct {
	Bitstreams []struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		MTime  int64  `json:"mtime"`
		SHA256 string `json:"sha256"`
	} `json:"bitstreams"`
}

// TestICE40Flow builds the sample blinky with the real yosys, nextpnr-ice40
// and icepack through the task API, then finds and downloads the bitstream.
func TestICE40Flow(t *testing.T) {
	for _, tool := range []string{"make", "yosys", "nextpnr-ice40", "icepack"} {
		testenv.LookPath(t, tool)
	}
	e := servertest.Start(t, nil)
	e.CopyDir("../../examples/blinky")
	ctx := testenv.Context(t, 2*testenv.WaitLong)

	// A client watching files learns of the new bitstream.
	watch, _, err := websocket.DefaultDialer.DialContext(ctx, e.WSURL("api/v1/files/watch"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	sawBin := make(chan struct{})
	go func() {
		for {
			var batch []struct{ Op, Path string }
			if err := watch.ReadJSON(&batch); err != nil {
				return
			}
			for _, ev := range batch {
				if ev.Path == "build/blinky.bin" {
					close(sawBin)
					return
				}
			}
		}
	}()

	var task servertest.Task
	if code := e.Do("POST", "api/v1/tasks", map[string]any{"task": "build"}, &task); code != http.StatusCreated {
		t.Fatalf("POST build = %d", code)
	}
	frames := 0
	out, exit, closeCode := e.TaskLog(ctx, task.ID, func(string) { frames++ })
	for _, step := range []string{"yosys -p", "nextpnr-ice40 --hx1k", "Info: Program finished normally.", "icepack build/blinky.asc build/blinky.bin"} {
		if !strings.Contains(out, step) {
			t.Errorf("the log lacks %q:\n%s", step, out)
		}
	}
	if frames < 2 {
		t.Errorf("log came in %d frame(s); want it streamed step by step", frames)
	}
	if exit.State != "succeeded" || exit.ExitCode == nil || *exit.ExitCode != 0 || closeCode != 1000 {
		t.Fatalf("build ended %+v close %d, want succeeded 0 close 1000\n%s", exit, closeCode, out)
	}
	select {
	case <-sawBin:
	case <-ctx.Done():
		t.Error("the watch stream never reported build/blinky.bin")
	}

	onDisk, err := os.ReadFile(filepath.Join(e.Dir, "build/blinky.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(onDisk)
	want := hex.EncodeToString(sum[:])

	var l listing
	e.Do("GET", "api/v1/bitstreams", nil, &l)
	if len(l.Bitstreams) != 1 || l.Bitstreams[0].Path != "build/blinky.bin" ||
		l.Bitstreams[0].Size != int64(len(onDisk)) || l.Bitstreams[0].SHA256 != want || l.Bitstreams[0].MTime == 0 {
		t.Fatalf("bitstreams = %+v, want only build/blinky.bin (%d bytes, %s)", l.Bitstreams, len(onDisk), want)
	}

	// Download: the exact bytes, length and ETag.
	resp := get(t, e, "api/v1/bitstream?path=build/blinky.bin", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := sha256.Sum256(body)
	if resp.StatusCode != 200 || hex.EncodeToString(got[:]) != want || resp.ContentLength != int64(len(onDisk)) {
		t.Fatalf("download: %d, %d bytes (Content-Length %d), hash %x; want 200 and the file", resp.StatusCode, len(body), resp.ContentLength, got)
	}
	if et := resp.Header.Get("ETag"); et != `"`+want+`"` {
		t.Errorf("ETag = %s, want %q", et, want)
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges = %q", resp.Header.Get("Accept-Ranges"))
	}

	// Ranges return the right slices.
	n := len(onDisk)
	ranges := []struct {
		header     string
		start, end int // inclusive
	}{
		{"bytes=0-99", 0, 99},
		{"bytes=1000-4999", 1000, 4999},
		{fmt.Sprintf("bytes=%d-", n-10), n - 10, n - 1},
		{"bytes=-16", n - 16, n - 1},
		{fmt.Sprintf("bytes=100-%d", n+5000), 100, n - 1},
	}
	for _, r := range ranges {
		resp := get(t, e, "api/v1/bitstream?path=build/blinky.bin", map[string]string{"Range": r.header})
		part, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantRange := fmt.Sprintf("bytes %d-%d/%d", r.start, r.end, n)
		if resp.StatusCode != http.StatusPartialContent || string(part) != string(onDisk[r.start:r.end+1]) ||
			resp.Header.Get("Content-Range") != wantRange || resp.ContentLength != int64(r.end-r.start+1) {
			t.Errorf("Range %s: %d, %d bytes, Content-Range %q; want 206 with %s", r.header, resp.StatusCode, len(part), resp.Header.Get("Content-Range"), wantRange)
		}
	}

	// The ETag revalidates; a stale If-Range gets the whole file.
	resp = get(t, e, "api/v1/bitstream?path=build/blinky.bin", map[string]string{"If-None-Match": `"` + want + `"`})
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", resp.StatusCode)
	}
	resp = get(t, e, "api/v1/bitstream?path=build/blinky.bin", map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`})
	all, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(all) != n {
		t.Errorf("stale If-Range: %d with %d bytes, want the whole file", resp.StatusCode, len(all))
	}
}

func TestDownloadErrors(t *testing.T) {
	e := servertest.Start(t, map[string]string{"top.bit": "0123456789", "dir/x.bin": "x"})
	if err := os.Symlink("/etc/passwd", filepath.Join(e.Dir, "escape.bin")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query, rng string
		status           int
		code             string
	}{
		{"missing path", "", "", 400, "bad_request"},
		{"absent file", "path=nope.bin", "", 404, "not_found"},
		{"outside", "path=../x.bin", "", 403, "forbidden"},
		{"absolute", "path=/etc/passwd", "", 403, "forbidden"},
		{"symlink out", "path=escape.bin", "", 403, "outside_workspace"},
		{"directory", "path=dir", "", 400, "bad_request"},
		{"unsatisfiable range", "path=top.bit", "bytes=50-60", 416, "range_not_satisfiable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.rng != "" {
				h["Range"] = tc.rng
			}
			resp := get(t, e, "api/v1/bitstream?"+tc.query, h)
			defer resp.Body.Close()
			var ae servertest.APIError
			if err := json.NewDecoder(resp.Body).Decode(&ae); err != nil || resp.StatusCode != tc.status || ae.Error.Code != tc.code {
				t.Errorf("got %d %+v (%v), want %d %s", resp.StatusCode, ae, err, tc.status, tc.code)
			}
		})
	}
	// Listing skips the symlink and finds files at any depth.
	var l listing
	e.Do("GET", "api/v1/bitstreams", nil, &l)
	var paths []string
	for _, b := range l.Bitstreams {
		paths = append(paths, b.Path)
	}
	if strings.Join(paths, ",") != "dir/x.bin,top.bit" && strings.Join(paths, ",") != "top.bit,dir/x.bin" {
		t.Errorf("listed %v, want dir/x.bin and top.bit", paths)
	}
	resp := get(t, e, "api/v1/bitstreams", map[string]string{"Authorization": "Bearer wrong"})
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
}

func get(t *testing.T, e *servertest.Env, path string, headers map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", e.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+servertest.Token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
