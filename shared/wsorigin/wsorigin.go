// Package wsorigin guards WebSocket upgrades against cross-site WebSocket
// hijacking by checking the Origin header against an allow-list.
package wsorigin

import (
	"net/url"
	"strings"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Policy is an Origin allow-list. The zero value allows same-origin requests
// only (the Origin's host:port equals the request's Host) plus requests with
// no Origin at all, which only non-browser clients send; those still need a
// token.
type Policy struct {
	// Allowed lists extra origins, such as "https://ide.example.com". "*"
	// allows any origin (for development only).
	Allowed []string
}

// Allows reports whether a WebSocket upgrade with the given Origin header for
// the given Host header is permitted.
func (p Policy) Allows(origin, host string) bool {
	if origin == "" {
		return true
	}
	for _, a := range p.Allowed {
		if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// Upgrade returns a handler that refuses non-WebSocket requests with 426 and
// disallowed origins with 403, then runs h on the upgraded connection.
func (p Policy) Upgrade(h func(*websocket.Conn), cfg ...websocket.Config) fiber.Handler {
	ws := websocket.New(h, cfg...)
	return func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return apierr.Write(c, apierr.New(fiber.StatusUpgradeRequired, "upgrade_required", "this endpoint speaks WebSocket only"))
		}
		if !p.Allows(c.Get(fiber.HeaderOrigin), c.Hostname()) {
			return apierr.Write(c, apierr.Forbidden("origin %q is not allowed", c.Get(fiber.HeaderOrigin)))
		}
		return ws(c)
	}
}
