package search_test

import (
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/search"
	"gatewave.dev/sessiond/server/servertest"
)

type frame struct {
	Type    string         `json:"type"`
	Path    string         `json:"path"`
	Sum     string         `json:"sha256"`
	Matches []search.Match `json:"matches"`
	Summary *search.Summary
	Error   *struct{ Code, Message string }
}

func runWS(t *testing.T, e *servertest.Env, q any) []frame {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(e.WSURL("api/v1/search"), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	if err := c.WriteJSON(q); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []frame
	for {
		var f frame
		if err := c.ReadJSON(&f); err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				return out
			}
			t.Fatalf("read after %d frames: %v", len(out), err)
		}
		out = append(out, f)
	}
}

func TestWebSocketSearchAndReplace(t *testing.T) {
	e := servertest.Start(t, map[string]string{
		"top.v":      "module top(input clk);\nendmodule\n",
		"sub/a.v":    "wire clk; // clk\n",
		"ignored.v":  "clk\n",
		".gitignore": "ignored.v\n",
	})
	r := "clock"
	fs := runWS(t, e, search.Query{Pattern: "clk", WholeWord: true, Replace: &r})
	last := fs[len(fs)-1]
	if last.Type != "done" || last.Summary == nil || last.Summary.Files != 2 || last.Summary.Matches != 3 {
		t.Fatalf("last frame %+v", last)
	}
	files := fs[:len(fs)-1]
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	if len(files) != 2 || files[0].Path != "sub/a.v" || files[1].Path != "top.v" || files[1].Matches[0].Line != 1 || files[1].Matches[0].Col != 17 || *files[1].Matches[0].Replacement != "clock" {
		t.Fatalf("frames %+v", files)
	}

	fs = runWS(t, e, search.Query{Pattern: "(", Regex: true})
	if len(fs) != 1 || fs[0].Type != "error" || fs[0].Error == nil || fs[0].Error.Code == "" {
		t.Fatalf("bad regex: %+v", fs)
	}

	// Replace-all with the hashes the search returned; sub/a.v changes
	// on disk first and must be left alone.
	if err := os.WriteFile(filepath.Join(e.Dir, "sub/a.v"), []byte("wire clk; // edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var res struct{ Files []search.ReplaceResult }
	req := search.ReplaceRequest{Query: search.Query{Pattern: "clk", WholeWord: true}, Replace: "clock"}
	for _, f := range files {
		req.Files = append(req.Files, search.FileRef{Path: f.Path, Sum: f.Sum})
	}
	if code := e.Do("POST", "api/v1/search/replace", req, &res); code != http.StatusOK {
		t.Fatalf("replace: %d", code)
	}
	got := map[string]string{}
	for _, f := range res.Files {
		got[f.Path] = f.Status
	}
	if got["top.v"] != "replaced" || got["sub/a.v"] != "changed" {
		t.Fatalf("replace results %+v", res.Files)
	}
	b, _ := os.ReadFile(filepath.Join(e.Dir, "top.v"))
	if string(b) != "module top(input clock);\nendmodule\n" {
		t.Errorf("top.v = %q", b)
	}
	b, _ = os.ReadFile(filepath.Join(e.Dir, "sub/a.v"))
	if string(b) != "wire clk; // edited\n" {
		t.Errorf("sub/a.v = %q", b)
	}
}

func TestWebSocketNeedsToken(t *testing.T) {
	e := servertest.Start(t, map[string]string{"a": "x"})
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+e.Base[len("http://"):]+"api/v1/search", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: err %v resp %v", err, resp)
	}
}

// The client closing the socket mid-search stops the server's walk: the
// server stays responsive and a new search works.
func TestWebSocketClientLeaves(t *testing.T) {
	files := map[string]string{}
	for i := range 2000 {
		files[filepath.Join("d", string(rune('a'+i%26)), "f"+string(rune('a'+i/26%26))+string(rune('a'+i/676))+".txt")] = "needle\n"
	}
	e := servertest.Start(t, files)
	c, _, err := websocket.DefaultDialer.Dial(e.WSURL("api/v1/search"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteJSON(map[string]any{"pattern": "needle"}); err != nil {
		t.Fatal(err)
	}
	var f frame
	if err := c.ReadJSON(&f); err != nil || f.Type != "file" {
		t.Fatalf("first frame %+v %v", f, err)
	}
	c.Close()
	fs := runWS(t, e, map[string]any{"pattern": "needle", "maxResults": 5})
	if last := fs[len(fs)-1]; last.Type != "done" || !last.Summary.Truncated || last.Summary.Matches != 5 {
		t.Fatalf("after a client left: %+v", last)
	}
}
