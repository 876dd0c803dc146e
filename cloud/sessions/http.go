package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/shared/apierr"
)

// Mount adds the session API, the home page and the tunnel to app. The
// routes need a signed-in user; state-changing ones need the CSRF token
// (form field _csrf or header X-CSRF-Token; GET /api/v1/me tells it).
func (s *Service) Mount(app fiber.Router) {
	req := s.opts.Accounts.Require()
	app.Get("/", req, s.home)
	app.Get("/api/v1/me", req, func(c *fiber.Ctx) error {
		u, _ := accounts.UserFrom(c)
		return c.JSON(fiber.Map{"user": u, "csrf_token": s.opts.Accounts.CSRFToken(c)})
	})
	app.Post("/api/v1/sessions", req, s.create)
	app.Get("/api/v1/sessions", req, s.current)
	app.Get("/api/v1/sessions/:id", req, s.show)
	app.Delete("/api/v1/sessions/:id", req, s.remove)
	app.All("/s/:id", s.tunnel)
	app.All("/s/:id/*", s.tunnel)
}

func (s *Service) owned(c *fiber.Ctx) (Session, error) {
	u, _ := accounts.UserFrom(c)
	se, err := s.get(c.UserContext(), c.Params("id"))
	if errors.Is(err, errNoSession) || (err == nil && se.userID != u.ID) {
		return se, apierr.NotFound("no such session")
	}
	return se, err
}

func (s *Service) show(c *fiber.Ctx) error {
	se, err := s.owned(c)
	if err != nil {
		return err
	}
	return c.JSON(se)
}

func (s *Service) current(c *fiber.Ctx) error {
	u, _ := accounts.UserFrom(c)
	se, err := s.openSession(c.UserContext(), u.ID)
	if errors.Is(err, errNoSession) {
		return apierr.NotFound("no open session")
	}
	if err != nil {
		return err
	}
	return c.JSON(se)
}

func (s *Service) remove(c *fiber.Ctx) error {
	if err := s.opts.Accounts.CheckCSRF(c, c.Cookies(accounts.SessionCookie)); err != nil {
		return err
	}
	se, err := s.owned(c)
	if err != nil {
		return err
	}
	if err := s.End(c.UserContext(), se.ID, "ended by the user"); err != nil {
		s.log.Warn("end session", "session", se.ID, "err", err)
	}
	se, err = s.get(c.UserContext(), se.ID)
	if err != nil {
		return err
	}
	return c.JSON(se)
}

var classRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// create is POST /api/v1/sessions[?class=NAME]: it returns the user's open
// session, or queues a new one (for a container of class NAME, when
// given; a form field or JSON {"class"} works too) and serves the queue in
// order; it answers once the session is ready (201), or with its queue
// position (202).
func (s *Service) create(c *fiber.Ctx) error {
	if err := s.opts.Accounts.CheckCSRF(c, c.Cookies(accounts.SessionCookie)); err != nil {
		return err
	}
	class := c.Query("class")
	if class == "" && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) && len(c.Body()) > 0 {
		var body struct {
			Class string `json:"class"`
		}
		if err := json.Unmarshal(c.Body(), &body); err != nil {
			return apierr.BadRequest("want {\"class\": NAME} or nothing")
		}
		class = body.Class
	} else if class == "" {
		class = c.FormValue("class")
	}
	if class != "" && !classRE.MatchString(class) {
		return apierr.BadRequest("container class %q is not valid", class)
	}
	u, _ := accounts.UserFrom(c)
	ctx := c.UserContext()
	se, _, err := s.enqueue(ctx, u.ID, class)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.opts.StartTimeout + 5*time.Second)
	ch, stop := s.waitFor(se.ID)
	if se.State == Queued {
		s.serveQueue(context.Background())
	}
	for {
		se, err = s.get(ctx, se.ID)
		if err != nil || se.State != Starting || time.Now().After(deadline) {
			break
		}
		select {
		case <-ch:
			stop()
			ch, stop = s.waitFor(se.ID)
		case <-time.After(100 * time.Millisecond):
		}
	}
	stop()
	if err != nil {
		return err
	}
	if strings.Contains(c.Get(fiber.HeaderAccept), "text/html") {
		if se.State == Ready {
			return c.Redirect(se.URL, fiber.StatusSeeOther)
		}
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	switch se.State {
	case Ready:
		c.Status(fiber.StatusCreated)
	case Queued, Starting, Restarting:
		c.Status(fiber.StatusAccepted)
	}
	return c.JSON(se)
}

// waitFor registers for the end of session id's start.
func (s *Service) waitFor(id string) (<-chan struct{}, func()) {
	ch := s.wait(id)
	return ch, func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		ws := s.waiters[id]
		for i, w := range ws {
			if w == ch {
				s.waiters[id] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(s.waiters[id]) == 0 {
			delete(s.waiters, id)
		}
	}
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Gatewave</title>{{if .Refresh}}<meta http-equiv="refresh" content="2">{{end}}
<style>body{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0;background:#0f1419;color:#e6e6e6}
main{background:#1a2029;padding:2em;border-radius:8px;min-width:20em}a{color:#7cc4ff}button{padding:.6em 1.2em;margin:.4em 0}</style></head>
<body><main><h1>Gatewave</h1><p>Signed in as <b>{{.User}}</b>.</p>
{{with .Session}}<p>Session <code>{{.ID}}</code>: <b>{{.State}}</b>{{if .Position}} (position {{.Position}} in the queue){{end}}</p>
{{if eq .State "ready"}}<p><a href="{{.URL}}">Open the IDE</a></p>{{end}}{{end}}
{{if not .Session}}<form method="post" action="api/v1/sessions"><input type="hidden" name="_csrf" value="{{.CSRF}}"><button>Start a session</button></form>{{end}}
<form method="post" action="signout"><input type="hidden" name="_csrf" value="{{.CSRF}}"><button>Sign out (saves your work)</button></form>
</main></body></html>
`))

func (s *Service) home(c *fiber.Ctx) error {
	u, _ := accounts.UserFrom(c)
	se, err := s.openSession(c.UserContext(), u.ID)
	var sp *Session
	if err == nil {
		sp = &se
	} else if !errors.Is(err, errNoSession) {
		return err
	}
	c.Type("html")
	c.Set("Cache-Control", "no-store")
	c.Set("X-Frame-Options", "DENY")
	return homePage.Execute(c.Response().BodyWriter(), map[string]any{
		"User": u.Name, "Session": sp, "CSRF": s.opts.Accounts.CSRFToken(c),
		"Refresh": sp != nil && sp.State != Ready,
	})
}
