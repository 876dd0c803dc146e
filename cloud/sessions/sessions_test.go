package sessions_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/testenv"
)

// The whole flow: sign in → allocate → list and write a file through the
// tunnel (HTTP and WebSocket) → sign out → the file is on ide/autosave.
func TestSignInAllocateWriteSignOutAutosaves(t *testing.T) {
	e := newEnv(t, envOpts{containers: 2})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)

	code, se := alice.allocate(t)
	if code != http.StatusCreated || se.State != sessions.Ready || se.URL != "/s/"+se.ID+"/" {
		t.Fatalf("allocate: %d %+v", code, se)
	}
	// Allocating again returns the same open session.
	if code, again := alice.allocate(t); again.ID != se.ID {
		t.Fatalf("second allocate: %d %+v, want session %s", code, again, se.ID)
	}

	// The browser never holds the sessiond token: the cookie is enough.
	resp, b := alice.do(t, http.MethodGet, se.URL+"api/v1/files?path=.", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"blinky.v"`) || !strings.Contains(string(b), `"shell.nix"`) {
		t.Fatalf("list through the tunnel: %s %s", resp.Status, b)
	}

	// A watch WebSocket through the tunnel sees the write.
	ws := alice.dialWS(t, e.addr, se.URL+"api/v1/files/watch", e.url(""))

	resp, b = alice.do(t, http.MethodPut, se.URL+"api/v1/file?path=notes/today.txt&mkdirs=true", strings.NewReader("my work\n"), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("write through the tunnel: %s %s", resp.Status, b)
	}
	_ = ws.SetReadDeadline(time.Now().Add(testenv.WaitShort))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if strings.Contains(string(msg), "notes/today.txt") {
			break
		}
	}
	// A cross-site page cannot open the WebSocket with the user's cookie.
	if _, wresp, err := fws.DefaultDialer.Dial("ws://"+e.addr+se.URL+"api/v1/files/watch", alice.wsHeader("http://evil.example")); err == nil || wresp == nil || wresp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin WebSocket: err %v resp %v, want 403", err, wresp)
	}

	alice.signOut(t)
	got, err := e.gitShow(t, "alice", "ide/autosave:notes/today.txt")
	if err != nil || got != "my work\n" {
		t.Fatalf("ide/autosave:notes/today.txt = %q, %v", got, err)
	}
	// The autosave builds on the checked-out main.
	if out, err := e.gitShow(t, "alice", "ide/autosave:blinky.v"); err != nil || out == "" {
		t.Fatalf("autosave lost blinky.v: %v %s", err, out)
	}
	// The session ends once the container is gone, and the pool refills.
	var st sessions.Session
	eventually(t, testenv.WaitLong, "session ended", func() bool {
		var state string
		_ = e.db.QueryRow(context.Background(), `SELECT state FROM sessions WHERE id = $1`, se.ID).Scan(&state)
		st.State = state
		return state == sessions.Ended
	})
	e.nodeGW.waitIdle(t, 2)
	// Signed out: the tunnel is closed to the old cookie.
	if resp, _ := alice.do(t, http.MethodGet, se.URL+"api/v1/files?path=.", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %s, want 401", resp.Status)
	}
}

// User B cannot reach user A's session, even with its id.
func TestOtherUserForbidden(t *testing.T) {
	e := newEnv(t, envOpts{containers: 2})
	alice, bob := e.addUser(t, "alice"), e.addUser(t, "bob")
	alice.signIn(t)
	bob.signIn(t)
	e.waitIdleInDB(t, 1)
	code, se := alice.allocate(t)
	if code != http.StatusCreated {
		t.Fatalf("allocate: %d", code)
	}
	for _, p := range []string{se.URL + "api/v1/files?path=.", se.URL, se.URL + "healthz"} {
		if resp, b := bob.do(t, http.MethodGet, p, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("bob GET %s: %s %s, want 403", p, resp.Status, b)
		}
	}
	if code := bob.getJSON(t, "/api/v1/sessions/"+se.ID, nil); code != http.StatusNotFound {
		t.Fatalf("bob reads alice's session: %d, want 404", code)
	}
	// Without a cookie: 401.
	resp, err := http.Get(e.url(se.URL + "api/v1/files?path=."))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: %s, want 401", resp.Status)
	}
	// A state change without the CSRF token is refused.
	if resp, _ := bob.do(t, http.MethodPost, "/api/v1/sessions", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("allocate without CSRF token: %s, want 403", resp.Status)
	}
}
