//go:build linux

package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const commitEnv = `export GIT_AUTHOR_NAME=A GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=A GIT_COMMITTER_EMAIL=a@x`

func (n *node) push(c pool.Container, session, branch string) (fleetproto.GitResult, error) {
	n.t.Helper()
	args, _ := json.Marshal(fleetproto.GitPushArgs{Container: c.ID, Session: session, Branch: branch})
	return n.gitCmd(n.svc.gitPush, args)
}

func (n *node) fetch(c pool.Container, session string) (fleetproto.GitResult, error) {
	n.t.Helper()
	args, _ := json.Marshal(fleetproto.GitFetchArgs{Container: c.ID, Session: session})
	return n.gitCmd(n.svc.gitFetch, args)
}

func (n *node) gitCmd(h func(context.Context, *fleetproto.Command) ([]byte, error), args []byte) (fleetproto.GitResult, error) {
	var res fleetproto.GitResult
	out, err := h(testenv.Context(n.t, testenv.WaitLong), &fleetproto.Command{Args: args})
	if err == nil {
		err = json.Unmarshal(out, &res)
	}
	return res, err
}

// A commit made in the container reaches the user's repo through the node
// (the container has no credential and no network); a commit pushed from
// elsewhere comes into the container as origin/main with its objects; a
// push that is not a fast-forward is refused as "rejected", and the
// remote's branch is left as it was.
func TestGitPushAndFetch(t *testing.T) {
	repo := origin(t)
	n := newNode(t, 1, nil)
	c, _ := n.claim("session-git1", repo)
	out := n.term(c, `cd /workspace && `+commitEnv+` && echo '// pushed' >> blinky.v && git commit -qam 'from the IDE' && git rev-parse HEAD && git config --get remote.origin.url; env | grep -ci authorization`)
	_, head := splitStatus(t, "## x\n"+out)
	if !strings.Contains(out, "\n"+repo+"\n0") {
		t.Fatalf("the container holds a credential:\n%s", out)
	}
	res, err := n.push(c, "session-git1", "main")
	if err != nil || res.Refused != "" || res.Commit != head {
		t.Fatalf("push = %+v, %v; want %s pushed", res, err, head)
	}
	if got := git(t, repo, "rev-parse", "main"); got != head {
		t.Fatalf("the repo's main is %s, want %s", got, head)
	}
	if out := n.term(c, `cd /workspace && git rev-parse origin/main`); !strings.Contains(out, head) {
		t.Fatalf("origin/main in the workspace after the push:\n%s", out)
	}

	// Someone pushes from outside; a fetch brings it in.
	other := filepath.Join(t.TempDir(), "other")
	git(t, "", "clone", "-q", repo, other)
	os.WriteFile(filepath.Join(other, "outside.v"), []byte("// from outside\n"), 0o644)
	git(t, other, "add", ".")
	git(t, other, "commit", "-qm", "outside")
	git(t, other, "push", "-q", "origin", "HEAD:main")
	outside := git(t, other, "rev-parse", "HEAD")
	fres, err := n.fetch(c, "session-git1")
	if err != nil || fres.Branches["main"] != outside || !strings.Contains(fres.Output, "main -> origin/main") {
		t.Fatalf("fetch = %+v, %v", fres, err)
	}
	if _, ok := fres.Branches[strings.TrimPrefix(fleetproto.AutosaveNamespace, "/")+"autosave"]; ok {
		t.Fatal("the fetch sent the autosave branch")
	}
	if out := n.term(c, `cd /workspace && git rev-parse origin/main && git show origin/main:outside.v && git fsck --no-progress 2>&1 | head -3; echo fsck=$?`); !strings.Contains(out, outside) || !strings.Contains(out, "from outside") {
		t.Fatalf("the workspace after the fetch:\n%s", out)
	}

	// A local commit on top of the old main: not a fast-forward.
	n.term(c, `cd /workspace && `+commitEnv+` && echo x > diverged.txt && git add diverged.txt && git commit -qm diverged`)
	res, err = n.push(c, "session-git1", "main")
	if err != nil || res.Refused != fleetproto.GitRejected || !strings.Contains(res.Message, "pull first") {
		t.Fatalf("non-fast-forward push = %+v, %v; want rejected", res, err)
	}
	if got := git(t, repo, "rev-parse", "main"); got != outside {
		t.Fatalf("a rejected push moved main to %s", got)
	}
	// After merging origin/main the push goes through.
	n.term(c, `cd /workspace && `+commitEnv+` && git merge -q --no-edit origin/main`)
	if res, err = n.push(c, "session-git1", "main"); err != nil || res.Refused != "" {
		t.Fatalf("push after the merge = %+v, %v", res, err)
	}
	// Push again with nothing new: the node has main's commit already (git
	// leaves the ref out of the snapshot bundle), and the answer is that
	// all is up to date, not "no such branch".
	merged := res.Commit
	if res, err = n.push(c, "session-git1", "main"); err != nil || res.Refused != "" || res.Commit != merged {
		t.Fatalf("a second push of the same commit = %+v, %v; want %s, up to date", res, err, merged)
	}
	// A branch the workspace does not have.
	if res, err = n.push(c, "session-git1", "nope"); err != nil || res.Refused != fleetproto.GitNoBranch {
		t.Fatalf("push of a missing branch = %+v, %v", res, err)
	}
}

// The attacks on push and pull from the container's side and through the
// command's arguments: option-like and refspec-like branch names, the
// autosave namespace, another session's container, an argument naming
// another repo, a workspace whose .git is a symlink, and a snapshot
// bigger than the limit.
func TestGitPushAttacks(t *testing.T) {
	repo := origin(t)
	victimRepo := origin(t)
	n := newNode(t, 2, nil)
	c, _ := n.claim("session-atk1", repo)
	other, _ := n.claim("session-atk2", victimRepo)
	victimMain := git(t, victimRepo, "rev-parse", "main")
	n.term(c, `cd /workspace && `+commitEnv+` && git checkout -qb ide/autosave && echo evil > evil.txt && git add evil.txt && git commit -qm evil; git update-ref refs/heads/-o HEAD; git checkout -q main`)

	for _, b := range []string{"--force", "-o", "main:refs/heads/other", "+main", "refs/heads/../../x", "../x", "ide/autosave", "ide/recovered/x", ""} {
		res, err := n.push(c, "session-atk1", b)
		if err == nil && res.Refused == "" {
			t.Errorf("push of %q went through: %+v", b, res)
		}
	}
	for _, ref := range []string{"ide/autosave", "other", "-o", "+main"} {
		if _, err := gitcache.Git(t.Context(), "", repo, nil, "rev-parse", "--verify", "-q", "refs/heads/"+ref); err == nil {
			t.Errorf("the repo has a branch %q", ref)
		}
	}
	// Another session's container, or a session pushing through another
	// one's container, is refused.
	if _, err := n.push(other, "session-atk1", "main"); err == nil {
		t.Error("a push through another session's container went through")
	}
	if _, err := n.fetch(other, "session-atk1"); err == nil {
		t.Error("a fetch into another session's container went through")
	}
	// The arguments name no repo: one that tries is refused outright.
	args := []byte(`{"container":"` + c.ID + `","session":"session-atk1","branch":"main","repo":{"url":"` + victimRepo + `"}}`)
	if _, err := n.gitCmd(n.svc.gitPush, args); err == nil {
		t.Error("push args naming a repo were accepted")
	}
	if got := git(t, victimRepo, "rev-parse", "main"); got != victimMain {
		t.Fatal("another user's repo moved")
	}

	// A symlinked .git: the fetch refuses it (sessiond, as the user), and
	// nothing is written through it.
	n.term(c, `cd /workspace && mv .git /tmp/real.git && ln -s /tmp/real.git .git`)
	if _, err := n.fetch(c, "session-atk1"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("fetch into a symlinked .git: %v", err)
	}
	if out := n.term(c, `echo packs=$(ls /tmp/real.git/objects/pack | grep -cE '^pack-[0-9a-f]{40}[.]pack$')`); !strings.Contains(out, "packs=0") {
		t.Errorf("a pack was written through the symlink:\n%s", out)
	}
	n.term(c, `cd /workspace && rm .git && mv /tmp/real.git .git`)

	// A snapshot over the limit is refused, not stored.
	r, _ := n.svc.loadRecord(c.ID)
	_, err := pushBranch(t.Context(), pushOptions{GitDir: filepath.Join(n.dir, "tiny.git"), Remote: remote(r.Repo), Branch: "main", MaxBytes: 64,
		Snapshot: func(ctx context.Context, have []string, dst pool.Sink) error {
			return n.pool.SnapshotWorkspace(ctx, c.ID, have, dst)
		}})
	if err == nil || !strings.Contains(err.Error(), "too big") {
		t.Fatalf("a snapshot over the limit: %v", err)
	}
}

// A bundle is the container's data: one whose header names refs outside
// refs/heads, or a branch under a name other than the one asked for, is
// never pushed under any name but the one asked for.
func TestPushBranchCraftedBundle(t *testing.T) {
	repo := origin(t)
	main := git(t, repo, "rev-parse", "main")
	src := filepath.Join(t.TempDir(), "src")
	git(t, "", "clone", "-q", repo, src)
	os.WriteFile(filepath.Join(src, "x.v"), []byte("// x\n"), 0o644)
	git(t, src, "add", ".")
	git(t, src, "commit", "-qm", "x")
	git(t, src, "update-ref", "refs/heads/zzzzzzzzzzzzzzzzzzzzzz", "HEAD")
	bundle := filepath.Join(t.TempDir(), "b.bundle")
	git(t, src, "bundle", "create", "-q", bundle, "refs/heads/zzzzzzzzzzzzzzzzzzzzzz")
	raw, _ := os.ReadFile(bundle)
	// The same length, so the pack that follows stays where it is.
	evil := bytes.Replace(raw, []byte("refs/heads/zzzzzzzzzzzzzzzzzzzzzz"), []byte("refs/heads/../../../../../etc/x"), 1)
	for _, tt := range []struct {
		branch string
		bundle []byte
	}{{"x", evil}, {"etc/x", evil}, {"main", evil}, {"main", []byte("# v2 git bundle\n" + main + " refs/heads/main\n\nnot a pack")}} {
		dir := t.TempDir()
		res, err := pushBranch(t.Context(), pushOptions{GitDir: filepath.Join(dir, "p.git"), Remote: gitcache.Remote{URL: repo}, Branch: tt.branch,
			Snapshot: func(ctx context.Context, have []string, dst pool.Sink) error {
				_, err := dst.Write(tt.bundle)
				return err
			}})
		if err == nil && res.Refused == "" {
			t.Errorf("crafted bundle pushed as %q: %+v", tt.branch, res)
		}
		if _, err := os.Stat(filepath.Join(dir, "etc")); err == nil {
			t.Error("the bundle's ref name made a path")
		}
	}
	if got := git(t, repo, "rev-parse", "main"); got != main {
		t.Fatal("a crafted bundle moved main")
	}
	out := git(t, repo, "for-each-ref", "--format=%(refname)")
	if strings.TrimSpace(out) != "refs/heads/main" {
		t.Fatalf("the repo's refs after the crafted bundles: %s", out)
	}
}
