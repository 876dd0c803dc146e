package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/savefmt"
)

// Git push and pull for a claimed container (fleetproto.CommandGitPush,
// CommandGitFetch). The container never holds the session's credential
// and has no network, so the node moves the objects: a push takes the
// branch out of a snapshot bundle made in the container (the node never
// runs git on the workspace) and pushes it from the node's private git
// directory; a pull fetches the user's repo into the node's cache and
// streams what the container lacks into it through sessiond's control
// socket. Either way the node pushes to and fetches from only the repo of
// the container's own claim: the arguments name none.

// decodeGitArgs decodes a command's arguments strictly: a field the
// protocol does not have (a repo URL, say) is refused, not ignored.
func decodeGitArgs(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("git args: %w", err)
	}
	return nil
}

// gitClaim returns the claim record of a container claimed by session,
// once its restore finished (before that nothing in it is the user's).
func (s *Service) gitClaim(container, session string) (pool.Container, record, error) {
	c, ok := s.opts.Pool.Get(container)
	if !ok || c.State != pool.Claimed || c.Owner == "" || c.Owner != session {
		return c, record{}, fmt.Errorf("container %s is not claimed by session %s", container, session)
	}
	r, err := s.loadRecord(c.ID)
	if err != nil {
		return c, r, err
	}
	if !r.Restored || r.Session != session {
		return c, r, fmt.Errorf("container %s: the session's workspace is not restored", container)
	}
	return c, r, nil
}

func (s *Service) gitPush(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.GitPushArgs
	if err := decodeGitArgs(cmd.Args, &a); err != nil {
		return nil, err
	}
	if !fleetproto.ValidGitBranch(a.Branch) {
		return nil, fmt.Errorf("push: %q is not a branch you can push", a.Branch)
	}
	c, r, err := s.gitClaim(a.Container, a.Session)
	if err != nil {
		return nil, err
	}
	// The autosave's lock: one snapshot of a workspace at a time, and the
	// push shares its private git directory (what it holds, the
	// container leaves out of the bundle).
	unlock := s.lock(c.ID)
	res, err := pushBranch(ctx, pushOptions{GitDir: s.gitDir(c.ID), Remote: remote(r.Repo), Branch: a.Branch,
		MaxBytes: snapshotLimit(c), Snapshot: func(ctx context.Context, have []string, dst pool.Sink) error {
			return s.opts.Pool.SnapshotWorkspace(ctx, c.ID, have, dst)
		}})
	unlock()
	if err != nil {
		return nil, err
	}
	if res.Refused == "" {
		// The workspace's origin/BRANCH shows what was pushed.
		var stream bytes.Buffer
		_ = savefmt.WriteResume(&stream, map[string]string{"refs/heads/" + a.Branch: res.Commit}, nil, 0, nil, 0)
		if _, err := s.opts.Pool.FetchInto(ctx, c.ID, &stream); err != nil {
			s.log.Warn("pushed, but the workspace's remote branch was not updated", "container", c.Name, "err", err)
		}
		s.log.Info("pushed", "container", c.Name, "session", a.Session, "branch", a.Branch, "commit", res.Commit)
	}
	return json.Marshal(res)
}

// snapshotLimit bounds a container's snapshot bundle: one bigger than its
// workspace's disk is not a snapshot.
func snapshotLimit(c pool.Container) int64 {
	if c.DiskBytes > 0 {
		return c.DiskBytes + 64<<20
	}
	return 0
}

// pushOptions describe one push of a workspace's branch.
type pushOptions struct {
	// GitDir is the node's private bare repo of the workspace (shared
	// with its autosaves; created on first use).
	GitDir string
	// Remote is the user's repo, with the session's credential.
	Remote gitcache.Remote
	// Branch is the branch pushed (fleetproto.ValidGitBranch).
	Branch string
	// MaxBytes bounds the snapshot bundle; 0 means 8 GiB.
	MaxBytes int64
	// Snapshot writes the workspace's snapshot bundle to dst, leaving out
	// what have already holds.
	Snapshot func(ctx context.Context, have []string, dst pool.Sink) error
	// Git is the git binary; "" means "git".
	Git string
}

const (
	pushNewRef  = "refs/gitpush/new"
	pushLastRef = "refs/gitpush/last"
	pushSnapRef = "refs/gitpush/snapshot"
)

// pushBranch snapshots the workspace, takes Branch out of the bundle as
// data (every object checked) and pushes its commit to the same branch of
// the remote, fast-forward only. A non-fast-forward or a branch the
// workspace does not have is a refusal in the result, not an error.
func pushBranch(ctx context.Context, o pushOptions) (fleetproto.GitResult, error) {
	var res fleetproto.GitResult
	if o.GitDir == "" || o.Remote.URL == "" || o.Snapshot == nil {
		return res, errors.New("push: GitDir, Remote and Snapshot are required")
	}
	if !fleetproto.ValidGitBranch(o.Branch) {
		return res, fmt.Errorf("push: %q is not a branch you can push", o.Branch)
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 30
	}
	if _, err := os.Stat(filepath.Join(o.GitDir, "HEAD")); err != nil {
		if _, err := gitcache.Git(ctx, o.Git, "", nil, "init", "--quiet", "--bare", o.GitDir); err != nil {
			return res, err
		}
	}
	git := func(args ...string) (string, error) {
		return gitcache.Git(ctx, o.Git, o.GitDir, []string{"GIT_DIR=" + o.GitDir}, args...)
	}
	// git itself agrees the name is a branch name (belt and braces).
	if _, err := git("check-ref-format", "refs/heads/"+o.Branch); err != nil {
		return res, fmt.Errorf("push: %q is not a branch name", o.Branch)
	}
	haveOut, err := git("for-each-ref", "--format=%(objectname)", "refs/remotes/save/", "refs/snap/", "refs/gitpush/")
	if err != nil {
		return res, err
	}
	f, err := os.CreateTemp(o.GitDir, "push-*.bundle")
	if err != nil {
		return res, fmt.Errorf("push: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := o.Snapshot(ctx, strings.Fields(haveOut), &pool.FileSink{F: f, Max: o.MaxBytes}); err != nil {
		return res, fmt.Errorf("push: snapshot of the workspace: %w", err)
	}
	// The bundle is the container's data. Its list of refs is read as
	// text and only the one asked for is looked for, by exact name; then
	// only that ref is fetched, every object checked.
	heads, err := git("bundle", "list-heads", f.Name())
	if err != nil {
		return res, fmt.Errorf("push: the workspace's snapshot is unreadable: %w", err)
	}
	want := "refs/heads/" + o.Branch
	found := false
	for _, line := range strings.Split(heads, "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		if ok && ref == want && savefmt.ValidCommit(sha) {
			found = true
		}
	}
	if found {
		if _, err := git("-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-write-fetch-head", "--no-tags", f.Name(),
			"+"+want+":"+pushNewRef); err != nil {
			return res, fmt.Errorf("push: the workspace's snapshot is unreadable: %w", err)
		}
	} else {
		// git leaves a ref out of the bundle when this repo has its commit
		// already (pushed or autosaved before, so a prerequisite): the
		// snapshot commit, always in the bundle, names it.
		sha, err := knownBranchCommit(git, f.Name(), want)
		if err != nil {
			return res, err
		}
		if sha == "" {
			res.Refused = fleetproto.GitNoBranch
			res.Message = fmt.Sprintf("there is no branch %q in the workspace: commit on it first", o.Branch)
			return res, nil
		}
		if _, err := git("update-ref", pushNewRef, sha); err != nil {
			return res, fmt.Errorf("push: %w", err)
		}
	}
	sha, err := git("rev-parse", "--verify", "--quiet", pushNewRef+"^{commit}")
	if err != nil || !savefmt.ValidCommit(sha) {
		return res, fmt.Errorf("push: %s in the snapshot is not a commit", want)
	}
	res.Commit = sha
	// No '+': the remote takes it only as a fast-forward.
	out, err := remoteGit(ctx, o, nil, "-c", "core.bigFileThreshold=1m", "push", o.Remote.URL, sha+":"+want)
	res.Output = pushOutput(out, sha, o.Branch)
	if err != nil {
		ge := &gitcache.Error{Stderr: out}
		if ge.Rejected() {
			res.Refused = fleetproto.GitRejected
			res.Message = fmt.Sprintf("the push was rejected: %s in your repo has commits this workspace does not have; pull first, then push again", o.Branch)
			return res, nil
		}
		return res, fmt.Errorf("push: %w: %s", err, res.Output)
	}
	_, _ = git("update-ref", pushLastRef, sha)
	return res, nil
}

// knownBranchCommit is the commit the snapshot in bundle says ref points at
// ("Gatewave-Ref: <ref> <commit>" in its message), when this repo already
// holds that commit; "" when it names none, or one this repo does not
// have (the container wrote the message: a commit id it names is used only
// if it is one of the workspace's own commits the node has kept).
func knownBranchCommit(git func(...string) (string, error), bundle, ref string) (string, error) {
	if _, err := git("-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-write-fetch-head", "--no-tags", bundle,
		"+"+savefmt.SnapshotRef+":"+pushSnapRef); err != nil {
		return "", fmt.Errorf("push: the workspace's snapshot is unreadable: %w", err)
	}
	msg, err := git("cat-file", "commit", pushSnapRef)
	if err != nil {
		return "", fmt.Errorf("push: the workspace's snapshot is unreadable: %w", err)
	}
	for _, line := range strings.Split(msg, "\n") {
		rest, ok := strings.CutPrefix(line, "Gatewave-Ref: ")
		if !ok {
			continue
		}
		name, sha, ok := strings.Cut(rest, " ")
		if !ok || name != ref || !savefmt.ValidCommit(sha) {
			continue
		}
		if typ, err := git("cat-file", "-t", sha); err == nil && typ == "commit" {
			return sha, nil
		}
	}
	return "", nil
}

// pushOutput is what git said, for the user, who pushed their branch
// (the node pushed its commit by id).
func pushOutput(out, sha, branch string) string {
	return strings.TrimSpace(strings.ReplaceAll(out, sha+" -> ", branch+" -> "))
}

// remoteGit runs git in the node's private directory with the remote's
// credential (in the environment, never an argument or a config file),
// and returns everything it printed.
func remoteGit(ctx context.Context, o pushOptions, stdin io.Reader, args ...string) (string, error) {
	return runGit(ctx, o.Git, o.GitDir, append([]string{"GIT_DIR=" + o.GitDir}, o.Remote.Env()...), stdin, args...)
}

// runGit runs git as gitcache does (no system or global config, no
// prompts) with its stdout and stderr together.
func runGit(ctx context.Context, gitBin, dir string, env []string, stdin io.Reader, args ...string) (string, error) {
	if gitBin == "" {
		gitBin = "git"
	}
	cmd := exec.CommandContext(ctx, gitBin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}, env...)
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

func (s *Service) gitFetch(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var a fleetproto.GitFetchArgs
	if err := decodeGitArgs(cmd.Args, &a); err != nil {
		return nil, err
	}
	c, r, err := s.gitClaim(a.Container, a.Session)
	if err != nil {
		return nil, err
	}
	unlock := s.lock("fetch/" + c.ID)
	defer unlock()
	mirror, err := s.opts.Cache.Mirror(ctx, remote(r.Repo))
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	have, err := s.opts.Pool.WorkspaceHave(ctx, c.ID, 10000)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(s.opts.Dir, "fetch-")
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer os.RemoveAll(tmp)
	p, err := fetchPack(ctx, fetchOptions{Mirror: mirror, Have: have, TempDir: tmp})
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(p.write(pw)) }()
	_, err = s.opts.Pool.FetchInto(ctx, c.ID, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return nil, err
	}
	res := fleetproto.GitResult{Branches: map[string]string{}}
	names := make([]string, 0, len(p.refs))
	for ref, sha := range p.refs {
		name := strings.TrimPrefix(ref, "refs/heads/")
		res.Branches[name] = sha
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "From %s\n", gitcache.CleanURL(r.Repo.URL))
	for _, n := range names {
		fmt.Fprintf(&b, " %s  %s -> origin/%s\n", res.Branches[n][:12], n, n)
	}
	fmt.Fprintf(&b, "%s new object%s", strconv.Itoa(p.objects), map[bool]string{true: "", false: "s"}[p.objects == 1])
	res.Output = b.String()
	s.log.Info("fetched into the workspace", "container", c.Name, "session", a.Session, "branches", len(names), "objects", p.objects)
	return json.Marshal(res)
}

// fetchOptions describe the pack a pull sends a workspace.
type fetchOptions struct {
	Mirror  string   // the node's mirror of the user's repo
	Have    []string // what the workspace says it has (only a hint)
	TempDir string   // where the pack is built (node-private)
	Git     string
}

// fetchStream is what a pull sends: the repo's branches and the pack of
// what the workspace lacks (none when it lacks nothing).
type fetchStream struct {
	refs        map[string]string
	pack, index string
	objects     int
}

func (f fetchStream) write(w io.Writer) error {
	if f.pack == "" {
		return savefmt.WriteResume(w, f.refs, nil, 0, nil, 0)
	}
	return gitcache.Resume{Refs: f.refs, Pack: f.pack, Index: f.index}.Write(w)
}

// fetchPack builds the pull's stream from the mirror: every branch but the
// autosave namespace, and the objects reachable from them that the
// workspace's commits do not reach. The workspace's list is believed only
// for commits the mirror has: one that lies leaves out objects it then
// lacks itself.
func fetchPack(ctx context.Context, o fetchOptions) (fetchStream, error) {
	fs := fetchStream{refs: map[string]string{}}
	git := func(stdin io.Reader, args ...string) (string, error) {
		out, err := runGit(ctx, o.Git, o.Mirror, []string{"GIT_DIR=" + o.Mirror}, stdin, args...)
		if err != nil {
			return "", fmt.Errorf("fetch: git %s: %w: %s", args[0], err, out)
		}
		return out, nil
	}
	out, err := git(nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads")
	if err != nil {
		return fs, err
	}
	var tips []string
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(line, " ")
		name, isHead := strings.CutPrefix(ref, "refs/heads/")
		if !ok || !isHead || !savefmt.ValidCommit(sha) || !fleetproto.ValidGitBranch(name) {
			continue // ide/autosave and the like, or a name a workspace would refuse
		}
		fs.refs[ref] = sha
		tips = append(tips, sha)
	}
	if len(tips) == 0 {
		return fs, nil
	}
	var known []string
	if len(o.Have) > 0 {
		typ, err := runGit(ctx, o.Git, o.Mirror, []string{"GIT_DIR=" + o.Mirror}, strings.NewReader(strings.Join(o.Have, "\n")+"\n"),
			"cat-file", "--batch-check=%(objectname) %(objecttype)")
		if err != nil {
			return fs, fmt.Errorf("fetch: %w: %s", err, typ)
		}
		for _, line := range strings.Split(typ, "\n") {
			if sha, t, ok := strings.Cut(line, " "); ok && t == "commit" && savefmt.ValidCommit(sha) {
				known = append(known, sha)
			}
		}
	}
	revs := strings.Join(tips, "\n") + "\n"
	for _, k := range known {
		revs += "^" + k + "\n"
	}
	n, err := git(strings.NewReader(revs), "rev-list", "--objects", "--stdin", "--count")
	if err != nil {
		return fs, err
	}
	if fs.objects, err = strconv.Atoi(n); err != nil || fs.objects == 0 {
		return fs, err
	}
	name, err := git(strings.NewReader(revs), "-c", "pack.window=0", "pack-objects", "--revs", "--delta-base-offset", "-q", filepath.Join(o.TempDir, "p"))
	if err != nil {
		return fs, err
	}
	lines := strings.Fields(name) // the pack's name is the last line
	if len(lines) == 0 || !savefmt.ValidCommit(lines[len(lines)-1]) {
		return fs, fmt.Errorf("fetch: pack-objects said %q", name)
	}
	id := lines[len(lines)-1]
	fs.pack, fs.index = filepath.Join(o.TempDir, "p-"+id+".pack"), filepath.Join(o.TempDir, "p-"+id+".idx")
	return fs, nil
}
