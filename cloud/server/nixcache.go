package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/nixcache"
	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/httpauth"
)

// mountNixCache serves the Nix binary cache in dir: nodes (their token)
// and admins read it, only admins upload.
func (s *Server) mountNixCache(app *fiber.App, dir, adminToken string) error {
	nc, err := nixcache.New(nixcache.Options{
		Dir: dir, Logger: s.log,
		Authorize: func(ctx context.Context, token string, write bool) error {
			if httpauth.Equal(token, adminToken) {
				return nil
			}
			if write {
				return apierr.Forbidden("only an admin uploads to the nix cache")
			}
			_, err := s.Store.Authenticate(ctx, token)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrRevoked) {
				return apierr.Unauthorized("invalid token")
			}
			return err
		},
	})
	if err != nil {
		return fmt.Errorf("nix cache: %w", err)
	}
	nc.Mount(app)
	s.NixCache = nc
	s.log.Info("nix cache", "dir", dir, "public_key", nc.PublicKey())
	return nil
}
