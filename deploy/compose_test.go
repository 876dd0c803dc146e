package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatewave.dev/shared/testenv"
)

// The stack this test runs: its own project, ports and deploy directory, so
// it clashes neither with `make run` (8480) nor with a real `make up`
// (8680). The sessions run the small FROM-scratch image to keep the test
// short; the deployment runs the same way with the Debian one.
const (
	project  = "gatewave-composetest"
	port     = "8690"
	objPort  = "8691"
	nodeName = "composetest"
)

type stack struct {
	t    *testing.T
	root string
	dir  string
	env  []string
}

func newStack(t *testing.T) *stack {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), project)
	s := &stack{t: t, root: root, dir: dir}
	s.env = append(os.Environ(),
		"GATEWAVE_PROJECT="+project, "GATEWAVE_PORT="+port, "GATEWAVE_OBJSTORE_PORT="+objPort,
		"GATEWAVE_DEPLOY_DIR="+dir, "GATEWAVE_NODE_NAME="+nodeName,
		"GATEWAVE_SESSION_IMAGE=gatewave/sessiond-scratch",
		"GATEWAVE_POOL_SIZE=1", "GATEWAVE_POOL_CPUS=0.5", "GATEWAVE_POOL_MEMORY_MIB=512",
		"GATEWAVE_POOL_DISK_MIB=256", "GATEWAVE_POOL_OVERSUBSCRIBE=-1")
	return s
}

// run runs a command from the repository root with the stack's variables
// and returns its output (stdout and stderr), failing the test with it when
// the command fails.
func (s *stack) run(ctx context.Context, name string, args ...string) string {
	s.t.Helper()
	out, _ := s.exec(ctx, true, name, args...)
	return out
}

// stdout is run's stdout alone.
func (s *stack) stdout(ctx context.Context, name string, args ...string) string {
	s.t.Helper()
	out, _ := s.exec(ctx, false, name, args...)
	return out
}

func (s *stack) exec(ctx context.Context, both bool, name string, args ...string) (string, string) {
	s.t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = s.root, s.env
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if both {
		cmd.Stderr = &out
	}
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errs.String())
	}
	return out.String(), errs.String()
}

// remove tears the stack down with its volumes and deploy directory.
func (s *stack) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "scripts/deploy.sh", "compose", "down", "-v", "--remove-orphans")
	cmd.Dir, cmd.Env = s.root, s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Errorf("compose down -v: %v\n%s", err, out)
	}
	// The pool's containers (the gateway removes them on a clean stop; a
	// failed test may leave some) and the deploy directory's shared mount.
	if ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.gatewave.pool="+project).Output(); len(bytes.TrimSpace(ids)) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(ids))...)...).Run()
	}
	_ = exec.Command("umount", "-R", filepath.Join(s.dir, "nodegw")).Run()
	if err := os.RemoveAll(s.dir); err != nil {
		s.t.Errorf("remove %s: %v", s.dir, err)
	}
}

func (s *stack) secret(name string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, "secrets", name))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

type node struct {
	Name            string `json:"name"`
	Status          string `json:"status"`
	Version         string `json:"version"`
	VersionMismatch bool   `json:"version_mismatch"`
}

// node reads the gateway's node through the operator API.
func (s *stack) node(ctx context.Context) node {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+port+"/api/v1/nodes/"+nodeName, nil)
	req.Header.Set("Authorization", "Bearer "+s.secret("admin-token"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Node node }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("GET node: %d %v", resp.StatusCode, err)
	}
	return out.Node
}

// browser signs in and acts through the published entry as a person would.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: "http://127.0.0.1:" + port, hc: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path, accept string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept == "" {
		accept = "text/html,application/xhtml+xml"
	}
	req.Header.Set("Accept", accept)
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) signIn(name, password string) {
	b.t.Helper()
	_, page := b.do("GET", "/signin", "", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field on /signin:\n%s", page)
	}
	if resp, body := b.do("POST", "/signin", "", url.Values{"_csrf": {m[1]}, "name": {name}, "password": {password}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.t.Fatalf("sign in as %s: %d %s", name, resp.StatusCode, body)
	}
}

func (b *browser) csrf() string {
	b.t.Helper()
	resp, page := b.do("GET", "/", "", nil)
	m := csrfRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		b.t.Fatalf("GET / = %d without a CSRF field", resp.StatusCode)
	}
	return m[1]
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// `make up` brings the stack up with docker-compose and a gateway joins as
// a node with this release's version; a user made by the first admin opens
// a session through the published entry and pushes work to their repo;
// `make down` and `make up` keep the user, the repo's refs and the node.
func TestComposeUpDownUp(t *testing.T) {
	testenv.Docker(t)
	testenv.LookPath(t, "docker-compose")
	testenv.LookPath(t, "mmdebstrap")
	ctx := testenv.Context(t, 25*time.Minute)
	s := newStack(t)
	s.remove() // what an earlier, interrupted run left
	t.Cleanup(s.remove)
	version, err := os.ReadFile(filepath.Join(s.root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	wantVersion := strings.TrimSpace(string(version))

	out := s.run(ctx, "make", "--no-print-directory", "up")
	if !strings.Contains(out, "http://127.0.0.1:"+port+"/") || !strings.Contains(out, filepath.Join(s.dir, "secrets", "admin-password")) {
		t.Fatalf("make up did not print the URL and the admin's password file:\n%s", out)
	}
	if n := s.node(ctx); n.Status != "online" || n.Version != wantVersion || n.VersionMismatch {
		t.Fatalf("gateway node %+v, want online at version %s without a mismatch", n, wantVersion)
	}
	list := s.run(ctx, "bash", "scripts/deploy.sh", "compose", "exec", "-T", "cloud", "/usr/local/bin/gatewave-entrypoint", "cli", "node", "list")
	if !strings.Contains(list, nodeName) || !strings.Contains(list, wantVersion) || strings.Contains(list, "MISMATCH") {
		t.Fatalf("cloud node list:\n%s", list)
	}
	// The database has no network: no interface but loopback, and no TCP
	// listener even there (only its unix socket, in a volume).
	if mode := strings.TrimSpace(s.run(ctx, "bash", "-c", `docker inspect -f '{{.HostConfig.NetworkMode}}' $(bash scripts/deploy.sh compose ps -q postgres)`)); mode != "none" {
		t.Fatalf("postgres network mode %q, want none", mode)
	}
	for _, l := range strings.Split(s.run(ctx, "bash", "scripts/deploy.sh", "compose", "exec", "-T", "postgres", "cat", "/proc/net/tcp", "/proc/net/tcp6"), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[3] == "0A" {
			t.Fatalf("postgres has a TCP listener: %s", l)
		}
	}

	// The first admin adds a user, who signs in and starts a session.
	admin := newBrowser(t)
	admin.signIn("admin", s.secret("admin-password"))
	if resp, body := admin.do("POST", "/admin/users", "", url.Values{"_csrf": {admin.csrf()}, "name": {"alice"}, "password": {"alice-password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add alice: %d %s", resp.StatusCode, body)
	}
	alice := newBrowser(t)
	alice.signIn("alice", "alice-password")
	if resp, body := alice.do("POST", "/api/v1/sessions", "", url.Values{"_csrf": {alice.csrf()}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start a session: %d %s", resp.StatusCode, body)
	}
	var se struct{ ID, State, URL string }
	for deadline := time.Now().Add(5 * time.Minute); ; {
		resp, body := alice.do("GET", "/api/v1/sessions", "application/json", nil)
		if resp.StatusCode == 200 && json.Unmarshal([]byte(body), &se) == nil && se.State == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session not ready: %d %s", resp.StatusCode, body)
		}
		time.Sleep(time.Second)
	}
	resp, ide := alice.do("GET", "/s/"+se.ID+"/", "", nil)
	// The IDE itself (sessiond built after the frontend, as `make test`
	// does), not sessiond's page for a binary without it.
	if resp.StatusCode != 200 || !strings.Contains(ide, "<title>Gatewave</title>") || !strings.Contains(ide, `id="app"`) {
		t.Fatalf("GET /s/%s/ = %d:\n%.300s", se.ID, resp.StatusCode, ide)
	}

	// Work pushed to the repo through the entry's git host.
	remote := fmt.Sprintf("http://alice:alice-password@127.0.0.1:%s/git/alice.git", port)
	work := t.TempDir()
	git(t, work, "clone", "-q", remote, "w")
	w := filepath.Join(work, "w")
	if err := os.WriteFile(filepath.Join(w, "survives.txt"), []byte("kept across down and up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, w, "add", "survives.txt")
	git(t, w, "commit", "-qm", "work that must survive")
	git(t, w, "push", "-q", "origin", "HEAD")
	head := git(t, w, "rev-parse", "HEAD")
	branch := git(t, w, "rev-parse", "--abbrev-ref", "HEAD")

	// The backup job runs (the daemon waits for its hour) and a backup
	// made in its container, with its settings, holds alice's repo.
	if st := strings.TrimSpace(s.run(ctx, "bash", "-c", `docker inspect -f '{{.State.Status}} {{.RestartCount}}' $(bash scripts/deploy.sh compose ps -q backup)`)); st != "running 0" {
		t.Fatalf("backup service: %q, want running without restarts\n%s", st, s.run(ctx, "bash", "scripts/deploy.sh", "compose", "logs", "--tail", "20", "backup"))
	}
	file := strings.TrimSpace(s.stdout(ctx, "bash", "scripts/deploy.sh", "compose", "exec", "-T", "backup", "gatewave-entrypoint", "cli", "backup", "run", "--dir", "/backups"))
	if v := s.run(ctx, "bash", "scripts/deploy.sh", "compose", "exec", "-T", "backup", "gatewave-entrypoint", "cli", "backup", "verify", file); !strings.Contains(v, "is intact") {
		t.Fatalf("backup verify %s:\n%s", file, v)
	}

	s.run(ctx, "make", "--no-print-directory", "down")
	if ps := s.run(ctx, "bash", "scripts/deploy.sh", "compose", "ps", "-q"); strings.TrimSpace(ps) != "" {
		t.Fatalf("containers left after make down:\n%s", ps)
	}
	s.run(ctx, "make", "--no-print-directory", "up")

	if n := s.node(ctx); n.Status != "online" || n.Version != wantVersion {
		t.Fatalf("after down and up: node %+v", n)
	}
	again := newBrowser(t)
	again.signIn("alice", "alice-password")
	refs := git(t, work, "ls-remote", remote, "refs/heads/"+branch)
	if !strings.HasPrefix(refs, head) {
		t.Fatalf("after down and up: %s is %q, want %s", branch, refs, head)
	}
	git(t, work, "clone", "-q", remote, "again")
	if b, err := os.ReadFile(filepath.Join(work, "again", "survives.txt")); err != nil || string(b) != "kept across down and up\n" {
		t.Fatalf("after down and up: survives.txt = %q, %v", b, err)
	}
}
