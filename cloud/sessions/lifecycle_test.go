package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/testenv"
)

func (u *user) session(t testing.TB, id string) sessions.Session {
	t.Helper()
	var se sessions.Session
	if code := u.getJSON(t, "/api/v1/sessions/"+id, &se); code != 200 {
		t.Fatalf("GET session: %d", code)
	}
	return se
}

// Kill nodegw during a session: the session shows "reconnecting", then
// resumes (same container, same files) when nodegw returns.
func TestNodeRestartReconnects(t *testing.T) {
	e := newEnv(t, envOpts{containers: 1})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)
	alice.mustPut(t, se, "kept.txt", "kept")

	n := e.nodeGW
	n.stopGateway() // nodegw dies: link and pool goroutines go, containers stay
	n.cancel()
	<-n.done
	eventually(t, testenv.WaitLong, "session shows reconnecting", func() bool {
		return alice.session(t, se.ID).State == sessions.Reconnecting
	})
	resp, b := alice.do(t, http.MethodGet, se.URL+"api/v1/file?path=kept.txt", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "reconnecting") {
		t.Fatalf("tunnel while reconnecting: %s %s", resp.Status, b)
	}

	n.startPool(1) // a new nodegw adopts the running containers
	n.startGateway()
	eventually(t, testenv.WaitLong, "session resumes", func() bool {
		return alice.session(t, se.ID).State == sessions.Ready
	})
	// The new nodegw adopts the container as it reconnects.
	eventually(t, testenv.WaitLong, "the file through the tunnel again", func() bool {
		resp, b = alice.do(t, http.MethodGet, se.URL+"api/v1/file?path=kept.txt", nil, nil)
		return resp.StatusCode == 200 && string(b) == "kept"
	})
	alice.signOut(t)
	if got, err := e.gitShow(t, "alice", "ide/autosave:kept.txt"); err != nil || got != "kept" {
		t.Fatalf("autosave after reconnect: %q %v", got, err)
	}
}

// An idle session ends by itself, with an autosave.
func TestIdleTimeoutEndsWithAutosave(t *testing.T) {
	e := newEnv(t, envOpts{containers: 1, sessions: func(o *sessions.Options) { o.IdleTimeout = 1500 * time.Millisecond }})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)
	se := alice.mustAllocate(t)
	alice.mustPut(t, se, "idle.txt", "idle work")
	eventually(t, testenv.WaitLong, "idle session ended", func() bool {
		return alice.session(t, se.ID).State == sessions.Ended
	})
	if got, err := e.gitShow(t, "alice", "ide/autosave:idle.txt"); err != nil || got != "idle work" {
		t.Fatalf("autosave at idle timeout: %q %v", got, err)
	}
	if d := alice.session(t, se.ID).Detail; d != "idle timeout" {
		t.Fatalf("detail %q", d)
	}
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		testenv.Missing(t, "/proc/self/fd", "the leak check counts open files through /proc")
	}
	return len(ents)
}

// Tunnelled streams close on both ends: after many HTTP requests and
// WebSockets and the end of the session, goroutines and file descriptors
// are back where they were.
func TestTunnelLeaksNothing(t *testing.T) {
	e := newEnv(t, envOpts{containers: 1})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)
	settle := func() (int, int) {
		runtime.GC()
		time.Sleep(200 * time.Millisecond) // let closed connections' goroutines exit
		return runtime.NumGoroutine(), openFDs(t)
	}
	g0, f0 := settle()

	_, se := alice.allocate(t)
	hdr := alice.wsHeader(e.url(""))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			hc := &http.Client{Jar: alice.hc.Jar, Transport: &http.Transport{DisableKeepAlives: w%2 == 0}}
			for i := range 10 {
				resp, err := hc.Get(e.url(fmt.Sprintf("%sapi/v1/files?path=.&i=%d", se.URL, i)))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("GET: %s", resp.Status)
				}
			}
			hc.CloseIdleConnections()
		})
	}
	for range 10 {
		wg.Go(func() {
			ws, _, err := fws.DefaultDialer.Dial("ws://"+e.addr+se.URL+"api/v1/telemetry/stream?interval_ms=100", hdr)
			if err != nil {
				t.Error(err)
				return
			}
			_ = ws.SetReadDeadline(time.Now().Add(testenv.WaitShort))
			if _, _, err := ws.ReadMessage(); err != nil {
				t.Error(err)
			}
			ws.Close() // abrupt: no close handshake
		})
	}
	wg.Wait()
	alice.signOut(t)
	eventually(t, testenv.WaitLong, "session ended", func() bool {
		var state string
		_ = e.db.QueryRow(context.Background(), `SELECT state FROM sessions WHERE id = $1`, se.ID).Scan(&state)
		return state == sessions.Ended
	})
	e.nodeGW.waitIdle(t, 1)
	e.waitIdleInDB(t, 1)
	alice.hc.CloseIdleConnections()

	var g1, f1 int
	ctx := testenv.Context(t, 20*time.Second)
	for {
		g1, f1 = settle()
		if g1 <= g0+3 && f1 <= f0+3 {
			break
		}
		if ctx.Err() != nil {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: goroutines %d → %d, fds %d → %d\n%s", g0, g1, f0, f1, buf[:n])
		}
	}
	t.Logf("goroutines %d → %d, fds %d → %d", g0, g1, f0, f1)
}
