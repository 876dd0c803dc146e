package sessions_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/sessions"
	"gatewave.dev/shared/testenv"
)

const internalToken = "test-internal-token-0123456789"

// Two replicas on one database: the node is linked to replica A, the
// browser talks to replica B. B forwards the tunnel (HTTP and WebSocket)
// and the claim to A. Then the node moves to B, and A forwards the tunnel
// and the release (sign-out) to B.
func TestSecondReplicaForwards(t *testing.T) {
	e := newEnv(t, envOpts{containers: 1, internalToken: internalToken})
	b := e.startReplica("replica-b")
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.waitIdleInDB(t, 1)
	viaB := alice.via(b.addr)

	// Allocation on B: the claim command is forwarded to A.
	resp, body := viaB.do(t, http.MethodPost, "/api/v1/sessions", nil, map[string]string{"X-CSRF-Token": alice.csrf})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("allocate via B: %s %s", resp.Status, body)
	}
	var se sessions.Session
	if code := viaB.getJSON(t, "/api/v1/sessions", &se); code != http.StatusOK || se.State != sessions.Ready {
		t.Fatalf("session via B: %d %+v", code, se)
	}
	if got := e.srv.Hub.Connected(); len(got) != 1 || got[0] != "node-1" {
		t.Fatalf("replica A holds %v, want node-1", got)
	}
	if got := b.srv.Hub.Connected(); len(got) != 0 {
		t.Fatalf("replica B holds %v, want nothing", got)
	}

	// A watch WebSocket through B.
	ws := alice.dialWS(t, b.addr, se.URL+"api/v1/files/watch", "http://"+b.addr)

	// Write and list through B.
	resp, body = viaB.do(t, http.MethodPut, se.URL+"api/v1/file?path=via-b.txt", strings.NewReader("from replica b\n"), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("write through B: %s %s", resp.Status, body)
	}
	resp, body = viaB.do(t, http.MethodGet, se.URL+"api/v1/files?path=.", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"via-b.txt"`) || !strings.Contains(string(body), `"blinky.v"`) {
		t.Fatalf("list through B: %s %s", resp.Status, body)
	}
	_ = ws.SetReadDeadline(time.Now().Add(testenv.WaitShort))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("watch through B: %v", err)
		}
		if strings.Contains(string(msg), "via-b.txt") {
			break
		}
	}
	// The same file through A.
	if resp, body := alice.do(t, http.MethodGet, se.URL+"api/v1/file?path=via-b.txt", nil, nil); resp.StatusCode != 200 || string(body) != "from replica b\n" {
		t.Fatalf("read through A: %s %q", resp.Status, body)
	}

	// The node moves to B: now A forwards to B, and B serves it itself.
	n := e.nodeGW
	n.stopGateway()
	n.cloud = b.addr
	n.startGateway()
	eventually(t, testenv.WaitLong, "the node linked to replica B", func() bool {
		got := b.srv.Hub.Connected()
		return len(got) == 1 && len(e.srv.Hub.Connected()) == 0
	})
	for _, via := range []*user{alice, viaB} {
		eventually(t, testenv.WaitLong, "the file through "+via.url(""), func() bool {
			resp, body := via.do(t, http.MethodGet, se.URL+"api/v1/file?path=via-b.txt", nil, nil)
			return resp.StatusCode == 200 && string(body) == "from replica b\n"
		})
	}

	// Sign out on A: the release (autosave, destroy) is forwarded to B,
	// which holds the link now.
	alice.signOut(t)
	if got, err := e.gitShow(t, "alice", "ide/autosave:via-b.txt"); err != nil || got != "from replica b\n" {
		t.Fatalf("ide/autosave:via-b.txt = %q, %v", got, err)
	}
}

// The internal listener takes only calls signed with the shared token: no
// token, a forged one, and even the right token sent as a bearer (a
// captured header must not be a credential) are refused.
func TestInternalTokenRequired(t *testing.T) {
	e := newEnv(t, envOpts{internalToken: internalToken})
	b := e.startReplica("replica-b")
	e.startScripted("node-1", "", nil)
	var aInternal string
	if err := e.db.QueryRow(t.Context(), `SELECT internal_url FROM replicas WHERE name = 'replica-a'`).Scan(&aInternal); err != nil {
		t.Fatal(err)
	}
	const streamHdr = "eyJraW5kIjoic2Vzc2lvbmQiLCJ0YXJnZXQiOiIwMTIzNDU2Nzg5YWIifQ" // {"kind":"sessiond","target":"0123456789ab"}
	const streamURI = "/internal/v1/nodes/node-1/stream"
	const cmdURI = "/internal/v1/nodes/node-1/commands"
	cmdBody := `{"name":"session.save","args":{"container":"0123456789ab","session":"nosuchsession"},"timeout_ms":5000}`
	tests := []struct {
		name string
		hdr  func(uri, stream, body string) http.Header
		want int
	}{
		{"missing", func(string, string, string) http.Header { return http.Header{} }, http.StatusUnauthorized},
		{"forged", func(uri, stream, body string) http.Header {
			return fleet.SignInternal("forged-token-0123456789", http.MethodGet, uri, stream, []byte(body), time.Now())
		}, http.StatusUnauthorized},
		{"bearer", func(string, string, string) http.Header {
			return http.Header{"Authorization": {"Bearer " + internalToken}}
		}, http.StatusUnauthorized},
		{"signed", func(uri, stream, body string) http.Header {
			return fleet.SignInternal(internalToken, http.MethodGet, uri, stream, []byte(body), time.Now())
		}, http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A raw stream request to the node's sessiond kind: signed, it
			// is refused by the node (no such session) only after the
			// upgrade; otherwise nothing reaches the node.
			conn, err := net.Dial("tcp", strings.TrimPrefix(aInternal, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(testenv.WaitShort))
			req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: gatewave-stream\r\nX-Gatewave-Stream: %s\r\n", streamURI, streamHdr)
			for k, vs := range tt.hdr(streamURI, streamHdr, "") {
				req += k + ": " + vs[0] + "\r\n"
			}
			if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s: %s, want %d", tt.name, resp.Status, tt.want)
			}
		})
		t.Run(tt.name+" command", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, aInternal+cmdURI, strings.NewReader(cmdBody))
			for k, vs := range tt.hdr(cmdURI, "", cmdBody) {
				req.Header[k] = vs
			}
			if tt.name == "signed" { // signed for POST
				for k, vs := range fleet.SignInternal(internalToken, http.MethodPost, cmdURI, "", []byte(cmdBody), time.Now()) {
					req.Header[k] = vs
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := tt.want
			if want == http.StatusSwitchingProtocols {
				want = http.StatusOK // the node answers (with a failed ack)
			}
			if resp.StatusCode != want {
				t.Fatalf("%s, command: %s, want %d", tt.name, resp.Status, want)
			}
		})
	}
	// Replica B's own internal listener is guarded the same way.
	resp, err := http.Post("http://"+b.internalAddr+"/internal/v1/nodes/node-1/commands", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replica B without a token: %s, want 401", resp.Status)
	}
}

// A replica that dies without a word (its process gone, its row's
// heartbeat stale) lets go of its nodes within the offline window: the
// node is no longer held by it, and its session ends as lost instead of
// showing "reconnecting" forever. The live replica keeps its own node and
// its heartbeat advances.
func TestDeadReplicaLetsGo(t *testing.T) {
	e := newEnv(t, envOpts{sessions: func(o *sessions.Options) { o.NodeLostAfter = time.Second }})
	alice := e.addUser(t, "alice")
	alice.signIn(t)
	e.startScripted("node-live", "", nil)
	_, _, err := e.st.AddNode(t.Context(), "node-x", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// What a crashed replica leaves: its registration, stale, and a node
	// it held, with a ready session on it.
	if _, err := e.db.Exec(ctx, `INSERT INTO replicas (name, internal_url, heartbeat_at) VALUES ('replica-dead', 'http://127.0.0.1:9', now() - interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `UPDATE nodes SET status = 'online', replica = 'replica-dead', connected_at = now(), last_heartbeat_at = now() WHERE name = 'node-x'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO pool_containers (node_id, container_id, class, state, reported_session)
		SELECT id, 'dededededede', 'standard', 'claimed', 'sess-alice-1' FROM nodes WHERE name = 'node-x'`); err != nil {
		t.Fatal(err)
	}
	e.insertSession(t, "sess-alice-1", "alice", "ready", "node-x", "dededededede")

	eventually(t, testenv.WaitLong, "node-x let go", func() bool {
		n, err := e.st.Get(ctx, "node-x")
		return err == nil && n.Replica == nil
	})
	var why string
	if err := e.db.QueryRow(ctx, `SELECT detail FROM node_events e JOIN nodes n ON n.id = e.node_id
		WHERE n.name = 'node-x' AND e.kind = 'disconnected'`).Scan(&why); err != nil || why != "replica stopped answering" {
		t.Fatalf("node-x event: %q %v", why, err)
	}
	eventually(t, testenv.WaitLong, "the session ended as lost", func() bool {
		se := alice.session(t, "sess-alice-1")
		return se.State == sessions.Ended && strings.Contains(se.Detail, "node lost")
	})
	if n, err := e.st.Get(ctx, "node-live"); err != nil || n.Replica == nil || *n.Replica != "replica-a" {
		t.Fatalf("the live replica's node: %+v %v", n, err)
	}
	var fresh bool
	if err := e.db.QueryRow(ctx, `SELECT heartbeat_at > now() - interval '5 seconds' FROM replicas WHERE name = 'replica-a'`).Scan(&fresh); err != nil || !fresh {
		t.Fatalf("replica-a's heartbeat is not fresh: %v", err)
	}
	var left int
	if err := e.db.QueryRow(ctx, `SELECT count(*) FROM replicas WHERE name = 'replica-dead'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the dead replica is still registered: %d %v", left, err)
	}
}
