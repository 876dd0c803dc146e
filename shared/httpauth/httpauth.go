// Package httpauth extracts and checks the bearer tokens that guard every
// Gatewave API. Browsers cannot set headers on WebSockets, so a token may
// also arrive as the access_token query parameter.
package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Token returns the request's token from "Authorization: Bearer <t>" or
// "?access_token=<t>", or "" when there is none.
func Token(c *fiber.Ctx) string {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return ""
	}
	return c.Query("access_token")
}

// Equal compares two tokens in constant time (over their hashes, so the
// length of the secret does not leak either).
func Equal(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1 && want != ""
}

// Require returns middleware that answers 401 unless the request carries want.
func Require(want string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t := Token(c)
		if t == "" {
			return apierr.Write(c, apierr.Unauthorized("missing token: send Authorization: Bearer <token> or ?access_token=<token>"))
		}
		if !Equal(t, want) {
			return apierr.Write(c, apierr.Unauthorized("invalid token"))
		}
		return c.Next()
	}
}
