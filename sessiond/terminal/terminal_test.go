package terminal_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/sessiond/terminal"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/httpauth"
	"gatewave.dev/shared/testenv"
)

// term is a client of one terminal WebSocket.
type term struct {
	t    *testing.T
	conn *websocket.Conn
	id   string
	out  strings.Builder
	exit *int
	code int // close code once closed
}

func dial(t *testing.T, url string) *term {
	t.Helper()
	ctx := testenv.Context(t, testenv.WaitShort)
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", url, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(testenv.WaitShort))
	mt, msg, err := conn.ReadMessage()
	var hello struct{ Type, ID string }
	if err != nil || mt != websocket.TextMessage || json.Unmarshal(msg, &hello) != nil || hello.Type != "hello" || hello.ID == "" {
		t.Fatalf("first frame = %d %q %v, want the hello", mt, msg, err)
	}
	return &term{t: t, conn: conn, id: hello.ID}
}

func (c *term) send(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads until the output matches re and returns the first match's
// submatches.
func (c *term) expect(re string) []string {
	c.t.Helper()
	rx := regexp.MustCompile(re)
	c.conn.SetReadDeadline(time.Now().Add(testenv.WaitShort))
	for {
		if m := rx.FindStringSubmatch(c.out.String()); m != nil {
			return m
		}
		if c.code != 0 {
			c.t.Fatalf("terminal closed (%d) before %q appeared in:\n%q", c.code, re, c.out.String())
		}
		c.read()
	}
}

func (c *term) read() {
	c.t.Helper()
	mt, msg, err := c.conn.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			c.code = ce.Code
			return
		}
		c.t.Fatalf("read: %v; output so far:\n%q", err, c.out.String())
	}
	if mt == websocket.BinaryMessage {
		c.out.Write(msg)
		return
	}
	var m struct {
		Type   string
		Status *int
	}
	if json.Unmarshal(msg, &m) != nil || m.Type != "exit" || m.Status == nil {
		c.t.Fatalf("unexpected text frame %q", msg)
	}
	c.exit = m.Status
}

// waitClosed reads to the end and returns the exit status and close code.
func (c *term) waitClosed() (int, int) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(testenv.WaitShort))
	for c.code == 0 {
		c.read()
	}
	if c.exit == nil {
		c.t.Fatalf("closed %d without an exit frame", c.code)
	}
	return *c.exit, c.code
}

func shell(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		testenv.Missing(t, "bash", "apt-get install bash")
	}
	t.Setenv("SHELL", "/bin/bash")
}

func TestArithmeticAndResize(t *testing.T) {
	shell(t)
	e := servertest.Start(t, nil)
	c := dial(t, e.WSURL("api/v1/pty?cols=100&rows=30"))
	c.send("echo $((6*7))\r")
	c.expect(`[\r\n]42\r\n`)

	c.send("stty size\r")
	c.expect(`[\r\n]30 100\r\n`)
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"resize","cols":123,"rows":45}`)); err != nil {
		t.Fatal(err)
	}
	c.send("stty size\r")
	c.expect(`[\r\n]45 123\r\n`)

	var list struct {
		Ptys []struct {
			ID         string
			Cols, Rows int
			Attached   bool
		}
	}
	e.Do("GET", "api/v1/ptys", nil, &list)
	if len(list.Ptys) != 1 || list.Ptys[0].ID != c.id || list.Ptys[0].Cols != 123 || list.Ptys[0].Rows != 45 || !list.Ptys[0].Attached {
		t.Errorf("ptys = %+v", list.Ptys)
	}

	// Several terminals at once, each its own shell.
	d := dial(t, e.WSURL("api/v1/pty"))
	if d.id == c.id {
		t.Fatal("second terminal got the first one's id")
	}
	d.send("echo $$\r")
	d.expect(`[\r\n]\d+\r\n`)
	d.send("stty size\r")
	d.expect(`[\r\n]24 80\r\n`)
}

func TestReconnectReturnsScrollback(t *testing.T) {
	shell(t)
	e := servertest.Start(t, nil)
	c := dial(t, e.WSURL("api/v1/pty"))
	c.send("echo marker-$((40+2))\r")
	c.expect(`marker-42`)
	c.conn.UnderlyingConn().Close() // drop, as a network failure would

	r := dial(t, e.WSURL("api/v1/pty?id="+c.id))
	if r.id != c.id {
		t.Fatalf("reattached to %s, want %s", r.id, c.id)
	}
	r.expect(`marker-42`) // the scrollback, before anything new is typed
	r.send("echo still-$((1+1))\r")
	r.expect(`still-2`)
}

func TestExitLeavesNoProcess(t *testing.T) {
	shell(t)
	e := servertest.Start(t, nil)
	c := dial(t, e.WSURL("api/v1/pty"))
	c.send("sleep 300 & echo bg=$! sh=$$\r")
	m := c.expect(`bg=(\d+) sh=(\d+)`)
	var bg, sh int
	fmt.Sscan(m[1], &bg)
	fmt.Sscan(m[2], &sh)
	c.send("exit 7\r")
	status, code := c.waitClosed()
	if status != 7 || code != websocket.CloseNormalClosure {
		t.Errorf("exit status %d close %d, want 7 and 1000", status, code)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", sh)); err == nil {
		t.Errorf("shell %d still exists (a zombie?)", sh)
	}
	ctx := testenv.Context(t, testenv.WaitShort)
	for alive(bg) { // signals land asynchronously
		select {
		case <-ctx.Done():
			t.Fatalf("background job %d outlived its shell", bg)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var list struct{ Ptys []any }
	e.Do("GET", "api/v1/ptys", nil, &list)
	if len(list.Ptys) != 0 {
		t.Errorf("exited terminal still listed: %+v", list.Ptys)
	}
}

func TestBadRequests(t *testing.T) {
	e := servertest.Start(t, nil)
	tests := []struct {
		query  string
		status int
		code   string
	}{
		{"cols=0", 400, "bad_request"},
		{"rows=abc", 400, "bad_request"},
		{"cols=100000", 400, "bad_request"},
		{"id=nope", 404, "not_found"},
	}
	for _, tc := range tests {
		_, resp, err := websocket.DefaultDialer.Dial(e.WSURL("api/v1/pty?"+tc.query), nil)
		if err == nil {
			t.Errorf("%s: upgraded, want %d", tc.query, tc.status)
			continue
		}
		var ae servertest.APIError
		if resp == nil || resp.StatusCode != tc.status || json.NewDecoder(resp.Body).Decode(&ae) != nil || ae.Error.Code != tc.code {
			t.Errorf("%s: %v %+v, want %d %s", tc.query, resp, ae, tc.status, tc.code)
		}
	}
	h := http.Header{"Origin": {"https://evil.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial(e.WSURL("api/v1/pty"), h); err == nil || resp.StatusCode != 403 {
		t.Errorf("foreign origin: %v, want 403", resp)
	}
	var list struct{ Ptys []any }
	e.Do("GET", "api/v1/ptys", nil, &list)
	if len(list.Ptys) != 0 {
		t.Errorf("refused requests opened shells: %+v", list.Ptys)
	}
}

// TestGracePeriod drops a client and checks the shell is stopped once the
// (shortened) grace period passes, and that its id is then gone.
func TestGracePeriod(t *testing.T) {
	shell(t)
	svc, err := terminal.New(terminal.Options{Dir: t.TempDir(), Grace: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil), DisableStartupMessage: true})
	svc.Mount(app.Group("/api/v1", httpauth.Require(servertest.Token)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown(); svc.Close() })
	base := "ws://" + ln.Addr().String() + "/api/v1/pty?access_token=" + servertest.Token

	c := dial(t, base)
	c.send("echo sh=$$\r")
	var sh int
	fmt.Sscan(c.expect(`sh=(\d+)`)[1], &sh)
	c.conn.Close()

	ctx := testenv.Context(t, testenv.WaitShort)
	for alive(sh) {
		select {
		case <-ctx.Done():
			t.Fatalf("shell %d still running after the grace period", sh)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for {
		conn, resp, err := websocket.DefaultDialer.Dial(base+"&id="+c.id, nil)
		if err != nil && resp != nil && resp.StatusCode == 404 {
			break
		}
		if err == nil {
			// The shell is dead but its exit is still being recorded; the
			// id stays reachable until then, to report the status.
			conn.Close()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("abandoned terminal still known: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && syscall.Kill(pid, 0) == nil
}
