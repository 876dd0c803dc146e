// Package autosave records a workspace snapshot on the user's ide/autosave
// branch, fast-forward only, so ending a session never loses work and
// never rewrites history; the user's own branches are never pushed.
//
// The snapshot itself (a git bundle: working tree, index, HEAD and local
// branches, see sessiond/snapshot) is made inside the container, as the
// user. The node only ever handles it as data: it fetches the bundle into
// a git directory private to the node, writes one commit on top of the
// branch naming the snapshot, and pushes. It never runs git on the
// workspace, whose .git (hooks, config, alternates) is the user's.
package autosave

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/savefmt"
)

// Branch is where autosaves go.
const Branch = savefmt.Branch

// Options describe one autosave. GitDir, Remote and Snapshot are required.
type Options struct {
	// GitDir is the node's private bare repo for this workspace; it is
	// created on first use and keeps fetched objects between autosaves.
	GitDir string
	// Remote is the user's repo.
	Remote gitcache.Remote
	// Snapshot writes a snapshot bundle of the workspace to dst, leaving
	// out what have (commits the node has) already holds.
	Snapshot func(ctx context.Context, have []string, dst pool.Sink) error
	// MaxBytes bounds a snapshot bundle; 0 means 8 GiB.
	MaxBytes int64
	// Base is the autosave the workspace was restored from ("" when it
	// started without one). A save is pushed to Branch only while Branch
	// is still where this workspace left it (Base, then its own last
	// save); if another workspace saved since (a container that outlived
	// its session on a node that came back, say), the save goes to
	// ide/recovered/ID instead, so neither hides the other.
	Base string
	// ID names this workspace's recovered branch (a container id).
	ID string
	// Branch is the branch to push; "" means ide/autosave.
	Branch string
	// Message is the commit's title; "" means "Autosave <time>".
	Message string
	// Git is the git binary; "" means "git".
	Git string
}

// Result tells what an autosave did.
type Result struct {
	Commit   string // the branch's commit after the save
	Snapshot string // the snapshot it records
	Pushed   bool   // false when the workspace matched the last save
	Branch   string // where it went: ide/autosave, or ide/recovered/ID
}

// Save snapshots the workspace and pushes it to Options.Branch. A
// concurrent push to the branch makes it fetch and retry once on top of it.
// Saves of one GitDir must not run concurrently (the caller serialises
// them).
func Save(ctx context.Context, o Options) (Result, error) {
	if o.GitDir == "" || o.Remote.URL == "" || o.Snapshot == nil {
		return Result{}, errors.New("autosave: GitDir, Remote and Snapshot are required")
	}
	if o.Branch == "" {
		o.Branch = Branch
	}
	if o.Message == "" {
		o.Message = "Autosave " + time.Now().UTC().Format(time.RFC3339)
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 30
	}
	if _, err := os.Stat(filepath.Join(o.GitDir, "HEAD")); err != nil {
		if _, err := gitcache.Git(ctx, o.Git, "", nil, "init", "--quiet", "--bare", o.GitDir); err != nil {
			return Result{}, err
		}
	}
	clearStaleLocks(o.GitDir)
	var err error
	for range 2 {
		var res Result
		res, err = attempt(ctx, o)
		if err == nil || !errors.Is(err, errRejected) {
			return res, err
		}
	}
	return Result{}, err
}

var errRejected = errors.New("push rejected")

// clearStaleLocks removes the lock files a git killed mid-way (a save
// cancelled at shutdown) leaves in the private repo. Only one save of a
// workspace runs at a time (the caller's lock), so any lock there is stale,
// and would make every later fetch fail.
func clearStaleLocks(gitDir string) {
	for _, f := range []string{"packed-refs.lock", "shallow.lock", "HEAD.lock", "config.lock"} {
		os.Remove(filepath.Join(gitDir, f))
	}
	filepath.WalkDir(filepath.Join(gitDir, "refs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".lock") {
			os.Remove(path)
		}
		return nil
	})
}

const (
	remoteRefs = "refs/remotes/save/"
	lastRef    = "refs/snap/last" // the snapshot of the latest save
	newRef     = "refs/snap/new"
	pushedRef  = "refs/snap/pushed" // this workspace's latest commit on the branch
)

// RecoveredPrefix is where a save goes whose workspace another one
// overtook on ide/autosave.
const RecoveredPrefix = "ide/recovered/"

func attempt(ctx context.Context, o Options) (Result, error) {
	git := func(args ...string) (string, error) {
		return gitcache.Git(ctx, o.Git, o.GitDir, []string{"GIT_DIR=" + o.GitDir}, args...)
	}
	remoteGit := func(args ...string) (string, error) {
		return gitcache.Git(ctx, o.Git, o.GitDir, append([]string{"GIT_DIR=" + o.GitDir}, o.Remote.Env()...), args...)
	}
	if _, err := remoteGit("fetch", "--quiet", "--prune", o.Remote.URL, "+refs/heads/*:"+remoteRefs+"*"); err != nil {
		return Result{}, fmt.Errorf("autosave fetch: %w", err)
	}
	tip, _ := git("rev-parse", "--verify", "--quiet", remoteRefs+o.Branch+"^{commit}")
	branch := o.Branch
	expect, _ := git("rev-parse", "--verify", "--quiet", pushedRef)
	if expect == "" {
		expect = o.Base
	}
	if tip != expect && o.ID != "" {
		// Someone else saved since this workspace last synced: keep both.
		branch = RecoveredPrefix + o.ID
		tip, _ = git("rev-parse", "--verify", "--quiet", remoteRefs+branch+"^{commit}")
	}

	// What the node has: the container leaves it out of the bundle.
	haveOut, err := git("for-each-ref", "--format=%(objectname)", remoteRefs, lastRef)
	if err != nil {
		return Result{}, err
	}
	have := strings.Fields(haveOut)
	f, err := os.CreateTemp(o.GitDir, "snapshot-*.bundle")
	if err != nil {
		return Result{}, fmt.Errorf("autosave: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := o.Snapshot(ctx, have, &pool.FileSink{F: f, Max: o.MaxBytes}); err != nil {
		return Result{}, fmt.Errorf("autosave snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Result{}, fmt.Errorf("autosave: %w", err)
	}
	// The bundle is the container's data: fetch only its snapshot ref,
	// checking every object as a server would.
	if _, err := git("-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-write-fetch-head", f.Name(),
		"+"+savefmt.SnapshotRef+":"+newRef); err != nil {
		return Result{}, fmt.Errorf("autosave: the workspace's snapshot is unreadable: %w", err)
	}
	snap, err := git("rev-parse", "--verify", newRef+"^{commit}")
	if err != nil {
		return Result{}, err
	}
	if tip != "" {
		if msg, err := git("log", "-1", "--format=%B", tip); err == nil && savefmt.SnapshotOf(msg) == snap {
			_, _ = git("update-ref", lastRef, snap)
			return Result{Commit: tip, Snapshot: snap, Branch: branch}, nil
		}
	}
	args := []string{"commit-tree", snap + "^{tree}", "-m", savefmt.AutosaveMessage(o.Message, snap)}
	if tip != "" {
		args = append(args, "-p", tip)
	}
	args = append(args, "-p", snap)
	commit, err := gitcache.Git(ctx, o.Git, o.GitDir, []string{"GIT_DIR=" + o.GitDir,
		"GIT_AUTHOR_NAME=Gatewave autosave", "GIT_AUTHOR_EMAIL=autosave@gatewave.invalid",
		"GIT_COMMITTER_NAME=Gatewave autosave", "GIT_COMMITTER_EMAIL=autosave@gatewave.invalid"}, args...)
	if err != nil {
		return Result{}, err
	}
	// No '+': the remote accepts it only as a fast-forward.
	// Big files (bitstreams, waveforms, data) are sent without a delta
	// search, which costs seconds on them and finds nothing.
	if _, err := remoteGit("-c", "core.bigFileThreshold=1m", "push", "--quiet", o.Remote.URL, commit+":refs/heads/"+branch); err != nil {
		var ge *gitcache.Error
		if errors.As(err, &ge) && ge.Rejected() {
			return Result{}, fmt.Errorf("%w: %v", errRejected, err)
		}
		return Result{}, fmt.Errorf("autosave push: %w", err)
	}
	_, _ = git("update-ref", lastRef, snap)
	if branch == o.Branch {
		_, _ = git("update-ref", pushedRef, commit)
	}
	return Result{Commit: commit, Snapshot: snap, Pushed: true, Branch: branch}, nil
}
