package settings

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
	shared "gatewave.dev/shared/settings"
)

// Options configure a Service.
type Options struct {
	// Path is the settings file; empty means none is kept: GET answers the
	// defaults and PUT is refused (a cloud container, whose settings the
	// cloud keeps).
	Path string
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Service serves GET and PUT api/v1/settings.
type Service struct {
	file *File
	log  *slog.Logger
}

// New returns the service for opts.
func New(opts Options) *Service {
	s := &Service{log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if opts.Path != "" {
		s.file = &File{Path: opts.Path}
	}
	return s
}

// Mount adds the routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/settings", s.get)
	api.Put("/settings", s.put)
}

// Close has nothing to stop: every Save is finished when PUT answers.
func (s *Service) Close() error { return nil }

func (s *Service) get(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if s.file == nil {
		// Said up front, so the settings dialog tells the user before they change anything.
		c.Set(NotStoredHeader, notStoredReason)
		return c.JSON(shared.Defaults())
	}
	st, err := s.file.Load()
	if err != nil {
		// The user still gets an IDE: defaults for what could not be read.
		s.log.Warn("settings", "err", err)
	}
	return c.JSON(st)
}

// NotStoredHeader on GET's answer says why a sessiond keeps no settings
// (its value); a PUT there is refused with 501 not_stored.
const NotStoredHeader = "Gatewave-Settings-Not-Stored"

const notStoredReason = "this sessiond keeps no settings (--settings none, the default in a container)"

// errNotStored is PUT's answer on a sessiond that keeps no settings.
var errNotStored = apierr.New(fiber.StatusNotImplemented, "not_stored", notStoredReason)

func (s *Service) put(c *fiber.Ctx) error {
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		return apierr.New(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "send the settings as application/json")
	}
	st, err := shared.Parse(c.Body())
	if errors.Is(err, shared.ErrTooLarge) {
		return apierr.New(fiber.StatusRequestEntityTooLarge, "too_large", "%v", err)
	}
	if err != nil {
		return apierr.BadRequest("%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if s.file == nil {
		return errNotStored
	}
	if err := s.file.Save(st); err != nil {
		return apierr.Internal("%v", err)
	}
	return c.JSON(st)
}
