// Package server is sessiond's HTTP service: it wires the workspace, file
// watching, telemetry and the tool services (language servers, terminals,
// tasks, bitstreams, flashing) behind one token onto a Fiber app. The
// compute-node container and the desktop app both run exactly this.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"gatewave.dev/frontend"
	"gatewave.dev/sessiond/bitstream"
	"gatewave.dev/sessiond/filenames"
	"gatewave.dev/sessiond/flash"
	"gatewave.dev/sessiond/git"
	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/sessiond/nixshell"
	"gatewave.dev/sessiond/search"
	"gatewave.dev/sessiond/settings"
	"gatewave.dev/sessiond/sim"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/telemetry"
	"gatewave.dev/sessiond/terminal"
	"gatewave.dev/sessiond/watch"
	"gatewave.dev/sessiond/waves"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/httpauth"
	"gatewave.dev/shared/wsorigin"
)

// Options configure a Server. Root and Token are required; every other zero
// value picks a sensible default.
type Options struct {
	// Root is the workspace directory.
	Root string
	// Token guards every /api/v1 route and /metrics.
	Token string
	// AllowedOrigins are extra browser origins allowed to open WebSockets
	// and make cross-origin requests (the desktop webview's origin, say).
	// Empty: same origin only.
	AllowedOrigins []string
	// BodyLimit caps request bodies (file uploads); 0 means 64 MiB.
	BodyLimit int
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
	// Watch configures file watching.
	Watch watch.Options
	// Telemetry configures the collector.
	Telemetry telemetry.Options
	// UI serves the IDE at "/"; nil means the embedded frontend build.
	UI fs.FS
	// LSP configures the language-server proxy; the zero value means the
	// built-in languages overridden by the workspace's .ide/languages.toml.
	LSP lsp.Config
	// TrustWorkspaceConfig reports whether the workspace's own files may
	// choose programs to run: .ide/languages.toml (language servers) and
	// .ide/tasks.toml (named tasks). While it reports false the workspace is
	// in restricted mode: only the built-in languages and the default build
	// task exist, and GET api/v1/workspace/trust says so. It is asked on
	// every use, so a host can grant trust without a restart; sessiond
	// itself offers no route to grant it (the desktop asks its user in a
	// native dialog). nil means trusted, which is right for a cloud
	// container: it holds only its own user's repo, inside that user's
	// sandbox.
	TrustWorkspaceConfig func() bool
	// SettingsFile keeps the user's IDE settings (GET/PUT api/v1/settings,
	// see sessiond/settings). Empty means none are kept: GET answers the
	// defaults and PUT is refused, which is right for a cloud container
	// (the cloud answers those routes itself, from PostgreSQL).
	SettingsFile string
}

// service is a part of sessiond with routes of its own.
type service interface {
	// Mount adds the service's routes to the /api/v1 group.
	Mount(api fiber.Router)
	// Close stops the service and every process it started.
	Close() error
}

// Server is a running sessiond.
type Server struct {
	opts    Options
	log     *slog.Logger
	app     *fiber.App
	ws      *workspace.Workspace
	origins wsorigin.Policy
	tel     *telemetry.Collector

	watchOnce sync.Once
	watcher   *watch.Watcher
	watchErr  error

	services []service
	tasks    *tasks.Service
	nix      *nixshell.Shell
}

// New builds a server for opts.
func New(opts Options) (*Server, error) {
	if opts.Root == "" {
		return nil, errors.New("sessiond: Options.Root is required")
	}
	if opts.Token == "" {
		return nil, errors.New("sessiond: Options.Token is required")
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Watch.Logger == nil {
		opts.Watch.Logger = opts.Logger
	}
	ws, err := workspace.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		ws:      ws,
		origins: wsorigin.Policy{Allowed: opts.AllowedOrigins},
		tel:     telemetry.New(opts.Telemetry),
	}
	if err := s.buildServices(); err != nil {
		ws.Close()
		return nil, err
	}
	s.app = s.routes()
	return s, nil
}

// buildServices constructs the tool services. Each one owns its routes and
// its child processes.
func (s *Server) buildServices() error {
	nix, err := s.newNixShell()
	if err != nil {
		return err
	}
	tk, err := tasks.New(tasks.Options{Workspace: s.ws, Logger: s.log, Origins: s.origins, Trusted: s.opts.TrustWorkspaceConfig, ExtraEnv: nix.Env})
	if err != nil {
		return err
	}
	term, err := terminal.New(terminal.Options{Dir: s.ws.Dir(), Logger: s.log, Origins: s.origins, ExtraEnv: nix.Env})
	if err != nil {
		return err
	}
	bits, err := bitstream.New(bitstream.Options{Workspace: s.ws})
	if err != nil {
		return err
	}
	fl, err := flash.New(flash.Options{Workspace: s.ws, Tasks: tk})
	if err != nil {
		return err
	}
	ls, err := lsp.New(lsp.Options{Workspace: s.ws, Logger: s.log, Origins: s.origins, Trusted: s.opts.TrustWorkspaceConfig, Config: s.opts.LSP})
	if err != nil {
		return err
	}
	sm, err := sim.New(sim.Options{Workspace: s.ws, Tasks: tk, Logger: s.log, Trusted: s.opts.TrustWorkspaceConfig})
	if err != nil {
		return err
	}
	wv, err := waves.New(waves.Options{Workspace: s.ws, Logger: s.log})
	if err != nil {
		return err
	}
	sr, err := search.New(search.ServiceOptions{Workspace: s.ws, Logger: s.log, Origins: s.origins})
	if err != nil {
		return err
	}
	fn, err := filenames.New(filenames.Options{Workspace: s.ws, Logger: s.log, Watch: s.sharedWatcher})
	if err != nil {
		return err
	}
	st := settings.New(settings.Options{Path: s.opts.SettingsFile, Logger: s.log})
	gt, err := git.New(git.Options{Workspace: s.ws, Logger: s.log, Trusted: s.opts.TrustWorkspaceConfig})
	if err != nil {
		return err
	}
	s.tasks = tk
	s.services = append(s.services, tk, term, bits, fl, ls, sm, wv, sr, fn, st, gt)
	return nil
}

func (s *Server) routes() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "sessiond",
		DisableStartupMessage: true,
		BodyLimit:             s.opts.BodyLimit,
		ReadBufferSize:        16 << 10, // long paths in query strings
		ErrorHandler:          apierr.FiberHandler(s.log),
		JSONEncoder:           gojson.Marshal, // several times faster on 100,000-entry listings
		JSONDecoder:           gojson.Unmarshal,
		IdleTimeout:           2 * time.Minute,
	})
	if len(s.opts.AllowedOrigins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins:  strings.Join(s.opts.AllowedOrigins, ","),
			AllowHeaders:  "Authorization, Content-Type, If-Match, If-None-Match, Range",
			AllowMethods:  "GET, POST, PUT, DELETE, HEAD, OPTIONS",
			ExposeHeaders: "ETag, Content-Length, Content-Range",
		}))
	}
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), s.tel.Prometheus())
	metrics := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	app.Get("/metrics", httpauth.Require(s.opts.Token), func(c *fiber.Ctx) error {
		metrics(c.Context())
		return nil
	})

	api := app.Group("/api/v1", httpauth.Require(s.opts.Token))
	s.mountFiles(api)
	s.mountTelemetry(api)
	s.mountTrust(api)
	s.mountNixShell(api)
	for _, svc := range s.services {
		svc.Mount(api)
	}
	api.Use(func(c *fiber.Ctx) error {
		return apierr.NotFound("no API route %s %s", c.Method(), c.Path())
	})

	ui := s.opts.UI
	if ui == nil && frontend.Built() {
		ui = frontend.Dist()
	}
	if ui != nil {
		app.Use("/", filesystem.New(filesystem.Config{Root: http.FS(ui), Index: "index.html", MaxAge: 0}))
	} else {
		app.Get("/", func(c *fiber.Ctx) error {
			c.Type("html")
			return c.SendString("<!doctype html><title>sessiond</title><p>sessiond is running, but the IDE was not built into this binary. Run <code>make build</code>.</p>")
		})
	}
	return app
}

// Workspace is the confined workspace this server serves.
func (s *Server) Workspace() *workspace.Workspace { return s.ws }

// Tasks is the task runner, for a host that asks what is still running
// (the desktop, before it closes the window).
func (s *Server) Tasks() *tasks.Service { return s.tasks }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.app.Listener(ln)
}

// Shutdown stops accepting requests, closes open connections after ctx
// expires, and stops every service and the child processes they started.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.app.ShutdownWithContext(ctx)
	for _, svc := range s.services {
		err = errors.Join(err, svc.Close())
	}
	if s.watcher != nil {
		err = errors.Join(err, s.watcher.Close())
	}
	return errors.Join(err, s.ws.Close())
}

// Listen opens a listener for addr: "host:port" for TCP or "unix:/path"
// for a unix socket (a stale socket file is replaced; the new one is 0660).
func Listen(addr string) (net.Listener, error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(p)
		}
		ln, err := net.Listen("unix", p)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		if err := os.Chmod(p, 0o660); err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
