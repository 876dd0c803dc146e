// Package autosave commits a session's whole workspace and pushes it to the
// user's repo on a branch (ide/autosave), fast-forward only, so ending a
// session never loses work and never rewrites history.
//
// The commit is made with a git directory private to the node, never the
// workspace's own .git: the user controls that one (hooks, fsmonitor, filter
// drivers in .git/config would run on the host), and it may be broken.
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
)

// Branch is where autosaves go.
const Branch = "ide/autosave"

// Options describe one autosave. Dir, GitDir and Remote are required.
type Options struct {
	// Dir is the workspace on the host.
	Dir string
	// GitDir is the node's private bare repo for this workspace; it is
	// created on first use and keeps fetched objects between autosaves.
	GitDir string
	// Remote is the user's repo.
	Remote gitcache.Remote
	// Base is the commit the workspace was checked out at; it becomes a
	// parent of the first autosave so history links up. "" means none.
	Base string
	// Branch is the branch to push; "" means ide/autosave.
	Branch string
	// Message is the commit message; "" means "Autosave <time>".
	Message string
	// Git is the git binary; "" means "git".
	Git string
}

// Result tells what an autosave did.
type Result struct {
	Commit string // the branch's commit after the save
	Pushed bool   // false when the workspace matched the last save
}

// Save commits the workspace and pushes it to Options.Branch. A concurrent
// push to the branch makes it fetch and retry once on top of it.
func Save(ctx context.Context, o Options) (Result, error) {
	if o.Dir == "" || o.GitDir == "" || o.Remote.URL == "" {
		return Result{}, errors.New("autosave: Dir, GitDir and Remote are required")
	}
	if o.Branch == "" {
		o.Branch = Branch
	}
	if o.Message == "" {
		o.Message = "Autosave " + time.Now().UTC().Format(time.RFC3339)
	}
	if _, err := os.Stat(filepath.Join(o.GitDir, "HEAD")); err != nil {
		if _, err := gitcache.Git(ctx, o.Git, "", nil, "init", "--quiet", "--bare", o.GitDir); err != nil {
			return Result{}, err
		}
	}
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

func attempt(ctx context.Context, o Options) (Result, error) {
	git := func(env []string, args ...string) (string, error) {
		return gitcache.Git(ctx, o.Git, o.Dir, append([]string{"GIT_DIR=" + o.GitDir}, env...), args...)
	}
	remote := "refs/remotes/save/"
	fetch := append(o.Remote.Args(), "fetch", "--quiet", o.Remote.URL, "+refs/heads/*:"+remote+"*")
	if _, err := git(nil, fetch...); err != nil {
		return Result{}, fmt.Errorf("autosave fetch: %w", err)
	}
	tip, _ := git(nil, "rev-parse", "--verify", "--quiet", remote+o.Branch+"^{commit}")

	// Snapshot the whole workspace (what .gitignore leaves out, build
	// output, is regenerated) through a private index.
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(o.GitDir, "autosave.index"), "GIT_WORK_TREE=" + o.Dir}
	if _, err := git(env, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.autocrlf=false",
		"add", "--all"); err != nil {
		return Result{}, fmt.Errorf("autosave add: %w", err)
	}
	tree, err := git(env, "write-tree")
	if err != nil {
		return Result{}, err
	}
	if tip != "" {
		if tipTree, _ := git(nil, "rev-parse", tip+"^{tree}"); tipTree == tree {
			return Result{Commit: tip}, nil
		}
	}
	args := []string{"commit-tree", tree, "-m", o.Message}
	if tip != "" {
		args = append(args, "-p", tip)
	}
	if o.Base != "" && o.Base != tip {
		// Link to the checked-out commit unless the branch already has it.
		if _, err := git(nil, "cat-file", "-e", o.Base+"^{commit}"); err == nil {
			if tip == "" {
				args = append(args, "-p", o.Base)
			} else if _, err := git(nil, "merge-base", "--is-ancestor", o.Base, tip); err != nil {
				args = append(args, "-p", o.Base)
			}
		}
	}
	commit, err := git([]string{"GIT_AUTHOR_NAME=Gatewave autosave", "GIT_AUTHOR_EMAIL=autosave@gatewave.invalid",
		"GIT_COMMITTER_NAME=Gatewave autosave", "GIT_COMMITTER_EMAIL=autosave@gatewave.invalid"}, args...)
	if err != nil {
		return Result{}, err
	}
	// No '+': the remote accepts it only as a fast-forward.
	push := append(o.Remote.Args(), "push", "--quiet", o.Remote.URL, commit+":refs/heads/"+o.Branch)
	if _, err := git(nil, push...); err != nil {
		if strings.Contains(err.Error(), "rejected") || strings.Contains(err.Error(), "non-fast-forward") || strings.Contains(err.Error(), "fetch first") {
			return Result{}, fmt.Errorf("%w: %v", errRejected, err)
		}
		return Result{}, fmt.Errorf("autosave push: %w", err)
	}
	return Result{Commit: commit, Pushed: true}, nil
}
