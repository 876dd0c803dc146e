package waves

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Mount adds the waveform routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/waves", s.handleOpen)
	api.Get("/waves/:id/scopes", s.handleScopes)
	api.Get("/waves/:id/search", s.handleSearch)
	api.Get("/waves/:id/window", s.handleWindow)
}

// sendJSON encodes v with encoding/json (the values carry their own
// MarshalJSON for the compact change pairs).
func sendJSON(c *fiber.Ctx, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b)
}

func (s *Service) handleOpen(c *fiber.Ctx) error {
	d, err := s.Open(c.Query("path"))
	if err != nil {
		return err
	}
	if d.Status().State == StateFailed {
		return malformed(d)
	}
	return sendJSON(c, d.Status())
}

func (s *Service) dump(c *fiber.Ctx) (*Dump, error) {
	d, ok := s.Get(c.Params("id"))
	if !ok {
		return nil, apierr.NotFound("no open dump %q: GET /api/v1/waves?path=... first", c.Params("id"))
	}
	return d, nil
}

func (s *Service) handleScopes(c *fiber.Ctx) error {
	d, err := s.dump(c)
	if err != nil {
		return err
	}
	sc, err := d.Scopes()
	if err != nil {
		return err
	}
	return sendJSON(c, fiber.Map{"scopes": sc})
}

func (s *Service) handleSearch(c *fiber.Ctx) error {
	d, err := s.dump(c)
	if err != nil {
		return err
	}
	limit := 100
	if l := c.Query("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 10000 {
			return apierr.BadRequest("limit must be 1..10000, not %q", l)
		}
	}
	hits, err := d.Search(c.Query("q"), limit)
	if err != nil {
		return err
	}
	return sendJSON(c, fiber.Map{"signals": hits})
}

func (s *Service) handleWindow(c *fiber.Ctx) error {
	d, err := s.dump(c)
	if err != nil {
		return err
	}
	var ids []int
	if list := c.Query("signals"); list != "" {
		for _, f := range strings.Split(list, ",") {
			id, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return apierr.BadRequest("signals must be a comma-separated list of ids, not %q", list)
			}
			ids = append(ids, id)
		}
	}
	t0, err1 := strconv.ParseUint(c.Query("start"), 10, 64)
	t1, err2 := strconv.ParseUint(c.Query("end"), 10, 64)
	if err1 != nil || err2 != nil {
		return apierr.BadRequest("start and end must be times in the dump's units: ?start=0&end=1000")
	}
	pixels, err := strconv.Atoi(c.Query("pixels", "1000"))
	if err != nil {
		return apierr.BadRequest("pixels must be a number, not %q", c.Query("pixels"))
	}
	w, err := d.Window(ids, t0, t1, pixels)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(w.AppendJSON(nil))
}
