package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/desktop/recent"
	"gatewave.dev/desktop/trust"
	"gatewave.dev/shared/testenv"
)

// asker answers the app's questions in a test and remembers them.
type asker struct {
	t      *testing.T
	answer bool
	refuse bool // fail the test if asked at all
	asked  []question
}

func (a *asker) confirm(q question) bool {
	if a.refuse {
		a.t.Errorf("asked %q when nothing was pending", q.Message)
	}
	a.asked = append(a.asked, q)
	return a.answer
}

func (a *asker) last() string {
	if len(a.asked) == 0 {
		return ""
	}
	return a.asked[len(a.asked)-1].Message
}

// newTestDesktop is an app whose stores live in the test and whose
// questions go to the returned asker.
func newTestDesktop(t *testing.T) (*Desktop, *asker, trust.Store) {
	t.Helper()
	dir := t.TempDir()
	ts := trust.Store{Path: filepath.Join(dir, "trusted-folders.json")}
	d, err := New(Options{
		Recent: recent.List{Path: filepath.Join(dir, "recent.json")},
		Trust:  ts,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &asker{t: t}
	d.confirm = a.confirm
	t.Cleanup(func() { _ = d.close() })
	return d, a, ts
}

func post(t *testing.T, c Connection, path, body string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitShort)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestFolderTrust: a folder's .ide/tasks.toml runs nothing until the user
// answers yes to the native question, and the answer is remembered for that
// folder only.
func TestFolderTrust(t *testing.T) {
	testenv.LookPath(t, "sh")
	d, a, ts := newTestDesktop(t)
	ws, other := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".ide"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".ide", "tasks.toml"), []byte("[tasks.mark]\ncommand = [\"sh\", \"-c\", \"echo ran > marker\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(ws, "marker")
	if err := d.open(ws); err != nil {
		t.Fatal(err)
	}
	c, _ := d.API().Connection()
	if code := post(t, c, "api/v1/tasks", `{"task":"mark"}`); code != 403 {
		t.Errorf("untrusted: POST task mark: %d, want 403", code)
	}

	a.answer = false
	if ok, err := d.API().TrustFolder(); ok || err != nil {
		t.Errorf("TrustFolder answered no = %v, %v", ok, err)
	}
	if len(a.asked) != 1 || !strings.Contains(a.last(), ws) {
		t.Fatalf("questions %+v; want one naming %s", a.asked, ws)
	}
	if code := post(t, c, "api/v1/tasks", `{"task":"mark"}`); code != 403 {
		t.Errorf("after a no: POST task mark: %d, want 403", code)
	}
	if exists(t, marker) {
		t.Fatal("the untrusted folder's task ran")
	}
	if ok, _ := ts.Trusted(ws); ok {
		t.Fatal("a no was remembered as trust")
	}

	a.answer = true
	if ok, err := d.API().TrustFolder(); !ok || err != nil {
		t.Fatalf("TrustFolder answered yes = %v, %v", ok, err)
	}
	if code := post(t, c, "api/v1/tasks", `{"task":"mark"}`); code != 201 {
		t.Fatalf("trusted: POST task mark: %d, want 201", code)
	}
	waitFor(t, func() bool { return exists(t, marker) })

	// Remembered across sessionds, for this folder only.
	if err := d.open(other); err != nil {
		t.Fatal(err)
	}
	if d.trusted.Load() {
		t.Error("another folder opened trusted")
	}
	if err := d.open(ws); err != nil {
		t.Fatal(err)
	}
	if !d.trusted.Load() {
		t.Error("the trusted folder reopened restricted")
	}
	n := len(a.asked)
	if ok, err := d.API().TrustFolder(); !ok || err != nil || len(a.asked) != n {
		t.Errorf("TrustFolder on a trusted folder = %v, %v after asking again", ok, err)
	}
}

// TestAskBeforeDiscarding: closing the window or switching folders asks
// when tabs are unsaved or tasks run, and a no keeps everything as it was.
func TestAskBeforeDiscarding(t *testing.T) {
	testenv.LookPath(t, "sleep")
	d, a, _ := newTestDesktop(t)
	first, second := t.TempDir(), t.TempDir()
	if err := d.open(first); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	a.refuse = true
	if d.beforeClose(ctx) {
		t.Error("closing with nothing pending was prevented")
	}
	a.refuse = false

	c, _ := d.API().Connection()
	if code := post(t, c, "api/v1/tasks", `{"command":["sleep","300"]}`); code != 201 {
		t.Fatalf("start task: %d", code)
	}
	a.answer = false
	if !d.beforeClose(ctx) {
		t.Error("a no did not keep the window open")
	}
	if want := "Quit and stop 1 running task?"; !strings.HasPrefix(a.last(), want) || !strings.Contains(a.last(), "sleep 300") {
		t.Errorf("question %q; want %q naming the task", a.last(), want)
	}

	d.API().SetUnsaved([]string{"top.v", "rtl/uart.v"})
	if !d.beforeClose(ctx) {
		t.Error("a no did not keep the window open")
	}
	if want := "Quit and discard 2 unsaved files and stop 1 running task?"; !strings.HasPrefix(a.last(), want) || !strings.Contains(a.last(), "top.v, rtl/uart.v") {
		t.Errorf("question %q; want %q naming the files", a.last(), want)
	}

	if switched, err := d.switchTo(second); switched || err != nil {
		t.Errorf("switchTo after a no = %v, %v", switched, err)
	}
	if now, _ := d.API().Connection(); now != c {
		t.Fatalf("the folder changed after a no: %+v", now)
	}
	if !strings.HasPrefix(a.last(), "Open "+filepath.Base(second)+" and discard 2 unsaved files") {
		t.Errorf("question %q", a.last())
	}

	a.answer = true
	if switched, err := d.switchTo(second); !switched || err != nil {
		t.Fatalf("switchTo after a yes = %v, %v", switched, err)
	}
	// A fresh folder: its page has no tabs yet, and nothing runs.
	a.refuse = true
	if d.beforeClose(ctx) {
		t.Error("closing the new folder was prevented")
	}
	a.refuse = false

	d.API().SetUnsaved([]string{"a.v"})
	d.forced.Store(true)
	n := len(a.asked)
	if d.beforeClose(ctx) || len(a.asked) != n {
		t.Error("a signal's quit asked or was prevented")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	ctx := testenv.Context(t, testenv.WaitShort)
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
