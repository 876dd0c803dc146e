package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/web"
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
	app.Post("/api/v1/sessions/:id/stop", req, s.remove)
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
	if web.WantsHTML(c) {
		// A browser's form: the page shows the save's progress live, so
		// it gets its answer as soon as the session is ending.
		state, node, container, err := s.markEnding(c.UserContext(), se.ID, "stopped by the user")
		if err != nil {
			return err
		}
		if state == Ending {
			// c is recycled once this handler returns: take what the
			// release needs now.
			bctx, id := context.Background(), se.ID
			s.bg.Go(func() {
				if err := s.releaseEnding(bctx, id, node, container); err != nil {
					s.log.Warn("end session", "session", id, "err", err)
				}
			})
		}
		web.SetFlash(c, web.Flash{Text: "Your session is stopping; your work is being saved to ide/autosave."}, s.opts.Accounts.Secure(c))
		return c.Redirect("/", fiber.StatusSeeOther)
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
// position (202). A browser's form is sent home at once (303), where the
// page follows the start live.
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
	if web.WantsHTML(c) {
		if se.State == Queued {
			s.serveQueue(context.WithoutCancel(ctx))
		}
		return c.Redirect("/", fiber.StatusSeeOther)
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
