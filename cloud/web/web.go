// Package web is the cloud website's look and plumbing: the page templates
// (sign-in, home, error pages) rendered with html/template, the stylesheet
// and the home page's script served from /web/, flash messages carried
// across a POST → 303 redirect, and an error handler that answers a
// browser with a page a person can read and every other client with the
// apierr JSON shape.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static is the prefix the stylesheet and script are served under.
const Static = "/web/"

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
}).ParseFS(templateFS, "templates/*.html"))

// Page is what every page template gets: the page's own data in Data.
type Page struct {
	// Title is the page's <title> and first heading.
	Title string
	// User is the signed-in user's name; "" shows no account menu.
	User string
	// CSRF is the token forms send as _csrf.
	CSRF string
	// Flash is a message from the form that redirected here.
	Flash Flash
	// Data is the template's own.
	Data any
}

// Render writes page name with status. Pages are never cached or framed,
// and their forms post only to this site.
func Render(c *fiber.Ctx, status int, name string, p Page) error {
	c.Status(status).Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	// Not a script-src: html/template escapes every value, and the
	// accessibility tests inject axe-core into these pages.
	c.Set(fiber.HeaderContentSecurityPolicy, "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
	return pages.ExecuteTemplate(c.Response().BodyWriter(), name, p)
}

// RenderFragment writes the template name alone, a part of a page that a
// page's script swaps in (the operator dashboard's live part), with the
// same headers as Render.
func RenderFragment(c *fiber.Ctx, name string, data any) error {
	c.Status(fiber.StatusOK).Type("html", "utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
	return pages.ExecuteTemplate(c.Response().BodyWriter(), name, data)
}

// WantsHTML reports whether c comes from a browser: its Accept header
// names text/html. API clients (JSON, git, curl's */*) do not.
func WantsHTML(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}

// Mount serves the stylesheet and script under Static.
func Mount(r fiber.Router) {
	sub, _ := fs.Sub(staticFS, "static")
	r.Get(Static+"*", func(c *fiber.Ctx) error {
		name := c.Params("*")
		b, err := fs.ReadFile(sub, name)
		if err != nil || strings.Contains(name, "/") {
			return fiber.ErrNotFound
		}
		switch {
		case strings.HasSuffix(name, ".css"):
			c.Type("css", "utf-8")
		case strings.HasSuffix(name, ".js"):
			c.Type("js", "utf-8")
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		return c.Send(b)
	})
}
