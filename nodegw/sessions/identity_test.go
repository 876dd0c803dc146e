//go:build linux

package sessions

import (
	"encoding/json"
	"strings"
	"testing"

	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// claimAs claims an idle container for session with the account identity id.
func (n *node) claimAs(session, repo string, id *fleetproto.GitIdentity) pool.Container {
	n.t.Helper()
	var cid string
	for _, c := range n.pool.Snapshot() {
		if c.State == pool.Idle {
			cid = c.ID
			break
		}
	}
	if cid == "" {
		n.t.Fatal("no idle container")
	}
	args, _ := json.Marshal(fleetproto.ClaimArgs{Container: cid, Session: session, Repo: fleetproto.Repo{URL: repo}, Identity: id})
	if _, err := n.svc.claim(testenv.Context(n.t, testenv.WaitLong), &fleetproto.Command{Args: args}); err != nil {
		n.t.Fatalf("claim: %v", err)
	}
	c, _ := n.pool.Get(cid)
	return c
}

// A claim with the account's identity: a commit in the terminal, with no
// identity of the user's own, is by the account. An identity that would
// add lines to the config (the cloud never sends one; a node keeps it
// out all the same) leaves the workspace with none, and the claim works.
func TestClaimRecordsTheAccountIdentity(t *testing.T) {
	repo := origin(t)
	n := newNode(t, 2, nil)
	c := n.claimAs("session-ident1", repo, &fleetproto.GitIdentity{Name: "alice", Email: "alice@users.127.0.0.1"})
	out := n.term(c, `cd /workspace && unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL EMAIL &&
echo x > mine.txt && git add mine.txt && git -c user.useConfigOnly=true commit -qm mine && git log -1 --format='AUTHOR=%an <%ae>'`)
	if !strings.Contains(out, "AUTHOR=alice <alice@users.127.0.0.1>") {
		t.Fatalf("commit in the claimed workspace:\n%s", out)
	}
	n.release(c)

	bad := &fleetproto.GitIdentity{Name: "eve\n[core]\n\thooksPath = /tmp", Email: "e@x"}
	c = n.claimAs("session-ident2", repo, bad)
	out = n.term(c, `cd /workspace && echo "NAME=$(git config --local --get user.name)" && echo "HOOKS=$(git config --local --get core.hookspath)"`)
	if !strings.Contains(out, "NAME=\r") && !strings.Contains(out, "NAME=\n") {
		t.Errorf("a refused identity went in:\n%s", out)
	}
	if strings.Contains(out, "HOOKS=/") {
		t.Errorf("the identity injected core.hooksPath:\n%s", out)
	}
}
