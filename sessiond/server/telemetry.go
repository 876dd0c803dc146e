package server

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/telemetry"
	"gatewave.dev/shared/apierr"
)

func (s *Server) mountTelemetry(api fiber.Router) {
	api.Get("/telemetry", func(c *fiber.Ctx) error {
		snap, err := s.tel.Snapshot(c.Context())
		if err != nil {
			return err
		}
		return c.JSON(snap)
	})
	api.Get("/telemetry/stream", func(c *fiber.Ctx) error {
		iv := time.Second
		if v := c.Query("interval_ms"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return apierr.BadRequest("interval_ms must be a positive whole number of milliseconds, got %q", v)
			}
			iv = time.Duration(n) * time.Millisecond
		}
		if iv < telemetry.MinInterval {
			iv = telemetry.MinInterval
		}
		c.Locals("interval", iv)
		return c.Next()
	}, s.origins.Upgrade(s.telemetryStream))
}

func (s *Server) telemetryStream(conn *websocket.Conn) {
	iv, _ := conn.Locals("interval").(time.Duration)
	closed := readUntilClose(conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-closed; cancel() }()
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		snap, err := s.tel.Snapshot(ctx)
		if err != nil {
			return
		}
		if err := conn.WriteJSON(snap); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}
