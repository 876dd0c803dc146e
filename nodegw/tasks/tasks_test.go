package tasks

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// One task per Dockerfile of the env repo: each builds its image, sees
// its input and the code (the first commit, not the repo's tip, fetched
// by id), and uploads its artifacts.
func TestTaskPerDockerfile(t *testing.T) {
	f := newFixture(t)
	for _, env := range []string{"a", "b"} {
		t.Run(env, func(t *testing.T) {
			inKey := "in-" + env
			f.w.objects.put(inKey, []byte("input for "+env+"\n"))
			a := f.args(env, sh(`cat /env-`+env+`.txt; cat hello.txt; cat link; cat $IN/data/in.txt; pwd
cp hello.txt $OUT/result; mkdir -p $OUT/d; printf xyz > $OUT/d/y; : > $OUT/empty`))
			a.Inputs = []fleetproto.TaskObject{{Path: "data/in.txt", URL: f.w.objects.url(inKey)}}
			a.Artifacts = []fleetproto.TaskObject{
				{Path: "result", URL: f.w.objects.url("out-" + env + "/result")},
				{Path: "d/y", URL: f.w.objects.url("out-" + env + "/d/y")},
				{Path: "empty", URL: f.w.objects.url("out-" + env + "/empty")},
			}
			us, fin, log := f.run(t, a)
			if fin.State != fleetproto.TaskSucceeded {
				t.Fatalf("final %+v; log:\n%s", fin, log)
			}
			want := []string{fleetproto.TaskFetching, fleetproto.TaskBuilding, fleetproto.TaskRunning, fleetproto.TaskUploading, fleetproto.TaskSucceeded}
			if got := states(us); !slices.Equal(got, want) {
				t.Errorf("states %v, want %v", got, want)
			}
			if fin.ExitCode == nil || *fin.ExitCode != 0 {
				t.Errorf("exit code %v, want 0", fin.ExitCode)
			}
			if fin.Cached {
				t.Errorf("the first task of envs/%s reports a cached image", env)
			}
			if fin.Image != EnvImageTag(f.w.envURL, f.w.envHead, a.DockerfilePath) {
				t.Errorf("image %q", fin.Image)
			}
			for _, s := range []string{"building environment", "RUN echo built-" + env, "built-" + env, "hello v1\nhello v1\n", "input for " + env, "/code\n"} {
				if !strings.Contains(log, s) {
					t.Errorf("log lacks %q:\n%s", s, log)
				}
			}
			if got, _ := f.w.objects.get("out-" + env + "/result"); string(got) != "hello v1\n" {
				t.Errorf("artifact result = %q", got)
			}
			if got, _ := f.w.objects.get("out-" + env + "/d/y"); string(got) != "xyz" {
				t.Errorf("artifact d/y = %q", got)
			}
			if got, ok := f.w.objects.get("out-" + env + "/empty"); !ok || len(got) != 0 {
				t.Errorf("artifact empty = %q, %v", got, ok)
			}
			if want := map[string]int64{"result": 9, "d/y": 3, "empty": 0}; !mapsEqual(fin.Artifacts, want) {
				t.Errorf("artifacts %v, want %v", fin.Artifacts, want)
			}
			ins, err := f.w.dc.ImageInspect(context.Background(), fin.Image)
			if err != nil {
				t.Fatal(err)
			}
			if l := ins.Config.Labels; l[LabelEnvURL] != f.w.envURL || l[LabelEnvCommit] != f.w.envHead || l[LabelEnvFile] != a.DockerfilePath {
				t.Errorf("image labels %v", l)
			}
			for _, u := range us {
				if strings.Contains(u.Detail, gitPass) || strings.Contains(u.Detail, "presigned-signature") {
					t.Errorf("update leaks a secret: %+v", u)
				}
			}
			if strings.Contains(log, gitPass) {
				t.Error("the log holds the git password")
			}
		})
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// The second task of an environment reuses its image: no build.
func TestEnvImageCached(t *testing.T) {
	f := newFixture(t)
	_, fin, log := f.run(t, f.args("common", sh("cat /env-common.txt")))
	if fin.State != fleetproto.TaskSucceeded || !strings.Contains(log, "common") {
		t.Fatalf("first run: %+v\n%s", fin, log)
	}
	a := f.args("common", sh("cat /env-common.txt; cat hello.txt"))
	a.Code.Commit = f.w.codeV2 // the cache fetches the newer commit only now
	us, fin, log := f.run(t, a)
	if fin.State != fleetproto.TaskSucceeded || !fin.Cached {
		t.Fatalf("second run: %+v\n%s", fin, log)
	}
	if !slices.ContainsFunc(us, func(u fleetproto.TaskUpdate) bool {
		return u.State == fleetproto.TaskBuilding && u.Cached && u.Detail == "environment image cached"
	}) {
		t.Errorf("no building update saying the image is cached: %+v", us)
	}
	if strings.Contains(log, "building environment") || strings.Contains(log, "Step ") {
		t.Errorf("the second run built:\n%s", log)
	}
	if !strings.Contains(log, "hello v2") {
		t.Errorf("second run did not see commit v2:\n%s", log)
	}
}

func TestFromRegistryFails(t *testing.T) {
	f := newFixture(t)
	_, fin, log := f.run(t, f.args("registry", sh("true")))
	want := "FROM gatewave-test/absent:never: that image is not on this node and builds here use no registry"
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, want) {
		t.Fatalf("final %+v, want failed with %q\n%s", fin, want, log)
	}
}

func TestDockerfileMissing(t *testing.T) {
	f := newFixture(t)
	_, fin, _ := f.run(t, f.args("nope", sh("true")))
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, `dockerfile_path "envs/nope/Dockerfile" is not a file in env commit`) {
		t.Fatalf("final %+v", fin)
	}
}

func TestCancelStopsContainer(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("echo started; sleep 120"))
	k := f.start(t, a)
	f.rec.waitFor(t, k, 2*time.Minute, "start", func(_ []fleetproto.TaskUpdate, log string) bool { return strings.Contains(log, "started") })
	if _, err := f.w.dc.ContainerInspect(context.Background(), f.r.ContainerName(k.id, k.attempt)); err != nil {
		t.Fatalf("container not running: %v", err)
	}
	began := time.Now()
	if _, err := f.r.HandleCancel(context.Background(), command(fleetproto.CommandTaskCancel, fleetproto.TaskRef{ID: k.id, Attempt: k.attempt})); err != nil {
		t.Fatal(err)
	}
	_, fin := f.rec.final(t, k, 30*time.Second)
	if fin.State != fleetproto.TaskCancelled {
		t.Fatalf("final %+v, want cancelled", fin)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Errorf("cancel took %v", d)
	}
	f.checkGone(t, k)
	// The attempt is over: a cancel for it now is refused, and so is
	// running it again.
	if _, err := f.r.HandleCancel(context.Background(), command(fleetproto.CommandTaskCancel, fleetproto.TaskRef{ID: k.id, Attempt: k.attempt})); err == nil {
		t.Error("cancel of a finished task accepted")
	}
	if _, err := f.r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a)); err == nil {
		t.Error("a finished attempt was accepted again")
	}
}

func TestTimeout(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("echo waiting; sleep 120"))
	a.TimeoutMS = 1500
	_, fin, log := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || fin.Detail != "timed out after 1.5s" {
		t.Fatalf("final %+v\n%s", fin, log)
	}
	if !strings.Contains(log, "waiting") {
		t.Errorf("log %q", log)
	}
}

func TestExitCode(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("echo on stderr >&2; exit 3"))
	a.Artifacts = []fleetproto.TaskObject{{Path: "result", URL: f.w.objects.url("never")}}
	_, fin, log := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || fin.ExitCode == nil || *fin.ExitCode != 3 || !strings.Contains(fin.Detail, "code 3") {
		t.Fatalf("final %+v", fin)
	}
	if !strings.Contains(log, "on stderr") {
		t.Errorf("stderr missing from the log: %q", log)
	}
}

// The task tries to make the node upload one of the node's own files as
// an artifact: a symlink, a symlinked directory, a FIFO (which would
// hang a reader), a missing file. Nothing of the node's file leaves.
func TestArtifactAttacks(t *testing.T) {
	f := newFixture(t)
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret")
	if err := os.WriteFile(secret, []byte("NODE-SECRET-CONTENT"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, script, artifact, want string
	}{
		{"symlink", "ln -s " + secret + " $OUT/result", "result", "symlink"},
		{"dir symlink", "ln -s " + secretDir + " $OUT/sub", "sub/secret", "symlink"},
		{"dotdot symlink", "mkdir $OUT/a; ln -s ../../../../../../.." + secret + " $OUT/a/result", "a/result", "symlink"},
		{"fifo", "mkfifo $OUT/result", "result", "not a regular file"},
		{"directory", "mkdir $OUT/result", "result", "not a regular file"},
		{"missing", "true", "result", "did not write it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			objKey := "attack-" + strings.ReplaceAll(c.name, " ", "-")
			a := f.args("common", sh(c.script))
			a.Artifacts = []fleetproto.TaskObject{{Path: c.artifact, URL: f.w.objects.url(objKey)}}
			_, fin, log := f.run(t, a)
			if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, c.want) || !strings.Contains(fin.Detail, c.artifact) {
				t.Fatalf("final %+v, want failed naming %q and %q\n%s", fin, c.artifact, c.want, log)
			}
			if got, ok := f.w.objects.get(objKey); ok {
				t.Fatalf("uploaded %q", got)
			}
		})
	}
	f.w.objects.mu.Lock()
	defer f.w.objects.mu.Unlock()
	for k, v := range f.w.objects.objs {
		if strings.Contains(string(v), "NODE-SECRET") {
			t.Errorf("object %s holds the node's secret", k)
		}
	}
}

// The sandbox, seen from inside: /code, /in and the root file system
// are read-only, the command runs as 1000:1000 with only loopback, and
// nothing of the node's environment reaches it.
func TestSandbox(t *testing.T) {
	t.Setenv("GATEWAVE_NODE_ONLY", "node-env-value")
	f := newFixture(t)
	f.w.objects.put("sandbox-in", []byte("in"))
	a := f.args("common", sh(`touch /code/new 2>/dev/null && echo CODE-WRITABLE
echo x 2>/dev/null > /code/hello.txt && echo CODE-FILE-WRITABLE
chmod 777 /code 2>/dev/null && echo CODE-CHMOD
touch /in/new 2>/dev/null && echo IN-WRITABLE
echo x 2>/dev/null > /in/f && echo IN-FILE-WRITABLE
touch /new 2>/dev/null && echo ROOTFS-WRITABLE
touch /tmp/ok && echo tmp-writable
touch /out/ok && echo out-writable
echo "ids=$(id -u):$(id -g)"
echo "nets=$(ls /sys/class/net | tr '\n' ' ')"
grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status
awk '$2 == "/" || $2 == "/code" || $2 == "/in" || $2 == "/out" { split($4, o, ","); print "mount", $2, o[1] }' /proc/mounts
echo "---env"; env; echo "---end"`))
	a.Inputs = []fleetproto.TaskObject{{Path: "f", URL: f.w.objects.url("sandbox-in")}}
	_, fin, log := f.run(t, a)
	if fin.State != fleetproto.TaskSucceeded {
		t.Fatalf("final %+v\n%s", fin, log)
	}
	rest := strings.NewReplacer("tmp-writable", "", "out-writable", "").Replace(log)
	for _, bad := range []string{"WRITABLE", "CODE-CHMOD", "node-env-value", "GATEWAVE_NODE_ONLY", gitPass, "presigned-signature"} {
		if strings.Contains(rest, bad) {
			t.Errorf("log shows %q:\n%s", bad, log)
		}
	}
	for _, want := range []string{"tmp-writable", "out-writable", "ids=1000:1000", "nets=lo \n", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1",
		"mount / ro\n", "mount /code ro\n", "mount /in ro\n", "mount /out rw\n", "HOME=/tmp", "OUT=/out", "IN=/in"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	env := log[strings.Index(log, "---env\n")+7 : strings.Index(log, "---end")]
	for _, line := range strings.Split(strings.TrimSpace(env), "\n") {
		name, _, _ := strings.Cut(line, "=")
		switch name {
		case "HOME", "OUT", "IN", "PATH", "SHELL", "HOSTNAME", "PWD", "SHLVL":
		default:
			t.Errorf("unexpected variable in the task's environment: %q", line)
		}
	}
}

// The git host's credentials are checked: a wrong password fails the
// fetch, and the failure names neither password.
func TestGitAuthRequired(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("true"))
	a.Code.Password = "wrong-password"
	_, fin, _ := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, "fetch commit "+f.w.codeV1) {
		t.Fatalf("final %+v", fin)
	}
	if strings.Contains(fin.Detail, "wrong-password") || strings.Contains(fin.Detail, gitPass) {
		t.Errorf("detail leaks a password: %q", fin.Detail)
	}
	// A commit the repo does not have fails clearly too.
	a = f.args("common", sh("true"))
	a.Code.Commit = strings.Repeat("ab", 20)
	_, fin, _ = f.run(t, a)
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, "fetch commit "+a.Code.Commit) {
		t.Fatalf("final %+v", fin)
	}
}

func TestInputErrors(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("true"))
	a.Inputs = []fleetproto.TaskObject{{Path: "x", URL: f.w.objects.url("no-such-input")}}
	_, fin, _ := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, `input "x": GET answered 404`) {
		t.Fatalf("final %+v", fin)
	}
	if strings.Contains(fin.Detail, "presigned-signature") {
		t.Errorf("detail holds the presigned URL: %q", fin.Detail)
	}
}

func TestArtifactPutRefused(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("echo hi > $OUT/r"))
	a.Artifacts = []fleetproto.TaskObject{{Path: "r", URL: f.w.objects.srv.URL + "/r?X-Sig=wrong"}}
	_, fin, _ := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, `artifact "r": PUT answered 403`) {
		t.Fatalf("final %+v", fin)
	}
}

func TestHandleRunRefuses(t *testing.T) {
	f := newFixture(t)
	good := f.args("common", sh("sleep 30"))
	for name, raw := range map[string]string{
		"unknown field": `{"id":1,"attempt":1,"extra":true}`,
		"not json":      `{"id":`,
		"invalid":       `{"id":1,"attempt":1}`,
	} {
		if _, err := f.r.HandleRun(context.Background(), &fleetproto.Command{Name: fleetproto.CommandTaskRun, Args: []byte(raw)}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	k := f.start(t, good)
	// The cloud resends a dispatch whose answer it lost: the same args
	// are accepted again (and run once); other args are refused.
	f.start(t, good)
	other := good
	other.Command = sh("echo other")
	if _, err := f.r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, other)); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("duplicate with other args accepted: %v", err)
	}
	if _, err := f.r.HandleCancel(context.Background(), &fleetproto.Command{Name: fleetproto.CommandTaskCancel, Args: []byte(`{"id":1,"attempt":1,"x":1}`)}); err == nil {
		t.Error("cancel with an unknown field accepted")
	}
	// Shutdown kills the running task, which reports lost: the cloud runs
	// it again, no fault of the task's.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, fin := f.rec.final(t, k, time.Second)
	if fin.State != fleetproto.TaskLost || !strings.Contains(fin.Detail, "shut down") {
		t.Errorf("final %+v", fin)
	}
	f.checkGone(t, k)
	if _, err := f.r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, f.args("common", sh("true")))); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("a task after Shutdown: %v, want refused as shutting down", err)
	}
	if us := f.rec.updates[k]; len(us) == 0 || slices.ContainsFunc(us[1:], func(u fleetproto.TaskUpdate) bool { return u.State == fleetproto.TaskFetching }) {
		t.Errorf("the resent dispatch ran the attempt twice: %v", states(us))
	}
}

func TestNetworkRefused(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("true"))
	a.Network = "host"
	_, fin, _ := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || fin.Detail != `network "host": this node gives tasks no network` {
		t.Fatalf("final %+v", fin)
	}
}

// Two tasks of a new environment at once: one builds, the other waits
// and reuses the image.
func TestConcurrentTasksBuildOnce(t *testing.T) {
	f := newFixture(t)
	k1 := f.start(t, f.args("twice", sh("cat /env-twice.txt")))
	k2 := f.start(t, f.args("twice", sh("cat /env-twice.txt")))
	cached := 0
	for _, k := range []key{k1, k2} {
		_, fin := f.rec.final(t, k, 3*time.Minute)
		if fin.State != fleetproto.TaskSucceeded || !strings.Contains(f.rec.text(k), "twice") {
			t.Fatalf("task %v: %+v\n%s", k, fin, f.rec.text(k))
		}
		if fin.Cached {
			cached++
		}
		f.checkGone(t, k)
	}
	if cached != 1 {
		t.Errorf("%d of 2 tasks reused the image, want exactly 1", cached)
	}
}

// A cancel that arrives before the container runs keeps it from
// starting: the task ends cancelled, whatever step it was in.
func TestCancelBeforeStart(t *testing.T) {
	f := newFixture(t)
	k := f.start(t, f.args("common", sh("echo SHOULD-NOT-RUN; sleep 60")))
	if _, err := f.r.HandleCancel(context.Background(), command(fleetproto.CommandTaskCancel, fleetproto.TaskRef{ID: k.id, Attempt: k.attempt})); err != nil {
		t.Fatal(err)
	}
	us, fin := f.rec.final(t, k, 30*time.Second)
	if fin.State != fleetproto.TaskCancelled {
		t.Fatalf("final %+v", fin)
	}
	if slices.Contains(states(us), fleetproto.TaskUploading) || strings.Contains(f.rec.text(k), "SHOULD-NOT-RUN") {
		t.Errorf("the command ran: %v\n%s", states(us), f.rec.text(k))
	}
	f.checkGone(t, k)
}

// A node that died with tasks running leaves their containers and dirs:
// the next run removes them and reports each attempt lost.
func TestRecoverLeftovers(t *testing.T) {
	f := newFixture(t)
	k := f.start(t, f.args("common", sh("sleep 30")))
	f.rec.waitFor(t, k, time.Minute, "running", func(us []fleetproto.TaskUpdate, _ string) bool {
		return len(us) > 0 && us[len(us)-1].State == fleetproto.TaskRunning
	})
	// An attempt that died while fetching or building left only its
	// directory.
	if err := os.MkdirAll(filepath.Join(f.dir, "tasks", "77-2", "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Another node's runner on the same dockerd leaves the task alone.
	rec0 := newRecorder()
	other, err := New(Options{Docker: f.w.dc, StateDir: t.TempDir(), Report: newRecorder().report, Log: rec0.log,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.dc.ContainerInspect(context.Background(), f.r.ContainerName(k.id, k.attempt)); err != nil {
		t.Fatalf("another node's Recover removed this node's task: %v", err)
	}
	// A second runner on the same state dir and dockerd, as after a crash
	// of the first (whose own goroutines are left alone here).
	rec := newRecorder()
	r2, err := New(Options{Docker: f.w.dc, StateDir: f.dir, Report: rec.report, Log: rec.log,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.checkGone(t, k)
	for _, lk := range []key{k, {77, 2}} {
		us := rec.updates[lk]
		if len(us) != 1 || us[0].State != fleetproto.TaskLost || !strings.Contains(us[0].Detail, "restarted") {
			t.Errorf("task %v: reports %+v", lk, us)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(f.dir, "tasks")); len(ents) != 0 {
		t.Errorf("left in the state dir: %v", ents)
	}
}

// A node keeps its most recently used environment images and removes the
// others, not images it never used.
func TestPruneImages(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder()
	r, err := New(Options{Docker: f.w.dc, StateDir: t.TempDir(), Report: rec.report, Log: rec.log, KeepImages: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	run := func(env string) string {
		t.Helper()
		a := f.args(env, sh("true"))
		if _, err := r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a)); err != nil {
			t.Fatal(err)
		}
		_, fin := rec.final(t, key{a.ID, a.Attempt}, time.Minute)
		if fin.State != fleetproto.TaskSucceeded {
			t.Fatalf("%s: %+v", env, fin)
		}
		return fin.Image
	}
	// The fixture's own runner builds "a", which r never used.
	_, fin, _ := f.run(t, f.args("a", sh("true")))
	foreign := fin.Image
	first := run("common")
	time.Sleep(10 * time.Millisecond)
	second := run("twice")
	exists := func(tag string) bool {
		_, err := f.w.dc.ImageInspect(context.Background(), tag)
		return err == nil
	}
	deadline := time.Now().Add(testenv.WaitShort)
	for exists(first) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if exists(first) || !exists(second) || !exists(foreign) {
		t.Fatalf("after pruning to one: %s %v (want gone), %s %v, %s %v (another runner's)", first, exists(first), second, exists(second), foreign, exists(foreign))
	}
}

// A Dockerfile tries to make dockerd fetch from the node's network
// (dockerd fetches an ADD's URL itself, RUN's network "none" aside):
// through an ARG, an ENV, a split keyword, the escape directive, past
// the size the checker reads, past a line the scanner cannot read.
// Every task fails before the loopback server sees a request.
func TestBuildFetchesNothing(t *testing.T) {
	f := newFixture(t)
	// A base image on the node whose trigger would fetch in a build FROM it.
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	df := []byte("FROM " + testenv.BuildSessiondImage(t) + "\nONBUILD ADD " + f.w.hits.srv.URL + "/base-trigger /x\n")
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), Typeflag: tar.TypeReg})
	tw.Write(df)
	tw.Close()
	resp, err := f.w.dc.ImageBuild(context.Background(), &ctxTar, build.ImageBuildOptions{Version: build.BuilderV1, Tags: []string{onbuildImage}, Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := streamBuild(resp.Body, io.Discard); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() {
		_, _ = f.w.dc.ImageRemove(context.Background(), onbuildImage, image.RemoveOptions{Force: true})
	})
	for name, c := range networkAttacks("img", f.w.hits.srv.URL) {
		t.Run(name, func(t *testing.T) {
			_, fin, log := f.run(t, f.args(name, sh("cat /x")))
			if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, c[1]) {
				t.Errorf("final %+v, want failed with %q\n%s", fin, c[1], log)
			}
		})
	}
	if hits := f.w.hits.got(); len(hits) != 0 {
		t.Fatalf("the build fetched from the node's network: %v", hits)
	}
}

// buildContainer waits for the running build step whose command holds
// marker and returns its id.
func buildContainer(t *testing.T, f *fixture, marker string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		list, err := f.w.dc.ContainerList(context.Background(), container.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if strings.Contains(c.Command, marker) {
				return c.ID
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no build container running %q", marker)
	return ""
}

func checkBuildGone(t *testing.T, f *fixture, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ins, err := f.w.dc.ContainerInspect(context.Background(), id)
		if cerrdefs.IsNotFound(err) || (err == nil && !ins.State.Running) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the build's container still runs: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A build that runs too long is stopped (its container too) and the
// task fails saying so.
func TestBuildTimeout(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder()
	r, err := New(Options{Docker: f.w.dc, StateDir: t.TempDir(), Report: rec.report, Log: rec.log, BuildTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	a := f.args("slow", sh("true"))
	if _, err := r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a)); err != nil {
		t.Fatal(err)
	}
	id := buildContainer(t, f, "slow-build-marker")
	_, fin := rec.final(t, key{a.ID, a.Attempt}, time.Minute)
	if fin.State != fleetproto.TaskFailed || fin.Detail != "the environment build took longer than 5s" {
		t.Fatalf("final %+v\n%s", fin, rec.text(key{a.ID, a.Attempt}))
	}
	checkBuildGone(t, f, id)
}

// A cancel during the build stops the build; the build's step runs
// with the task's CPU and memory limits.
func TestCancelStopsBuild(t *testing.T) {
	f := newFixture(t)
	a := f.args("slow2", sh("true"))
	a.CPUs = 0.5
	k := f.start(t, a)
	id := buildContainer(t, f, "slow2-build-marker")
	ins, err := f.w.dc.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if hc := ins.HostConfig; hc.CPUQuota != 50_000 || hc.CPUPeriod != 100_000 || hc.Memory != a.MemoryBytes {
		t.Errorf("build step limits: quota %d period %d memory %d", hc.CPUQuota, hc.CPUPeriod, hc.Memory)
	}
	if _, err := f.r.HandleCancel(context.Background(), command(fleetproto.CommandTaskCancel, fleetproto.TaskRef{ID: k.id, Attempt: k.attempt})); err != nil {
		t.Fatal(err)
	}
	_, fin := f.rec.final(t, k, 30*time.Second)
	if fin.State != fleetproto.TaskCancelled {
		t.Fatalf("final %+v", fin)
	}
	checkBuildGone(t, f, id)
	f.checkGone(t, k)
}

// The task makes a sparse file far bigger than the limit, and an input
// is bigger than its limit (once with a Content-Length, once without):
// nothing is uploaded, the downloads stop at the limit.
func TestSizeLimits(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder()
	r, err := New(Options{Docker: f.w.dc, StateDir: t.TempDir(), Report: rec.report, Log: rec.log,
		MaxArtifactBytes: 1 << 20, MaxInputBytes: 1000, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	run := func(a fleetproto.TaskRunArgs) fleetproto.TaskUpdate {
		t.Helper()
		if _, err := r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a)); err != nil {
			t.Fatal(err)
		}
		_, fin := rec.final(t, key{a.ID, a.Attempt}, 2*time.Minute)
		return fin
	}
	a := f.args("common", sh("echo small > $OUT/small; dd if=/dev/zero of=$OUT/big bs=1 count=0 seek=1099511627776 2>&1"))
	a.Artifacts = []fleetproto.TaskObject{{Path: "small", URL: f.w.objects.url("limit/small")}, {Path: "big", URL: f.w.objects.url("limit/big")}}
	if fin := run(a); fin.State != fleetproto.TaskFailed || fin.Detail != `artifact "big": 1099511627776 bytes, over the limit of 1048576 bytes` {
		t.Fatalf("final %+v\n%s", fin, rec.text(key{a.ID, a.Attempt}))
	}
	for _, k := range []string{"limit/small", "limit/big"} {
		if _, ok := f.w.objects.get(k); ok {
			t.Errorf("%s uploaded", k)
		}
	}

	f.w.objects.put("limit/in", bytes.Repeat([]byte("i"), 1500))
	a = f.args("common", sh("true"))
	a.Inputs = []fleetproto.TaskObject{{Path: "in", URL: f.w.objects.url("limit/in")}}
	if fin := run(a); fin.State != fleetproto.TaskFailed || fin.Detail != `input "in": 1500 bytes, over the limit of 1000 bytes` {
		t.Fatalf("final %+v", fin)
	}
	chunked := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.(http.Flusher).Flush() // no Content-Length
		for i := 0; i < 1000; i++ {
			if _, err := rw.Write(bytes.Repeat([]byte("c"), 1024)); err != nil {
				return
			}
			rw.(http.Flusher).Flush()
		}
	}))
	defer chunked.Close()
	a = f.args("common", sh("true"))
	a.Inputs = []fleetproto.TaskObject{{Path: "in", URL: chunked.URL + "/in"}}
	if fin := run(a); fin.State != fleetproto.TaskFailed || fin.Detail != `input "in": over the limit of 1000 bytes` {
		t.Fatalf("final %+v", fin)
	}
}

// cancelAfterPut cancels (or shuts down) the task once its artifact's
// PUT has succeeded, before the runner reports the end.
type cancelAfterPut struct {
	after func()
}

func (c cancelAfterPut) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && req.Method == http.MethodPut && resp.StatusCode/100 == 2 {
		c.after()
	}
	return resp, err
}

// A cancel, or a shutdown, that arrives once the artifacts are uploaded
// does not undo the task: it reports succeeded, not cancelled or lost
// (which would run a finished task again).
func TestLateCancelStillSucceeds(t *testing.T) {
	f := newFixture(t)
	for _, how := range []string{"cancel", "shutdown"} {
		t.Run(how, func(t *testing.T) {
			rec := newRecorder()
			var r *Runner
			var a fleetproto.TaskRunArgs
			after := func() {
				if how == "cancel" {
					_, _ = r.HandleCancel(context.Background(), command(fleetproto.CommandTaskCancel, fleetproto.TaskRef{ID: a.ID, Attempt: a.Attempt}))
					return
				}
				r.mu.Lock()
				r.closed = true
				for _, t := range r.running {
					t.cancel(errShutdown)
				}
				r.mu.Unlock()
			}
			var err error
			r, err = New(Options{Docker: f.w.dc, StateDir: t.TempDir(), Report: rec.report, Log: rec.log,
				HTTP: &http.Client{Transport: cancelAfterPut{after}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
			a = f.args("common", sh("echo done > $OUT/r"))
			a.Artifacts = []fleetproto.TaskObject{{Path: "r", URL: f.w.objects.url("late-" + how)}}
			if _, err := r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a)); err != nil {
				t.Fatal(err)
			}
			_, fin := rec.final(t, key{a.ID, a.Attempt}, 2*time.Minute)
			if fin.State != fleetproto.TaskSucceeded || fin.Artifacts["r"] != 5 {
				t.Fatalf("final %+v", fin)
			}
		})
	}
}

// A task asking for more GPUs than the node has free fails saying so,
// before anything runs.
func TestGPUsNotFree(t *testing.T) {
	f := newFixture(t)
	a := f.args("common", sh("true"))
	a.GPUs = 1
	_, fin, _ := f.run(t, a)
	if fin.State != fleetproto.TaskFailed || !strings.Contains(fin.Detail, "needs 1 GPUs and 0 of this node's 0 are free") {
		t.Fatalf("final %+v", fin)
	}
}

// /out is a file system of its own: a task writing without end fills it,
// not the node's disk.
func TestOutIsBounded(t *testing.T) {
	f := newFixture(t)
	rec := newRecorder()
	dir := t.TempDir()
	r, err := New(Options{Docker: f.w.dc, StateDir: dir, Report: rec.report, Log: rec.log, OutBytes: 32 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	a := f.args("common", sh("dd if=/dev/zero of=/out/big bs=1M count=100; echo exit $?; df -k /out | tail -1"))
	if _, err := r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, a)); err != nil {
		t.Fatal(err)
	}
	k := key{a.ID, a.Attempt}
	_, fin := rec.final(t, k, time.Minute)
	log := rec.text(k)
	if fin.State != fleetproto.TaskSucceeded || !strings.Contains(log, "No space left") || strings.Contains(log, "exit 0") {
		t.Fatalf("final %+v\n%s", fin, log)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tasks")); len(ents) != 0 {
		t.Fatalf("left after the task: %v", ents)
	}
}
