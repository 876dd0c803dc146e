// Package snapshot saves a workspace as git objects and restores it, so a
// user's next session starts exactly where the last one ended: the branch
// they were on with its commits, every local branch and tag, the index
// (what was staged) and the working tree, uncommitted and untracked
// (not ignored) files included.
//
// It runs inside the session container as the unprivileged user, never on
// the node: the workspace, its .git and its config are the user's, so git
// only ever reads them in the user's own sandbox. A snapshot writes nothing
// into the workspace (it works in a scratch repository that borrows the
// workspace's objects), so it can run against a read-only mount of a dead
// container's volume, and it never races the user's own git for
// .git/index.lock.
//
// A snapshot is a git bundle holding refs/gatewave/snapshot, a commit
// whose tree is the working tree and whose message carries the state as
// trailers (see Meta), plus the workspace's refs/heads/* and refs/tags/*.
// The node turns it into the autosave commit on ide/autosave, whose
// message names the snapshot (Gatewave-Snapshot: <commit>); Restore reads
// that back.
package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/savefmt"
)

// Ref is the ref a snapshot bundle carries its snapshot commit under.
const Ref = savefmt.SnapshotRef

// Trailer keys in snapshot and autosave commit messages.
const (
	trailerBranch   = "Gatewave-Branch"       // the branch HEAD was on ("" detached)
	trailerHead     = "Gatewave-Head"         // HEAD's commit ("" unborn)
	trailerIndex    = "Gatewave-Index"        // a commit whose tree is the index ("" unreadable, e.g. mid-merge)
	trailerRef      = "Gatewave-Ref"          // "<ref> <commit>", one per local branch or tag
	TrailerSnapshot = savefmt.TrailerSnapshot // in an autosave commit: the snapshot it records
)

// Options say where the workspace is and how to run git.
type Options struct {
	// Root is the workspace directory (required).
	Root string
	// Git is the git binary; "" means "git" from $PATH.
	Git string
	// TempDir holds the scratch repository; "" means os.TempDir().
	TempDir string
	// Env is the base environment of git; nil means os.Environ().
	Env []string
}

// Meta is the state a snapshot records besides the working tree.
type Meta struct {
	Branch string            // the branch HEAD was on; "" when detached
	Head   string            // HEAD's commit; "" when unborn or no repo
	Index  string            // commit whose tree is the index; "" when none
	Refs   map[string]string // local branches and tags → commit
}

var (
	shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	// refRE bounds what a ref name from a snapshot may look like before
	// git's own check-ref-format sees it.
	refRE = regexp.MustCompile(`^(refs/(heads|tags)/[^\x00-\x20\x7f~^:?*\[\\]+|refs/stash)$`)
)

// fixedDate makes a snapshot's commits depend only on the workspace's
// state: saving an unchanged workspace again gives the same commit, which
// the node recognises and does not push.
const fixedDate = "@0 +0000"

type runner struct {
	o   Options
	env []string
	dir string
}

func (r *runner) git(ctx context.Context, stdin io.Reader, stdout io.Writer, env []string, args ...string) (string, error) {
	g := r.o.Git
	if g == "" {
		g = "git"
	}
	cmd := exec.CommandContext(ctx, g, args...)
	cmd.Dir = r.dir
	cmd.Env = append(append(append([]string(nil), r.env...), r.o.Env...), env...)
	if r.o.Env == nil {
		cmd.Env = append(append(os.Environ(), r.env...), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdin = stdin
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// baseEnv keeps git from reading anything but the workspace's own
// repository: no system or global config, no prompts, no hooks that could
// hang a save, and no walking up past the workspace.
func baseEnv(root string) []string {
	// safe.directory=*: inside the user's own sandbox every repository is
	// theirs (a workspace from before uid 1000 is still root's).
	return []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
		"GIT_CEILING_DIRECTORIES=" + filepath.Dir(root), "GIT_OPTIONAL_LOCKS=0",
		"GIT_AUTHOR_NAME=Gatewave", "GIT_AUTHOR_EMAIL=autosave@gatewave.invalid", "GIT_AUTHOR_DATE=" + fixedDate,
		"GIT_COMMITTER_NAME=Gatewave", "GIT_COMMITTER_EMAIL=autosave@gatewave.invalid", "GIT_COMMITTER_DATE=" + fixedDate}
}

var safeConfig = []string{"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.autocrlf=false",
	"-c", "core.safecrlf=false", "-c", "gc.auto=0", "-c", "maintenance.auto=false"}

// Create writes a snapshot bundle of the workspace to w. have lists commits
// the receiver already has: those it is found to share are left out of the
// bundle (its prerequisites). It returns what the snapshot records.
func Create(ctx context.Context, o Options, have []string, w io.Writer) (Meta, error) {
	var meta Meta
	root, err := filepath.Abs(o.Root)
	if err != nil || o.Root == "" {
		return meta, fmt.Errorf("snapshot: workspace %q: %v", o.Root, err)
	}
	tmp, err := os.MkdirTemp(o.TempDir, "gatewave-snapshot-")
	if err != nil {
		return meta, fmt.Errorf("snapshot: scratch dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	user := &runner{o: o, env: baseEnv(root), dir: root}

	// The workspace's repository, when it has a usable one.
	var gitDir, objects string
	if fi, err := os.Lstat(filepath.Join(root, ".git")); err == nil && (fi.IsDir() || fi.Mode().IsRegular()) {
		if d, err := user.git(ctx, nil, nil, nil, "rev-parse", "--absolute-git-dir"); err == nil {
			gitDir = d
			if p, err := user.git(ctx, nil, nil, nil, "rev-parse", "--git-path", "objects"); err == nil {
				objects = p
				if !filepath.IsAbs(objects) {
					objects = filepath.Join(root, objects)
				}
			}
		}
	}
	scratch := filepath.Join(tmp, "s.git")
	if _, err := user.git(ctx, nil, nil, nil, "init", "--quiet", "--bare", scratch); err != nil {
		return meta, err
	}
	if objects != "" {
		if err := os.WriteFile(filepath.Join(scratch, "objects", "info", "alternates"), []byte(objects+"\n"), 0o600); err != nil {
			return meta, fmt.Errorf("snapshot: %w", err)
		}
	}
	s := &runner{o: o, env: append(baseEnv(root), "GIT_DIR="+scratch), dir: root}

	meta.Refs = map[string]string{}
	if gitDir != "" {
		if b, err := user.git(ctx, nil, nil, nil, "symbolic-ref", "-q", "HEAD"); err == nil && strings.HasPrefix(b, "refs/heads/") {
			meta.Branch = strings.TrimPrefix(b, "refs/heads/")
		}
		if h, err := user.git(ctx, nil, nil, nil, "rev-parse", "-q", "--verify", "HEAD^{commit}"); err == nil {
			meta.Head = h
			// The snapshot's commits take HEAD's date: still a function of
			// the workspace's state only, and a sane date in a history.
			if ct, err := user.git(ctx, nil, nil, nil, "log", "-1", "--format=%ct", h); err == nil && ct != "" {
				s.env = append(s.env, "GIT_AUTHOR_DATE=@"+ct+" +0000", "GIT_COMMITTER_DATE=@"+ct+" +0000")
			}
		}
		out, err := user.git(ctx, nil, nil, nil, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)", "refs/heads", "refs/tags", "refs/stash")
		if err != nil {
			return meta, err
		}
		for _, line := range strings.Split(out, "\n") {
			// "<object> <peeled commit, for an annotated tag> <ref>": refs
			// are recorded by the commit they point at (an annotated tag
			// comes back as a plain tag on the same commit; its object
			// would not travel with the snapshot).
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			ref, sha := f[len(f)-1], f[0]
			if len(f) == 3 {
				sha = f[1]
			}
			if refRE.MatchString(ref) && shaRE.MatchString(sha) {
				meta.Refs[ref] = sha
			}
		}
	}

	// The working tree, through a copy of the user's index (so the stat
	// cache saves rehashing) into the scratch repository.
	wIndex, iIndex := filepath.Join(tmp, "w.index"), filepath.Join(tmp, "i.index")
	if gitDir != "" {
		real := filepath.Join(gitDir, "index")
		if fi, err := os.Stat(real); err == nil {
			if b, err := os.ReadFile(real); err == nil {
				for _, f := range []string{wIndex, iIndex} {
					_ = os.WriteFile(f, b, 0o600)
					// The copies keep the index's mtime: git's check for
					// "racily clean" entries (a file changed within the
					// index's second) compares against it.
					_ = os.Chtimes(f, fi.ModTime(), fi.ModTime())
				}
			}
		}
	}
	wenv := []string{"GIT_INDEX_FILE=" + wIndex, "GIT_WORK_TREE=" + root}
	add := append([]string(nil), safeConfig...)
	if gitDir != "" {
		// What the user excluded locally stays out, as .gitignore does.
		add = append(add, "-c", "core.excludesFile="+filepath.Join(gitDir, "info", "exclude"))
	}
	add = append(add, "add", "--all")
	if _, err := s.git(ctx, nil, nil, wenv, add...); err != nil {
		return meta, fmt.Errorf("snapshot the working tree: %w", err)
	}
	if err := inlineNested(ctx, s, wenv, root, tmp); err != nil {
		return meta, err
	}
	wtree, err := s.git(ctx, nil, nil, wenv, "write-tree")
	if err != nil {
		return meta, err
	}
	var parents []string
	if meta.Head != "" {
		parents = append(parents, meta.Head)
		if _, err := os.Stat(iIndex); err == nil {
			// Unmerged entries (a conflict in progress) make write-tree
			// fail: then the index is not recorded and comes back as HEAD.
			if itree, err := s.git(ctx, nil, nil, []string{"GIT_INDEX_FILE=" + iIndex}, "write-tree"); err == nil {
				if ic, err := s.git(ctx, nil, nil, nil, "commit-tree", itree, "-p", meta.Head, "-m", "Gatewave index"); err == nil {
					meta.Index = ic
					parents = append(parents, ic)
				}
			}
		}
	}
	refs := make([]string, 0, len(meta.Refs))
	for r := range meta.Refs {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	seen := map[string]bool{meta.Head: true, meta.Index: true}
	for _, r := range refs {
		if c := meta.Refs[r]; !seen[c] {
			if _, err := s.git(ctx, nil, nil, nil, "cat-file", "-e", c+"^{commit}"); err == nil {
				seen[c] = true
				parents = append(parents, c)
			}
		}
	}
	args := []string{"commit-tree", wtree, "-F", "-"}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	snap, err := s.git(ctx, strings.NewReader(meta.message()), nil, nil, args...)
	if err != nil {
		return meta, err
	}
	if _, err := s.git(ctx, nil, nil, nil, "update-ref", Ref, snap); err != nil {
		return meta, err
	}
	bundle := []string{"bundle", "create", "--quiet", "-", Ref}
	for _, r := range refs {
		// Annotated tags and the like that are not commits still go.
		if _, err := s.git(ctx, nil, nil, nil, "cat-file", "-e", meta.Refs[r]); err == nil {
			if _, err := s.git(ctx, nil, nil, nil, "update-ref", r, meta.Refs[r]); err == nil {
				bundle = append(bundle, r)
			}
		}
	}
	var prereq []string
	for _, h := range have {
		if !shaRE.MatchString(h) || h == snap {
			continue
		}
		if _, err := s.git(ctx, nil, nil, nil, "cat-file", "-e", h+"^{commit}"); err != nil {
			continue
		}
		// A commit that already contains the snapshot (an unchanged
		// workspace gives the same snapshot commit, and the last autosave
		// has it as a parent) would leave the bundle empty, which git
		// refuses to write: such a commit is left out of the prerequisites.
		if _, err := s.git(ctx, nil, nil, nil, "merge-base", "--is-ancestor", snap, h); err == nil {
			continue
		}
		prereq = append(prereq, h)
	}
	if len(prereq) > 0 {
		bundle = append(append(bundle, "--not"), prereq...)
	}
	if _, err := s.git(ctx, nil, w, nil, bundle...); err != nil {
		return meta, fmt.Errorf("snapshot bundle: %w", err)
	}
	return meta, nil
}

// maxNestedDepth bounds how deep repositories inside repositories are
// followed.
const maxNestedDepth = 4

// inlineNested replaces each gitlink that git add left in the working-tree
// index (a directory with a .git of its own: a clone inside the workspace,
// a submodule) with the files in that directory, so uncommitted and
// untracked work in there is saved too. (The nested repository's own
// history is not: it comes back as plain files.)
func inlineNested(ctx context.Context, s *runner, wenv []string, root, tmp string) error {
	for depth := 0; depth < maxNestedDepth; depth++ {
		out, err := s.git(ctx, nil, nil, wenv, "ls-files", "--stage", "-z")
		if err != nil {
			return fmt.Errorf("snapshot nested repositories: %w", err)
		}
		var links []string
		for _, e := range strings.Split(out, "\x00") {
			meta, path, ok := strings.Cut(e, "\t")
			if ok && strings.HasPrefix(meta, "160000 ") {
				links = append(links, path)
			}
		}
		if len(links) == 0 {
			return nil
		}
		for i, path := range links {
			dir := filepath.Join(root, filepath.FromSlash(path))
			if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
				continue // a submodule not checked out: the gitlink stays
			}
			idx := filepath.Join(tmp, fmt.Sprintf("nested-%d-%d.index", depth, i))
			env := []string{"GIT_INDEX_FILE=" + idx, "GIT_WORK_TREE=" + dir}
			if _, err := s.git(ctx, nil, nil, env, append(append([]string(nil), safeConfig...), "add", "--all")...); err != nil {
				return fmt.Errorf("snapshot %s: %w", path, err)
			}
			tree, err := s.git(ctx, nil, nil, env, "write-tree")
			if err != nil {
				return fmt.Errorf("snapshot %s: %w", path, err)
			}
			if _, err := s.git(ctx, nil, nil, wenv, "update-index", "--force-remove", "--", path); err != nil {
				return fmt.Errorf("snapshot %s: %w", path, err)
			}
			if _, err := s.git(ctx, nil, nil, wenv, "read-tree", "--prefix="+path+"/", tree); err != nil {
				return fmt.Errorf("snapshot %s: %w", path, err)
			}
		}
	}
	return nil
}

func (m Meta) message() string {
	var b strings.Builder
	b.WriteString("Gatewave snapshot\n\n")
	fmt.Fprintf(&b, "%s: %s\n%s: %s\n%s: %s\n", trailerBranch, m.Branch, trailerHead, m.Head, trailerIndex, m.Index)
	refs := make([]string, 0, len(m.Refs))
	for r := range m.Refs {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, r := range refs {
		fmt.Fprintf(&b, "%s: %s %s\n", trailerRef, r, m.Refs[r])
	}
	return b.String()
}

// ParseMeta reads a snapshot commit's message back. Values that are not
// well-formed are dropped, never trusted.
func ParseMeta(msg string) Meta {
	m := Meta{Refs: map[string]string{}}
	for _, line := range strings.Split(msg, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			if k2, found := strings.CutSuffix(line, ":"); found {
				k, v = k2, ""
			} else {
				continue
			}
		}
		switch k {
		case trailerBranch:
			if v == "" || refRE.MatchString("refs/heads/"+v) {
				m.Branch = v
			}
		case trailerHead:
			if shaRE.MatchString(v) {
				m.Head = v
			}
		case trailerIndex:
			if shaRE.MatchString(v) {
				m.Index = v
			}
		case trailerRef:
			ref, sha, _ := strings.Cut(v, " ")
			if refRE.MatchString(ref) && shaRE.MatchString(sha) {
				m.Refs[ref] = sha
			}
		}
	}
	return m
}

// SnapshotOf returns the snapshot an autosave commit's message names.
func SnapshotOf(msg string) string { return savefmt.SnapshotOf(msg) }

// RestoreOptions say what to restore.
type RestoreOptions struct {
	// Origin is the URL recorded as the workspace's origin remote (no
	// credentials); "" records none.
	Origin string
	// Branch is the branch to check out when there is no save to resume;
	// "" means the bundle's default (main, else master, else the first).
	Branch string
	// Save is the autosave commit resumed (the tip of ide/autosave), for
	// the record; "" checks Branch out fresh.
	Save string
	// Snapshot is the snapshot that Save names (the node reads it from
	// Save's message); "" with a Save means an autosave from before
	// snapshots, whose tree is the working tree on top of Branch.
	Snapshot string
	// Identity, when set, becomes the repository's user.name and
	// user.email (each only if the repository does not set it already),
	// so the user's commits are by their account. Restore refuses one
	// that fails fleetproto.GitIdentity.Validate.
	Identity *fleetproto.GitIdentity
}

// Result tells what Restore checked out.
type Result struct {
	Branch  string `json:"branch"`            // "" when detached
	Head    string `json:"head"`              // HEAD's commit, "" when unborn
	Resumed string `json:"resumed,omitempty"` // the autosave resumed, if any
}

// Restore reads a resume stream (savefmt: the user's branches and the
// snapshot to resume, as a pack with its index) from r into the
// workspace, which must hold no repository yet, and checks out the
// snapshot or the branch.
func Restore(ctx context.Context, o Options, ro RestoreOptions, r io.Reader) (Result, error) {
	var res Result
	root, err := filepath.Abs(o.Root)
	if err != nil || o.Root == "" {
		return res, fmt.Errorf("restore: workspace %q: %v", o.Root, err)
	}
	if _, err := os.Lstat(filepath.Join(root, ".git")); err == nil {
		return res, fmt.Errorf("restore: %s already holds a repository", root)
	}
	if ro.Identity != nil {
		if err := ro.Identity.Validate(); err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
	}
	g := &runner{o: o, env: append(baseEnv(root), "GIT_DIR="+filepath.Join(root, ".git"), "GIT_WORK_TREE="+root), dir: root}
	if _, err := g.git(ctx, nil, nil, nil, "init", "--quiet", root); err != nil {
		return res, err
	}
	heads, err := unpack(root, r)
	if err != nil {
		return res, err
	}
	// Every ref in one update-ref, HEAD and the config written directly:
	// each git process costs milliseconds under the container's CPU quota.
	var upd strings.Builder
	for ref, sha := range heads {
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok && refRE.MatchString(ref) {
			fmt.Fprintf(&upd, "update refs/remotes/origin/%s %s\n", name, sha)
		}
	}
	var config strings.Builder
	if ro.Origin != "" {
		fmt.Fprintf(&config, "[remote \"origin\"]\n\turl = \"%s\"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", configValue(ro.Origin))
	}

	// What to put where: HEAD, the local refs, the working tree, the index.
	meta := Meta{Refs: map[string]string{}}
	var worktree, index string
	if ro.Save != "" || ro.Snapshot != "" {
		for _, c := range []string{ro.Save, ro.Snapshot} {
			if c != "" && !shaRE.MatchString(c) {
				return res, fmt.Errorf("restore: %q is not a commit id", c)
			}
		}
		if snap := ro.Snapshot; snap != "" {
			smsg, err := g.git(ctx, nil, nil, nil, "log", "-1", "--format=%B", snap)
			if err != nil {
				return res, fmt.Errorf("restore: snapshot %s is not in the stream: %w", snap, err)
			}
			meta = ParseMeta(smsg)
			worktree = snap + "^{tree}"
			index = meta.Index
			if index == "" {
				index = meta.Head
			}
		} else {
			// An autosave from before snapshots: its tree is the working
			// tree on top of the default branch.
			worktree = ro.Save + "^{tree}"
		}
		res.Resumed = ro.Save
	}
	if meta.Head == "" && meta.Branch == "" && len(meta.Refs) == 0 {
		b := ro.Branch
		if b == "" {
			b = defaultBranch(heads)
		}
		if b == "" {
			b = "main" // an empty repo: an unborn main
		}
		meta.Branch = b
		if sha := heads["refs/heads/"+b]; sha != "" {
			meta.Head = sha
			meta.Refs["refs/heads/"+b] = sha
		} else if ro.Branch != "" {
			return res, fmt.Errorf("restore: branch %q is not in the repository", b)
		}
		if index == "" {
			index = meta.Head
		}
		if worktree == "" {
			worktree = meta.Head
		}
	}
	if meta.Branch != "" && meta.Head != "" {
		meta.Refs["refs/heads/"+meta.Branch] = meta.Head
	}
	// A ref whose object did not travel (a save from an older snapshot
	// format, say) is left out rather than failing the whole restore.
	have, err := existing(ctx, g, meta.Refs)
	if err != nil {
		return res, err
	}
	stash := ""
	for ref, sha := range meta.Refs {
		if !have[sha] {
			continue
		}
		if ref == "refs/stash" {
			stash = sha
			continue
		}
		// refRE already holds them to what check-ref-format allows but
		// for its rarer rules, which update-ref itself enforces.
		if refRE.MatchString(ref) && !strings.Contains(ref, "..") && !strings.Contains(ref, "@{") && !strings.HasSuffix(ref, ".lock") {
			fmt.Fprintf(&upd, "update %s %s\n", ref, sha)
		}
	}
	if _, err := g.git(ctx, strings.NewReader(upd.String()), nil, nil, "update-ref", "--stdin"); err != nil {
		return res, fmt.Errorf("restore refs: %w", err)
	}
	if stash != "" {
		// git stash list reads the reflog: the newest stash comes back.
		// (with a real date: git stash list ignores a reflog entry of 0)
		now := []string{"GIT_COMMITTER_DATE=" + time.Now().UTC().Format(time.RFC3339)}
		if _, err := g.git(ctx, nil, nil, now, "update-ref", "--create-reflog", "-m", "restored", "refs/stash", stash); err != nil {
			return res, fmt.Errorf("restore the stash: %w", err)
		}
	}
	head := meta.Head + "\n"
	if meta.Branch != "" {
		head = "ref: refs/heads/" + meta.Branch + "\n"
	}
	if meta.Branch != "" || meta.Head != "" {
		if err := os.WriteFile(filepath.Join(root, ".git", "HEAD"), []byte(head), 0o644); err != nil {
			return res, fmt.Errorf("restore HEAD: %w", err)
		}
	}
	if worktree != "" {
		if _, err := g.git(ctx, nil, nil, nil, "read-tree", worktree); err != nil {
			return res, err
		}
		// -u records each file's stat data as it is written, so git
		// status need not rehash what was just checked out.
		if _, err := g.git(ctx, nil, nil, nil, "checkout-index", "--all", "--force", "--quiet", "-u"); err != nil {
			return res, fmt.Errorf("restore the working tree: %w", err)
		}
	}
	switch {
	case index != "" && worktree != "":
		// Only the entries that differ between the working tree and the
		// index (what was staged, or not) change: every other entry keeps
		// the stat data just recorded, so nothing is rehashed (a one-tree
		// read-tree -m would hash every file just written, all of them
		// "racily clean").
		if err := setIndex(ctx, g, worktree, index+"^{tree}"); err != nil {
			return res, err
		}
	case index != "":
		if _, err := g.git(ctx, nil, nil, nil, "read-tree", index); err != nil {
			return res, err
		}
	case worktree != "":
		if _, err := g.git(ctx, nil, nil, nil, "read-tree", "--empty"); err != nil {
			return res, err
		}
	}
	if ro.Origin != "" {
		for ref := range meta.Refs {
			if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok && heads[ref] != "" {
				fmt.Fprintf(&config, "[branch \"%s\"]\n\tremote = origin\n\tmerge = \"%s\"\n", configValue(name), configValue(ref))
			}
		}
	}
	if config.Len() > 0 {
		f, err := os.OpenFile(filepath.Join(root, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(config.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return res, fmt.Errorf("restore config: %w", err)
		}
	}
	if ro.Identity != nil {
		if err := setIdentity(ctx, g, *ro.Identity); err != nil {
			return res, err
		}
	}
	res.Branch, res.Head = meta.Branch, meta.Head
	return res, nil
}

// setIdentity records id as the repository's user.name and user.email,
// each one only where the repository's own config has none. The values
// go to git config as arguments (never written into the file by hand),
// so git quotes them: nothing in them can start a section or a key.
func setIdentity(ctx context.Context, g *runner, id fleetproto.GitIdentity) error {
	for _, kv := range [][2]string{{"user.name", id.Name}, {"user.email", id.Email}} {
		if _, err := g.git(ctx, nil, nil, nil, "config", "--local", "--get", kv[0]); err == nil {
			continue // the user's own
		}
		if _, err := g.git(ctx, nil, nil, nil, "config", "--local", kv[0], kv[1]); err != nil {
			return fmt.Errorf("restore the git identity: %w", err)
		}
	}
	return nil
}

// setIndex turns an index that holds tree from into one that holds tree
// to, touching only the entries that differ.
func setIndex(ctx context.Context, g *runner, from, to string) error {
	out, err := g.git(ctx, nil, nil, nil, "diff-tree", "-r", "-z", "--no-renames", from, to)
	if err != nil {
		return fmt.Errorf("restore the index: %w", err)
	}
	// Records: ":oldmode newmode oldsha newsha status" NUL path NUL.
	f := strings.Split(out, "\x00")
	var info strings.Builder
	for i := 0; i+1 < len(f); i += 2 {
		meta := strings.Fields(strings.TrimPrefix(f[i], ":"))
		if len(meta) != 5 {
			return fmt.Errorf("restore the index: unexpected diff-tree record %q", f[i])
		}
		mode, sha := meta[1], meta[3]
		if meta[4] == "D" {
			mode, sha = "0", strings.Repeat("0", len(meta[2]))
		}
		fmt.Fprintf(&info, "%s %s\t%s\x00", mode, sha, f[i+1])
	}
	if info.Len() == 0 {
		return nil
	}
	if _, err := g.git(ctx, strings.NewReader(info.String()), nil, nil, "update-index", "-z", "--index-info"); err != nil {
		return fmt.Errorf("restore the index: %w", err)
	}
	return nil
}

// existing reports which of the refs' objects the repository has.
func existing(ctx context.Context, g *runner, refs map[string]string) (map[string]bool, error) {
	var in strings.Builder
	for _, sha := range refs {
		in.WriteString(sha + "\n")
	}
	out, err := g.git(ctx, strings.NewReader(in.String()), nil, nil, "cat-file", "--batch-check=%(objectname)")
	if err != nil {
		return nil, fmt.Errorf("restore refs: %w", err)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if shaRE.MatchString(l) {
			have[l] = true
		}
	}
	return have, nil
}

// configValue escapes s for a git config file (inside or outside quotes).
func configValue(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\"", "\\\"", "\n", "", "\x00", "").Replace(s)
}

func defaultBranch(heads map[string]string) string {
	for _, b := range []string{"main", "master"} {
		if heads["refs/heads/"+b] != "" {
			return b
		}
	}
	var names []string
	for ref := range heads {
		if n, ok := strings.CutPrefix(ref, "refs/heads/"); ok && n != "ide/autosave" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return names[0]
	}
	return ""
}

// unpack writes a resume stream's pack and index into the new
// repository's objects and returns its refs.
func unpack(root string, r io.Reader) (map[string]string, error) {
	rs, err := savefmt.ReadResume(r)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	dir := filepath.Join(root, ".git", "objects", "pack")
	for _, name := range []string{"pack-resume.pack", "pack-resume.idx"} {
		sec, n, err := rs.Section(1 << 40)
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if n == 0 {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		_, err = io.Copy(f, sec)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("restore: write %s: %w", name, err)
		}
	}
	heads := map[string]string{}
	for ref, sha := range rs.Refs {
		if strings.HasPrefix(ref, "refs/heads/") {
			heads[ref] = sha
		}
	}
	return heads, nil
}
