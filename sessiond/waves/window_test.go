package waves

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

func newService(t *testing.T, dir string) *Service {
	t.Helper()
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	s, err := New(Options{Workspace: ws, CacheDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openReady(t *testing.T, s *Service, rel string) *Dump {
	t.Helper()
	d, err := s.Open(rel)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("indexing did not finish")
	}
	if st := d.Status(); st.State != StateReady {
		t.Fatalf("state %+v", st)
	}
	return d
}

const synth = `$timescale 1 ns $end
$scope module top $end
$var wire 1 ! a $end
$var wire 4 " v [3:0] $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b0 "
$end
#10
1!
#11
0!
#12
1!
#13
0!
#50
1!
b1x "
#100
0!
`

func TestWindowDownsampling(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.vcd"), []byte(synth), 0o644)
	s := newService(t, dir)
	d := openReady(t, s, "s.vcd")
	st := d.Status()
	if st.Timescale != "1ns" || st.Start != 0 || st.End != 100 || st.Format != "vcd" {
		t.Fatalf("status %+v", st)
	}
	tests := []struct {
		t0, t1 uint64
		px     int
		want   string
	}{
		// one pixel per time unit: every change as is
		{0, 100, 100, `{"id":0,"initial":"0","changes":[[10,"1"],[11,"0"],[12,"1"],[13,"0"],[50,"1"],[100,"0"]]}`},
		// 10 units per pixel: 10..13 collapse, then the settled 0 at 20
		{0, 100, 10, `{"id":0,"initial":"0","changes":[[10,"*"],[20,"0"],[50,"1"],[100,"0"]]}`},
		// (10,100]: the change at 10 is the initial value
		{10, 100, 90, `{"id":0,"initial":"1","changes":[[11,"0"],[12,"1"],[13,"0"],[50,"1"],[100,"0"]]}`},
		// a window after the last change
		{200, 300, 10, `{"id":0,"initial":"0","changes":[]}`},
		// the band runs into the next pixel's own change: no settled entry
		{0, 20, 2, `{"id":0,"initial":"0","changes":[[10,"*"]]}`},
	}
	for _, tc := range tests {
		w, err := d.Window([]int{0}, tc.t0, tc.t1, tc.px)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(w.Signals[0])
		if string(b) != tc.want {
			t.Errorf("window(%d,%d,%d) = %s\nwant %s", tc.t0, tc.t1, tc.px, b, tc.want)
		}
	}
	w, err := d.Window([]int{1}, 0, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(w.Signals[0]); string(b) != `{"id":1,"initial":"0000","changes":[[50,"001x"]]}` {
		t.Errorf("vector window = %s", b)
	}
	if _, err := d.Window([]int{7}, 0, 10, 10); apierr.From(err).Status != 400 {
		t.Errorf("unknown signal: %v", err)
	}
	if _, err := d.Window([]int{0}, 10, 10, 10); apierr.From(err).Status != 400 {
		t.Errorf("empty window: %v", err)
	}
}

// TestWindowMatchesChanges checks the index against the readers on the
// simulated dump: with a pixel per time unit a window is the change list.
func TestWindowMatchesChanges(t *testing.T) {
	vcd := simulate(t)
	dir := filepath.Dir(vcd)
	runTool(t, dir, "vcd2fst", vcd, filepath.Join(dir, "tb.fst"))
	ref := readVCDFile(t, vcd)
	s := newService(t, dir)
	for _, name := range []string{"tb.vcd", "tb.fst"} {
		d := openReady(t, s, name)
		ids := make([]int, len(ref.meta.Signals))
		for i := range ids {
			ids[i] = i
		}
		// 1 ps per pixel over the first 65 ns
		end := uint64(MaxPixels)
		w, err := d.Window(ids, 0, end, MaxPixels)
		if err != nil {
			t.Fatal(err)
		}
		for i, sw := range w.Signals {
			sig := ref.meta.Signals[i]
			all := ref.changes[sig.Handle]
			var want []string
			for _, c := range all[1:] {
				if c.t <= end {
					want = append(want, fmt.Sprintf("%d=%s", c.t, c.v))
				}
			}
			var got []string
			for _, c := range sw.Changes {
				got = append(got, fmt.Sprintf("%d=%s", c.T, c.V))
			}
			if sw.Initial != all[0].v || strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s %s: initial %q changes %v\nwant %q %v", name, sig.Path, sw.Initial, got, all[0].v, want)
			}
		}
	}
}

func TestServiceReindexAndCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.vcd")
	os.WriteFile(p, []byte(synth), 0o644)
	ws, _ := workspace.Open(dir)
	defer ws.Close()
	cache := t.TempDir()
	s, _ := New(Options{Workspace: ws, CacheDir: cache})
	d1 := openReady(t, s, "s.vcd")
	again, _ := s.Open("s.vcd")
	if again != d1 {
		t.Fatal("a second open of the same file made a second index")
	}
	// A changed file gets a new id and its new contents.
	os.WriteFile(p, []byte(strings.Replace(synth, "#100\n0!", "#200\n0!", 1)), 0o644)
	os.Chtimes(p, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	d2 := openReady(t, s, "s.vcd")
	if d2.ID() == d1.ID() || d2.Status().End != 200 {
		t.Fatalf("re-index: %s vs %s, %+v", d2.ID(), d1.ID(), d2.Status())
	}
	if _, ok := s.Get(d1.ID()); ok {
		t.Error("the old id still answers")
	}
	s.Close()
	// A new service finds the index in the cache, ready at once.
	s2, _ := New(Options{Workspace: ws, CacheDir: cache})
	defer s2.Close()
	d3, err := s2.Open("s.vcd")
	if err != nil {
		t.Fatal(err)
	}
	if st := d3.Status(); st.State != StateReady || st.ID != d2.ID() {
		t.Fatalf("cached open: %+v", st)
	}
	w, err := d3.Window([]int{0}, 0, 300, 300)
	if err != nil || len(w.Signals[0].Changes) != 6 {
		t.Fatalf("cached window: %+v %v", w, err)
	}
}

func get(t *testing.T, app *fiber.App, url string) (int, map[string]any) {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest("GET", url, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %s", url, b)
	}
	return resp.StatusCode, m
}

func TestHTTP(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.vcd"), []byte(synth), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.vcd"), []byte("$scope module a $end\n$var wire 1 ! x $end\n$upscope $end\n$enddefinitions $end\n#0\n1?\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "o.vcd"), []byte(synth), 0o644)
	os.Symlink(filepath.Join(outside, "o.vcd"), filepath.Join(dir, "link.vcd"))
	s := newService(t, dir)
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil)})
	s.Mount(app.Group("/api/v1"))

	var id string
	for i := 0; ; i++ {
		code, m := get(t, app, "/api/v1/waves?path=s.vcd")
		if code != 200 {
			t.Fatalf("open: %d %v", code, m)
		}
		id = m["id"].(string)
		if m["state"] == "ready" {
			if m["format"] != "vcd" || m["timescale"] != "1ns" || m["end"].(float64) != 100 || m["progress"].(float64) != 1 {
				t.Fatalf("status %v", m)
			}
			break
		}
		if i > 1000 {
			t.Fatal("never ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	code, m := get(t, app, "/api/v1/waves/"+id+"/scopes")
	b, _ := json.Marshal(m)
	if code != 200 || !strings.Contains(string(b), `"name":"top"`) || !strings.Contains(string(b), `{"id":1,"lsb":0,"msb":3,"name":"v","type":"wire","width":4}`) {
		t.Errorf("scopes: %d %s", code, b)
	}
	code, m = get(t, app, "/api/v1/waves/"+id+"/search?q=TOP.V&limit=5")
	b, _ = json.Marshal(m)
	if code != 200 || string(b) != `{"signals":[{"id":1,"path":"top.v","type":"wire","width":4}]}` {
		t.Errorf("search: %d %s", code, b)
	}
	code, m = get(t, app, "/api/v1/waves/"+id+"/window?signals=0,1&start=0&end=100&pixels=10")
	b, _ = json.Marshal(m)
	if code != 200 || string(b) != `{"end":100,"signals":[{"changes":[[10,"*"],[20,"0"],[50,"1"],[100,"0"]],"id":0,"initial":"0"},{"changes":[[50,"001x"]],"id":1,"initial":"0000"}],"start":0}` {
		t.Errorf("window: %d %s", code, b)
	}
	for _, tc := range []struct {
		url  string
		code int
	}{
		{"/api/v1/waves?path=missing.vcd", 404},
		{"/api/v1/waves?path=notes.txt", 400},
		{"/api/v1/waves?path=../o.vcd", 403},
		{"/api/v1/waves?path=link.vcd", 403},
		{"/api/v1/waves/nope/scopes", 404},
		{"/api/v1/waves/" + id + "/window?signals=0&start=5&end=x", 400},
	} {
		if code, m := get(t, app, tc.url); code != tc.code {
			t.Errorf("%s: %d %v, want %d", tc.url, code, m, tc.code)
		}
	}
	// A malformed dump: 422 with the line once indexing has failed.
	for i := 0; ; i++ {
		code, m := get(t, app, "/api/v1/waves?path=bad.vcd")
		if code == 422 {
			msg := m["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, "line 6") {
				t.Errorf("422 message %q", msg)
			}
			break
		}
		if code != 200 || i > 1000 {
			t.Fatalf("bad.vcd: %d %v", code, m)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
