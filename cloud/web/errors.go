package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

type errorPage struct {
	Status  int
	Message string
	Code    string
}

// ErrorHandler answers errors for browsers (WantsHTML) with an error page:
// a title, the message and a link home; every other client gets what
// apiHandler writes (the apierr JSON shape). A 500's own text stays in the
// log, never on the page.
func ErrorHandler(log *slog.Logger, apiHandler fiber.ErrorHandler) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if !WantsHTML(c) {
			return apiHandler(c, err)
		}
		var e *apierr.Error
		var fe *fiber.Error
		switch {
		case errors.As(err, &fe):
			e = apierr.New(fe.Code, "http_error", "%s", fe.Message)
			if fe.Code == fiber.StatusNotFound {
				e.Message = "There is no page at " + c.Path() + "."
			}
		default:
			e = apierr.From(err)
		}
		if e.Status >= 500 {
			if log != nil {
				log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
			}
			if e.Status == fiber.StatusInternalServerError {
				e = apierr.Internal("Something went wrong on our side. It has been logged; try again in a moment.")
			}
		}
		title := http.StatusText(e.Status)
		if e.Code == "csrf" {
			title = "This form has expired"
		}
		if title == "" {
			title = "Error"
		}
		c.Response().Header.Del(fiber.HeaderLocation)
		return Render(c, e.Status, "error", Page{Title: title, Data: errorPage{Status: e.Status, Message: e.Message, Code: e.Code}})
	}
}
