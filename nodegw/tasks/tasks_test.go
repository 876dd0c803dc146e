package tasks

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	if _, err := f.w.dc.ContainerInspect(context.Background(), ContainerName(k.id, k.attempt)); err != nil {
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
	if _, err := f.r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, good)); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("duplicate accepted: %v", err)
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
	if _, err := f.r.HandleRun(context.Background(), command(fleetproto.CommandTaskRun, f.args("common", sh("true")))); err == nil {
		t.Error("a task was accepted after Shutdown")
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
	// A second runner on the same state dir and dockerd, as after a crash
	// of the first (whose own goroutines are left alone here).
	rec := newRecorder()
	r2, err := New(Options{Docker: f.w.dc, StateDir: f.dir, Report: rec.report, Log: rec.log,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "tasks", "77-2", "out"), 0o700); err != nil {
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
