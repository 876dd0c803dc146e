package accounts

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// ClientHeader must accompany HTTP basic credentials on the API: a
// cross-site form cannot set it, and a cross-site script cannot without a
// CORS preflight the cloud never answers, so a password a browser cached
// for git cannot be ridden by another site.
const ClientHeader = "X-Gatewave-Client"

const localsBasic = "gatewave.accounts.basic"

// RequireAPI lets through signed-in users (the session cookie, as
// Require) and API clients such as the `cloud task` CLI that send HTTP
// basic credentials with ClientHeader; a password check is rate-limited
// as a sign-in is.
func (a *Accounts) RequireAPI() fiber.Handler {
	cookie := a.Require()
	return func(c *fiber.Ctx) error {
		name, pw, ok := (&http.Request{Header: http.Header{"Authorization": {c.Get(fiber.HeaderAuthorization)}}}).BasicAuth()
		if !ok {
			return cookie(c)
		}
		if c.Get(ClientHeader) == "" {
			return apierr.Write(c, apierr.Unauthorized("HTTP basic credentials need the %s header", ClientHeader))
		}
		u, err := a.Authenticate(c.UserContext(), name, pw, a.ClientIP(c))
		var rl *RateLimitedError
		switch {
		case errors.As(err, &rl):
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rl.RetryAfter.Seconds()+0.5)))
			return apierr.Write(c, apierr.New(fiber.StatusTooManyRequests, "rate_limited", "%s", rl.Error()))
		case errors.Is(err, ErrBadCredentials):
			return apierr.Write(c, apierr.Unauthorized("wrong user name or password"))
		case err != nil:
			return err
		}
		c.Locals(localsUser, u)
		c.Locals(localsBasic, true)
		return c.Next()
	}
}

// CheckAPICSRF is CheckCSRF for routes behind RequireAPI: a request that
// authenticated with basic credentials (and ClientHeader) needs no CSRF
// token; a cookie-authenticated one does.
func (a *Accounts) CheckAPICSRF(c *fiber.Ctx) error {
	if b, _ := c.Locals(localsBasic).(bool); b {
		return nil
	}
	return a.CheckCSRF(c, c.Cookies(SessionCookie))
}
