package nixcache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

	"gatewave.dev/nodegw/nixproxy"
	"gatewave.dev/shared/testenv"
)

// The session image with Debian's nix-bin (images/build.sh debian).
const sessionImage = "gatewave/workspace-debian"

var sessionImageBuild struct {
	once sync.Once
	out  []byte
	err  error
}

// buildSessionImage (re)builds the session image with this tree's
// sessiond, once per test binary, as testenv.BuildSessiondImage does for
// the scratch image: mmdebstrap runs only when the package list changed
// (minutes), the sessiond layer otherwise takes seconds.
func buildSessionImage(t *testing.T) {
	t.Helper()
	testenv.LookPath(t, "mmdebstrap")
	sessionImageBuild.once.Do(func() {
		sessionImageBuild.out, sessionImageBuild.err = exec.Command("bash", "../../images/build.sh", "debian").CombinedOutput()
	})
	if sessionImageBuild.err != nil {
		t.Fatalf("build %s: %v\n%s", sessionImage, sessionImageBuild.err, sessionImageBuild.out)
	}
}

// sessionContainer starts the session image as nodegw's pool does (no
// network, read-only root, no capabilities but the privilege drop's, the
// user's tmpfs /nix, the node's run dir, the node's nix directory
// read-only) and returns its name and its sessiond socket and token.
func sessionContainer(t *testing.T, nixDir string) (name, sock, token string) {
	t.Helper()
	docker := testenv.Docker(t)
	buildSessionImage(t)
	if out, err := exec.Command(docker, "run", "--rm", "--entrypoint", "nix-store", sessionImage, "--version").CombinedOutput(); err != nil {
		testenv.Missing(t, sessionImage+" with nix-bin", "bash images/build.sh debian: "+strings.TrimSpace(string(out)))
	}
	run := t.TempDir()
	os.Chmod(run, 0o700)
	token = "session-token-0123456789"
	os.WriteFile(filepath.Join(run, "token"), []byte(token+"\n"), 0o600)
	name = fmt.Sprintf("gw-nixcache-test-%d", time.Now().UnixNano())
	args := []string{"run", "-d", "--name", name, "--network", "none", "--read-only",
		"--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--security-opt", "no-new-privileges",
		"--tmpfs", "/tmp:rw,nosuid,nodev,mode=1777",
		"--tmpfs", "/home/dev:rw,nosuid,nodev,uid=1000,gid=1000,mode=0755",
		"--tmpfs", "/nix:rw,exec,nosuid,nodev,uid=1000,gid=1000,mode=0755",
		"--tmpfs", "/workspace:rw,exec,nosuid,nodev,uid=1000,gid=1000,mode=0755",
		"-v", run + ":/run/gatewave", "-v", nixDir + ":" + nixproxy.ContainerDir + ":ro",
		sessionImage}
	if out, err := exec.Command(docker, args...).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(docker, "rm", "-f", name).Run() })
	sock = filepath.Join(run, "sessiond.sock")
	deadline := time.Now().Add(testenv.WaitLong)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command(docker, "logs", name).CombinedOutput()
			t.Fatalf("sessiond did not come up:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return name, sock, token
}

// asUser runs a command in the container as its user.
func asUser(t *testing.T, ctr string, stdin io.Reader, argv ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"exec", "-i", "--user", "1000:1000", "-w", "/workspace", ctr}, argv...)...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sessiondAPI calls sessiond in the container over its socket, as the node does.
func sessiondAPI(t *testing.T, sock, token, method, path string, body string, out any) int {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequest(method, "http://sessiond"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// nodeSide runs the node's half (nodegw/nixproxy) against the cloud.
func nodeSide(t *testing.T, cloud string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "nix")
	p, err := nixproxy.New(nixproxy.Options{CloudURL: cloud, Token: nodeToken, Dir: dir, MaxConcurrent: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := p.FetchKey(ctx); err != nil {
		t.Fatal(err)
	}
	go p.Serve(ctx)
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, nixproxy.Socket)); err == nil {
			break
		}
		if i > 100 {
			t.Fatal("no socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dir
}

// TestSessionSubstitutesFromTheCloud: a path built on the host is pushed
// to the cloud and then substituted, not built, inside a real session
// container (which could not build it: its builder, /bin/busybox, is not
// in the image), and a shell.nix using it puts its tool on a task's PATH.
func TestSessionSubstitutesFromTheCloud(t *testing.T) {
	nixTools(t)
	ctx := testenv.Context(t, 5*time.Minute)
	tool, exp := buildAndExport(t)
	c, cloud := newTestCache(t)
	if _, err := Push(ctx, PushOptions{URL: cloud, Token: adminToken, Dir: exp}); err != nil {
		t.Fatal(err)
	}
	nixDir := nodeSide(t, cloud)
	ctr, sock, token := sessionContainer(t, nixDir)

	out, err := asUser(t, ctr, nil, "nix-store", "--realise", tool, "--max-jobs", "0")
	if err != nil {
		t.Fatalf("substituting in the session: %v\n%s", err, out)
	}
	if !strings.Contains(out, "copying path '"+tool+"' from 'http://127.0.0.1:37515/nix-cache'") {
		t.Fatalf("nix did not substitute from the cache:\n%s", out)
	}
	if n := c.NarsServed(); n != 2 {
		t.Fatalf("the cloud served %d NARs, want 2", n)
	}
	out, err = asUser(t, ctr, nil, "sh", "-c", `"$(cat `+tool+`/hello-path)/bin/gw-hello"`)
	if err != nil || strings.TrimSpace(out) != "hello-from-nix" {
		t.Fatalf("the substituted tool: %v %q", err, out)
	}

	// shell.nix: a shell whose input is the cached tool. nix-shell builds
	// only the inputs, and those come from the cache.
	shell := `let tool = import ./hello.nix; in builtins.derivation {
  name = "gw-shell"; system = builtins.currentSystem; builder = "/bin/sh";
  shellHook = ''export PATH="$(cat ${tool}/hello-path)/bin:$PATH"'';
}`
	for name, body := range map[string]string{"hello.nix": helloNix, "shell.nix": shell} {
		if out, err := asUser(t, ctr, strings.NewReader(body), "sh", "-c", "cat > /workspace/"+name); err != nil {
			t.Fatalf("write %s: %v %s", name, err, out)
		}
	}
	var st struct{ State, Error string }
	deadline := time.Now().Add(2 * time.Minute)
	for {
		sessiondAPI(t, sock, token, "GET", "/api/v1/nix/shell", "", &st)
		if st.State == "ready" || st.State == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.State != "ready" {
		t.Fatalf("shell.nix in the session: %+v", st)
	}
	var task struct{ ID string }
	if code := sessiondAPI(t, sock, token, "POST", "/api/v1/tasks", `{"command":["sh","-c","gw-hello > /workspace/task-out"]}`, &task); code/100 != 2 {
		t.Fatalf("start task: %d", code)
	}
	for i := 0; ; i++ {
		out, _ := asUser(t, ctr, nil, "cat", "/workspace/task-out")
		if strings.TrimSpace(out) == "hello-from-nix" {
			break
		}
		if i > 100 {
			t.Fatalf("the task did not find gw-hello on its PATH: %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCacheSocketFromInside attacks the node's cache socket from inside a
// session container, as its user.
func TestCacheSocketFromInside(t *testing.T) {
	nixTools(t)
	_, cloud := newTestCache(t)
	nixDir := nodeSide(t, cloud)
	ctr, _, _ := sessionContainer(t, nixDir)

	// A listener on the host the absolute-form request names: nothing may reach it.
	canary, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	var hits atomic.Int32
	go func() {
		for {
			c, err := canary.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()

	bin := filepath.Join(t.TempDir(), "attack")
	build := exec.Command("go", "build", "-o", bin, "./testdata/attack")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build attacker: %v\n%s", err, out)
	}
	f, _ := os.Open(bin)
	defer f.Close()
	out, err := asUser(t, ctr, f, "sh", "-c", "cat > /workspace/attack && chmod +x /workspace/attack && /workspace/attack "+
		nixproxy.ContainerDir+"/"+nixproxy.Socket+" "+nodeToken+" "+canary.Addr().String())
	if err != nil {
		t.Fatalf("attacker: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("attacker output %q", line)
		}
		if f[2] != "false" {
			t.Errorf("%s: the node's token was in the response", f[0])
		}
		got[f[0]] = f[1]
	}
	for name, want := range map[string]string{
		"info": "200", "head": "200", "missing-narinfo": "404",
		"other-route": "404", "public-key": "404", "traversal": "404", "traversal-escaped": "404", "encoded-name": "404",
		"query": "404", "put": "405", "post": "405", "delete": "405", "get-with-body": "400", "chunked-body": "400",
		"absolute-form": "200", "huge-header": "431", "connect": "405",
		"write-dir": "refused", "remove-socket": "refused",
	} {
		if got[name] != want {
			t.Errorf("%s: %q, want %s", name, got[name], want)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("an absolute-form request reached another host (%d connections)", hits.Load())
	}
	// The token is nowhere the user can read: not in the environment, not
	// in the mounted directory.
	out, _ = asUser(t, ctr, nil, "sh", "-c", "env; cat "+nixproxy.ContainerDir+"/*; cat /proc/1/environ 2>/dev/null")
	if strings.Contains(out, nodeToken) {
		t.Fatalf("the node's token is visible inside the container:\n%s", out)
	}
}
