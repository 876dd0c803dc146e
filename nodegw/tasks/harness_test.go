package tasks

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const (
	gitUser = "task-reader"
	gitPass = "s3cret-git-password"
)

// world is what every test here shares: a git host serving a code repo
// and an env repo (basic auth checked), an object store standing in for
// presigned URLs, and dockerd.
type world struct {
	dc       *client.Client
	gitURL   string // base URL of the git host
	codeURL  string
	envURL   string
	codeV1   string // first commit of the code repo (not its tip)
	codeV2   string
	envHead  string
	objects  *objectStore
	gitLog   *bytes.Buffer
	hits     *hitServer // where the build-network attacks point
	cleanups []func()
}

// hitServer is a loopback HTTP server that records every request.
type hitServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []string
}

func newHitServer() *hitServer {
	h := &hitServer{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits = append(h.hits, r.Method+" "+r.URL.Path)
		h.mu.Unlock()
		rw.Write([]byte("fetched from the node's network\n"))
	}))
	return h
}

func (h *hitServer) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hits...)
}

// onbuildImage is a local image with an ONBUILD ADD trigger (made by
// TestBuildFetchesNothing with dockerd directly).
const onbuildImage = "gatewave-test/onbuild-add:1"

// networkAttacks are Dockerfiles (envs/<name>/Dockerfile) that try to
// make dockerd fetch from the node's network during the build, each with
// what the task's failure must say.
func networkAttacks(img, url string) map[string][2]string {
	pad := strings.Repeat("# padding to over a MiB\n", 1<<20/24+1)
	return map[string][2]string{
		"add-arg":      {"FROM " + img + "\nARG U=" + url + "/arg\nADD $U /x\n", "ADD is not allowed: use COPY; ADD fetches URLs on the node's network"},
		"add-env":      {"FROM " + img + "\nENV U=" + url + "/env\nADD ${U} /x\n", "ADD is not allowed"},
		"add-split":    {"FROM " + img + "\nA\\\nDD " + url + "/split /x\n", "ADD is not allowed"},
		"add-lower":    {"FROM " + img + "\n  add " + url + "/lower /x\n", "ADD is not allowed"},
		"add-escape":   {"# escape=`\nFROM " + img + "\nRUN true \\\nADD " + url + "/escape /x\n", "parser directives (# escape=, # syntax=) are not allowed"},
		"add-syntax":   {"# syntax=docker/dockerfile:1\nFROM " + img + "\nADD " + url + "/syntax /x\n", "parser directives"},
		"add-big":      {"FROM " + img + "\n" + pad + "ADD " + url + "/big /x\n", "over the limit of 1048576 (1 MiB)"},
		"add-longline": {"FROM " + img + "\n# " + strings.Repeat("x", 600<<10) + "\nADD " + url + "/long /x\n", "line 2 is longer than"},
		"add-hugeline": {"FROM " + img + "\n# " + strings.Repeat("x", 1100<<10) + "\nADD " + url + "/huge /x\n", "over the limit of 1048576 (1 MiB)"},
		"from-onbuild": {"FROM " + onbuildImage + "\n", "the image's trigger ONBUILD ADD " + url + "/base-trigger /x: line 2: ADD is not allowed"},
		"add-onbuild":  {"FROM " + img + "\nONBUILD \\\n  AdD " + url + "/onbuild /x\n", "ADD is not allowed"},
	}
}

var (
	worldOnce sync.Once
	shared    *world
	worldErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		for _, f := range shared.cleanups {
			f()
		}
	}
	os.Exit(code)
}

func getWorld(t *testing.T) *world {
	t.Helper()
	testenv.Docker(t)
	testenv.LookPath(t, "git")
	img := testenv.BuildSessiondImage(t)
	worldOnce.Do(func() { shared, worldErr = newWorld(img) })
	if worldErr != nil {
		t.Fatalf("test world: %v", worldErr)
	}
	return shared
}

func gitRun(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@localhost", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@localhost")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// makeRepo creates root/name.git from commits (each a map of path to
// content; content "->target" makes a symlink) and returns the commit ids.
func makeRepo(root, name string, commits ...map[string]string) ([]string, error) {
	work := filepath.Join(root, "work-"+name)
	if _, err := gitRun(root, "init", "--quiet", "-b", "main", work); err != nil {
		return nil, err
	}
	var ids []string
	for i, files := range commits {
		for p, content := range files {
			full := filepath.Join(work, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return nil, err
			}
			os.Remove(full)
			var err error
			if target, ok := strings.CutPrefix(content, "->"); ok {
				err = os.Symlink(target, full)
			} else {
				mode := os.FileMode(0o644)
				if strings.HasSuffix(p, ".sh") {
					mode = 0o755
				}
				err = os.WriteFile(full, []byte(content), mode)
			}
			if err != nil {
				return nil, err
			}
		}
		if _, err := gitRun(work, "add", "-A"); err != nil {
			return nil, err
		}
		if _, err := gitRun(work, "commit", "--quiet", "-m", fmt.Sprintf("commit %d", i)); err != nil {
			return nil, err
		}
		id, err := gitRun(work, "rev-parse", "HEAD")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if _, err := gitRun(root, "clone", "--quiet", "--bare", work, filepath.Join(root, name+".git")); err != nil {
		return nil, err
	}
	return ids, nil
}

func newWorld(img string) (*world, error) {
	root, err := os.MkdirTemp("", "tasks-test-")
	if err != nil {
		return nil, err
	}
	w := &world{gitLog: &bytes.Buffer{}}
	w.cleanups = append(w.cleanups, func() { os.RemoveAll(root) })
	code, err := makeRepo(root, "code",
		map[string]string{"hello.txt": "hello v1\n", "link": "->hello.txt", "sub/run.sh": "#!/bin/sh\necho sub\n"},
		map[string]string{"hello.txt": "hello v2\n"})
	if err != nil {
		return nil, err
	}
	w.codeV1, w.codeV2 = code[0], code[1]
	w.hits = newHitServer()
	w.cleanups = append(w.cleanups, w.hits.srv.Close)
	envFiles := map[string]string{
		"envs/a/Dockerfile":        "FROM " + img + "\nRUN echo built-a > /env-a.txt\n",
		"envs/b/Dockerfile":        "ARG BASE=" + img + "\nFROM ${BASE} AS base\nRUN echo built-b > /env-b.txt\nFROM base\nRUN cat /env-b.txt\n",
		"envs/common/Dockerfile":   "FROM " + img + "\nRUN echo common > /env-common.txt\n",
		"envs/twice/Dockerfile":    "FROM " + img + "\nRUN echo twice > /env-twice.txt\n",
		"envs/registry/Dockerfile": "FROM gatewave-test/absent:never\nRUN true\n",
		"envs/slow/Dockerfile":     "FROM " + img + "\nRUN echo build-started; sleep 300 # slow-build-marker\n",
		"envs/slow2/Dockerfile":    "FROM " + img + "\nRUN echo build-started; sleep 301 # slow2-build-marker\n",
	}
	for name, c := range networkAttacks(img, w.hits.srv.URL) {
		envFiles["envs/"+name+"/Dockerfile"] = c[0]
	}
	env, err := makeRepo(root, "env", envFiles)
	if err != nil {
		return nil, err
	}
	w.envHead = env[0]

	// The git host, as cloud/githost serves it: git http-backend behind
	// basic auth.
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, err
	}
	backend := &cgi.Handler{
		Path:   gitBin,
		Args:   []string{"http-backend"},
		Root:   "/git",
		Env:    []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
		Stderr: w.gitLog,
	}
	var mu sync.Mutex
	gitSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(gitUser+":"+gitPass)) != 1 {
			rw.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		backend.ServeHTTP(rw, r)
	}))
	w.cleanups = append(w.cleanups, gitSrv.Close)
	w.gitURL = gitSrv.URL
	w.codeURL = gitSrv.URL + "/git/code.git"
	w.envURL = gitSrv.URL + "/git/env.git"

	w.objects = newObjectStore()
	w.cleanups = append(w.cleanups, w.objects.srv.Close)

	w.dc, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	w.cleanups = append(w.cleanups, func() {
		ctx := context.Background()
		list, err := w.dc.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelEnvURL+"="+w.envURL))})
		if err != nil {
			return
		}
		for _, im := range list {
			_, _ = w.dc.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	return w, nil
}

// objectStore stands in for presigned GET and PUT URLs.
type objectStore struct {
	srv  *httptest.Server
	mu   sync.Mutex
	objs map[string][]byte
	puts []string
}

const presignSig = "X-Sig=presigned-signature-value"

func newObjectStore() *objectStore {
	s := &objectStore{objs: map[string][]byte{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != presignSig {
			http.Error(rw, "bad signature", http.StatusForbidden)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			b, ok := s.objs[r.URL.Path]
			if !ok {
				http.NotFound(rw, r)
				return
			}
			rw.Write(b)
		case http.MethodPut:
			if r.ContentLength < 0 {
				http.Error(rw, "Content-Length required", http.StatusLengthRequired)
				return
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(rw, err.Error(), 400)
				return
			}
			s.objs[r.URL.Path] = b
			s.puts = append(s.puts, r.URL.Path)
		default:
			http.Error(rw, "method", http.StatusMethodNotAllowed)
		}
	}))
	return s
}

func (s *objectStore) url(key string) string { return s.srv.URL + "/" + key + "?" + presignSig }

func (s *objectStore) put(key string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs["/"+key] = b
}

func (s *objectStore) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objs["/"+key]
	return b, ok
}

// recorder collects what a Runner reports.
type recorder struct {
	mu      sync.Mutex
	updates map[key][]fleetproto.TaskUpdate
	logs    map[key][]fleetproto.TaskLog
	changed chan struct{}
	invalid []string // messages the cloud would refuse
}

// wireCheck round-trips m through the control protocol's codec, which
// validates it as the cloud does.
func (c *recorder) wireCheck(m fleetproto.Message) {
	b, err := fleetproto.Encode(m)
	if err == nil {
		_, err = fleetproto.Decode(b)
	}
	if err != nil {
		c.mu.Lock()
		c.invalid = append(c.invalid, fmt.Sprintf("%+v: %v", m, err))
		c.mu.Unlock()
	}
}

func newRecorder() *recorder {
	return &recorder{updates: map[key][]fleetproto.TaskUpdate{}, logs: map[key][]fleetproto.TaskLog{}, changed: make(chan struct{}, 1)}
}

func (c *recorder) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *recorder) report(u *fleetproto.TaskUpdate) {
	c.wireCheck(u)
	c.mu.Lock()
	c.updates[key{u.ID, u.Attempt}] = append(c.updates[key{u.ID, u.Attempt}], *u)
	c.mu.Unlock()
	c.poke()
}

func (c *recorder) log(l *fleetproto.TaskLog) error {
	c.wireCheck(l)
	c.mu.Lock()
	c.logs[key{l.ID, l.Attempt}] = append(c.logs[key{l.ID, l.Attempt}], *l)
	c.mu.Unlock()
	c.poke()
	return nil
}

func (c *recorder) text(k key) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.logs[k] {
		b.Write(l.Data)
	}
	return b.String()
}

// waitFor waits until cond holds for k's updates and log.
func (c *recorder) waitFor(t *testing.T, k key, d time.Duration, what string, cond func([]fleetproto.TaskUpdate, string) bool) []fleetproto.TaskUpdate {
	t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		us := append([]fleetproto.TaskUpdate(nil), c.updates[k]...)
		c.mu.Unlock()
		if cond(us, c.text(k)) {
			return us
		}
		select {
		case <-c.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("task %v: no %s within %v; updates %+v; log:\n%s", k, what, d, us, c.text(k))
		}
	}
}

func (c *recorder) final(t *testing.T, k key, d time.Duration) ([]fleetproto.TaskUpdate, fleetproto.TaskUpdate) {
	t.Helper()
	us := c.waitFor(t, k, d, "final state", func(us []fleetproto.TaskUpdate, _ string) bool {
		return len(us) > 0 && fleetproto.TaskTerminal(us[len(us)-1].State)
	})
	return us, us[len(us)-1]
}

type fixture struct {
	w   *world
	r   *Runner
	rec *recorder
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := getWorld(t)
	rec := newRecorder()
	dir := t.TempDir()
	r, err := New(Options{Docker: w.dc, StateDir: dir, Report: rec.report, Log: rec.log,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, m := range rec.invalid {
			t.Errorf("a message the cloud would refuse: %s", m)
		}
	})
	return &fixture{w: w, r: r, rec: rec, dir: dir}
}

var nextID int64 = 1000

// args is a task running argv in envs/<env>/Dockerfile at the code repo's
// first commit.
func (f *fixture) args(env string, argv []string) fleetproto.TaskRunArgs {
	nextID++
	return fleetproto.TaskRunArgs{
		ID: nextID, Attempt: 1,
		Code:           fleetproto.TaskRepo{URL: f.w.codeURL, Commit: f.w.codeV1, Username: gitUser, Password: gitPass},
		Env:            fleetproto.TaskRepo{URL: f.w.envURL, Commit: f.w.envHead, Username: gitUser, Password: gitPass},
		DockerfilePath: "envs/" + env + "/Dockerfile",
		Command:        argv,
		CPUs:           1, MemoryBytes: 256 << 20, TimeoutMS: 60_000,
	}
}

func command(name string, v any) *fleetproto.Command {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &fleetproto.Command{ID: 1, Name: name, Args: b}
}

// start sends CommandTaskRun and checks it is accepted.
func (f *fixture) start(t *testing.T, a fleetproto.TaskRunArgs) key {
	t.Helper()
	res, err := f.r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a))
	if err != nil {
		t.Fatalf("task.run: %v", err)
	}
	var acc fleetproto.TaskAccepted
	if err := json.Unmarshal(res, &acc); err != nil || !acc.Accepted {
		t.Fatalf("task.run answered %s (%v)", res, err)
	}
	return key{a.ID, a.Attempt}
}

// run starts a task and waits for its end.
func (f *fixture) run(t *testing.T, a fleetproto.TaskRunArgs) ([]fleetproto.TaskUpdate, fleetproto.TaskUpdate, string) {
	t.Helper()
	k := f.start(t, a)
	us, fin := f.rec.final(t, k, 3*time.Minute)
	f.checkGone(t, k)
	return us, fin, f.rec.text(k)
}

// checkGone checks that the task's container and directories are gone.
func (f *fixture) checkGone(t *testing.T, k key) {
	t.Helper()
	if _, err := f.w.dc.ContainerInspect(context.Background(), f.r.ContainerName(k.id, k.attempt)); !cerrdefs.IsNotFound(err) {
		t.Errorf("task %v: container still there after the task ended (inspect: %v)", k, err)
	}
	if _, err := os.Lstat(filepath.Join(f.dir, "tasks", k.String())); !os.IsNotExist(err) {
		t.Errorf("task %v: its directory is still there (%v)", k, err)
	}
}

func states(us []fleetproto.TaskUpdate) []string {
	var s []string
	for _, u := range us {
		if len(s) == 0 || s[len(s)-1] != u.State {
			s = append(s, u.State)
		}
	}
	return s
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }
