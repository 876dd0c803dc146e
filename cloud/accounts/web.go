package accounts

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/web"
	"gatewave.dev/shared/apierr"
)

// Cookie names.
const (
	SessionCookie = "gw_session"
	csrfCookie    = "gw_csrf"
	csrfField     = "_csrf"
	localsUser    = "gatewave.user"
)

type signinPage struct {
	Action, Name, Error string
}

// Mount adds GET/POST /signin, POST /signout, POST /account/password
// (change your password) and POST /admin/users (an admin adds a user) to r.
func (a *Accounts) Mount(r fiber.Router) {
	r.Get("/signin", a.getSignIn)
	r.Post("/signin", a.postSignIn)
	r.Post("/signout", a.postSignOut)
	r.Post("/account/password", a.Require(), a.postPassword)
	r.Post("/admin/users", a.Require(), a.postAddUser)
}

// ClientIP is the address of the client that sent c, read through
// Options.Proxies; what the rate limits count against.
func (a *Accounts) ClientIP(c *fiber.Ctx) string {
	return a.opts.Proxies.ClientIP(c).String()
}

// Secure reports whether cookies set on c must be Secure (and links the
// site shows are https).
func (a *Accounts) Secure(c *fiber.Ctx) bool {
	return a.opts.SecureCookies || a.opts.Proxies.HTTPS(c)
}

func (a *Accounts) setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: a.Secure(c), SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// anonCSRF returns the double-submit token for visitors without a session,
// setting its cookie when missing.
func (a *Accounts) anonCSRF(c *fiber.Ctx) string {
	if t := c.Cookies(csrfCookie); len(t) >= 32 {
		return t
	}
	t, _ := newToken()
	a.setCookie(c, csrfCookie, t, time.Time{})
	return t
}

// CSRFToken returns the token a form must send as the _csrf field. For a
// signed-in user it is derived from the session token (so it cannot be
// planted by another site); before sign-in it is a double-submit cookie.
func (a *Accounts) CSRFToken(c *fiber.Ctx) string {
	if s := c.Cookies(SessionCookie); s != "" {
		return sessionCSRF(s)
	}
	return a.anonCSRF(c)
}

func sessionCSRF(session string) string {
	h := sha256.Sum256([]byte("gatewave csrf\x00" + session))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

var (
	errCSRF     = apierr.New(fiber.StatusForbidden, "csrf", "missing or invalid CSRF token; reload the page and try again")
	errBusy     = apierr.New(fiber.StatusServiceUnavailable, "busy", "%s", ErrBusy.Error())
	errTooLarge = apierr.New(fiber.StatusRequestEntityTooLarge, "too_large", "the sign-in form is too large")
)

// MaxFormBody is the largest sign-in or sign-out form accepted. The server
// refuses larger bodies before reading them; this check holds wherever
// Mount is used.
const MaxFormBody = 8 << 10

// CheckCSRF verifies a state-changing form request: the _csrf field (or the
// X-CSRF-Token header) must match, and a cross-site Origin is refused.
func (a *Accounts) CheckCSRF(c *fiber.Ctx, session string) error {
	if o := c.Get(fiber.HeaderOrigin); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != string(c.Request().Host()) {
			return errCSRF
		}
	}
	got := c.FormValue(csrfField)
	if got == "" {
		got = c.Get("X-CSRF-Token")
	}
	want := ""
	if session != "" {
		want = sessionCSRF(session)
	} else {
		want = c.Cookies(csrfCookie)
	}
	if got == "" || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

func wantsHTML(c *fiber.Ctx) bool { return web.WantsHTML(c) }

func (a *Accounts) renderSignIn(c *fiber.Ctx, status int, name, msg string) error {
	return web.Render(c, status, "signin", web.Page{Title: "Sign in", CSRF: a.anonCSRF(c),
		Data: signinPage{Action: "signin", Name: name, Error: msg}})
}

func (a *Accounts) getSignIn(c *fiber.Ctx) error {
	if u, err := a.SessionUser(c.UserContext(), c.Cookies(SessionCookie)); err == nil && u.ID != 0 {
		return c.Redirect(a.opts.AfterSignIn, fiber.StatusSeeOther)
	}
	return a.renderSignIn(c, fiber.StatusOK, "", "")
}

// fail answers a form error as the sign-in page for browsers and as the
// JSON error shape for everything else.
func (a *Accounts) fail(c *fiber.Ctx, e *apierr.Error, name string) error {
	if wantsHTML(c) {
		return a.renderSignIn(c, e.Status, name, e.Message)
	}
	return apierr.Write(c, e)
}

func (a *Accounts) postSignIn(c *fiber.Ctx) error {
	if len(c.Body()) > MaxFormBody {
		return a.fail(c, errTooLarge, "")
	}
	name := strings.TrimSpace(c.FormValue("name"))
	if err := a.CheckCSRF(c, ""); err != nil {
		return a.fail(c, errCSRF, name)
	}
	pw := c.FormValue("password")
	if name == "" || pw == "" {
		return a.fail(c, apierr.BadRequest("user name and password are required"), name)
	}
	u, err := a.Authenticate(c.UserContext(), name, pw, a.ClientIP(c))
	var rl *RateLimitedError
	switch {
	case errors.Is(err, ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "1")
		return a.fail(c, errBusy, name)
	case errors.As(err, &rl):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rl.RetryAfter.Seconds()+0.5)))
		return a.fail(c, apierr.New(fiber.StatusTooManyRequests, "rate_limited", "%s", rl.Error()), name)
	case errors.Is(err, ErrBadCredentials):
		return a.fail(c, apierr.Unauthorized("wrong user name or password"), name)
	case err != nil:
		return err
	}
	tok, err := a.CreateSession(c.UserContext(), u)
	if err != nil {
		return err
	}
	a.setCookie(c, SessionCookie, tok, a.opts.Now().Add(a.opts.SessionTTL))
	c.ClearCookie(csrfCookie)
	a.log.Info("signed in", "user", u.Name)
	if wantsHTML(c) {
		return c.Redirect(a.opts.AfterSignIn, fiber.StatusSeeOther)
	}
	return c.JSON(fiber.Map{"user": u})
}

func (a *Accounts) postSignOut(c *fiber.Ctx) error {
	if len(c.Body()) > MaxFormBody {
		return errTooLarge
	}
	tok := c.Cookies(SessionCookie)
	if err := a.CheckCSRF(c, tok); err != nil {
		return err
	}
	u, err := a.SessionUser(c.UserContext(), tok)
	if err == nil {
		if err := a.DeleteSession(c.UserContext(), tok); err != nil {
			return err
		}
		if a.opts.OnSignOut != nil {
			if err := a.opts.OnSignOut(context.WithoutCancel(c.UserContext()), u); err != nil {
				a.log.Error("sign-out hook", "user", u.Name, "err", err)
			}
		}
		a.log.Info("signed out", "user", u.Name)
	}
	a.setCookie(c, SessionCookie, "", time.Unix(1, 0))
	if wantsHTML(c) {
		return c.Redirect("/signin", fiber.StatusSeeOther)
	}
	return c.JSON(fiber.Map{"signed_out": true})
}

// Require is middleware that lets only signed-in users through, storing the
// user for UserFrom. Browsers asking for HTML are sent to the sign-in page;
// other clients get a JSON 401.
func (a *Accounts) Require() fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, err := a.SessionUser(c.UserContext(), c.Cookies(SessionCookie))
		if errors.Is(err, ErrNoSession) {
			if wantsHTML(c) && c.Method() == fiber.MethodGet {
				return c.Redirect("/signin", fiber.StatusSeeOther)
			}
			return apierr.Write(c, apierr.Unauthorized("sign in first"))
		}
		if err != nil {
			return err
		}
		c.Locals(localsUser, u)
		return c.Next()
	}
}

// UserFrom returns the user Require stored on c.
func UserFrom(c *fiber.Ctx) (User, bool) {
	u, ok := c.Locals(localsUser).(User)
	return u, ok
}
