package sessions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/server"
	"gatewave.dev/cloud/sessions"
	"gatewave.dev/cloud/store"
	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	nodesessions "gatewave.dev/nodegw/sessions"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const (
	adminToken = "test-admin-token-0123456789"
	testImage  = testenv.SessiondImage
)

func logger() *slog.Logger {
	if os.Getenv("GATEWAVE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// scratchImage builds the FROM-scratch sessiond image of this tree; the
// tests also need git.
func scratchImage(t testing.TB) {
	t.Helper()
	testenv.BuildSessiondImage(t)
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "apt-get install git")
	}
}

func shortTempDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "gwsess")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// env is a cloud with accounts, git hosting and sessions, and one node
// with a warm pool of tiny containers on the real dockerd.
type env struct {
	t      testing.TB
	db     *pgxpool.Pool
	st     *store.Store
	srv    *server.Server
	addr   string
	stop   func()
	nodeGW *node

	o       envOpts
	gitRoot string
}

type envOpts struct {
	containers int
	// internalToken, when set, gives every replica an internal listener
	// and lets replicas forward to each other.
	internalToken string
	// autosaveInterval is the nodes' periodic autosave; 0 means none.
	autosaveInterval time.Duration
	sessions         func(*sessions.Options)
	fleet            func(*fleet.Options)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.containers > 0 {
		scratchImage(t) // scripted nodes (scripted_test.go) need no image
	}
	_, db := dbtest.New(t)
	e := &env{t: t, db: db, st: store.New(db), o: o, gitRoot: filepath.Join(t.TempDir(), "git")}
	r := e.startReplica("replica-a")
	e.srv, e.addr, e.stop = r.srv, r.addr, r.stop
	if o.containers > 0 {
		e.nodeGW = e.startNode("node-1", o.containers)
	}
	return e
}

// replica is one cloud process of an env; every replica shares the
// database and the git root.
type replica struct {
	srv          *server.Server
	addr         string
	internalAddr string
	stop         func()
}

// startReplica starts a cloud replica. With envOpts.internalToken it gets
// an internal listener and forwards to the other replicas.
func (e *env) startReplica(name string) *replica {
	t := e.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	gitURL := "http://" + addr + "/git"
	if e.addr != "" {
		gitURL = "http://" + e.addr + "/git" // nodes use the first replica's git host
	}
	fo := fleet.Options{Replica: name, HeartbeatInterval: 200 * time.Millisecond, OfflineAfter: 2 * time.Second,
		SweepInterval: 100 * time.Millisecond, FlushInterval: 50 * time.Millisecond}
	var iln net.Listener
	if e.o.internalToken != "" {
		if iln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		fo.InternalToken, fo.InternalURL = e.o.internalToken, "http://"+iln.Addr().String()
	}
	if e.o.fleet != nil {
		e.o.fleet(&fo)
	}
	so := sessions.Options{SweepInterval: 100 * time.Millisecond}
	if e.o.sessions != nil {
		e.o.sessions(&so)
	}
	srv, err := server.New(server.Options{
		Pool: e.db, AdminToken: adminToken, Logger: logger().With("replica", name), Fleet: fo, Internal: iln,
		GitRoot: e.gitRoot, GitURL: gitURL,
		Accounts: accounts.Options{Argon2: accounts.Argon2Params{MemoryKiB: 64, Time: 1}},
		Sessions: so,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	r := &replica{srv: srv, addr: addr}
	if iln != nil {
		r.internalAddr = iln.Addr().String()
	}
	var once sync.Once
	r.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(r.stop)
	return r
}

func (e *env) url(p string) string { return "http://" + e.addr + p }

// via returns a copy of u that talks to the replica at addr (cookies are
// per host, not per port, so the same sign-in works there).
func (u *user) via(addr string) *user {
	v := *u
	v.base = "http://" + addr
	return &v
}

func (u *user) url(p string) string {
	if u.base != "" {
		return u.base + p
	}
	return u.e.url(p)
}

// node is one nodegw: pool, sessions service and gateway.
type node struct {
	name    string
	pool    *pool.Pool
	svc     *nodesessions.Service
	token   string
	dir     string
	poolTag string
	cancel  context.CancelFunc
	done    chan struct{}
	gwStop  context.CancelFunc
	gwDone  chan struct{}
	e       *env
	cloud   string // the replica the gateway dials; "" means the first
	// poolOpts, when set, changes the pool's options (elastic pools).
	poolOpts func(*pool.Options)
}

func (n *node) cloudURL() string {
	if n.cloud != "" {
		return "http://" + n.cloud
	}
	return n.e.url("")
}

func (e *env) startNode(name string, containers int) *node {
	return e.startNodeWith(name, containers, nil)
}

// startNodeWith starts a node whose pool options po changes.
func (e *env) startNodeWith(name string, containers int, po func(*pool.Options)) *node {
	t := e.t
	t.Helper()
	scratchImage(t)
	_, tok, err := e.st.AddNode(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, token: tok, dir: shortTempDir(t), poolTag: fmt.Sprintf("gwst-%d", time.Now().UnixNano()%1e8), e: e, poolOpts: po}
	n.startPool(containers)
	n.startGateway()
	t.Cleanup(func() {
		n.stopGateway()
		n.cancel()
		<-n.done
		sctx, c := context.WithTimeout(context.Background(), testenv.WaitLong)
		defer c()
		if err := n.pool.Shutdown(sctx); err != nil {
			t.Errorf("pool shutdown: %v", err)
		}
	})
	return n
}

var gwPtr sync.Map // node name → *gateway.Gateway

func (n *node) startPool(containers int) {
	t := n.e.t
	var svc *nodesessions.Service
	po := pool.Options{
		Image: testImage, Name: n.poolTag, StateDir: filepath.Join(n.dir, "run"), HealthInterval: 300 * time.Millisecond,
		Classes:  []pool.Class{{Name: "standard", Size: pool.Size{CPUs: 0.25, MemoryBytes: 128 << 20, Pids: 64}, Count: containers}},
		Autosave: func(ctx context.Context, c pool.Container) error { return svc.Autosave(ctx, c) },
		OnChange: func(cs []pool.Container) { svc.OnChange(cs) },
		Logger:   logger(),
	}
	if n.poolOpts != nil {
		n.poolOpts(&po)
	}
	p, err := pool.New(po)
	if err != nil {
		t.Fatal(err)
	}
	svc, err = nodesessions.New(nodesessions.Options{Pool: p, Cache: &gitcache.Cache{Dir: filepath.Join(n.dir, "git")},
		Dir: filepath.Join(n.dir, "sessions"), AutosaveInterval: n.e.autosaveInterval(), Logger: logger(),
		Report: func(r *fleetproto.Pool) {
			if g, ok := gwPtr.Load(n.name); ok {
				g.(*gateway.Gateway).ReportPool(r)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	n.pool, n.svc = p, svc
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	go func() {
		defer close(n.done)
		var wg sync.WaitGroup
		wg.Go(func() { svc.Run(ctx) })
		p.Run(ctx)
		wg.Wait()
	}()
}

func (e *env) autosaveInterval() time.Duration {
	if e.o.autosaveInterval > 0 {
		return e.o.autosaveInterval
	}
	return -1
}

func (n *node) startGateway() {
	t := n.e.t
	g, err := gateway.New(gateway.Options{
		CloudURL: n.cloudURL(), Token: n.token, Name: n.name, Logger: logger(),
		Backoff: backoff.Policy{Base: 100 * time.Millisecond, Cap: 500 * time.Millisecond},
		Streams: n.svc.Streams(), Commands: n.svc.Commands(),
	})
	if err != nil {
		t.Fatal(err)
	}
	gwPtr.Store(n.name, g)
	if last := n.svc.LastReport(); last != nil {
		g.ReportPool(last)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.gwStop, n.gwDone = cancel, make(chan struct{})
	go func() { defer close(n.gwDone); g.Run(ctx) }()
}

func (n *node) stopGateway() {
	if n.gwStop != nil {
		n.gwStop()
		<-n.gwDone
		n.gwStop = nil
	}
}

func (n *node) waitIdle(t testing.TB, want int) {
	t.Helper()
	eventually(t, testenv.WaitLong, fmt.Sprintf("%d idle containers on %s", want, n.name), func() bool {
		return n.pool.Counts()[pool.Idle] >= want
	})
}

// waitIdleInDB waits until the cloud has recorded want idle containers.
func (e *env) waitIdleInDB(t testing.TB, want int) {
	t.Helper()
	eventually(t, testenv.WaitLong, fmt.Sprintf("%d idle containers recorded", want), func() bool {
		var n int
		_ = e.db.QueryRow(context.Background(), `SELECT count(*) FROM pool_containers WHERE state = 'idle' AND session_id IS NULL`).Scan(&n)
		return n >= want
	})
}

func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx := testenv.Context(t, d)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// user is a browser: a cookie jar signed in as one user.
type user struct {
	name, password string
	hc             *http.Client
	csrf           string
	e              *env
	base           string // "" means the env's first replica
}

func (e *env) addUser(t testing.TB, name string) *user {
	t.Helper()
	u := e.addUserNoRepo(t, name)
	if err := e.srv.Git.Create(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return u
}

// addUserNoRepo adds a user whose repo is created at their first session.
func (e *env) addUserNoRepo(t testing.TB, name string) *user {
	t.Helper()
	pw := "password-" + name
	if _, err := e.srv.Accounts.AddUser(context.Background(), name, pw); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return &user{name: name, password: pw, e: e, hc: &http.Client{Jar: jar, Timeout: testenv.WaitLong,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn goes through the sign-in page like a browser.
func (u *user) signIn(t testing.TB) {
	t.Helper()
	resp, err := u.hc.Get(u.e.url("/signin"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in page: %s", b)
	}
	form := url.Values{"_csrf": {string(m[1])}, "name": {u.name}, "password": {u.password}}
	resp, err = u.hc.PostForm(u.e.url("/signin"), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %s", u.name, resp.Status)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	u.getJSON(t, "/api/v1/me", &me)
	u.csrf = me.CSRF
}

func (u *user) do(t testing.TB, method, p string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u.url(p), body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, p, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (u *user) getJSON(t testing.TB, p string, v any) int {
	t.Helper()
	resp, b := u.do(t, http.MethodGet, p, nil, nil)
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", p, err, b)
		}
	}
	return resp.StatusCode
}

// allocate is POST /api/v1/sessions.
func (u *user) allocate(t testing.TB) (int, sessions.Session) {
	t.Helper()
	resp, b := u.do(t, http.MethodPost, "/api/v1/sessions", nil, map[string]string{"X-CSRF-Token": u.csrf})
	var se sessions.Session
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(b, &se); err != nil {
			t.Fatalf("allocate: %v: %s", err, b)
		}
	} else {
		t.Logf("allocate: %s %s", resp.Status, b)
	}
	return resp.StatusCode, se
}

// mustAllocate allocates and requires a ready session (201).
func (u *user) mustAllocate(t testing.TB) sessions.Session {
	t.Helper()
	code, se := u.allocate(t)
	if code != http.StatusCreated {
		t.Fatalf("allocate: %d", code)
	}
	return se
}

// mustPut writes a file through the session's tunnel and requires 201.
func (u *user) mustPut(t testing.TB, se sessions.Session, path, content string) {
	t.Helper()
	if resp, b := u.do(t, http.MethodPut, se.URL+"api/v1/file?path="+path, strings.NewReader(content), nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("write %s: %s %s", path, resp.Status, b)
	}
}

// wsHeader is what a browser page on origin sends with a WebSocket
// handshake: the Origin and the user's cookies.
func (u *user) wsHeader(origin string) http.Header {
	hdr := http.Header{"Origin": {origin}}
	for _, c := range u.hc.Jar.Cookies(mustURL(u.e.url("/"))) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	return hdr
}

// dialWS opens a WebSocket to p on the replica at addr with the user's
// cookies and the given Origin, as a browser on that origin would.
func (u *user) dialWS(t testing.TB, addr, p, origin string) *fws.Conn {
	t.Helper()
	ws, resp, err := fws.DefaultDialer.Dial("ws://"+addr+p, u.wsHeader(origin))
	if err != nil {
		t.Fatalf("WebSocket %s via %s: %v (%v)", p, addr, err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func (u *user) signOut(t testing.TB) {
	t.Helper()
	resp, b := u.do(t, http.MethodPost, "/signout", strings.NewReader(url.Values{"_csrf": {u.csrf}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign out: %s %s", resp.Status, b)
	}
}

// gitShow reads a file from a branch of the user's bare repo.
func (e *env) gitShow(t testing.TB, owner, rev string) (string, error) {
	out, err := exec.Command("git", "--git-dir", e.srv.Git.RepoPath(owner), "show", rev).CombinedOutput()
	return string(out), err
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
