package sessions

import (
	"context"
	"strings"

	"gatewave.dev/cloud/githost"
)

// GitAuthorizer accepts a session's git credential (the node's clone and
// autosave) for the session owner's repo while the session is not ended
// (or, after it ended, until an orphan release's credential expires), and
// hands every other credential to fallback (the user's password).
func (s *Service) GitAuthorizer(fallback githost.Authorizer) githost.Authorizer {
	return func(ctx context.Context, owner, username, password string, push bool) error {
		if !strings.HasPrefix(password, "gws_") {
			return fallback(ctx, owner, username, password, push)
		}
		if username != owner {
			return githost.ErrUnauthorized
		}
		// Looked up by hash: equality on a SHA-256 of a 256-bit secret
		// leaks nothing useful through timing.
		var ok bool
		err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE u.name = $1 AND s.git_token_hash = $2 AND (s.state <> 'ended' OR s.git_token_expires_at > now()))`,
			owner, hash(password)).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return githost.ErrUnauthorized
		}
		return nil
	}
}
