package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// SaveNow saves the workspace of the user's ready session id to the
// ide/autosave branch of their repo and returns the commit, so a batch
// task can run exactly what the IDE shows ("Run on the fleet" saves first).
func (s *Service) SaveNow(ctx context.Context, userID int64, id string) (string, error) {
	if !fleetproto.ValidSessionID(id) {
		return "", apierr.NotFound("no such session")
	}
	r, se, err := s.lookup(ctx, id)
	if errors.Is(err, errNoSession) || (err == nil && se.userID != userID) {
		return "", apierr.NotFound("no such session")
	}
	if err != nil {
		return "", err
	}
	if r == nil {
		return "", apierr.New(409, "not_ready", "session is %s: its workspace cannot be saved now", se.State)
	}
	b, _ := json.Marshal(fleetproto.ReleaseArgs{Container: r.container, Session: r.session})
	cctx, cancel := context.WithTimeout(ctx, s.opts.CommandTimeout)
	defer cancel()
	ack, err := s.hub.Command(cctx, r.node, fleetproto.CommandSave, b)
	if err != nil {
		return "", apierr.New(502, "node", "the session's node did not answer the save: %v", err)
	}
	if !ack.OK {
		return "", apierr.New(502, "save_failed", "saving the workspace failed: %s", ack.Error)
	}
	var res fleetproto.SaveResult
	if err := json.Unmarshal(ack.Result, &res); err != nil || !fleetproto.ValidCommitID(res.Commit) {
		return "", fmt.Errorf("save of session %s: the node's answer has no commit", id)
	}
	// Pushed is false when nothing changed since the last save: that
	// save's commit is the answer. Either way the task's validation finds
	// the commit in the user's repo, or refuses it.
	s.log.Info("workspace saved for a task", "session", id, "commit", res.Commit)
	return res.Commit, nil
}
