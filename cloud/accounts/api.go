package accounts

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

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
		u, ok := a.basic.get(name, pw, a.opts.Now())
		var err error
		if !ok {
			u, err = a.Authenticate(c.UserContext(), name, pw, a.ClientIP(c))
			if err == nil {
				a.basic.put(name, pw, u, a.opts.Now())
			}
		}
		var rl *RateLimitedError
		switch {
		case errors.As(err, &rl):
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rl.RetryAfter.Seconds()+0.5)))
			return apierr.Write(c, apierr.New(fiber.StatusTooManyRequests, "rate_limited", "%s", rl.Error()))
		case errors.Is(err, ErrBadCredentials):
			return apierr.Write(c, apierr.Unauthorized("wrong user name or password"))
		case errors.Is(err, ErrBusy):
			c.Set(fiber.HeaderRetryAfter, "1")
			return apierr.Write(c, apierr.New(fiber.StatusServiceUnavailable, "busy", "too many sign-ins at once; retry in a second"))
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

// basicCache remembers credentials that passed Authenticate for a few
// seconds, so a client polling with basic credentials (cloud task logs
// --follow) costs one password hash, not one per request. It keys on a
// SHA-256 of the name and password, never the password itself.
type basicCache struct {
	mu sync.Mutex
	m  map[[32]byte]basicEntry
}

type basicEntry struct {
	u       User
	expires time.Time
}

// basicTTL bounds how long a changed password still works for a client
// that used the old one a moment before.
const basicTTL = 10 * time.Second

func basicKey(name, pw string) [32]byte { return sha256.Sum256([]byte(name + "\x00" + pw)) }

func (b *basicCache) get(name, pw string, now time.Time) (User, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[basicKey(name, pw)]
	if !ok || now.After(e.expires) {
		return User{}, false
	}
	return e.u, true
}

func (b *basicCache) put(name, pw string, u User, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) >= 4096 {
		b.m = map[[32]byte]basicEntry{}
	}
	b.m[basicKey(name, pw)] = basicEntry{u, now.Add(basicTTL)}
}

// forget drops every remembered credential of name (its password changed).
func (b *basicCache) forget(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, e := range b.m {
		if e.u.Name == name {
			delete(b.m, k)
		}
	}
}
