package flash

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Mount adds the flash routes to the /api/v1 group (see the package doc).
func (s *Service) Mount(api fiber.Router) {
	api.Get("/flash/programmers", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"programmers": s.Programmers()})
	})
	api.Get("/flash/boards", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"boards": s.Boards()})
	})
	api.Get("/flash/devices", func(c *fiber.Ctx) error {
		return c.JSON(s.Devices())
	})
	api.Get("/flash/udev", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `inline; filename="70-gatewave-fpga.rules"`)
		return c.SendString(s.UdevRules())
	})
	api.Post("/flash", s.handleFlash)
}

func (s *Service) handleFlash(c *fiber.Ctx) error {
	var r Request
	if len(c.Body()) == 0 {
		return apierr.BadRequest(`a JSON body is required: {"path":"build/top.bin","board":"icestick"}`)
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
