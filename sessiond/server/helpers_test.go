package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatewave.dev/sessiond/server/servertest"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/server"
)

const testToken = "test-token-0123456789"

// testServer is a real sessiond on 127.0.0.1 serving a temporary workspace.
type testServer struct {
	t    *testing.T
	URL  string
	Root string
	srv  *server.Server
}

func start(t *testing.T, mutate ...func(*server.Options)) *testServer {
	t.Helper()
	opts := server.Options{Token: testToken, UI: os.DirFS(t.TempDir())}
	for _, m := range mutate {
		m(&opts)
	}
	env := servertest.StartWith(t, opts, nil)
	return &testServer{t: t, URL: strings.TrimSuffix(env.Base, "/"), Root: env.Dir, srv: env.Server}
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// apiErr is the one JSON error shape.
type apiErr struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (r resp) err(t *testing.T) apiErr {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("status %d: body is not the JSON error shape: %q", r.Status, r.Body)
	}
	return e
}

func (ts *testServer) do(method, path string, body []byte, hdr ...string) resp {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (ts *testServer) get(path string, hdr ...string) resp { return ts.do("GET", path, nil, hdr...) }

func q(p string) string { return url.QueryEscape(p) }

// write puts a file directly on disk, creating parents.
func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dialWS opens a WebSocket to path with the token in the query.
func (ts *testServer) dialWS(path string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + path
	if strings.Contains(u, "?") {
		u += "&access_token=" + testToken
	} else {
		u += "?access_token=" + testToken
	}
	return websocket.DefaultDialer.Dial(u, hdr)
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

type serverOptions = server.Options

var listen = server.Listen

func newServer(t *testing.T, root string) *server.Server {
	srv, err := server.New(server.Options{Root: root, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

func websocketDial(u string) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial(u, nil)
}
