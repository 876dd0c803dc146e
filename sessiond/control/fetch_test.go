package control

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/snapshot"
	"gatewave.dev/shared/savefmt"
	"gatewave.dev/shared/testenv"
)

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=U", "GIT_AUTHOR_EMAIL=u@x", "GIT_COMMITTER_NAME=U", "GIT_COMMITTER_EMAIL=u@x",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// upstream is the user's repo with one commit the workspace lacks; it
// returns the repo and a pack (with its index) of that commit.
func upstream(t *testing.T, ws string) (string, string, []byte, []byte) {
	up := filepath.Join(t.TempDir(), "up")
	gitT(t, "", "clone", "-q", ws, up)
	os.WriteFile(filepath.Join(up, "new.txt"), []byte("new\n"), 0o644)
	gitT(t, up, "add", ".")
	gitT(t, up, "commit", "-qm", "upstream")
	head := gitT(t, up, "rev-parse", "HEAD")
	base := gitT(t, ws, "rev-parse", "HEAD")
	cmd := exec.Command("git", "pack-objects", "--revs", "-q", filepath.Join(t.TempDir(), "p"))
	cmd.Dir = up
	cmd.Stdin = strings.NewReader(head + "\n^" + base + "\n")
	name, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(cmd.Args[len(cmd.Args)-1])
	id := strings.TrimSpace(string(name))
	pack, _ := os.ReadFile(filepath.Join(dir, "p-"+id+".pack"))
	idx, _ := os.ReadFile(filepath.Join(dir, "p-"+id+".idx"))
	return up, head, pack, idx
}

func stream(refs map[string]string, pack, idx []byte) *bytes.Buffer {
	var b bytes.Buffer
	savefmt.WriteResume(&b, refs, bytes.NewReader(pack), int64(len(pack)), bytes.NewReader(idx), int64(len(idx)))
	return &b
}

func post(t *testing.T, h http.Handler, body *bytes.Buffer) (int, string) {
	req := httptest.NewRequest(http.MethodPost, PathFetch, body)
	req.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// The fetch stream is the node's, but every ref name in it is checked
// before anything moves: only branches, only to refs/remotes/origin/*,
// only to commits the repository has; a symlinked .git, or an
// objects/pack that leads out of it, gets nothing written through it.
func TestFetchRoute(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git", "apt-get install git")
	}
	ws := t.TempDir()
	gitT(t, ws, "init", "-q", "--initial-branch=main")
	os.WriteFile(filepath.Join(ws, "a.txt"), []byte("a\n"), 0o644)
	gitT(t, ws, "add", ".")
	gitT(t, ws, "commit", "-qm", "a")
	_, head, pack, idx := upstream(t, ws)
	h, err := New(Options{Snapshot: snapshot.Options{Root: ws}, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}

	// GET says what the workspace has.
	req := httptest.NewRequest(http.MethodGet, PathFetch, nil)
	req.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var have struct{ Have []string }
	if json.Unmarshal(w.Body.Bytes(), &have); w.Code != 200 || len(have.Have) != 1 || have.Have[0] != gitT(t, ws, "rev-parse", "HEAD") {
		t.Fatalf("GET %s: %d %s", PathFetch, w.Code, w.Body)
	}

	for _, ref := range []string{"refs/heads/../../x", "refs/remotes/origin/x", "refs/tags/v1", "refs/heads/-o", "refs/heads/a.lock",
		"refs/heads/x/", "refs/heads/.x", "refs/heads/a@{1}", "refs/heads/HEAD", "refs/gatewave/snapshot"} {
		if code, body := post(t, h, stream(map[string]string{ref: head}, pack, idx)); code == 200 {
			t.Errorf("ref %q accepted: %s", ref, body)
		}
	}
	if out := gitT(t, ws, "for-each-ref", "--format=%(refname)"); out != "refs/heads/main" {
		t.Fatalf("refs after the refused streams: %s", out)
	}
	// A commit the stream did not bring moves nothing.
	if code, body := post(t, h, stream(map[string]string{"refs/heads/main": strings.Repeat("ab", 20)}, nil, nil)); code == 200 {
		t.Errorf("a ref to a missing commit was accepted: %s", body)
	}

	if code, body := post(t, h, stream(map[string]string{"refs/heads/main": head}, pack, idx)); code != 200 || !strings.Contains(body, "refs/remotes/origin/main") {
		t.Fatalf("fetch: %d %s", code, body)
	}
	if got := gitT(t, ws, "rev-parse", "origin/main"); got != head {
		t.Fatalf("origin/main = %s, want %s", got, head)
	}
	if got := gitT(t, ws, "show", "origin/main:new.txt"); got != "new" {
		t.Fatalf("the fetched commit's file: %q", got)
	}
	if gitT(t, ws, "rev-parse", "main") == head {
		t.Fatal("the fetch moved the local branch")
	}
	gitT(t, ws, "fsck", "--no-progress")

	// objects/pack made a symlink out of .git: os.Root refuses it.
	outside := t.TempDir()
	pk := filepath.Join(ws, ".git", "objects", "pack")
	os.Rename(pk, pk+".real")
	os.Symlink(outside, pk)
	if code, _ := post(t, h, stream(map[string]string{"refs/heads/main": head}, pack, idx)); code == 200 {
		t.Error("a fetch wrote through a symlinked objects/pack")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("files written outside .git: %v", ents)
	}
	os.Remove(pk)
	os.Rename(pk+".real", pk)

	// A .git that is a symlink is not the workspace's own repository.
	real := filepath.Join(t.TempDir(), "real.git")
	os.Rename(filepath.Join(ws, ".git"), real)
	os.Symlink(real, filepath.Join(ws, ".git"))
	if code, body := post(t, h, stream(map[string]string{"refs/heads/main": head}, pack, idx)); code != http.StatusConflict {
		t.Fatalf("fetch into a symlinked .git: %d %s", code, body)
	}
}
