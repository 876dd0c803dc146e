package snapshot

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/shared/savefmt"
)

func sh(t *testing.T, dir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=U",
		"GIT_AUTHOR_EMAIL=u@localhost", "GIT_COMMITTER_NAME=U", "GIT_COMMITTER_EMAIL=u@localhost")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, path, s string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remote is the user's repo as the cloud hosts it, with main.
func remote(t *testing.T) (bare string) {
	root := t.TempDir()
	bare = filepath.Join(root, "u.git")
	sh(t, root, nil, "init", "-q", "--bare", "--initial-branch=main", bare)
	seed := filepath.Join(root, "seed")
	sh(t, root, nil, "clone", "-q", bare, seed)
	write(t, filepath.Join(seed, "top.v"), "module top; endmodule\n")
	write(t, filepath.Join(seed, ".gitignore"), "build/\n")
	sh(t, seed, nil, "add", ".")
	sh(t, seed, nil, "commit", "-qm", "start")
	sh(t, seed, nil, "push", "-q", "origin", "HEAD:main")
	return bare
}

// save does what the node does with a snapshot: fetch it into the user's
// repo and record an autosave commit on ide/autosave naming it.
func save(t *testing.T, bare string, bundle []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.bundle")
	os.WriteFile(f, bundle, 0o600)
	sh(t, bare, nil, "fetch", "-q", f, "+"+Ref+":refs/save/snapshot")
	snap := sh(t, bare, nil, "rev-parse", "refs/save/snapshot")
	args := []string{"commit-tree", snap + "^{tree}", "-p", snap, "-m", "Autosave\n\n" + TrailerSnapshot + ": " + snap}
	if tip, err := exec.Command("git", "-C", bare, "rev-parse", "-q", "--verify", "refs/heads/ide/autosave").Output(); err == nil {
		args = append(args, "-p", strings.TrimSpace(string(tip)))
	}
	a := sh(t, bare, nil, args...)
	sh(t, bare, nil, "update-ref", "refs/heads/ide/autosave", a)
	return a
}

// resumeStream builds what the node sends a fresh container: the user's
// branches but ide/autosave, and the snapshot the autosave names, as a
// pack with its index.
func resumeStream(t *testing.T, bare string) (stream []byte, save, snap string) {
	t.Helper()
	refs := map[string]string{}
	var tips []string
	for _, line := range strings.Split(sh(t, bare, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads"), "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if ref == "refs/heads/"+savefmt.Branch {
			save = sha
			continue
		}
		refs[ref] = sha
		tips = append(tips, sha)
	}
	if save != "" {
		if snap = SnapshotOf(sh(t, bare, nil, "log", "-1", "--format=%B", save)); snap != "" {
			tips = append(tips, snap)
		} else {
			tips = append(tips, save)
		}
	}
	var b bytes.Buffer
	if len(tips) == 0 {
		savefmt.WriteResume(&b, refs, nil, 0, nil, 0)
		return b.Bytes(), save, snap
	}
	dir := t.TempDir()
	name := sh(t, bare, []byte(strings.Join(tips, "\n")+"\n"), "pack-objects", "--revs", "--window=0", "-q", filepath.Join(dir, "p"))
	pack, _ := os.ReadFile(filepath.Join(dir, "p-"+name+".pack"))
	idx, _ := os.ReadFile(filepath.Join(dir, "p-"+name+".idx"))
	if err := savefmt.WriteResume(&b, refs, bytes.NewReader(pack), int64(len(pack)), bytes.NewReader(idx), int64(len(idx))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), save, snap
}

func restoreInto(t *testing.T, bare, _ string, branch string) (string, Result) {
	t.Helper()
	stream, save, snap := resumeStream(t, bare)
	ws := t.TempDir()
	res, err := Restore(context.Background(), Options{Root: ws}, RestoreOptions{Origin: "http://cloud/git/u.git", Save: save, Snapshot: snap, Branch: branch}, bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	return ws, res
}

func TestSnapshotRestoresBranchIndexAndWorkingTree(t *testing.T) {
	bare := remote(t)
	ws := filepath.Join(t.TempDir(), "ws")
	sh(t, filepath.Dir(ws), nil, "clone", "-q", bare, ws)
	// A local branch with a commit never pushed, a staged change, an
	// unstaged one, a deletion, an untracked file and an ignored one.
	sh(t, ws, nil, "checkout", "-q", "-b", "feature")
	write(t, filepath.Join(ws, "rtl", "alu.v"), "module alu; endmodule\n")
	sh(t, ws, nil, "add", ".")
	sh(t, ws, nil, "commit", "-qm", "alu")
	sh(t, ws, nil, "tag", "v0")
	sh(t, ws, nil, "tag", "-a", "v0-annotated", "-m", "release")
	// A stash, and a same-size edit of a staged file within the index's
	// second (git's "racily clean" case).
	write(t, filepath.Join(ws, "stashed.v"), "// stashed\n")
	sh(t, ws, nil, "stash", "push", "-q", "--include-untracked")
	write(t, filepath.Join(ws, "racy.v"), "AAAA\n")
	sh(t, ws, nil, "add", "racy.v")
	write(t, filepath.Join(ws, "racy.v"), "BBBB\n")
	write(t, filepath.Join(ws, "staged.v"), "// staged\n")
	sh(t, ws, nil, "add", "staged.v")
	write(t, filepath.Join(ws, "staged.v"), "// staged, then edited\n")
	write(t, filepath.Join(ws, "top.v"), "module top(input clk); endmodule\n")
	os.Remove(filepath.Join(ws, "rtl", "alu.v"))
	write(t, filepath.Join(ws, "notes.txt"), "untracked\n")
	write(t, filepath.Join(ws, "build", "top.bin"), "ignored\n")
	os.Symlink("top.v", filepath.Join(ws, "link.v"))
	wantStatus := sh(t, ws, nil, "status", "--porcelain=v1", "--branch")
	wantHead := sh(t, ws, nil, "rev-parse", "HEAD")

	var b bytes.Buffer
	meta, err := Create(context.Background(), Options{Root: ws}, nil, &b)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Branch != "feature" || meta.Head != wantHead || meta.Index == "" {
		t.Fatalf("meta = %+v", meta)
	}
	// The snapshot wrote nothing into the workspace's repository.
	if out := sh(t, ws, nil, "for-each-ref", "refs/gatewave"); out != "" {
		t.Fatalf("snapshot left refs in the workspace: %s", out)
	}
	a := save(t, bare, b.Bytes())

	got, res := restoreInto(t, bare, a, "")
	if res.Branch != "feature" || res.Head != wantHead || res.Resumed != a {
		t.Fatalf("restore = %+v", res)
	}
	gotStatus := sh(t, got, nil, "status", "--porcelain=v1", "--branch")
	// The upstream differs (feature was never pushed); compare the rest.
	trim := func(s string) string { _, rest, _ := strings.Cut(s, "\n"); return rest }
	if trim(gotStatus) != trim(wantStatus) {
		t.Fatalf("status after restore:\n%s\nwant:\n%s", gotStatus, wantStatus)
	}
	if s, _ := os.ReadFile(filepath.Join(got, "staged.v")); string(s) != "// staged, then edited\n" {
		t.Fatalf("staged.v = %q", s)
	}
	if s := sh(t, got, nil, "show", ":staged.v"); s != "// staged" {
		t.Fatalf("index staged.v = %q", s)
	}
	if _, err := os.Stat(filepath.Join(got, "build", "top.bin")); !os.IsNotExist(err) {
		t.Fatal("an ignored file came back")
	}
	if l, err := os.Readlink(filepath.Join(got, "link.v")); err != nil || l != "top.v" {
		t.Fatalf("symlink = %q, %v", l, err)
	}
	if sh(t, got, nil, "rev-parse", "v0") != wantHead || sh(t, got, nil, "rev-parse", "v0-annotated^{commit}") != wantHead {
		t.Fatal("tags lost")
	}
	if b, _ := os.ReadFile(filepath.Join(got, "racy.v")); string(b) != "BBBB\n" {
		t.Fatalf("racy.v = %q, want the edit made after staging", b)
	}
	if st := sh(t, got, nil, "stash", "list"); !strings.Contains(st, "stash@{0}") {
		t.Fatalf("stash lost: %q", st)
	}
	if b := sh(t, got, nil, "show", "stash@{0}^3:stashed.v"); b != "// stashed" {
		t.Fatalf("the stash's untracked stashed.v = %q", b)
	}
	if sh(t, got, nil, "rev-parse", "origin/main") != sh(t, bare, nil, "rev-parse", "main") {
		t.Fatal("origin/main missing")
	}
	// The user's branches on the remote were not touched.
	if out := sh(t, bare, nil, "for-each-ref", "--format=%(refname)", "refs/heads"); out != "refs/heads/ide/autosave\nrefs/heads/main" {
		t.Fatalf("remote branches = %q", out)
	}

	// Saving the same state again gives the same snapshot commit.
	var b2 bytes.Buffer
	if _, err := Create(context.Background(), Options{Root: got}, nil, &b2); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "b2")
	os.WriteFile(f, b2.Bytes(), 0o600)
	again := strings.Fields(sh(t, bare, nil, "bundle", "list-heads", f, Ref))[0]
	if again != sh(t, bare, nil, "rev-parse", "refs/save/snapshot") {
		t.Fatal("an unchanged workspace gave a new snapshot commit")
	}
	// And the receiver holding that very commit still gets a bundle.
	var b3 bytes.Buffer
	if _, err := Create(context.Background(), Options{Root: got}, []string{again, wantHead, a}, &b3); err != nil {
		t.Fatalf("snapshot the receiver already has: %v", err)
	}
}

func TestSnapshotPrerequisitesAndFreshCheckout(t *testing.T) {
	bare := remote(t)
	ws, res := restoreInto(t, bare, "", "")
	if res.Branch != "main" || res.Resumed != "" || res.Head != sh(t, bare, nil, "rev-parse", "main") {
		t.Fatalf("fresh restore = %+v", res)
	}
	if st := sh(t, ws, nil, "status", "--porcelain"); st != "" {
		t.Fatalf("fresh checkout is dirty: %q", st)
	}
	if up := sh(t, ws, nil, "rev-parse", "--abbrev-ref", "main@{upstream}"); up != "origin/main" {
		t.Fatalf("upstream = %q", up)
	}
	write(t, filepath.Join(ws, "x.v"), "// x\n")
	var b bytes.Buffer
	main := sh(t, bare, nil, "rev-parse", "main")
	if _, err := Create(context.Background(), Options{Root: ws}, []string{main, strings.Repeat("a", 40)}, &b); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "b")
	os.WriteFile(f, b.Bytes(), 0o600)
	// The receiver has main: the bundle needs it and does not carry it.
	if out := sh(t, bare, nil, "bundle", "verify", "-q", f); strings.Contains(out, "error") {
		t.Fatal(out)
	}
	if !bytes.Contains(b.Bytes()[:200], []byte("\n-"+main)) {
		t.Fatalf("bundle does not list main as a prerequisite:\n%q", b.Bytes()[:200])
	}

	if _, _, err := func() (string, Result, error) {
		r, err := Restore(context.Background(), Options{Root: ws}, RestoreOptions{}, bytes.NewReader(nil))
		return "", r, err
	}(); err == nil {
		t.Fatal("restore into a workspace with a repository succeeded")
	}
	if _, err := Restore(context.Background(), Options{Root: t.TempDir()}, RestoreOptions{}, strings.NewReader("garbage")); err == nil {
		t.Fatal("restore of garbage succeeded")
	}
}

// A clone inside the workspace (its own .git) keeps its uncommitted and
// untracked work through a save.
func TestSnapshotKeepsNestedRepositories(t *testing.T) {
	bare := remote(t)
	ws := filepath.Join(t.TempDir(), "ws")
	sh(t, filepath.Dir(ws), nil, "clone", "-q", bare, ws)
	lib := filepath.Join(ws, "vendor", "lib")
	sh(t, ws, nil, "clone", "-q", bare, lib)
	write(t, filepath.Join(lib, "top.v"), "// edited inside the nested clone\n")
	write(t, filepath.Join(lib, "inner", "new.v"), "// untracked inside it\n")
	var b bytes.Buffer
	if _, err := Create(context.Background(), Options{Root: ws}, nil, &b); err != nil {
		t.Fatal(err)
	}
	save(t, bare, b.Bytes())
	got, _ := restoreInto(t, bare, "", "")
	for path, want := range map[string]string{"vendor/lib/top.v": "// edited inside the nested clone\n", "vendor/lib/inner/new.v": "// untracked inside it\n"} {
		if b, err := os.ReadFile(filepath.Join(got, path)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", path, b, err, want)
		}
	}
}

func TestSnapshotWithoutRepository(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "a.v"), "// a\n")
	var b bytes.Buffer
	meta, err := Create(context.Background(), Options{Root: ws}, nil, &b)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Head != "" || meta.Branch != "" {
		t.Fatalf("meta = %+v", meta)
	}
	bare := remote(t)
	a := save(t, bare, b.Bytes())
	got, _ := restoreInto(t, bare, a, "")
	if s, _ := os.ReadFile(filepath.Join(got, "a.v")); string(s) != "// a\n" {
		t.Fatalf("a.v = %q", s)
	}
}

func FuzzParseMeta(f *testing.F) {
	f.Add(Meta{Branch: "main", Head: strings.Repeat("a", 40), Refs: map[string]string{"refs/heads/x": strings.Repeat("b", 40)}}.message())
	f.Fuzz(func(t *testing.T, msg string) {
		m := ParseMeta(msg)
		for ref, sha := range m.Refs {
			if !refRE.MatchString(ref) || !shaRE.MatchString(sha) {
				t.Fatalf("accepted %q %q", ref, sha)
			}
		}
		_ = SnapshotOf(msg)
	})
}
