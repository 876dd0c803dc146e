package fleetproto

import (
	"errors"
	"fmt"
	"regexp"
)

// Session-related stream kind and commands (issue 7): the cloud claims a
// warm container on a node, has the node check the user's repo out into
// it, tunnels the browser to its sessiond, and releases it (autosave, then
// destroy).
const (
	// KindSessiond streams carry one connection to a claimed container's
	// sessiond socket. Target is the container ID; Meta["session"] must be
	// the session that claimed it.
	KindSessiond = "sessiond"

	// CommandClaim claims an idle container and checks the user's repo out
	// into its workspace (ClaimArgs → ClaimResult).
	CommandClaim = "session.claim"
	// CommandRelease autosaves a claimed container, then destroys it in the
	// background (ReleaseArgs → SaveResult).
	CommandRelease = "session.release"
	// CommandSave autosaves a claimed container now (ReleaseArgs → SaveResult).
	CommandSave = "session.save"
	// CommandDiscard removes a claimed container without a save
	// (ReleaseArgs → SaveResult): the cloud sends it only for a claim whose
	// start it gave up before the session was ever ready on it, so the
	// browser never reached it and nothing in it is the user's new work.
	CommandDiscard = "session.discard"
)

// MaxPoolContainers bounds one Pool report.
const MaxPoolContainers = 4096

// Pool states, as nodegw/pool reports them.
const (
	PoolStarting   = "starting"
	PoolIdle       = "idle"
	PoolClaimed    = "claimed"
	PoolDestroying = "destroying"
	PoolFailed     = "failed"
	// PoolRecovering is a claimed container that died, was OOM-killed or
	// failed its health checks: the node is saving its workspace from the
	// volume (Session is still set). Once a save succeeds the report
	// carries its commit in Autosave and the container then disappears
	// from the reports; until then SaveError says why the last try failed
	// and the node keeps retrying with backoff. The cloud shows the
	// session as "restarting" and, once the container is gone, gives the
	// session a fresh container, whose claim resumes from that save.
	PoolRecovering = "recovering"
)

var (
	containerIDRE = regexp.MustCompile(`^[a-f0-9]{12,64}$`)
	sessionIDRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	commitRE      = regexp.MustCompile(`^[a-f0-9]{40}([a-f0-9]{24})?$`)
)

// ValidContainerID reports whether s looks like a Docker container ID.
func ValidContainerID(s string) bool { return containerIDRE.MatchString(s) }

// ValidSessionID reports whether s looks like a session ID.
func ValidSessionID(s string) bool { return sessionIDRE.MatchString(s) }

// Pool is the node's whole warm pool, sent at connect and on every change.
type Pool struct {
	Containers []PoolContainer `json:"containers"`
}

// PoolContainer is one container of a Pool report.
type PoolContainer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Class string `json:"class"`
	State string `json:"state"`
	// Session is the session holding the container, if claimed.
	Session string `json:"session,omitempty"`
	// Autosave is the commit of the workspace's latest autosave (periodic
	// or not) on the user's ide/autosave branch, if any.
	Autosave string `json:"autosave,omitempty"`
	// SaveError is why the latest save of this workspace failed (the
	// node retries with backoff and keeps the container and its volume
	// until a save succeeds); "" when the latest save succeeded. Shown to
	// the user as is.
	SaveError string `json:"save_error,omitempty"`
}

// MaxSaveError bounds PoolContainer.SaveError.
const MaxSaveError = 512

func (c PoolContainer) validate() error {
	if !ValidContainerID(c.ID) {
		return fmt.Errorf("pool: container id %q is not valid", c.ID)
	}
	switch c.State {
	case PoolStarting, PoolIdle, PoolClaimed, PoolDestroying, PoolFailed, PoolRecovering:
	default:
		return fmt.Errorf("pool: container state %q is not valid", c.State)
	}
	if len(c.Name) > 128 || len(c.Class) > 64 || len(c.Session) > 64 || len(c.SaveError) > MaxSaveError {
		return errors.New("pool: container field too long")
	}
	if c.Autosave != "" && !commitRE.MatchString(c.Autosave) {
		return fmt.Errorf("pool: autosave %q is not a commit id", c.Autosave)
	}
	return nil
}

// Repo is a user's git repository as the node reaches it: URL without
// credentials, and a per-session credential for HTTP basic auth.
type Repo struct {
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
	// Branch to check out; "" means the repo's default.
	Branch string `json:"branch,omitempty"`
}

// ClaimArgs are CommandClaim's arguments.
type ClaimArgs struct {
	Container string `json:"container"`
	Session   string `json:"session"`
	Repo      Repo   `json:"repo"`
	// Identity, when set, is recorded as the workspace repository's
	// user.name and user.email at the restore (GitIdentity.Validate).
	Identity *GitIdentity `json:"identity,omitempty"`
}

// ClaimResult answers CommandClaim.
type ClaimResult struct {
	// Token is the container's sessiond API token; the cloud injects it
	// into tunnelled requests and never shows it to the browser.
	Token string `json:"token"`
	// Commit is the checked-out commit (the branch's head).
	Commit string `json:"commit"`
	// Branch is the branch the workspace is on ("" when detached).
	Branch string `json:"branch,omitempty"`
	// Resumed is the autosave the workspace was restored from ("" when
	// it was checked out fresh).
	Resumed string `json:"resumed,omitempty"`
}

// ReleaseArgs are CommandRelease's and CommandSave's arguments.
type ReleaseArgs struct {
	Container string `json:"container"`
	Session   string `json:"session"`
	// Repo, when set, replaces the credential the node got at the claim:
	// the cloud sends a fresh one to release an orphaned container (its
	// session ended while the node was away, and with it the old one).
	Repo *Repo `json:"repo,omitempty"`
}

// SaveResult answers CommandRelease and CommandSave.
type SaveResult struct {
	Commit string `json:"commit"`
	Pushed bool   `json:"pushed"`
}
