package githost

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNoCommit is returned by ResolveCommit for a revision the repo lacks.
var ErrNoCommit = errors.New("no such commit")

// revRE is what a revision given to ResolveCommit may look like: a commit
// id (full or abbreviated) or a branch or tag name, never an option or a
// revision expression.
var revRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)

// ResolveCommit pins rev (a commit id, branch or tag) in owner's repo to
// its full commit id.
func (h *Host) ResolveCommit(ctx context.Context, owner, rev string) (string, error) {
	if !ValidOwner(owner) || !h.Exists(owner) {
		return "", fmt.Errorf("repository %q: %w", owner, ErrNoRepo)
	}
	if !revRE.MatchString(rev) || strings.Contains(rev, "..") {
		return "", fmt.Errorf("revision %q is not a commit id, branch or tag name", rev)
	}
	out, err := h.git(ctx, h.RepoPath(owner), nil, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil || len(out) != 40 {
		return "", fmt.Errorf("%q in %s.git: %w", rev, owner, ErrNoCommit)
	}
	return out, nil
}

// FileAt reports whether path is a regular file in commit of owner's repo.
func (h *Host) FileAt(ctx context.Context, owner, commit, path string) (bool, error) {
	if !ValidOwner(owner) || !h.Exists(owner) {
		return false, fmt.Errorf("repository %q: %w", owner, ErrNoRepo)
	}
	out, err := h.git(ctx, h.RepoPath(owner), nil, nil, "ls-tree", "--format=%(objecttype) %(objectmode)", "--end-of-options", commit, "--", path)
	if err != nil {
		return false, fmt.Errorf("look up %s at %s: %w", path, commit, err)
	}
	return out == "blob 100644" || out == "blob 100755", nil
}

// ErrNoRepo is returned for an owner without a repository.
var ErrNoRepo = errors.New("no such repository")
