package git

import (
	"errors"
	"testing"

	"gatewave.dev/shared/apierr"
)

func TestStatusSections(t *testing.T) {
	dir := newRepo(t, map[string]string{"a.v": "a\n", "b.v": "b\n", "c.v": "c\n", "old.v": "o\n"})
	s := service(t, dir)
	write(t, dir, "a.v", "a2\n")      // changed
	write(t, dir, "b.v", "b2\n")      // staged
	write(t, dir, "new/x.v", "x\n")   // untracked, in a new dir
	write(t, dir, "sp ace*.v", "s\n") // untracked, odd name
	sh(t, dir, "add", "b.v")
	sh(t, dir, "mv", "old.v", "renamed.v")
	sh(t, dir, "rm", "-q", "c.v")
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Repo || st.Branch != "main" || st.Commit == "" || st.Detached {
		t.Fatalf("branch info: %+v", st)
	}
	want := map[string]string{"b.v": "M", "c.v": "D", "renamed.v": "R"}
	if len(st.Staged) != 3 {
		t.Fatalf("staged = %+v", st.Staged)
	}
	for _, f := range st.Staged {
		if want[f.Path] != f.Status {
			t.Errorf("staged %+v", f)
		}
		if f.Path == "renamed.v" && f.OrigPath != "old.v" {
			t.Errorf("rename orig = %q", f.OrigPath)
		}
	}
	if len(st.Changes) != 1 || st.Changes[0] != (File{Path: "a.v", Status: "M"}) {
		t.Errorf("changes = %+v", st.Changes)
	}
	if len(st.Untracked) != 2 || st.Untracked[0].Path != "new/x.v" || st.Untracked[1].Path != "sp ace*.v" {
		t.Errorf("untracked = %+v", st.Untracked)
	}
}

func TestStatusNoRepoAndInitial(t *testing.T) {
	s := service(t, t.TempDir())
	st, err := s.Status(ctx)
	if err != nil || st.Repo {
		t.Fatalf("no repo: %+v %v", st, err)
	}
	if _, err := s.Diff(ctx, "x", false); !errors.Is(err, ErrNoRepo) {
		t.Fatalf("diff without a repo: %v", err)
	}
	dir := newRepo(t, nil)
	s = service(t, dir)
	write(t, dir, "f", "1\n")
	st, err = s.Status(ctx)
	if err != nil || !st.Repo || st.Commit != "" || st.Branch != "main" || len(st.Untracked) != 1 {
		t.Fatalf("initial: %+v %v", st, err)
	}
}

func TestRestrictedModeRunsNoGit(t *testing.T) {
	dir := newRepo(t, map[string]string{"a": "a\n"})
	s := service(t, dir)
	s.o.Trusted = func() bool { return false }
	_, err := s.Status(ctx)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != "restricted" {
		t.Fatalf("restricted: %v", err)
	}
}

func TestUpstreamAheadBehind(t *testing.T) {
	bare := t.TempDir()
	sh(t, bare, "init", "-q", "--bare", "-b", "main")
	dir := newRepo(t, map[string]string{"a": "a\n"})
	sh(t, dir, "remote", "add", "origin", bare)
	sh(t, dir, "push", "-q", "-u", "origin", "main")
	write(t, dir, "a", "a2\n")
	sh(t, dir, "commit", "-qam", "two")
	st, err := service(t, dir).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Upstream != "origin/main" || st.Ahead != 1 || st.Behind != 0 {
		t.Fatalf("upstream %q +%d -%d", st.Upstream, st.Ahead, st.Behind)
	}
}
