package fleetproto

import (
	"strings"
	"unicode/utf8"
)

// Git push and pull of a cloud session (issue 15): the container never
// holds the session's git credential, so the node pushes and fetches for
// it. The node pushes only to the repo of the session's own claim; the
// arguments name no repo.
const (
	// CommandGitPush snapshots the container's workspace, takes the
	// branch from the snapshot and pushes it to the user's repo,
	// fast-forward only, then sets the container's
	// refs/remotes/origin/<branch> (GitPushArgs → GitResult).
	CommandGitPush = "session.git_push"
	// CommandGitFetch fetches the user's repo and sends its branches
	// (ide/ left out) into the container as refs/remotes/origin/*, with
	// the objects it lacks (GitFetchArgs → GitResult).
	CommandGitFetch = "session.git_fetch"
)

// GitPushArgs are CommandGitPush's arguments.
type GitPushArgs struct {
	Container string `json:"container"`
	Session   string `json:"session"`
	// Branch is a local branch of the workspace, pushed to the branch of
	// the same name (ValidGitBranch).
	Branch string `json:"branch"`
}

// GitFetchArgs are CommandGitFetch's arguments.
type GitFetchArgs struct {
	Container string `json:"container"`
	Session   string `json:"session"`
}

// Refusals in GitResult.Refused: git declined, for a reason the user can
// act on (not a failure of the node).
const (
	GitRejected = "rejected"  // not a fast-forward: pull first
	GitNoBranch = "no_branch" // the branch is not in the workspace (push) or the repo (pull)
)

// GitResult answers CommandGitPush and CommandGitFetch.
type GitResult struct {
	// Output is what git said, for the user (no credentials).
	Output string `json:"output"`
	// Commit is the commit pushed.
	Commit string `json:"commit,omitempty"`
	// Refused is GitRejected or GitNoBranch when git declined; Message
	// then says why, in a sentence.
	Refused string `json:"refused,omitempty"`
	Message string `json:"message,omitempty"`
	// Branches are the repo's branches after a fetch (name → commit).
	Branches map[string]string `json:"branches,omitempty"`
}

// AutosaveNamespace is the branch prefix the node keeps for its own saves
// (ide/autosave, ide/recovered/ID): never pushed to or fetched by a user.
const AutosaveNamespace = "ide/"

// ValidGitBranch reports whether name may be pushed or pulled as a branch:
// what `git check-ref-format --branch` accepts, except anything that could
// read as an option or a refspec, and outside the autosave namespace.
func ValidGitBranch(name string) bool {
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || name == "HEAD" || name == "@" {
		return false
	}
	if name[0] == '-' || name[0] == '/' || name[len(name)-1] == '/' || name[len(name)-1] == '.' {
		return false
	}
	if name == strings.TrimSuffix(AutosaveNamespace, "/") || strings.HasPrefix(name, AutosaveNamespace) || strings.HasPrefix(name, "refs/") {
		return false
	}
	if strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return false
		}
	}
	for _, comp := range strings.Split(name, "/") {
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return false
		}
	}
	return true
}
