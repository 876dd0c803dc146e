package nixcache

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Prefix is where the cache is mounted; a substituter URL ends with it.
const Prefix = "/nix-cache"

// Mount adds the cache's routes under Prefix: GET and HEAD for readers
// (nodes and admins, through Options.Authorize), PUT for uploads, and
// GET /nix-cache/public-key.
func (c *Cache) Mount(app fiber.Router) {
	g := app.Group(Prefix)
	g.Get("/nar/:file", c.auth(false), c.getNar)
	g.Put("/nar/:file", c.auth(true), c.putNar)
	g.Get("/:file", c.auth(false), c.getFile)
	g.Put("/:file", c.auth(true), c.putNarInfo)
}

// auth takes the token from the Authorization header only: nix sends it
// there from a netrc, and a token in a URL would end up in logs.
func (c *Cache) auth(write bool) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		if q := ctx.Context().QueryArgs(); q.Has("access_token") || q.Has("token") {
			return apierr.Unauthorized("tokens are accepted only in the Authorization: Bearer header, never in the URL")
		}
		h := ctx.Get(fiber.HeaderAuthorization)
		if len(h) <= 7 || !strings.EqualFold(h[:7], "bearer ") {
			return apierr.Unauthorized("missing token: send Authorization: Bearer <token>")
		}
		if err := c.opts.Authorize(ctx.UserContext(), strings.TrimSpace(h[7:]), write); err != nil {
			return err
		}
		return ctx.Next()
	}
}

func (c *Cache) getFile(ctx *fiber.Ctx) error {
	name := ctx.Params("file")
	switch {
	case name == "nix-cache-info":
		ctx.Set(fiber.HeaderContentType, "text/x-nix-cache-info")
		return ctx.SendString(c.Info())
	case name == "public-key":
		ctx.Set(fiber.HeaderContentType, "text/plain")
		return ctx.SendString(c.PublicKey() + "\n")
	}
	m := narInfoName.FindStringSubmatch(name)
	if m == nil {
		return apierr.NotFound("no such file in the nix cache")
	}
	b, err := os.ReadFile(c.narInfoPath(m[1]))
	if errors.Is(err, fs.ErrNotExist) {
		return apierr.NotFound("%s is not in the nix cache", name)
	}
	if err != nil {
		return err
	}
	ctx.Set(fiber.HeaderContentType, "text/x-nix-narinfo")
	return ctx.Send(b)
}

func (c *Cache) getNar(ctx *fiber.Ctx) error {
	name := ctx.Params("file")
	if !narName.MatchString(name) {
		return apierr.NotFound("no such NAR in the nix cache")
	}
	f, err := os.Open(c.narPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return apierr.NotFound("nar/%s is not in the nix cache", name)
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if ctx.Method() == fiber.MethodGet {
		c.served.Add(1)
	}
	ctx.Set(fiber.HeaderContentType, "application/x-nix-nar")
	return ctx.SendStream(f, int(fi.Size()))
}

func (c *Cache) putNar(ctx *fiber.Ctx) error {
	if err := c.PutNar(ctx.Params("file"), ctx.Body()); err != nil {
		return apierr.New(fiber.StatusBadRequest, "bad_nar", "%v", err)
	}
	return ctx.SendStatus(fiber.StatusCreated)
}

func (c *Cache) putNarInfo(ctx *fiber.Ctx) error {
	m := narInfoName.FindStringSubmatch(ctx.Params("file"))
	if m == nil {
		return apierr.NotFound("uploads are <hash>.narinfo or nar/<hash>.nar")
	}
	n, err := c.PutNarInfo(m[1], string(ctx.Body()))
	if errors.Is(err, ErrConflict) {
		return apierr.Conflict("%v", err)
	}
	if err != nil {
		return apierr.New(fiber.StatusBadRequest, "bad_narinfo", "%v", err)
	}
	ctx.Set(fiber.HeaderContentType, "text/x-nix-narinfo")
	return ctx.Status(fiber.StatusCreated).SendString(n.String())
}
