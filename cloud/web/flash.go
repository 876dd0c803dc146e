package web

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
)

const flashCookie = "gw_flash"

// Flash is a message from a form to the page it redirects to.
type Flash struct {
	Text string
	// Error shows it as a problem (role=alert) rather than news.
	Error bool
}

// SetFlash keeps f for the next page this browser renders (the one a
// form redirects to). A flash is never a secret: it lives in a cookie.
func SetFlash(c *fiber.Ctx, f Flash, secure bool) {
	v := "i:" + f.Text
	if f.Error {
		v = "e:" + f.Text
	}
	c.Cookie(&fiber.Cookie{
		Name: flashCookie, Value: url.QueryEscape(v), Path: "/", Expires: time.Now().Add(time.Minute),
		HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// TakeFlash returns the pending flash message, if any, and clears it.
// It is shown as text (templates escape it), so a planted cookie can say
// nothing but words.
func TakeFlash(c *fiber.Ctx) Flash {
	v := c.Cookies(flashCookie)
	if v == "" {
		return Flash{}
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
	msg, err := url.QueryUnescape(v)
	if err != nil || len(msg) > 300 || len(msg) < 2 {
		return Flash{}
	}
	return Flash{Text: msg[2:], Error: msg[:2] == "e:"}
}
