package accounts

import (
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/web"
	"gatewave.dev/shared/apierr"
)

// The home page's account forms. Each answers a browser with a redirect
// home (303) carrying a flash message, and any other client with JSON.

// formDone answers a form that worked.
func (a *Accounts) formDone(c *fiber.Ctx, msg string, body fiber.Map) error {
	if wantsHTML(c) {
		web.SetFlash(c, web.Flash{Text: msg}, a.Secure(c))
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return c.JSON(body)
}

// formFail answers a form whose input was refused; a browser goes home
// with the reason.
func (a *Accounts) formFail(c *fiber.Ctx, e *apierr.Error) error {
	if wantsHTML(c) {
		web.SetFlash(c, web.Flash{Text: e.Message, Error: true}, a.Secure(c))
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return apierr.Write(c, e)
}

// authFail maps Authenticate's refusals to what the user is told.
func (a *Accounts) authFail(c *fiber.Ctx, err error, wrong string) error {
	var rl *RateLimitedError
	switch {
	case errors.Is(err, ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "1")
		return a.formFail(c, errBusy)
	case errors.As(err, &rl):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(rl.RetryAfter.Seconds()+0.5)))
		return a.formFail(c, apierr.New(fiber.StatusTooManyRequests, "rate_limited", "%s", rl.Error()))
	case errors.Is(err, ErrBadCredentials):
		return a.formFail(c, apierr.New(fiber.StatusForbidden, "wrong_password", "%s", wrong))
	}
	return err
}

// postPassword is POST /account/password {current, new, confirm}: the
// current password is checked through the sign-in rate limit, and every
// other sign-in of the user ends.
func (a *Accounts) postPassword(c *fiber.Ctx) error {
	if len(c.Body()) > MaxFormBody {
		return errTooLarge
	}
	tok := c.Cookies(SessionCookie)
	if err := a.CheckCSRF(c, tok); err != nil {
		return err
	}
	u, _ := UserFrom(c)
	cur, next, confirm := c.FormValue("current"), c.FormValue("new"), c.FormValue("confirm")
	switch {
	case cur == "" || next == "":
		return a.formFail(c, apierr.BadRequest("the current and the new password are required"))
	case subtle.ConstantTimeCompare([]byte(next), []byte(confirm)) != 1:
		return a.formFail(c, apierr.BadRequest("the new password and its repetition differ; nothing was changed"))
	case len(next) < MinPasswordLen:
		return a.formFail(c, apierr.BadRequest("the new password must be at least %d characters", MinPasswordLen))
	}
	if err := a.ChangePassword(c.UserContext(), u, cur, next, tok, a.ClientIP(c)); err != nil {
		return a.authFail(c, err, "the current password is wrong; nothing was changed")
	}
	a.log.Info("password changed", "user", u.Name)
	return a.formDone(c, "Your password is changed, and every other sign-in of yours has ended.", fiber.Map{"changed": true})
}

type userAdded struct{ Name, Password string }

// postAddUser is POST /admin/users {name, password?, admin?}, for admins
// only. Without a password one is generated and shown once, on the page
// this form answers with (a secret never goes into a redirect's cookie or
// URL), or in the JSON.
func (a *Accounts) postAddUser(c *fiber.Ctx) error {
	if len(c.Body()) > MaxFormBody {
		return errTooLarge
	}
	if err := a.CheckCSRF(c, c.Cookies(SessionCookie)); err != nil {
		return err
	}
	admin, _ := UserFrom(c)
	if !admin.Admin {
		return apierr.Forbidden("only an admin can add users")
	}
	name := strings.TrimSpace(c.FormValue("name"))
	pw := c.FormValue("password")
	generated := pw == ""
	if generated {
		pw = GeneratePassword()
	}
	u, err := a.AddUser(c.UserContext(), name, pw)
	switch {
	case errors.Is(err, ErrBadName):
		return a.formFail(c, apierr.BadRequest("%q is not a valid user name: use lower-case letters, digits, '.', '_' and '-'", name))
	case errors.Is(err, ErrWeakPassword):
		return a.formFail(c, apierr.BadRequest("the password must be at least %d characters", MinPasswordLen))
	case errors.Is(err, ErrUserExists):
		return a.formFail(c, apierr.Conflict("there is a user named %q already", name))
	case err != nil:
		return err
	}
	if c.FormValue("admin") != "" {
		if err := a.SetAdmin(c.UserContext(), u.Name, true); err != nil {
			return err
		}
		u.Admin = true
	}
	if a.opts.OnUserAdded != nil {
		if err := a.opts.OnUserAdded(c.UserContext(), u); err != nil {
			return err
		}
	}
	a.log.Info("user added", "user", u.Name, "by", admin.Name, "admin", u.Admin)
	if !generated {
		return a.formDone(c, "User "+u.Name+" is added and can sign in.", fiber.Map{"user": u})
	}
	if wantsHTML(c) {
		return web.Render(c, fiber.StatusCreated, "useradded", web.Page{Title: "User " + u.Name + " added", User: admin.Name,
			CSRF: a.CSRFToken(c), Data: userAdded{Name: u.Name, Password: pw}})
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user": u, "password": pw})
}
