//go:build linux

package sessions

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"golang.org/x/sys/unix"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/savefmt"
	"gatewave.dev/shared/testenv"
)

// node is one compute node's session service on a real dockerd, with the
// FROM-scratch image of this tree (sessiond, git, busybox).
type node struct {
	t    testing.TB
	pool *pool.Pool
	svc  *Service
	dir  string
	own  map[string]string // sessiond's own answers to the attack's requests

	smu    sync.Mutex
	seen   map[string]time.Time // container → when it was first reported starting
	starts []time.Duration      // container cold starts (first report to idle)
}

// track records cold starts from the pool's reports.
func (n *node) track(cs []pool.Container) {
	n.smu.Lock()
	defer n.smu.Unlock()
	for _, c := range cs {
		switch c.State {
		case pool.Starting:
			if _, ok := n.seen[c.ID]; !ok {
				n.seen[c.ID] = time.Now()
			}
		case pool.Idle:
			if t0, ok := n.seen[c.ID]; ok && !t0.IsZero() {
				n.starts = append(n.starts, time.Since(t0))
				n.seen[c.ID] = time.Time{}
			}
		}
	}
}

const mib = int64(1) << 20

func shortTempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "gwsess")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func newNode(t testing.TB, count int, mod func(*pool.Options)) *node {
	t.Helper()
	testenv.BuildSessiondImage(t)
	dir := shortTempDir(t)
	n := &node{t: t, dir: dir, seen: map[string]time.Time{}}
	opts := pool.Options{
		Image: testenv.SessiondImage, StateDir: filepath.Join(dir, "pool"),
		Classes:        []pool.Class{{Name: "standard", Size: pool.Size{CPUs: 0.5, MemoryBytes: 256 * mib, Pids: 96, DiskBytes: 64 * mib}, Count: count}},
		Name:           fmt.Sprintf("gwsess-%d", time.Now().UnixNano()%1e7),
		HealthInterval: 200 * time.Millisecond, ProbeTimeout: time.Second, UnhealthyAfter: 2 * time.Second,
		RetryMin: 100 * time.Millisecond, RetryMax: time.Second,
		Autosave: func(ctx context.Context, c pool.Container) error { return n.svc.Autosave(ctx, c) },
		OnChange: func(cs []pool.Container) { n.track(cs); n.svc.OnChange(cs) },
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := pool.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n.pool = p
	var log *slog.Logger
	if os.Getenv("NODEGW_TEST_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n.svc, err = New(Options{Pool: p, Cache: &gitcache.Cache{Dir: filepath.Join(dir, "git")}, Dir: filepath.Join(dir, "sessions"), AutosaveInterval: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		sctx, c := context.WithTimeout(context.Background(), testenv.WaitLong)
		defer c()
		if err := p.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	n.waitFor("the pool to fill", func() bool { return p.Counts()[pool.Idle] == count })
	return n
}

func (n *node) waitFor(what string, cond func() bool) {
	n.t.Helper()
	ctx := testenv.Context(n.t, testenv.WaitLong)
	for !cond() {
		select {
		case <-ctx.Done():
			n.t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitcache.Git(context.Background(), "", dir, []string{"GIT_AUTHOR_NAME=U", "GIT_AUTHOR_EMAIL=u@localhost",
		"GIT_COMMITTER_NAME=U", "GIT_COMMITTER_EMAIL=u@localhost"}, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// origin is the user's repo (a local path stands in for the cloud's git
// host): main with a Verilog file.
func origin(t testing.TB) string {
	root := t.TempDir()
	bare := filepath.Join(root, "alice.git")
	git(t, root, "init", "-q", "--bare", "--initial-branch=main", bare)
	git(t, bare, "config", "receive.denyNonFastForwards", "true")
	seed := filepath.Join(root, "seed")
	git(t, root, "clone", "-q", bare, seed)
	os.WriteFile(filepath.Join(seed, "blinky.v"), []byte("module blinky; endmodule\n"), 0o644)
	os.WriteFile(filepath.Join(seed, ".gitignore"), []byte("build/\n"), 0o644)
	git(t, seed, "add", ".")
	git(t, seed, "commit", "-qm", "start")
	git(t, seed, "push", "-q", "origin", "HEAD:main")
	return bare
}

func (n *node) claim(session, repo string) (pool.Container, fleetproto.ClaimResult) {
	n.t.Helper()
	var id string
	for _, c := range n.pool.Snapshot() {
		if c.State == pool.Idle {
			id = c.ID
			break
		}
	}
	if id == "" {
		n.t.Fatal("no idle container")
	}
	args, _ := json.Marshal(fleetproto.ClaimArgs{Container: id, Session: session, Repo: fleetproto.Repo{URL: repo}})
	out, err := n.svc.claim(testenv.Context(n.t, testenv.WaitLong), &fleetproto.Command{Args: args})
	if err != nil {
		n.t.Fatalf("claim: %v", err)
	}
	var res fleetproto.ClaimResult
	json.Unmarshal(out, &res)
	c, _ := n.pool.Get(id)
	return c, res
}

func (n *node) release(c pool.Container) {
	n.t.Helper()
	args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: c.ID, Session: c.Owner})
	if _, err := n.svc.release(testenv.Context(n.t, testenv.WaitLong), &fleetproto.Command{Args: args}); err != nil {
		n.t.Fatalf("release: %v", err)
	}
	n.waitFor("the released container to go", func() bool { _, ok := n.pool.Get(c.ID); return !ok })
}

// termOpen opens the IDE's terminal (sessiond's PTY, reached the way the
// tunnel reaches it) and types line into it.
func (n *node) termOpen(c pool.Container, line string) *websocket.Conn {
	n.t.Helper()
	ctx := testenv.Context(n.t, testenv.WaitLong)
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return n.pool.Dial(ctx, c.ID) }}
	ws, _, err := d.DialContext(ctx, "ws://sessiond/api/v1/pty?access_token="+c.Token, http.Header{"Origin": {"http://sessiond"}})
	if err != nil {
		n.t.Fatalf("terminal: %v", err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte(line+"\n")); err != nil {
		n.t.Fatal(err)
	}
	return ws
}

// term runs script in the IDE's terminal and returns what it printed.
func (n *node) term(c pool.Container, script string) string {
	n.t.Helper()
	// The end marker is typed split so the echo of the line never matches.
	ws := n.termOpen(c, "stty -echo; "+script+"; echo __E''ND__; exit")
	defer ws.Close()
	var out bytes.Buffer
	for !bytes.Contains(out.Bytes(), []byte("__END__")) {
		ws.SetReadDeadline(time.Now().Add(testenv.WaitLong))
		mt, msg, err := ws.ReadMessage()
		if err != nil {
			n.t.Fatalf("terminal read: %v (so far: %q)", err, out.String())
		}
		if mt == websocket.BinaryMessage {
			out.Write(msg)
		}
	}
	s := strings.ReplaceAll(out.String(), "\r\n", "\n")
	s, _, _ = strings.Cut(s, "__END__")
	return s
}

// A user's next session resumes on the branch they were on, with its
// commits, what was staged, uncommitted edits and untracked files; their
// branches on the remote are never rewritten.
func TestSignOutAndInResumesTheWorkspace(t *testing.T) {
	repo := origin(t) // first: cleanups run last-in first-out, and the node saves into it
	n := newNode(t, 2, nil)
	main := git(t, repo, "rev-parse", "main")
	c1, r1 := n.claim("session-one1", repo)
	if r1.Branch != "main" || r1.Commit != main || r1.Resumed != "" {
		t.Fatalf("first claim = %+v", r1)
	}
	out := n.term(c1, `cd /workspace && export GIT_AUTHOR_NAME=A GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=A GIT_COMMITTER_EMAIL=a@x &&
git checkout -q -b feature && echo '// alu' > alu.v && git add alu.v && git commit -qm alu &&
echo 'module blinky(input clk); endmodule' > blinky.v && echo staged > staged.txt && git add staged.txt &&
echo notes > notes.txt && mkdir -p build && echo junk > build/out.bin && git status --porcelain=v1 -b && git rev-parse HEAD`)
	status, head := splitStatus(t, out)
	n.release(c1)
	if got := git(t, repo, "rev-parse", "main"); got != main {
		t.Fatal("the autosave moved main")
	}
	if _, err := gitcache.Git(t.Context(), "", repo, nil, "rev-parse", "--verify", "-q", "refs/heads/feature"); err == nil {
		t.Fatal("the node pushed the user's branch")
	}

	c2, r2 := n.claim("session-two2", repo)
	if r2.Branch != "feature" || r2.Commit != head || r2.Resumed == "" {
		t.Fatalf("resumed claim = %+v, want feature at %s", r2, head)
	}
	out = n.term(c2, `cd /workspace && git status --porcelain=v1 -b && git rev-parse HEAD && cat blinky.v notes.txt && ls build 2>&1; git show :staged.txt; id -u`)
	status2, head2 := splitStatus(t, out)
	if head2 != head || firstLine(status2) != "## feature" || trimFirst(status2) != trimFirst(status) {
		t.Fatalf("after resume:\n%s\nwant:\n%s", out, status)
	}
	for _, want := range []string{"input clk", "notes", "No such file", "staged", "1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("after resume: %q missing from\n%s", want, out)
		}
	}
}

func splitStatus(t testing.TB, out string) (status, head string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var st []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if savefmt.ValidCommit(l) {
			return strings.Join(st, "\n"), l
		}
		if strings.HasPrefix(l, "##") || (len(l) > 2 && (l[2] == ' ' || strings.HasPrefix(l, "??"))) {
			st = append(st, l)
		}
	}
	t.Fatalf("no HEAD in terminal output:\n%s", out)
	return "", ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.Fields(l + " x")[0] + " " + strings.Fields(l + " x x")[1]
}
func trimFirst(s string) string { _, rest, _ := strings.Cut(s, "\n"); return rest }

// `docker kill` a claimed container a second after a save: the next
// container has the work, saved from the dead container's disk.
func TestKilledContainerKeepsTheWork(t *testing.T) {
	repo := origin(t) // first: cleanups run last-in first-out, and the node saves into it
	n := newNode(t, 2, nil)
	c1, _ := n.claim("session-kill", repo)
	n.term(c1, `echo saved > /workspace/edit.txt`)
	if _, err := n.svc.Save(t.Context(), c1.ID); err != nil {
		t.Fatal(err)
	}
	n.term(c1, `echo after > /workspace/later.txt`)
	time.Sleep(time.Second)
	if out, err := exec.Command("docker", "kill", c1.ID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	n.waitFor("the dead container to be saved and removed", func() bool { _, ok := n.pool.Get(c1.ID); return !ok })
	n.waitFor("a fresh container", func() bool { return n.pool.Counts()[pool.Idle] >= 1 })
	c2, r2 := n.claim("session-kil2", repo)
	if r2.Resumed == "" {
		t.Fatalf("claim after the crash did not resume: %+v", r2)
	}
	if out := n.term(c2, `cat /workspace/edit.txt /workspace/later.txt`); !strings.Contains(out, "saved") || !strings.Contains(out, "after") {
		t.Fatalf("work after the crash: %q", out)
	}
}

// The attack of issue 11 and its variants, from inside a claimed
// container: whatever replaces sessiond's socket, 50 parallel tunnel
// streams for 5 s reach nothing but that session's sessiond.
func TestSocketPathAttacksReachNothing(t *testing.T) {
	repo := origin(t)
	// Long enough that the planted socket does not get the container
	// recovered before every variant ran.
	n := newNode(t, 2, func(o *pool.Options) { o.UnhealthyAfter = 5 * time.Minute })
	victim, _ := n.claim("session-atk1", repo)
	other, _ := n.claim("session-atk2", repo)
	dockerSock := "/var/run/docker.sock"
	if _, err := os.Stat(dockerSock); err != nil {
		t.Fatalf("no %s to aim at: %v", dockerSock, err)
	}
	otherSock := filepath.Join(n.dir, "pool", "run", other.Name[strings.LastIndexByte(other.Name, '-')+1:], "sessiond.sock")

	// What this session's own sessiond answers to the attack's request:
	// any other answer came from something else.
	n.own = map[string]string{}
	for _, path := range attackPaths {
		if n.own[path] = n.ask(victim, path); n.own[path] == "" {
			t.Fatalf("sessiond does not answer %s before the attack", path)
		}
	}
	// The user (uid 1000) cannot even reach the directory.
	if out := n.term(victim, `rm -f /run/gatewave/sessiond.sock; ln -s /var/run/docker.sock /run/gatewave/sessiond.sock; echo rc=$?`); !strings.Contains(out, "rc=1") {
		t.Fatalf("the user changed sessiond's control directory:\n%s", out)
	}
	// Root in the container (which only sessiond ever is) is the worst
	// case: let it plant each variant.
	variants := map[string]string{
		"symlink to the node's dockerd":           "ln -s " + dockerSock + " /run/gatewave/sessiond.sock",
		"symlink to another container's sessiond": "ln -s " + otherSock + " /run/gatewave/sessiond.sock",
		"FIFO":         "mkfifo /run/gatewave/sessiond.sock",
		"regular file": "echo HTTP/1.1 200 OK > /run/gatewave/sessiond.sock",
	}
	for name, plant := range variants {
		t.Run(name, func(t *testing.T) {
			if out, err := exec.Command("docker", "exec", "-u", "0", victim.ID, "sh", "-c", "rm -rf /run/gatewave/sessiond.sock && "+plant).CombinedOutput(); err != nil {
				t.Fatalf("plant: %v %s", err, out)
			}
			answers, foreign := n.hammer(victim, 50, 5*time.Second)
			if foreign > 0 {
				t.Fatalf("%d of the answers came from something other than this session's sessiond", foreign)
			}
			t.Logf("%d answers, all from sessiond", answers)
		})
	}
	// The other session is untouched.
	if out := n.term(other, `echo alive`); !strings.Contains(out, "alive") {
		t.Fatalf("the other session: %q", out)
	}
}

// attackPaths are what the attack asks for: Docker's /version (what the
// issue's attacker fetched), and a route only this session's sessiond
// answers with 200 (another container's sessiond refuses the token).
var attackPaths = []string{"/version", "/api/v1/files?path=."}

// ask sends GET path through the node's side of the tunnel (serveSessiond,
// as the cloud's streams arrive) and returns the status and body of the
// answer, or "" when nothing answered.
func (n *node) ask(c pool.Container, path string) string {
	cloud, node := net.Pipe()
	defer cloud.Close()
	go n.svc.serveSessiond(context.Background(), fleetproto.StreamHeader{Target: c.ID, Meta: map[string]string{"session": c.Owner}}, node)
	cloud.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(cloud, "GET %s HTTP/1.1\r\nHost: sessiond\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", path, c.Token)
	resp, err := http.ReadResponse(bufio.NewReader(cloud), nil)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.Status + "\n" + string(b)
}

// hammer sends the attack's request from workers in parallel for d and
// counts the answers, and those that are not this session's sessiond's.
func (n *node) hammer(c pool.Container, workers int, d time.Duration) (answers, foreign int) {
	var a, f atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i++ {
				path := attackPaths[i%len(attackPaths)]
				if got := n.ask(c, path); got != "" {
					a.Add(1)
					if got != n.own[path] {
						f.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	return int(a.Load()), int(f.Load())
}

// In the IDE terminal the user is unprivileged and bounded: not root, no
// capabilities, no way into sessiond's control directory, a workspace
// that ends at its quota while the node's disk stays free, and a fork bomb
// that stops at the pids limit while another session keeps answering.
func TestTerminalIsUnprivilegedAndBounded(t *testing.T) {
	repo := origin(t) // first: cleanups run last-in first-out, and the node saves into it
	n := newNode(t, 2, nil)
	c, _ := n.claim("session-term", repo)
	other, _ := n.claim("session-oth1", repo)
	out := n.term(c, `id -u; grep CapEff /proc/self/status; touch /run/gatewave/x 2>&1; cat /run/gatewave/token 2>&1; touch /etc/x 2>&1; touch /usr/local/bin/sessiond 2>&1; echo ok > /tmp/t && echo tmp-ok; echo ok > ~/h && echo home-ok`)
	for _, want := range []string{"\n1000\n", "CapEff:\t0000000000000000", "tmp-ok", "home-ok"} {
		if !strings.Contains("\n"+out, want) {
			t.Errorf("terminal: %q missing from\n%s", want, out)
		}
	}
	if strings.Count(out, "Permission denied")+strings.Count(out, "Read-only file system") < 4 {
		t.Errorf("terminal: writes outside the workspace, /tmp and home should all fail:\n%s", out)
	}
	if strings.HasPrefix(strings.TrimSpace(out), "0\n") {
		t.Fatal("the terminal runs as root")
	}

	var before unix.Statfs_t
	unix.Statfs(n.dir, &before)
	out = n.term(c, `dd if=/dev/zero of=/workspace/big bs=1M count=200 2>&1; ls -l /workspace/big`)
	if !strings.Contains(out, "No space left") {
		t.Fatalf("dd did not stop at the quota:\n%s", out)
	}
	var after unix.Statfs_t
	unix.Statfs(n.dir, &after)
	used := (int64(before.Bavail) - int64(after.Bavail)) * int64(before.Bsize)
	if used > 80*mib {
		t.Fatalf("the node's disk lost %d MiB to a 64 MiB workspace", used>>20)
	}
	n.term(c, `rm -f /workspace/big`)

	// The bomb goes off in the terminal; the limit holds.
	bomb := n.termOpen(c, `b() { b | b & }; b`)
	defer bomb.Close()
	go func() {
		for {
			if _, _, err := bomb.ReadMessage(); err != nil {
				return
			}
		}
	}()
	time.Sleep(3 * time.Second)
	pids, err := os.ReadFile(cgroupFile(t, c.ID, "pids.current"))
	if err == nil {
		var cur int
		fmt.Sscan(string(pids), &cur)
		if cur > 96 {
			t.Fatalf("pids.current = %d over the limit 96", cur)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return n.pool.Dial(ctx, other.ID) }}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://sessiond/healthz", nil)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the other session stopped answering during the fork bomb: %v", err)
	}
	resp.Body.Close()
}

func cgroupFile(t testing.TB, id, name string) string {
	for _, p := range []string{"/sys/fs/cgroup/system.slice/docker-" + id + ".scope/" + name, "/sys/fs/cgroup/docker/" + id + "/" + name,
		"/sys/fs/cgroup/pids/docker/" + id + "/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/nonexistent"
}

// A claim the cloud gave up before it was ever ready is discarded without
// a save, and only by the session that holds it.
func TestDiscardAbandonedClaim(t *testing.T) {
	repo := origin(t)
	n := newNode(t, 1, nil)
	c, _ := n.claim("session-disc", repo)
	args, _ := json.Marshal(fleetproto.ReleaseArgs{Container: c.ID, Session: "session-othr"})
	if _, err := n.svc.discard(t.Context(), &fleetproto.Command{Args: args}); err == nil {
		t.Fatal("another session discarded the claim")
	}
	args, _ = json.Marshal(fleetproto.ReleaseArgs{Container: c.ID, Session: "session-disc"})
	if _, err := n.svc.discard(t.Context(), &fleetproto.Command{Args: args}); err != nil {
		t.Fatal(err)
	}
	n.waitFor("the discarded container to go", func() bool { _, ok := n.pool.Get(c.ID); return !ok })
	if _, err := gitcache.Git(t.Context(), "", repo, nil, "rev-parse", "--verify", "-q", "refs/heads/"+savefmt.Branch); err == nil {
		t.Fatal("a discarded claim was saved")
	}
	n.waitFor("a fresh container", func() bool { return n.pool.Counts()[pool.Idle] == 1 })
}
