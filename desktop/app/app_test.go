package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"gatewave.dev/desktop/recent"
)

// newDesktop returns an app whose recent list and probe live in the test.
func newDesktop(t *testing.T) (*Desktop, *bytes.Buffer, recent.List) {
	t.Helper()
	var probe bytes.Buffer
	rl := recent.List{Path: filepath.Join(t.TempDir(), "recent.json")}
	d, err := New(Options{Recent: rl, Probe: &probe, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.close() })
	return d, &probe, rl
}

func do(t *testing.T, method, u, token, origin string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	res.Body.Close()
	return res
}

// TestEmbeddedSessiond opens folders the way the window does and checks
// the sessiond each one gets: loopback, random port and token, reachable
// from the webview's origin only with the token.
func TestEmbeddedSessiond(t *testing.T) {
	d, probe, rl := newDesktop(t)
	first, second := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(first, "top.v"), []byte("module top; endmodule\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.open(first); err != nil {
		t.Fatal(err)
	}
	c, err := d.API().Connection() // a folder is open: no picker
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "0" || u.Path != "/" {
		t.Errorf("base_url %q: want http://127.0.0.1:PORT/", c.BaseURL)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(c.Token) {
		t.Errorf("token %q is not 32 random bytes in hex", c.Token)
	}
	if c.WebUSB || c.Folder != first {
		t.Errorf("connection %+v: want webusb false, folder %s", c, first)
	}

	files := c.BaseURL + "api/v1/files?path="
	tests := []struct {
		name, method, token, origin string
		wantStatus                  int
		wantAllowOrigin             string
	}{
		{"token", "GET", c.Token, "", 200, ""},
		{"no token", "GET", "", "", 401, ""},
		{"CORS preflight from the webview", "OPTIONS", "", WebviewOrigin(), 204, WebviewOrigin()},
		{"CORS preflight from elsewhere", "OPTIONS", "", "https://evil.example", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, tt.method, files, tt.token, tt.origin)
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.wantAllowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.wantAllowOrigin)
			}
		})
	}

	t.Run("WebSocket origins", func(t *testing.T) {
		ws := "ws://" + u.Host + "/api/v1/files/watch?access_token=" + c.Token
		for origin, want := range map[string]int{WebviewOrigin(): 101, "https://evil.example": 403} {
			conn, res, err := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {origin}})
			if conn != nil {
				conn.Close()
			}
			if res == nil {
				t.Fatalf("origin %s: %v", origin, err)
			}
			if res.StatusCode != want {
				t.Errorf("origin %s: status %d, want %d", origin, res.StatusCode, want)
			}
		}
	})

	// Switching folders replaces sessiond: new port, new token.
	if err := d.API().OpenRecent(second); err == nil {
		t.Fatal("OpenRecent accepted a folder that was never opened")
	}
	if err := d.open(second); err != nil {
		t.Fatal(err)
	}
	c2, err := d.API().Connection()
	if err != nil {
		t.Fatal(err)
	}
	if c2.Token == c.Token || c2.BaseURL == c.BaseURL || c2.Folder != second {
		t.Errorf("after switching: %+v, before %+v", c2, c)
	}
	if listening(t, u.Port()) {
		t.Errorf("the first sessiond still listens on %s", u.Host)
	}
	list, err := d.API().RecentFolders()
	if err != nil || len(list) != 2 || list[0] != second || list[1] != first {
		t.Errorf("recent folders %v, %v; want [%s %s]", list, err, second, first)
	}
	raw, err := os.ReadFile(rl.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{c.Token, c2.Token} {
		if bytes.Contains(raw, []byte(tok)) {
			t.Fatalf("the recent-folders file holds a token: %s", raw)
		}
	}
	if n := strings.Count(probe.String(), `"event":"connection"`); n != 2 {
		t.Errorf("probe saw %d connections, want 2:\n%s", n, probe)
	}

	u2, _ := url.Parse(c2.BaseURL)
	if !listening(t, u2.Port()) {
		t.Fatalf("the running sessiond is not seen listening on %s", u2.Host)
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	if listening(t, u2.Port()) {
		t.Errorf("sessiond still listens on %s after close", u2.Host)
	}
}

// listening reports whether this process holds a listening TCP socket on
// port. (Dialling the port would not do: once freed, another test's server
// may be given the same port.)
func listening(t *testing.T, port string) bool {
	t.Helper()
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			ours[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	want := fmt.Sprintf(":%04X", n)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) >= 10 && f[3] == "0A" && strings.HasSuffix(f[1], want) && ours[f[9]] {
				return true
			}
		}
	}
	return false
}

func TestOpenRefusesBadFolders(t *testing.T) {
	d, _, _ := newDesktop(t)
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), file} {
		if err := d.open(dir); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("open(%q) = %v; want an error naming it", dir, err)
		}
	}
	if _, err := d.API().Connection(); err == nil {
		t.Error("Connection succeeded with no folder and no window to ask in")
	}
}
