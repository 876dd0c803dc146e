package sessions_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/cloud/sessions"
)

// gitPost sends the IDE's push or pull: a same-origin fetch with JSON.
func (u *user) gitPost(t testing.TB, se sessions.Session, what, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	h := map[string]string{"Origin": "http://" + u.e.addr, "Content-Type": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	resp, b := u.do(t, http.MethodPost, se.URL+"api/v1/git/"+what, strings.NewReader(body), h)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	t.Logf("POST %sapi/v1/git/%s %s: %s %s", se.URL, what, body, resp.Status, b)
	return resp.StatusCode, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Push through the cloud: the workspace's commit lands on the user's repo
// (the node pushes it with the session's credential), a push that is not
// a fast-forward is a 409 "rejected", and the request is refused to
// anyone but the owner, from another origin, as a form, for the autosave
// namespace or an option-like name, and to any remote but origin.
// gitSession is a cloud with one container, alice holding a session in
// it (cid is the container's id) and bob signed in beside her.
func gitSession(t *testing.T) (e *env, alice, bob *user, se sessions.Session, cid string) {
	t.Helper()
	e = newEnv(t, envOpts{containers: 1})
	alice = e.addUser(t, "alice")
	alice.signIn(t)
	bob = e.addUser(t, "bob")
	bob.signIn(t)
	e.waitIdleInDB(t, 1)
	se = alice.mustAllocate(t)
	for _, cl := range e.nodeGW.pool.Snapshot() {
		if cl.Owner == se.ID {
			cid = cl.ID
		}
	}
	if cid == "" {
		t.Fatal("no container holds the session")
	}
	return e, alice, bob, se, cid
}

// pushFromOutside commits outside.txt to main of the repo from a clone
// on disk, as someone else would, and returns the commit's id.
func pushFromOutside(t *testing.T, repo string) string {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("git", "clone", "-q", repo, other).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(other, "outside.txt"), []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "."}, {"-c", "user.name=O", "-c", "user.email=o@x", "commit", "-qm", "outside"}, {"push", "-q", "origin", "HEAD:main"}} {
		if out, err := exec.Command("git", append([]string{"-C", other}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	head, err := exec.Command("git", "-C", other, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(head))
}

func TestGitPushThroughTheCloud(t *testing.T) {
	e, alice, bob, se, cid := gitSession(t)
	repo := e.srv.Git.RepoPath("alice")
	before, _ := exec.Command("git", "--git-dir", repo, "rev-parse", "main").Output()

	// A commit in the workspace, made by sessiond's own git (the IDE's
	// terminal would do the same): the snapshot carries it to the node.
	alice.mustPut(t, se, "pushed.txt", "pushed through the cloud\n")
	if out, err := exec.Command("docker", "exec", "-u", "1000", "-w", "/workspace", cid, "sh", "-c",
		"git add pushed.txt && git -c user.name=A -c user.email=a@x commit -qm 'from the session' && git rev-parse HEAD").CombinedOutput(); err != nil {
		t.Fatalf("commit in the container: %v %s", err, out)
	}
	head, _ := exec.Command("docker", "exec", "-u", "1000", "-w", "/workspace", cid, "git", "rev-parse", "HEAD").Output()

	refused := []struct {
		who  *user
		body string
		hdr  map[string]string
		code int
	}{
		{bob, `{"branch":"main"}`, nil, http.StatusForbidden},
		{alice, `{"branch":"main"}`, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{alice, `{"branch":"main"}`, map[string]string{"Origin": ""}, http.StatusForbidden},
		{alice, `branch=main`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{alice, `{"branch":"ide/autosave"}`, nil, http.StatusBadRequest},
		{alice, `{"branch":"--force"}`, nil, http.StatusBadRequest},
		{alice, `{"branch":"main:refs/heads/other"}`, nil, http.StatusBadRequest},
		{alice, `{"branch":"main","remote":"http://127.0.0.1/git/bob.git"}`, nil, http.StatusBadRequest},
		{alice, `{"branch":"main","url":"x"}`, nil, http.StatusBadRequest},
	}
	for _, r := range refused {
		if code, _ := r.who.gitPost(t, se, "push", r.body, r.hdr); code != r.code {
			t.Errorf("push %s by %s with %v: %d, want %d", r.body, r.who.name, r.hdr, code, r.code)
		}
	}
	if now, _ := exec.Command("git", "--git-dir", repo, "rev-parse", "main").Output(); string(now) != string(before) {
		t.Fatal("a refused push moved main")
	}

	code, m := alice.gitPost(t, se, "push", `{"branch":"main","remote":"origin"}`, nil)
	if code != http.StatusOK || m["commit"] != strings.TrimSpace(string(head)) {
		t.Fatalf("push: %d %v", code, m)
	}
	if got, err := e.gitShow(t, "alice", "main:pushed.txt"); err != nil || got != "pushed through the cloud\n" {
		t.Fatalf("main:pushed.txt in the repo: %q %v", got, err)
	}

	// Someone pushes from outside; the session's push is now rejected.
	pushFromOutside(t, repo)
	exec.Command("docker", "exec", "-u", "1000", "-w", "/workspace", cid, "sh", "-c",
		"echo more > more.txt && git add more.txt && git -c user.name=A -c user.email=a@x commit -qm more").Run()
	code, m = alice.gitPost(t, se, "push", `{"branch":"main"}`, nil)
	if code != http.StatusConflict || errCode(m) != "rejected" || !strings.Contains(strings.ToLower(m["error"].(map[string]any)["message"].(string)), "pull first") {
		t.Fatalf("non-fast-forward push: %d %v, want 409 rejected", code, m)
	}
	if got, _ := e.gitShow(t, "alice", "main:outside.txt"); got != "outside\n" {
		t.Fatal("the rejected push changed main")
	}
}

// Pull through the cloud: the node fetches the user's repo and brings a
// commit pushed from outside into the workspace as origin/main (objects
// included, while the container has no network), and the cloud relays
// sessiond's merge of it. Refused to another user, for a branch the repo
// does not have and for the autosave namespace.
func TestGitPullThroughTheCloud(t *testing.T) {
	e, alice, bob, se, id := gitSession(t)
	outside := pushFromOutside(t, e.srv.Git.RepoPath("alice"))

	if code, _ := bob.gitPost(t, se, "pull", `{"branch":"main"}`, nil); code != http.StatusForbidden {
		t.Errorf("bob's pull into alice's session: %d", code)
	}
	if code, m := alice.gitPost(t, se, "pull", `{"branch":"nope"}`, nil); code != http.StatusNotFound || errCode(m) != "no_branch" {
		t.Errorf("pull of a missing branch: %d %v", code, m)
	}
	if code, _ := alice.gitPost(t, se, "pull", `{"branch":"ide/autosave"}`, nil); code != http.StatusBadRequest {
		t.Errorf("pull of ide/autosave: %d", code)
	}
	code, m := alice.gitPost(t, se, "pull", `{"branch":"main"}`, nil)
	got, err := exec.Command("docker", "exec", "-u", "1000", "-w", "/workspace", id, "sh", "-c", "git rev-parse origin/main && git show origin/main:outside.txt").CombinedOutput()
	if err != nil || !strings.Contains(string(got), outside) || !strings.Contains(string(got), "outside") {
		t.Fatalf("origin/main in the workspace after the pull: %v %s", err, got)
	}
	// The merge is sessiond's: the cloud's answer is what it answers to
	// the same merge (with the fetch's output in front).
	resp, b := alice.do(t, http.MethodPost, se.URL+"api/v1/git/merge", strings.NewReader(`{"ref":"refs/remotes/origin/main"}`),
		map[string]string{"Origin": "http://" + e.addr, "Content-Type": "application/json"})
	if code != resp.StatusCode {
		t.Fatalf("pull answered %d %v; sessiond's merge answers %s %s", code, m, resp.Status, b)
	}
	if code == http.StatusOK {
		if out, _ := m["output"].(string); !strings.Contains(out, "main -> origin/main") {
			t.Fatalf("pull output: %q", out)
		}
		if c, ok := m["conflicts"].([]any); !ok || len(c) != 0 {
			t.Fatalf("pull conflicts: %v", m["conflicts"])
		}
		if got, _ := exec.Command("docker", "exec", "-u", "1000", "-w", "/workspace", id, "cat", "outside.txt").Output(); string(got) != "outside\n" {
			t.Fatalf("outside.txt after the pull: %q", got)
		}
	}
}
