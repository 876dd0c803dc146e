package server

import (
	"os"
	"path/filepath"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/nixshell"
)

// newNixShell makes the shell.nix environment for terminals and tasks and
// starts evaluating it, so it is usually ready by the first terminal.
func (s *Server) newNixShell() (*nixshell.Shell, error) {
	cache := ""
	if d, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(d, "gatewave", "nix-shell")
	}
	nix, err := nixshell.New(nixshell.Options{Root: s.ws.Root(), Dir: s.ws.Dir(), CacheDir: cache, Trusted: s.opts.TrustWorkspaceConfig, Logger: s.log})
	if err != nil {
		return nil, err
	}
	nix.Prepare()
	s.nix = nix
	return nix, nil
}

// mountNixShell adds GET nix/shell: whether terminals and tasks get the
// workspace's shell.nix environment and, when not, why.
func (s *Server) mountNixShell(api fiber.Router) {
	api.Get("/nix/shell", func(c *fiber.Ctx) error {
		return c.JSON(s.nix.Status())
	})
}
