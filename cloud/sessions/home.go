package sessions

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/web"
)

// home is GET /: the signed-in user's repos, session (followed live by
// web/static/home.js through GET /api/v1/sessions), password form and, for
// admins, the users.
func (s *Service) home(c *fiber.Ctx) error {
	u, _ := accounts.UserFrom(c)
	ctx := c.UserContext()
	h := web.Home{Admin: u.Admin, MinPassword: accounts.MinPasswordLen}
	se, err := s.openSession(ctx, u.ID)
	switch {
	case err == nil:
		h.Session = pageSession(se)
	case errors.Is(err, errNoSession):
		// One still saving is shown until it has ended: a new session
		// must wait for the save it would restore.
		if h.Session, err = s.ending(ctx, u.ID); err != nil {
			return err
		}
		if h.Last, err = s.lastSaved(ctx, u.ID); err != nil {
			return err
		}
	default:
		return err
	}
	if s.opts.Git.Exists(u.Name) {
		scheme := "http"
		if s.opts.Accounts.Secure(c) {
			scheme = "https"
		}
		// The Host the browser used (as CheckCSRF reads it), never an
		// X-Forwarded-Host anyone can send.
		h.Repos = []web.Repo{{Name: u.Name, CloneURL: fmt.Sprintf("%s://%s/git/%s.git", scheme, c.Request().Host(), u.Name)}}
	}
	if u.Admin {
		if h.Users, err = s.userRows(ctx); err != nil {
			return err
		}
	}
	return web.Render(c, fiber.StatusOK, "home", web.Page{
		Title: "Welcome, " + u.Name, User: u.Name, CSRF: s.opts.Accounts.CSRFToken(c), Flash: web.TakeFlash(c), Data: h,
	})
}

func pageSession(se Session) *web.Session {
	return &web.Session{ID: se.ID, State: se.State, Phase: se.Phase, URL: se.URL, Detail: se.Detail,
		Autosave: se.Autosave, Position: se.Position, EndedAt: se.EndedAt}
}

// ending is the user's session that is saving its work, or nil.
func (s *Service) ending(ctx context.Context, userID int64) (*web.Session, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT id FROM sessions WHERE user_id = $1 AND state = 'ending' ORDER BY queued_at DESC LIMIT 1`, userID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ending session: %w", err)
	}
	se, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return pageSession(se), nil
}

// lastSaved is the user's latest ended session that saved work (what a new
// session resumes), or nil.
func (s *Service) lastSaved(ctx context.Context, userID int64) (*web.Session, error) {
	var id string
	err := s.db.QueryRow(ctx, `SELECT id FROM sessions WHERE user_id = $1 AND state = 'ended' AND last_autosave <> ''
		ORDER BY ended_at DESC NULLS LAST LIMIT 1`, userID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last saved session: %w", err)
	}
	se, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return pageSession(se), nil
}

// userRows lists every user with the state of their open session.
func (s *Service) userRows(ctx context.Context) ([]web.User, error) {
	users, err := s.opts.Accounts.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT user_id, state FROM sessions WHERE state NOT IN ('ended')`)
	if err != nil {
		return nil, fmt.Errorf("open sessions: %w", err)
	}
	open := map[int64]string{}
	var id int64
	var state string
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error { open[id] = state; return nil }); err != nil {
		return nil, fmt.Errorf("open sessions: %w", err)
	}
	out := make([]web.User, len(users))
	for i, u := range users {
		out[i] = web.User{Name: u.Name, Admin: u.Admin, CreatedAt: u.CreatedAt, Session: open[u.ID]}
	}
	return out, nil
}
