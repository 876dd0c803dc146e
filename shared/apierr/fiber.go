package apierr

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
)

// Write sends e as the JSON error body with its status.
func Write(c *fiber.Ctx, e *Error) error {
	return c.Status(e.Status).JSON(Body{Error: e})
}

// FiberHandler is a fiber.Config.ErrorHandler that writes every error, including
// Fiber's own (404 for unknown routes, 413 for large bodies), in the one JSON
// shape. Unexpected errors are logged with the request path and answered as 500.
func FiberHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code := "http_error"
			switch fe.Code {
			case fiber.StatusNotFound:
				code = "not_found"
			case fiber.StatusRequestEntityTooLarge:
				code = "too_large"
			case fiber.StatusMethodNotAllowed:
				code = "method_not_allowed"
			case fiber.StatusBadRequest:
				code = "bad_request"
			}
			return Write(c, New(fe.Code, code, "%s", fe.Message))
		}
		e := From(err)
		if e.Status >= 500 && log != nil {
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		}
		return Write(c, e)
	}
}
