package tasks_test

import (
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
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/objstore"
	"gatewave.dev/cloud/server"
	"gatewave.dev/cloud/tasks"
	"gatewave.dev/nodegw/backoff"
	"gatewave.dev/nodegw/gateway"
	nodetasks "gatewave.dev/nodegw/tasks"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const (
	adminToken = "test-admin-token-0123456789"
	password   = "correct horse battery"
)

func quiet() *slog.Logger {
	if os.Getenv("GATEWAVE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// cloudEnv is a real cloud (PostgreSQL, git host, scheduler, object store)
// with nodes made of a real gateway and task runner on the real dockerd.
type cloudEnv struct {
	t       testing.TB
	srv     *server.Server
	addr    string
	gitRoot string
	store   *objstore.Store
	docker  *client.Client
	commit  string // ada's repo: envs/a, envs/b, code
}

type fleetNode struct {
	name   string
	runner *nodetasks.Runner
	stopGW context.CancelFunc
	gwDone chan struct{}
}

func newCloudEnv(t testing.TB) *cloudEnv {
	t.Helper()
	testenv.BuildSessiondImage(t)
	testenv.LookPath(t, "git")
	s3 := testenv.ObjectStoreURL(t)
	o, err := objstore.ParseURL(s3)
	if err != nil {
		t.Fatal(err)
	}
	st, err := objstore.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, db := dbtest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &cloudEnv{t: t, addr: ln.Addr().String(), gitRoot: filepath.Join(t.TempDir(), "git"), store: st}
	e.srv, err = server.New(server.Options{
		Pool: db, AdminToken: adminToken, Logger: quiet(),
		Fleet: fleet.Options{Replica: "r1", HeartbeatInterval: 200 * time.Millisecond, OfflineAfter: 2 * time.Second,
			SweepInterval: 100 * time.Millisecond, FlushInterval: 50 * time.Millisecond, Grace: time.Millisecond},
		GitRoot: e.gitRoot, GitURL: "http://" + e.addr + "/git",
		Accounts: accounts.Options{Argon2: accounts.Argon2Params{MemoryKiB: 64, Time: 1}},
		Tasks:    tasks.Options{Objects: st, Interval: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	if _, err := e.srv.Accounts.AddUser(context.Background(), "ada", password); err != nil {
		t.Fatal(err)
	}
	if !e.srv.Git.Exists("ada") {
		if err := e.srv.Git.Create(context.Background(), "ada"); err != nil {
			t.Fatal(err)
		}
	}
	if e.docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The environment images this test's repo made.
		ctx := context.Background()
		list, _ := e.docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", nodetasks.LabelEnvURL+"=http://"+e.addr+"/git/ada.git"))})
		for _, im := range list {
			_, _ = e.docker.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	e.commit = e.commitFiles(map[string]string{
		"envs/a/Dockerfile": "FROM gatewave/sessiond-scratch\nRUN echo env-a > /etc/which-env\n",
		"envs/b/Dockerfile": "FROM gatewave/sessiond-scratch\nRUN echo env-b > /etc/which-env\n",
		"design.v":          "module top; endmodule\n",
	})
	return e
}

func (e *cloudEnv) commitFiles(files map[string]string) string {
	t := e.t
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=ada", "GIT_AUTHOR_EMAIL=ada@t", "GIT_COMMITTER_NAME=ada", "GIT_COMMITTER_EMAIL=ada@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("clone", "-q", filepath.Join(e.gitRoot, "ada.git"), ".")
	for p, c := range files {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("add", "-A")
	run("commit", "-qm", "envs")
	run("push", "-q", "origin", "HEAD:main")
	return run("rev-parse", "HEAD")
}

// startNode registers a node and starts its gateway and task runner.
func (e *cloudEnv) startNode(name string, cores int) *fleetNode {
	t := e.t
	t.Helper()
	_, tok, err := e.srv.Store.AddNode(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &fleetNode{name: name}
	var gp sync.Map
	n.runner, err = nodetasks.New(nodetasks.Options{Docker: e.docker, StateDir: t.TempDir(), Logger: quiet(),
		Report: func(u *fleetproto.TaskUpdate) {
			if g, ok := gp.Load("g"); ok {
				g.(*gateway.Gateway).ReportTask(u)
			}
		},
		Log: func(l *fleetproto.TaskLog) error {
			if g, ok := gp.Load("g"); ok {
				return g.(*gateway.Gateway).Send(l)
			}
			return gateway.ErrOffline
		}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{CloudURL: "http://" + e.addr, Token: tok, Name: name, Logger: quiet(),
		Backoff: backoff.Policy{Base: 50 * time.Millisecond, Cap: 500 * time.Millisecond},
		Resources: func(context.Context) (fleetproto.Resources, error) {
			return fleetproto.Resources{CPUCores: cores, MemoryBytes: 4 << 30}, nil
		},
		Commands: n.runner.Commands()})
	if err != nil {
		t.Fatal(err)
	}
	gp.Store("g", g)
	ctx, cancel := context.WithCancel(context.Background())
	n.stopGW, n.gwDone = cancel, make(chan struct{})
	go func() { defer close(n.gwDone); _ = g.Run(ctx) }()
	t.Cleanup(func() {
		n.stopGateway()
		sctx, c := context.WithTimeout(context.Background(), testenv.WaitLong)
		defer c()
		_ = n.runner.Shutdown(sctx)
	})
	e.waitFor(func() bool {
		nd, err := e.srv.Store.Get(context.Background(), name)
		return err == nil && nd.Status == "online"
	}, "node "+name+" online")
	return n
}

func (n *fleetNode) stopGateway() { n.stopGW(); <-n.gwDone }

func (e *cloudEnv) waitFor(ok func() bool, what string) {
	e.t.Helper()
	deadline := time.Now().Add(testenv.WaitLong)
	for !ok() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api calls the user API as ada with basic credentials, as the CLI does.
func (e *cloudEnv) api(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+e.addr+path, rd)
	req.SetBasicAuth("ada", password)
	req.Header.Set(accounts.ClientHeader, "test")
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		return resp.StatusCode, []byte(resp.Header.Get("Location"))
	}
	return resp.StatusCode, b
}

func (e *cloudEnv) submit(spec tasks.Spec) tasks.Task {
	e.t.Helper()
	code, b := e.api("POST", "/api/v1/tasks", spec)
	if code != http.StatusCreated {
		e.t.Fatalf("submit: %d %s", code, b)
	}
	var t tasks.Task
	if err := json.Unmarshal(b, &t); err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *cloudEnv) task(id int64) (tasks.Task, []tasks.Event) {
	e.t.Helper()
	code, b := e.api("GET", fmt.Sprintf("/api/v1/tasks/%d", id), nil)
	if code != http.StatusOK {
		e.t.Fatalf("show: %d %s", code, b)
	}
	var out struct {
		Task   tasks.Task    `json:"task"`
		Events []tasks.Event `json:"events"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatal(err)
	}
	return out.Task, out.Events
}

func (e *cloudEnv) waitState(id int64, states ...string) tasks.Task {
	e.t.Helper()
	var t tasks.Task
	e.waitFor(func() bool {
		t, _ = e.task(id)
		for _, s := range states {
			if t.State == s {
				return true
			}
		}
		return false
	}, fmt.Sprintf("task %d to be %v (last %s: %s)", id, states, t.State, t.Detail))
	return t
}

func (e *cloudEnv) spec(dockerfile string, cmd ...string) tasks.Spec {
	repo := "http://" + e.addr + "/git/ada.git"
	return tasks.Spec{CodeRepoURL: repo, CodeCommitID: "main", EnvRepoURL: repo, EnvCommitID: e.commit, DockerfilePath: dockerfile,
		Command: cmd, Resources: tasks.Resources{CPUs: 1, MemoryBytes: 256 << 20}, TimeoutSeconds: 120}
}

func (e *cloudEnv) logs(id int64) string {
	e.t.Helper()
	code, b := e.api("GET", fmt.Sprintf("/api/v1/tasks/%d/logs", id), nil)
	if code != http.StatusOK {
		e.t.Fatalf("logs: %d %s", code, b)
	}
	return string(b)
}

// containersOf lists the task's containers on dockerd.
func (e *cloudEnv) containersOf(id int64) int {
	e.t.Helper()
	list, err := e.docker.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", fmt.Sprintf("%s=%d", nodetasks.LabelTask, id)))})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

// One env repo with two Dockerfiles: a task per Dockerfile runs in its own
// environment with the code at /code, leaves an artifact in the object
// store that the user downloads through a short-lived link, and a second
// run of the same environment reuses its image.
func TestTasksOnTheFleet(t *testing.T) {
	e := newCloudEnv(t)
	e.startNode("node-a", 2)
	ids := map[string]int64{}
	for _, env := range []string{"a", "b"} {
		s := e.spec("envs/"+env+"/Dockerfile", "sh", "-c", "cat /etc/which-env; wc -c < /code/design.v > /out/size.txt; echo done")
		s.Artifacts = []string{"size.txt"}
		ids[env] = e.submit(s).ID
	}
	for env, id := range ids {
		tk := e.waitState(id, "succeeded", "failed")
		if tk.State != "succeeded" {
			t.Fatalf("env %s: %+v\n%s", env, tk, e.logs(id))
		}
		if log := e.logs(id); !strings.Contains(log, "env-"+env) || !strings.Contains(log, "done") {
			t.Fatalf("env %s log: %q", env, log)
		}
		if tk.Artifacts["size.txt"] == 0 || tk.Image == "" {
			t.Fatalf("env %s: artifacts %v image %q", env, tk.Artifacts, tk.Image)
		}
		code, link := e.api("GET", fmt.Sprintf("/api/v1/tasks/%d/artifacts/size.txt", id), nil)
		if code != http.StatusSeeOther || !strings.Contains(string(link), "X-Amz-Signature") {
			t.Fatalf("artifact link: %d %s", code, link)
		}
		resp, err := http.Get(string(link))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "22" {
			t.Fatalf("artifact through the link: %d %q", resp.StatusCode, b)
		}
		_, ev := e.task(id)
		var states []string
		for _, x := range ev {
			states = append(states, x.State)
		}
		if got := strings.Join(states, " "); got != "queued dispatched fetching building running uploading succeeded" {
			t.Fatalf("env %s events: %s", env, got)
		}
		if e.containersOf(id) != 0 {
			t.Fatalf("task %d left its container", id)
		}
	}
	if a, b := e.get(ids["a"]), e.get(ids["b"]); a.Image == b.Image || a.ImageCached || b.ImageCached {
		t.Fatalf("two Dockerfiles, one image or a cached first build: %q %v / %q %v", a.Image, a.ImageCached, b.Image, b.ImageCached)
	}
	// The same environment again: its image is reused, not built.
	again := e.submit(e.spec("envs/a/Dockerfile", "cat", "/etc/which-env"))
	tk := e.waitState(again.ID, "succeeded", "failed")
	if tk.State != "succeeded" || !tk.ImageCached || tk.Image != e.get(ids["a"]).Image {
		t.Fatalf("second run of env a: %+v", tk)
	}
	// Cancel stops the container.
	long := e.submit(e.spec("envs/a/Dockerfile", "sleep", "60"))
	e.waitState(long.ID, "running")
	e.waitFor(func() bool { return e.containersOf(long.ID) == 1 }, "the task's container")
	if code, b := e.api("POST", fmt.Sprintf("/api/v1/tasks/%d/cancel", long.ID), struct{}{}); code != 200 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	e.waitFor(func() bool { return e.containersOf(long.ID) == 0 }, "the cancelled task's container to go")
	if tk := e.get(long.ID); tk.State != "cancelled" {
		t.Fatalf("after cancel: %+v", tk)
	}
	// A command that fails says so with its exit code.
	bad := e.submit(e.spec("envs/b/Dockerfile", "sh", "-c", "echo oops >&2; exit 3"))
	if tk := e.waitState(bad.ID, "succeeded", "failed"); tk.State != "failed" || tk.ExitCode == nil || *tk.ExitCode != 3 {
		t.Fatalf("failing command: %+v", tk)
	}
	if log := e.logs(bad.ID); !strings.Contains(log, "oops") {
		t.Fatalf("stderr not in the log: %q", log)
	}
}

func (e *cloudEnv) get(id int64) tasks.Task {
	t, _ := e.task(id)
	return t
}

// Killing the gateway mid-task loses the task when the node goes offline,
// and it runs again, to the end, on the other node.
func TestKilledGatewayLosesTheTaskWhichRunsElsewhere(t *testing.T) {
	e := newCloudEnv(t)
	a := e.startNode("node-a", 2)
	tk := e.submit(e.spec("envs/a/Dockerfile", "sh", "-c", "echo start; sleep 4; echo finished"))
	e.waitState(tk.ID, "running")
	e.startNode("node-b", 2)
	a.stopGateway()
	got := e.waitState(tk.ID, "succeeded", "failed", "lost")
	if got.State != "succeeded" || got.Node != "node-b" || got.Attempt != 2 {
		t.Fatalf("after node-a was lost: %+v", got)
	}
	_, ev := e.task(tk.ID)
	var lost bool
	for _, x := range ev {
		lost = lost || (x.State == "lost" && x.Node == "node-a" && x.Attempt == 1)
	}
	if !lost {
		t.Fatalf("no lost event for node-a: %+v", ev)
	}
	if log := e.logs(tk.ID); !strings.Contains(log, "finished") {
		t.Fatalf("second attempt's log: %q", log)
	}
}

// The user API as the CLI uses it, and as an attacker would: an input
// uploaded through a short-lived link reaches the task at /in, the whole
// flow through `cloud task`; basic credentials without the client header,
// a cookie POST without the CSRF token and another user's task are refused.
func TestTaskCLIAndAPI(t *testing.T) {
	e := newCloudEnv(t)
	e.startNode("node-a", 2)
	if _, err := e.srv.Accounts.AddUser(context.Background(), "bob", password); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(t.TempDir(), "top.v")
	if err := os.WriteFile(input, []byte("module top(input clk); endmodule\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(user string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"GATEWAVE_URL": "http://" + e.addr, "GATEWAVE_USER": user, "GATEWAVE_PASSWORD": password}[k]
		}})
		if code != 0 {
			return out.String(), fmt.Errorf("exit %d: %s", code, errb.String())
		}
		return out.String(), nil
	}
	obj, err := run("ada", "task", "upload", input)
	if err != nil {
		t.Fatal(err)
	}
	obj = strings.TrimSpace(obj)
	if !strings.HasPrefix(obj, "users/") || !strings.HasSuffix(obj, "/uploads/top.v") {
		t.Fatalf("upload answered %q", obj)
	}
	out, err := run("ada", "task", "submit", "--env-commit", e.commit, "--dockerfile", "envs/b/Dockerfile", "--memory", "256MiB",
		"--input", "rtl/top.v="+obj, "--artifact", "lines.txt", "--follow", "--",
		"sh", "-c", "cat /etc/which-env; wc -l < /in/rtl/top.v > /out/lines.txt; echo ok")
	if err != nil {
		t.Fatalf("submit --follow: %v\n%s", err, out)
	}
	if !strings.Contains(out, "env-b") || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit --follow printed:\n%s", out)
	}
	var id int64
	if _, err := fmt.Sscanf(out, "task %d", &id); err != nil {
		t.Fatalf("no task id in %q", out)
	}
	sid := fmt.Sprint(id)
	if out, err := run("ada", "task", "list"); err != nil || !strings.Contains(out, sid) || !strings.Contains(out, "succeeded") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := run("ada", "task", "show", sid); err != nil || !strings.Contains(out, "lines.txt (2B)") || !strings.Contains(out, "uploading") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if out, err := run("ada", "task", "logs", sid, "--tail", "1"); err != nil || out != "ok\n" {
		t.Fatalf("logs --tail 1: %v %q", err, out)
	}
	dst := filepath.Join(t.TempDir(), "lines.txt")
	if _, err := run("ada", "task", "download", sid, "lines.txt", "-o", dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("downloaded %q", b)
	}
	// Bob sees nothing of ada's task and cannot use her upload.
	if _, err := run("bob", "task", "show", sid); err == nil || !strings.Contains(err.Error(), "no such task") {
		t.Fatalf("bob show: %v", err)
	}
	if _, err := run("bob", "task", "cancel", sid); err == nil {
		t.Fatal("bob cancelled ada's task")
	}
	if out, err := run("bob", "task", "submit", "--code-repo", "http://"+e.addr+"/git/ada.git", "--env-commit", e.commit,
		"--dockerfile", "envs/a/Dockerfile", "--", "true"); err == nil || !strings.Contains(err.Error(), "not your repository") {
		t.Fatalf("bob ran ada's repo: %v %s", err, out)
	}
	// Basic credentials without the client header, as a browser that
	// cached them would send cross-site, are refused.
	req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/v1/tasks", strings.NewReader("{}"))
	req.SetBasicAuth("ada", password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("basic without %s: %d", accounts.ClientHeader, resp.StatusCode)
	}
	// A signed-in browser's POST needs the CSRF token.
	u, err := e.srv.Accounts.UserByName(context.Background(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.srv.Accounts.CreateSession(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(e.spec("envs/a/Dockerfile", "true"))
	req, _ = http.NewRequest("POST", "http://"+e.addr+"/api/v1/tasks", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: accounts.SessionCookie, Value: tok})
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cookie POST without CSRF: %d", resp.StatusCode)
	}
	// And a task that would need another user's upload is refused.
	spec := e.spec("envs/a/Dockerfile", "true")
	spec.Inputs = []tasks.Input{{Path: "x", Object: strings.Replace(obj, fmt.Sprintf("users/%d/", u.ID), "users/999/", 1)}}
	if code, b := e.api("POST", "/api/v1/tasks", spec); code != http.StatusForbidden {
		t.Fatalf("another user's object as input: %d %s", code, b)
	}
	// A changed password stops the old one at once, remembered or not.
	if _, err := run("ada", "task", "list"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Accounts.SetPassword(context.Background(), "ada", "another horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("ada", "task", "list"); err == nil || !strings.Contains(err.Error(), "wrong user name or password") {
		t.Fatalf("the old password after a change: %v", err)
	}
	if err := e.srv.Accounts.SetPassword(context.Background(), "ada", password); err != nil {
		t.Fatal(err)
	}
	// A missing upload of one's own is a clear 400.
	spec.Inputs = []tasks.Input{{Path: "x", Object: fmt.Sprintf("users/%d/uploads/nope.v", u.ID)}}
	if code, b := e.api("POST", "/api/v1/tasks", spec); code != http.StatusBadRequest || !strings.Contains(string(b), "does not exist") {
		t.Fatalf("missing input: %d %s", code, b)
	}
}

// A node that shuts down mid-task (an upgrade, a restart) reports the
// attempt lost over its link before the link goes; the task runs again on
// another node at once, without waiting for the offline window.
func TestNodeShutdownRunsTheTaskAgain(t *testing.T) {
	e := newCloudEnv(t)
	a := e.startNode("node-a", 2)
	tk := e.submit(e.spec("envs/a/Dockerfile", "sh", "-c", "echo start; sleep 3; echo finished"))
	e.waitState(tk.ID, "running")
	e.startNode("node-b", 2)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitLong)
	defer cancel()
	if err := a.runner.Shutdown(ctx); err != nil { // as nodegw does, before its link
		t.Fatal(err)
	}
	got := e.waitState(tk.ID, "succeeded", "failed", "lost")
	if got.State != "succeeded" || got.Node != "node-b" {
		t.Fatalf("after node-a shut down: %+v", got)
	}
	_, ev := e.task(tk.ID)
	var lost bool
	for _, x := range ev {
		lost = lost || (x.State == "lost" && x.Node == "node-a" && strings.Contains(x.Detail, "shut down"))
	}
	if !lost {
		t.Fatalf("no lost event from node-a's shutdown: %+v", ev)
	}
}
