//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"gatewave.dev/desktop/reaper"
	"gatewave.dev/shared/testenv"
)

// sampleRoot lists the sample workspace's top level as the tree shows it.
var sampleRoot = []string{"rtl", "Makefile", "README.md", "main.v"}

func sampleWorkspace(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../testdata/workspace")
	if err != nil {
		t.Fatal(err)
	}
	// Copy it so the IDE and tasks cannot change the checked-in files.
	dst := filepath.Join(t.TempDir(), "blinky")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestDesktop runs the built app under Xvfb against the sample workspace and
// checks what a user relies on: the IDE renders the workspace, sessiond is
// reachable from the page but only on loopback and only with the token, the
// token never reaches the disk, and quitting leaves no process behind.
func TestDesktop(t *testing.T) {
	bin := binary(t)
	display := xvfb(t)
	ws := sampleWorkspace(t)
	ctx := testenv.Context(t, testenv.WaitLong)

	in := launch(t, bin, display, ws)
	conn := in.connection(ctx)
	pid := in.cmd.Process.Pid

	t.Run("renders the workspace", func(t *testing.T) {
		ev := in.waitFor(ctx, "the file tree to show "+strings.Join(sampleRoot, ", "), rendered(sampleRoot))
		r := ev.Report
		t.Logf("rendered %q (%s UI) %d ms after launch", r.Tree, r.UI, ev.at.Sub(in.started).Milliseconds())
		if len(r.Errors) > 0 {
			t.Errorf("error banner(s) shown: %q", r.Errors)
		}
		if !r.Bound {
			t.Error("window.go.main.App is not bound")
		}
		if r.WebUSB {
			t.Error("the webview claims WebUSB; the IDE would offer it instead of native flashing")
		}
		// The probe's own requests: CORS for fetch, the Origin check for WebSockets.
		ev = in.waitFor(ctx, "the probe's fetch and WebSocket", func(ev event) bool {
			return ev.Event == "dom" && ev.Report.Fetch != "pending" && ev.Report.WS != "pending"
		})
		if ev.Report.Fetch != "200" || ev.Report.WS != "open" {
			t.Errorf("from the page (origin %q): fetch %s, WebSocket %s; want 200 and open", ev.Report.Origin, ev.Report.Fetch, ev.Report.WS)
		}

		shot := filepath.Join(artifactDir(t), "desktop-rendered.png")
		img := screenshot(t, display, shot)
		distinct, top := colourStats(img)
		t.Logf("screenshot %s: %dx%d, %d colours, most common %.0f%%", shot, img.Bounds().Dx(), img.Bounds().Dy(), distinct, top*100)
		if distinct < 16 || top > 0.97 {
			t.Errorf("screenshot %s looks blank: %d colours, most common covers %.1f%%", shot, distinct, top*100)
		}
		if r.UI != "ide" {
			testenv.Missing(t, "the IDE build in frontend/dist", "run `make frontend` and rebuild; the app showed its fallback page")
		}
	})

	t.Run("listens on loopback only", func(t *testing.T) {
		inodes := socketInodes(t, pid)
		var mine int
		for _, s := range procSockets(t) {
			if _, ok := inodes[s.inode]; !ok {
				continue
			}
			mine++
			bound := s.state == "0A" || strings.HasPrefix(s.proto, "udp")
			if bound && !s.local.ip.IsLoopback() {
				t.Errorf("%s socket of pid %d bound to %s: not loopback", s.proto, inodes[s.inode], s.local)
			}
		}
		ls := listening(t, pid)
		if len(ls) == 0 {
			t.Fatalf("the app listens on nothing (%d sockets)", mine)
		}
		u, err := url.Parse(conn.BaseURL)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range ls {
			found = found || strconv.Itoa(s.local.port) == u.Port()
		}
		if !found {
			t.Errorf("base_url %s is not among the app's listening sockets %v", conn.BaseURL, ls)
		}
	})

	t.Run("refuses requests without the token", func(t *testing.T) {
		// Learn the address the way an attacker on this machine could: from /proc.
		ls := listening(t, pid)
		if len(ls) != 1 {
			t.Fatalf("want exactly one listening socket, got %v", ls)
		}
		base := "http://" + ls[0].local.String() + "/"
		tests := []struct {
			name, path, token string
			want              int
		}{
			{"no token", "api/v1/files?path=", "", 401},
			{"wrong token", "api/v1/files?path=", strings.Repeat("0", 64), 401},
			{"metrics without token", "metrics", "", 401},
			{"with the token", "api/v1/files?path=", conn.Token, 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, body := get(ctx, t, base, tt.path, tt.token)
				if code != tt.want {
					t.Fatalf("GET %s: %d %s, want %d", tt.path, code, body, tt.want)
				}
				if code == 401 {
					var e struct {
						Error struct{ Code, Message string } `json:"error"`
					}
					if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
						t.Errorf("401 body is not the JSON error shape: %s", body)
					}
				}
			})
		}
	})

	t.Run("serves the built-in HDL language server from its own executable", func(t *testing.T) {
		hdlDefinition(ctx, t, conn)
	})

	t.Run("indexes a waveform dump and answers a window", func(t *testing.T) {
		waveWindow(ctx, t, conn, ws)
	})

	t.Run("lists boards, USB devices and udev rules for native flashing", func(t *testing.T) {
		flashRoutes(ctx, t, conn)
	})

	t.Run("quitting with unsaved edits and running tasks asks first", func(t *testing.T) {
		in.command("open main.v")
		in.waitFor(ctx, "an editor", func(ev event) bool { return ev.Event == "dom" && ev.Report.Editor })
		in.command("type // edited\n")
		in.waitFor(ctx, "the page to report main.v unsaved", func(ev event) bool {
			return ev.Event == "unsaved" && len(ev.Paths) == 1 && ev.Paths[0] == "main.v"
		})
		procs := startChildren(ctx, t, conn)
		in.command("quit")
		q := in.nthQuestion(ctx, 1)
		if !strings.HasPrefix(q.Message, "Quit and discard 1 unsaved file and stop ") || !strings.Contains(q.Message, "sleep 300") {
			t.Errorf("question %q; want it to name the unsaved file and the running task", q.Message)
		}
		in.command("answer no")
		// Still running: a second quit asks again.
		in.command("quit")
		in.nthQuestion(ctx, 2)
		in.command("answer yes")
		checkExit(ctx, t, in, procs)
	})

	t.Run("token never written to disk", func(t *testing.T) {
		checkNoToken(t, in.home, conn.Token)
		b, err := os.ReadFile(filepath.Join(in.home, ".config", "gatewave", "recent-folders.json"))
		if err != nil {
			t.Fatalf("recent folders not saved: %v", err)
		}
		if !bytes.Contains(b, []byte(ws)) {
			t.Errorf("recent folders %s lack %s", b, ws)
		}
	})
}

// TestSIGTERM checks the other way an app is closed: a signal (logout, kill).
func TestSIGTERM(t *testing.T) {
	bin := binary(t)
	display := xvfb(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	in := launch(t, bin, display, sampleWorkspace(t))
	conn := in.connection(ctx)
	in.waitFor(ctx, "the file tree", rendered(sampleRoot))
	procs := startChildren(ctx, t, conn)
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	checkExit(ctx, t, in, procs)
	checkNoToken(t, in.home, conn.Token)
}

// TestBadFolder: a folder that does not exist is refused before any window.
func TestBadFolder(t *testing.T) {
	bin := binary(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	missing := filepath.Join(t.TempDir(), "nope")
	cmd := exec.CommandContext(ctx, bin, missing)
	cmd.Env = append(os.Environ(), "DISPLAY=") // must fail before touching X
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; output:\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(missing)) {
		t.Errorf("the error does not name the folder:\n%s", out)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// startChildren makes the app's sessiond start processes the way a user
// does: a task, a task that daemonises out of its process group, and a
// terminal. It returns every process below the app once they run.
func startChildren(ctx context.Context, t *testing.T, conn event) []reaper.Proc {
	t.Helper()
	code, _ := postJSON(ctx, t, conn, "api/v1/tasks", `{"command":["sleep","300"]}`)
	if code == 404 {
		testenv.Missing(t, "sessiond's tasks service", "it is not mounted in server.buildServices")
	}
	if code != 201 {
		t.Fatalf("start task: %d", code)
	}
	// setsid(1) forks when it leads its group: the sleep ends up in a new
	// session, reparented to the app, which only the reaper can catch.
	if code, _ := postJSON(ctx, t, conn, "api/v1/tasks", `{"command":["setsid","sleep","301"]}`); code != 201 {
		t.Fatalf("start daemonising task: %d", code)
	}
	u, _ := url.Parse(conn.BaseURL)
	u.Scheme = "ws"
	u = u.JoinPath("api/v1/pty")
	u.RawQuery = url.Values{"access_token": {conn.Token}, "cols": {"80"}, "rows": {"24"}}.Encode()
	c, res, err := websocket.DefaultDialer.DialContext(ctx, u.String(), nil)
	if res != nil && res.StatusCode == 404 {
		t.Log("sessiond has no terminal service; checking tasks only")
	} else if err != nil {
		t.Fatalf("open a terminal: %v", err)
	} else {
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(testenv.WaitShort))
		if _, msg, err := c.ReadMessage(); err != nil || !bytes.Contains(msg, []byte(`"hello"`)) {
			t.Fatalf("terminal hello: %q, %v", msg, err)
		}
		// A background job in the shell, as a user would leave one.
		if err := c.WriteMessage(websocket.BinaryMessage, []byte("sleep 302 &\n")); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]bool{"300": true, "301": true}
	if c != nil {
		want["302"] = true
	}
	for {
		ps, err := reaper.Descendants(conn.PID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, p := range ps {
			if p.Comm == "sleep" {
				if b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline"); err == nil {
					args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
					got[args[len(args)-1]] = true
				}
			}
		}
		all := true
		for w := range want {
			all = all && got[w]
		}
		if all {
			t.Logf("%d processes below the app: %s", len(ps), comms(ps))
			return ps
		}
		select {
		case <-ctx.Done():
			t.Fatalf("children did not start: have %v of %v among %s", got, want, comms(ps))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func comms(ps []reaper.Proc) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Comm+"/"+strconv.Itoa(p.PID))
	}
	return strings.Join(s, " ")
}

func postJSON(ctx context.Context, t *testing.T, conn event, path, body string) (int, []byte) {
	t.Helper()
	u, _ := url.JoinPath(conn.BaseURL, path)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+conn.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes()
}

// checkExit waits for the app to exit cleanly and checks that none of
// procs (its descendants before quitting) still runs.
func checkExit(ctx context.Context, t *testing.T, in *instance, procs []reaper.Proc) {
	t.Helper()
	if err := in.wait(ctx); err != nil {
		t.Errorf("the app exited with %v", err)
	}
	if ev := in.waitFor(ctx, "the exit report", func(ev event) bool { return ev.Event == "exit" }); ev.Event != "exit" {
		t.Error("no exit report: the shutdown path did not run")
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("process %d (%s) outlived the app", p.PID, p.Comm)
		}
	}
	// Nothing may still hold the port either.
	u, _ := url.Parse(in.lastConn().BaseURL)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after exit", u.Host)
	}
}

func (in *instance) lastConn() event {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := len(in.events) - 1; i >= 0; i-- {
		if in.events[i].Event == "connection" {
			return in.events[i]
		}
	}
	return event{}
}

// checkNoToken scans everything the app could write (its HOME, which holds
// the XDG config, cache and data dirs) for the token.
func checkNoToken(t *testing.T, home, token string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(token)) {
			t.Errorf("the token was written to %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scanned %d files under the app's HOME", files)
}

// TestQuitWhileFolderPickerOpen: with no folder argument the app asks for
// one with GTK's modal picker, whose nested main loop would swallow a quit;
// SIGTERM must still end the app promptly and leave nothing behind.
func TestQuitWhileFolderPickerOpen(t *testing.T) {
	bin := binary(t)
	display := xvfb(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	in := launch(t, bin, display, "")
	in.waitFor(ctx, "the page", func(ev event) bool { return ev.Event == "dom" && ev.Report.Bound })
	// The page's Connection() call now sits in the picker; wait for GTK's
	// dialog to exist (WebKit's helpers are running by then too).
	var procs []reaper.Proc
	for len(procs) < 2 {
		select {
		case <-ctx.Done():
			t.Fatal("WebKit's processes did not start")
		case <-time.After(100 * time.Millisecond):
		}
		procs, _ = reaper.Descendants(in.cmd.Process.Pid)
	}
	if in.lastConn().Token != "" {
		t.Fatal("a sessiond started without a folder")
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = in.wait(ctx) // forced exits report status 1; what matters is that it ends
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("process %d (%s) outlived the app", p.PID, p.Comm)
		}
	}
}

// nthQuestion waits for the app's n-th question (1-based) since launch.
func (in *instance) nthQuestion(ctx context.Context, n int) event {
	in.t.Helper()
	seen := 0
	return in.waitFor(ctx, fmt.Sprintf("question %d", n), func(ev event) bool {
		if ev.Event == "question" {
			seen++
		}
		return ev.Event == "question" && seen == n
	})
}

// TestRestrictedMode opens a folder whose .ide/tasks.toml would run a
// program: nothing of it runs until the user trusts the folder through the
// banner's button and the app's question, and a no changes nothing.
func TestRestrictedMode(t *testing.T) {
	bin := binary(t)
	display := xvfb(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	ws := sampleWorkspace(t)
	if err := os.MkdirAll(filepath.Join(ws, ".ide"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := "[tasks.mark]\ncommand = [\"sh\", \"-c\", \"echo ran > marker\"]\n"
	if err := os.WriteFile(filepath.Join(ws, ".ide", "tasks.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(ws, "marker")
	in := launch(t, bin, display, ws)
	conn := in.connection(ctx)
	if conn.Trusted {
		t.Fatal("a new folder opened trusted")
	}
	ev := in.waitFor(ctx, "the restricted-mode banner", func(ev event) bool { return ev.Event == "dom" && ev.Report.TrustButton })
	if len(ev.Report.Errors) > 0 {
		t.Errorf("error banner(s) shown: %q", ev.Report.Errors)
	}
	start := func() int {
		code, body := postJSON(ctx, t, conn, "api/v1/tasks", `{"task":"mark"}`)
		if code != 201 && code != 403 {
			t.Fatalf("POST task mark: %d %s", code, body)
		}
		return code
	}
	if code := start(); code != 403 {
		t.Errorf("untrusted: POST task mark: %d, want 403", code)
	}

	clickable := func(ev event) bool { return ev.Event == "dom" && ev.Report.TrustButton }
	in.command("click trust-folder")
	if q := in.nthQuestion(ctx, 1); !strings.Contains(q.Message, ws) {
		t.Errorf("question %q does not name the folder", q.Message)
	}
	in.command("answer no")
	in.waitFor(ctx, "the no to be through", func(ev event) bool { return ev.Event == "trust declined" })
	if code := start(); code != 403 {
		t.Errorf("after a no: POST task mark: %d, want 403", code)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the untrusted folder's task ran (%v)", err)
	}
	// The button is back once the page has the answer; a second click asks again.
	in.waitFor(ctx, "the button to be clickable after the no", func(ev event) bool { return clickable(ev) && ev.Report.TrustAnswered == 1 })
	in.command("click trust-folder")
	in.nthQuestion(ctx, 2)
	in.command("answer yes")
	in.waitFor(ctx, "the trusted report", func(ev event) bool { return ev.Event == "trusted" && ev.Folder == ws })
	in.waitFor(ctx, "the banner to go", func(ev event) bool { return ev.Event == "dom" && !ev.Report.TrustBanner })
	if code := start(); code != 201 {
		t.Fatalf("trusted: POST task mark: %d, want 201", code)
	}
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the trusted task did not run")
		case <-time.After(50 * time.Millisecond):
		}
	}
	b, err := os.ReadFile(filepath.Join(in.home, ".config", "gatewave", "trusted-folders.json"))
	if err != nil || !bytes.Contains(b, []byte(ws)) {
		t.Errorf("trust not remembered: %s, %v", b, err)
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = in.wait(ctx)
}

// hdlDefinition asks the app's HDL language server (sessiond starts it
// as a child of the app's own binary) where the counter that main.v
// instantiates is declared: rtl/counter.v, in file:///workspace space.
func hdlDefinition(ctx context.Context, t *testing.T, conn event) {
	t.Helper()
	u, _ := url.Parse(conn.BaseURL)
	u.Scheme = "ws"
	u = u.JoinPath("api/v1/lsp/hdl")
	u.RawQuery = url.Values{"access_token": {conn.Token}}.Encode()
	c, res, err := websocket.DefaultDialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("open the HDL language server: %v (HTTP %d)", err, status)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(testenv.WaitLong))
	send := func(msg string) {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	await := func(id string) []byte {
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for response %s: %v", id, err)
			}
			if bytes.Contains(msg, []byte(`"id":`+id+`,`)) || bytes.HasSuffix(msg, []byte(`"id":`+id+`}`)) {
				return msg
			}
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"rootUri":"file:///workspace","capabilities":{}}}`)
	if init := await("1"); !bytes.Contains(init, []byte(`"gatewave-hdl"`)) {
		t.Fatalf("initialize: %s", init)
	}
	send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	// "counter" on line 3 (0-based) of main.v, column 4.
	send(`{"jsonrpc":"2.0","id":2,"method":"textDocument/definition","params":{"textDocument":{"uri":"file:///workspace/main.v"},"position":{"line":3,"character":4}}}`)
	if def := await("2"); !bytes.Contains(def, []byte(`file:///workspace/rtl/counter.v`)) {
		t.Fatalf("definition of counter: %s", def)
	}
}

// waveWindow has the app's sessiond index a small VCD written into the
// workspace and answer a window of it: the waves viewer's backend is
// there in the desktop app as in a container.
func waveWindow(ctx context.Context, t *testing.T, conn event, ws string) {
	t.Helper()
	vcd := "$timescale 1ns $end\n$scope module tb $end\n$var wire 1 ! clk $end\n$upscope $end\n$enddefinitions $end\n" +
		"#0\n$dumpvars\n0!\n$end\n#5\n1!\n#10\n0!\n#15\n1!\n#20\n0!\n"
	if err := os.WriteFile(filepath.Join(ws, "tb.vcd"), []byte(vcd), 0o644); err != nil {
		t.Fatal(err)
	}
	var st struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	for deadline := time.Now().Add(testenv.WaitLong); ; {
		code, body := get(ctx, t, conn.BaseURL, "api/v1/waves?path=tb.vcd", conn.Token)
		if code != http.StatusOK {
			t.Fatalf("GET api/v1/waves: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if st.State == "ready" {
			break
		}
		if st.State == "failed" || time.Now().After(deadline) {
			t.Fatalf("indexing: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body := get(ctx, t, conn.BaseURL, "api/v1/waves/"+st.ID+"/search?q=clk", conn.Token)
	var found struct {
		Signals []struct {
			ID   int    `json:"id"`
			Path string `json:"path"`
		} `json:"signals"`
	}
	if err := json.Unmarshal(body, &found); code != http.StatusOK || err != nil || len(found.Signals) != 1 || found.Signals[0].Path != "tb.clk" {
		t.Fatalf("search: %d %s", code, body)
	}
	code, body = get(ctx, t, conn.BaseURL, fmt.Sprintf("api/v1/waves/%s/window?signals=%d&start=0&end=20&pixels=100", st.ID, found.Signals[0].ID), conn.Token)
	if code != http.StatusOK || !bytes.Contains(body, []byte(`[5,"1"]`)) || !bytes.Contains(body, []byte(`[10,"0"]`)) {
		t.Fatalf("window: %d %s", code, body)
	}
}
