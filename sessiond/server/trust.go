package server

import (
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
)

// Trust is the answer of GET api/v1/workspace/trust.
type Trust struct {
	// Trusted is false in restricted mode (see Options.TrustWorkspaceConfig).
	Trusted bool `json:"trusted"`
	// ConfigFiles are the workspace's files that choose programs to run and
	// exist now: used when Trusted, ignored otherwise.
	ConfigFiles []string `json:"config_files"`
}

// mountTrust adds GET workspace/trust. There is deliberately no route to
// change it: the page, and anything in the workspace that can make the page
// or a local process send a request, must not be able to trust itself.
func (s *Server) mountTrust(api fiber.Router) {
	api.Get("/workspace/trust", func(c *fiber.Ctx) error {
		return c.JSON(s.Trust())
	})
}

// Trust reports whether the workspace's configuration is used and which
// configuration files it has.
func (s *Server) Trust() Trust {
	t := Trust{Trusted: s.opts.TrustWorkspaceConfig == nil || s.opts.TrustWorkspaceConfig(), ConfigFiles: []string{}}
	for _, f := range s.configFiles() {
		if _, err := s.ws.Root().Stat(f); err == nil {
			t.ConfigFiles = append(t.ConfigFiles, f)
		}
	}
	return t
}

// configFiles are the workspace files whose use trust decides.
func (s *Server) configFiles() []string {
	var files []string
	switch f := s.opts.LSP.ConfigFile; f {
	case "":
		files = append(files, lsp.DefaultConfigFile)
	case "-":
	default:
		if rel, err := workspace.Clean(f); err == nil {
			files = append(files, rel)
		}
	}
	return append(files, tasks.ConfigPath)
}
