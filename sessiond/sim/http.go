package sim

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Mount adds the simulation routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/sim/testbenches", s.handleList)
	api.Post("/sim/run", s.handleRun)
}

func (s *Service) handleList(c *fiber.Ctx) error {
	tbs, err := s.Testbenches()
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"testbenches": tbs, "simulators": Simulators()})
}

func (s *Service) handleRun(c *fiber.Ctx) error {
	var req RunRequest
	if len(c.Body()) == 0 {
		return apierr.BadRequest(`a JSON body is required: {"testbench": "blinky_tb.v", "simulator": "iverilog"}`)
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return apierr.BadRequest("invalid JSON body: %v", err)
	}
	t, err := s.Run(req)
	if err != nil {
		return err
	}
	c.Location(c.BaseURL() + "/api/v1/tasks/" + t.ID())
	return c.Status(fiber.StatusCreated).JSON(t.Info())
}
