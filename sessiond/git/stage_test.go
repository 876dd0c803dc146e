package git

import (
	"errors"
	"strings"
	"testing"

	"gatewave.dev/shared/apierr"
)

func code(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestStageOneHunk(t *testing.T) {
	orig := lines(30, func(i int) string { return "line" + string(rune('a'+i%26)) })
	dir := newRepo(t, map[string]string{"f.v": orig})
	s := service(t, dir)
	ls := strings.Split(orig, "\n")
	ls[1] = "FIRST"
	ls[25] = "SECOND"
	write(t, dir, "f.v", strings.Join(ls, "\n"))
	d, err := s.Diff(ctx, "f.v", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Hunks) != 2 || d.Old != orig || !strings.Contains(d.New, "SECOND") {
		t.Fatalf("diff: %d hunks", len(d.Hunks))
	}
	if err := s.StageHunk(ctx, HunkRef{Path: "f.v", ID: d.Hunks[1].ID}); err != nil {
		t.Fatal(err)
	}
	idx := cached(t, dir, "f.v")
	if !strings.Contains(idx, "SECOND") || strings.Contains(idx, "FIRST") {
		t.Fatalf("index after staging the second hunk:\n%s", idx)
	}
	// the same hunk again is stale now
	if err := s.StageHunk(ctx, HunkRef{Path: "f.v", ID: d.Hunks[1].ID}); code(err) != "stale" {
		t.Fatalf("stale hunk: %v", err)
	}
	sd, err := s.Diff(ctx, "f.v", true)
	if err != nil || len(sd.Hunks) != 1 {
		t.Fatalf("staged diff: %+v %v", sd, err)
	}
	if err := s.UnstageHunk(ctx, HunkRef{Path: "f.v", ID: sd.Hunks[0].ID}); err != nil {
		t.Fatal(err)
	}
	if cached(t, dir, "f.v") != orig {
		t.Fatal("unstaging the hunk did not restore the index")
	}
	// discard the first hunk in the working tree
	d, _ = s.Diff(ctx, "f.v", false)
	if err := s.DiscardHunk(ctx, HunkRef{Path: "f.v", ID: d.Hunks[0].ID}); err != nil {
		t.Fatal(err)
	}
	if w := read(t, dir, "f.v"); strings.Contains(w, "FIRST") || !strings.Contains(w, "SECOND") {
		t.Fatalf("worktree after discarding a hunk:\n%s", w)
	}
}

func TestHunkEdgeCases(t *testing.T) {
	dir := newRepo(t, map[string]string{"gone.v": "x\ny\n", "nonl.v": "a\nb", "keep.v": "k\n"})
	s := service(t, dir)
	// a deleted file: one hunk removes every line, staging it deletes it from the index
	sh(t, dir, "rm", "-q", "--cached", "gone.v") // make sure rm works then restore
	sh(t, dir, "reset", "-q", "--", "gone.v")
	if err := s.o.Workspace.Root().Remove("gone.v"); err != nil {
		t.Fatal(err)
	}
	d, err := s.Diff(ctx, "gone.v", false)
	if err != nil || len(d.Hunks) != 1 || d.NewExists || !d.OldExists {
		t.Fatalf("deleted: %+v %v", d, err)
	}
	if err := s.StageHunk(ctx, HunkRef{Path: "gone.v", ID: d.Hunks[0].ID}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(ctx)
	if len(st.Staged) != 1 || st.Staged[0] != (File{Path: "gone.v", Status: "D"}) {
		t.Fatalf("after staging a deletion: %+v", st.Staged)
	}
	// no trailing newline on either side
	write(t, dir, "nonl.v", "a\nB")
	d, err = s.Diff(ctx, "nonl.v", false)
	if err != nil || len(d.Hunks) != 1 {
		t.Fatalf("nonl: %+v %v", d, err)
	}
	if err := s.StageHunk(ctx, HunkRef{Path: "nonl.v", ID: d.Hunks[0].ID}); err != nil {
		t.Fatal(err)
	}
	if got := cached(t, dir, "nonl.v"); got != "a\nB" {
		t.Fatalf("nonl index = %q", got)
	}
	// adding the newline back is a hunk of its own
	write(t, dir, "nonl.v", "a\nB\n")
	d, _ = s.Diff(ctx, "nonl.v", false)
	if err := s.StageHunk(ctx, HunkRef{Path: "nonl.v", ID: d.Hunks[0].ID}); err != nil {
		t.Fatal(err)
	}
	if got := cached(t, dir, "nonl.v"); got != "a\nB\n" {
		t.Fatalf("newline index = %q", got)
	}
	// a new file staged whole, then changed: unstage its one staged hunk
	write(t, dir, "new.v", "n1\nn2\n")
	if err := s.Stage(ctx, []string{"new.v"}); err != nil {
		t.Fatal(err)
	}
	sd, err := s.Diff(ctx, "new.v", true)
	if err != nil || len(sd.Hunks) != 1 || sd.OldExists || !sd.NewExists {
		t.Fatalf("new file staged diff: %+v %v", sd, err)
	}
	if err := s.UnstageHunk(ctx, HunkRef{Path: "new.v", ID: sd.Hunks[0].ID}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Status(ctx)
	for _, f := range st.Staged {
		if f.Path == "new.v" {
			t.Fatal("new.v still staged")
		}
	}
	ud, _ := s.Diff(ctx, "new.v", false)
	if !ud.Untracked || ud.New != "n1\nn2\n" {
		t.Fatalf("untracked diff: %+v", ud)
	}
	// discard an untracked file deletes it; a tracked one goes back
	write(t, dir, "keep.v", "changed\n")
	if err := s.Discard(ctx, []string{"new.v", "keep.v"}); err != nil {
		t.Fatal(err)
	}
	if read(t, dir, "keep.v") != "k\n" {
		t.Fatal("keep.v not restored")
	}
	if _, err := s.o.Workspace.Root().Stat("new.v"); err == nil {
		t.Fatal("untracked new.v not deleted")
	}
}

func TestPathsConfined(t *testing.T) {
	dir := newRepo(t, map[string]string{"a": "a\n"})
	s := service(t, dir)
	for _, p := range []string{"../x", "/etc/passwd", ".git/config", "", "a/../../b", "x\x00y"} {
		if err := s.Stage(ctx, []string{p}); code(err) == "" {
			t.Errorf("stage %q: %v", p, err)
		}
		if _, err := s.Diff(ctx, p, false); code(err) == "" {
			t.Errorf("diff %q: %v", p, err)
		}
	}
	// a pathspec is literal: "*" stages nothing but a file named "*"
	write(t, dir, "a", "changed\n")
	write(t, dir, "*", "star\n")
	if err := s.Stage(ctx, []string{"*"}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(ctx)
	if len(st.Staged) != 1 || st.Staged[0].Path != "*" {
		t.Fatalf("literal pathspec: %+v", st.Staged)
	}
	// a symlink out of the workspace is not read through
	if err := s.o.Workspace.Root().Symlink("/etc/passwd", "link"); err == nil {
		d, err := s.Diff(ctx, "link", false)
		if err != nil || d.New != "/etc/passwd" {
			t.Fatalf("symlink diff: %+v %v", d, err)
		}
	}
}

func TestCommit(t *testing.T) {
	dir := newRepo(t, map[string]string{"a": "a\n"})
	s := service(t, dir)
	if _, err := s.Commit(ctx, CommitRequest{Message: "  \n"}); code(err) != "empty_message" {
		t.Fatalf("empty message: %v", err)
	}
	if _, err := s.Commit(ctx, CommitRequest{Message: "nothing"}); code(err) != "nothing_to_commit" {
		t.Fatalf("nothing staged: %v", err)
	}
	write(t, dir, "a", "b\n")
	s.Stage(ctx, []string{"a"})
	res, err := s.Commit(ctx, CommitRequest{Message: "change a\n\nbody"})
	if err != nil || res.Summary != "change a" || len(res.Commit) < 40 {
		t.Fatalf("commit: %+v %v", res, err)
	}
	res2, err := s.Commit(ctx, CommitRequest{Amend: true, Message: "change a, amended"})
	if err != nil || res2.Summary != "change a, amended" || res2.Commit == res.Commit {
		t.Fatalf("amend: %+v %v", res2, err)
	}
	res2, err = s.Commit(ctx, CommitRequest{Amend: true})
	if err != nil || res2.Summary != "change a, amended" {
		t.Fatalf("amend: %+v %v", res2, err)
	}
	page, err := s.Log(ctx, "", 0, 1)
	if err != nil || len(page.Commits) != 1 || !page.More || page.Commits[0].Author != "Ada Lovelace" {
		t.Fatalf("log: %+v %v", page, err)
	}
	page, _ = s.Log(ctx, "a", 1, 10)
	if len(page.Commits) != 1 || page.Commits[0].Subject != "initial" || page.More {
		t.Fatalf("file log page 2: %+v", page)
	}
	b, err := s.BlameLine(ctx, "a", 1)
	if err != nil || b.Author != "Ada Lovelace" || b.Summary != "change a, amended" || b.Uncommitted {
		t.Fatalf("blame: %+v %v", b, err)
	}
	if _, err := s.BlameLine(ctx, "a", 9); code(err) != "bad_request" {
		t.Fatalf("blame past the end: %v", err)
	}
}

func TestBranchNames(t *testing.T) {
	dir := newRepo(t, map[string]string{"a": "a\n"})
	s := service(t, dir)
	for _, bad := range []string{"--upload-pack=x", "-b", "a..b", "x:y", "+main", "has space", "x.lock", "", "@{-1}", "a\nb"} {
		if err := s.CreateBranch(ctx, bad, "", false); code(err) != "bad_request" {
			t.Errorf("branch %q: %v", bad, err)
		}
		if _, err := s.Push(ctx, RemoteRequest{Branch: bad}); bad != "" && code(err) != "bad_request" {
			t.Errorf("push branch %q: %v", bad, err)
		}
	}
	if _, err := s.Push(ctx, RemoteRequest{Remote: "--upload-pack=touch /tmp/x", Branch: "main"}); code(err) != "bad_request" {
		t.Errorf("option as remote: %v", err)
	}
	if _, err := s.Merge(ctx, MergeRequest{Ref: "--upload-pack=x"}); code(err) != "bad_request" {
		t.Errorf("option as ref: %v", err)
	}
	if err := s.CreateBranch(ctx, "feature/x", "", true); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBranch(ctx, "feature/x", "", false); code(err) != "conflict" {
		t.Fatalf("duplicate: %v", err)
	}
	write(t, dir, "a", "on feature\n")
	sh(t, dir, "commit", "-qam", "feature")
	// a local change that switching would overwrite
	write(t, dir, "a", "dirty\n")
	if err := s.Switch(ctx, "main"); code(err) != "local_changes" {
		t.Fatalf("switch with conflicting changes: %v", err)
	}
	sh(t, dir, "checkout", "-q", "--", "a")
	if err := s.Switch(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	bs, _ := s.Branches(ctx)
	if len(bs) != 2 || bs[0].Name != "feature/x" || bs[1].Name != "main" || !bs[1].Current {
		t.Fatalf("branches: %+v", bs)
	}
}

// clone makes a bare remote of dir's main and a second clone of it.
func remotes(t *testing.T, dir string) (bare, other string) {
	bare = t.TempDir()
	sh(t, bare, "init", "-q", "--bare", "-b", "main")
	sh(t, dir, "remote", "add", "origin", bare)
	sh(t, dir, "push", "-q", "-u", "origin", "main")
	other = t.TempDir()
	sh(t, other, "clone", "-q", bare, ".")
	sh(t, other, "config", "user.name", "Grace Hopper")
	sh(t, other, "config", "user.email", "grace@example.com")
	return bare, other
}

func TestPushPullMerge(t *testing.T) {
	dir := newRepo(t, map[string]string{"a": "1\n2\n3\n", "b": "b\n"})
	s := service(t, dir)
	bare, other := remotes(t, dir)
	write(t, dir, "b", "mine\n")
	s.Stage(ctx, []string{"b"})
	if _, err := s.Commit(ctx, CommitRequest{Message: "mine"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Push(ctx, RemoteRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if log := sh(t, bare, "log", "--format=%s", "-1", "main"); log != "mine\n" {
		t.Fatalf("bare log = %q (%s)", log, res.Output)
	}
	// the other clone pushes first: ours is rejected
	sh(t, other, "pull", "-q")
	write(t, other, "a", "1\n2\nTHEIRS\n")
	sh(t, other, "commit", "-qam", "theirs")
	sh(t, other, "push", "-q")
	write(t, dir, "a", "1\n2\nOURS\n")
	sh(t, dir, "commit", "-qam", "ours")
	if _, err := s.Push(ctx, RemoteRequest{Branch: "main"}); code(err) != "rejected" {
		t.Fatalf("non-fast-forward push: %v", err)
	}
	// pulling conflicts: 200 with the file listed
	res, err = s.Pull(ctx, RemoteRequest{Remote: "origin", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0] != "a" || !strings.Contains(res.Output, "CONFLICT") {
		t.Fatalf("pull: %+v", res)
	}
	st, _ := s.Status(ctx)
	if !st.Merging || len(st.Conflicts) != 1 || st.Conflicts[0].Status != "UU" {
		t.Fatalf("status after conflict: %+v", st)
	}
	if _, err := s.Commit(ctx, CommitRequest{Message: "merge"}); code(err) != "unmerged" {
		t.Fatalf("commit with conflicts: %v", err)
	}
	write(t, dir, "a", "1\n2\nBOTH\n")
	if err := s.Stage(ctx, []string{"a"}); err != nil { // mark resolved
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, CommitRequest{Message: "merge"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, RemoteRequest{}); err != nil {
		t.Fatal(err)
	}
	// merge of a ref already fetched (the cloud's pull)
	write(t, other, "b", "later\n")
	sh(t, other, "pull", "-q", "--no-rebase")
	write(t, other, "b", "later\n")
	sh(t, other, "commit", "-qam", "later")
	sh(t, other, "push", "-q")
	sh(t, dir, "fetch", "-q", "origin")
	res, err = s.Merge(ctx, MergeRequest{Ref: "refs/remotes/origin/main"})
	if err != nil || len(res.Conflicts) != 0 || read(t, dir, "b") != "later\n" {
		t.Fatalf("merge: %+v %v", res, err)
	}
	if _, err := s.Merge(ctx, MergeRequest{Ref: "refs/remotes/origin/nope"}); code(err) != "not_found" {
		t.Fatalf("merge of a missing ref: %v", err)
	}
	if _, err := s.Push(ctx, RemoteRequest{Remote: "nope"}); code(err) != "not_found" {
		t.Fatalf("unknown remote: %v", err)
	}
}

func TestUnbornAndOptionLookingPaths(t *testing.T) {
	dir := newRepo(t, nil)
	s := service(t, dir)
	write(t, dir, "-rf", "not an option\n")
	write(t, dir, "--all", "nor this\n")
	if err := s.Stage(ctx, []string{"-rf"}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(ctx)
	if len(st.Staged) != 1 || st.Staged[0].Path != "-rf" || len(st.Untracked) != 1 {
		t.Fatalf("staged an option-looking name: %+v", st)
	}
	d, err := s.Diff(ctx, "-rf", true)
	if err != nil || d.OldExists || d.New != "not an option\n" || len(d.Hunks) != 1 {
		t.Fatalf("staged diff before the first commit: %+v %v", d, err)
	}
	if err := s.Unstage(ctx, []string{"-rf"}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Status(ctx)
	if len(st.Staged) != 0 || len(st.Untracked) != 2 {
		t.Fatalf("unstage before the first commit: %+v", st)
	}
	page, err := s.Log(ctx, "", 0, 10)
	if err != nil || len(page.Commits) != 0 {
		t.Fatalf("log of an unborn branch: %+v %v", page, err)
	}
	if err := s.Discard(ctx, []string{"--all"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.o.Workspace.Root().Stat("--all"); err == nil {
		t.Fatal("discarded untracked --all still there")
	}
}
