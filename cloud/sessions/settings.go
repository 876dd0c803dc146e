package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/settings"
)

// The IDE's settings (theme, font size, tab size) are the user's, not the
// container's: the cloud answers GET and PUT api/v1/settings of every
// session from the user_settings table, so a user's next session, on any
// node, opens with them, and a container (which the user controls) can
// neither read nor change another user's.
func init() {
	cloudRoutes["GET /api/v1/settings"] = getSettings
	cloudRoutes["PUT /api/v1/settings"] = putSettings
}

func getSettings(s *Service, c *fiber.Ctx, _ Session, u accounts.User, _ *route) error {
	st, err := s.loadSettings(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(st)
}

func putSettings(s *Service, c *fiber.Ctx, _ Session, u accounts.User, _ *route) error {
	if err := checkSameOrigin(c); err != nil {
		return err
	}
	st, err := settings.Parse(c.Body())
	if errors.Is(err, settings.ErrTooLarge) {
		return apierr.New(fiber.StatusRequestEntityTooLarge, "too_large", "%v", err)
	}
	if err != nil {
		return apierr.BadRequest("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := s.db.Exec(c.UserContext(), `
		INSERT INTO user_settings (user_id, settings) VALUES ($1, $2::text::jsonb)
		ON CONFLICT (user_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`, u.ID, string(b)); err != nil {
		return fmt.Errorf("save settings of user %d: %w", u.ID, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(st)
}

// loadSettings is the user's saved settings, the defaults when there are
// none. A row a newer or older build wrote still gives usable settings.
func (s *Service) loadSettings(ctx context.Context, userID int64) (settings.Settings, error) {
	var raw []byte
	err := s.db.QueryRow(ctx, `SELECT settings::text FROM user_settings WHERE user_id = $1`, userID).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return settings.Defaults(), nil
	}
	if err != nil {
		return settings.Settings{}, fmt.Errorf("load settings of user %d: %w", userID, err)
	}
	st, err := settings.FromStored(raw)
	if err != nil {
		s.log.Warn("stored settings", "user", userID, "err", err)
	}
	return st, nil
}

// checkSameOrigin guards a state-changing request the cloud answers for
// the IDE, which sends no CSRF token: the browser's Origin must be this
// host (a page elsewhere cannot forge it), and the body must be JSON,
// which a cross-site form cannot send without a CORS preflight the cloud
// never grants. With SameSite cookies that is belt and braces.
func checkSameOrigin(c *fiber.Ctx) error {
	o := c.Get(fiber.HeaderOrigin)
	if o == "" || o == "null" {
		return apierr.Forbidden("a request that changes settings must come from the IDE's own page (no Origin)")
	}
	ou, err := url.Parse(o)
	if err != nil || !strings.EqualFold(ou.Host, string(c.Request().Host())) {
		return apierr.Forbidden("origin %q is not allowed", o)
	}
	if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return apierr.Forbidden("a %s request may not change settings", site)
	}
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		return apierr.New(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "send the settings as application/json")
	}
	return nil
}
