package flash

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Mount adds the flash routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/flash/programmers", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"programmers": s.Programmers()})
	})
	api.Post("/flash", s.handleFlash)
}

func (s *Service) handleFlash(c *fiber.Ctx) error {
	var r Request
	if len(c.Body()) == 0 {
		return apierr.BadRequest(`a JSON body is required: {"path":"build/top.bin","programmer":"openfpgaloader","board":"ice40_generic"}`)
	}
	if err := json.Unmarshal(c.Body(), &r); err != nil {
		return apierr.BadRequest("invalid JSON body: %v", err)
	}
	t, err := s.Start(r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(t.Info())
}
