// Package server is the cloud's HTTP surface: the operator API
// (GET /api/v1/nodes, admin token), the node link endpoint
// (/api/v1/nodes/connect, node tokens) and metrics, served by Fiber over
// a PostgreSQL pool. It keeps no state of its own beyond live connections,
// so it can run as several replicas against one database.
package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/nixcache"
	"gatewave.dev/cloud/ops"
	"gatewave.dev/cloud/sessions"
	"gatewave.dev/cloud/store"
	"gatewave.dev/cloud/tasks"
	"gatewave.dev/cloud/web"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/httpauth"
)

// Options configures a Server.
type Options struct {
	// Pool is the database. Required; its schema must be current (see
	// schema.Migrator.Check).
	Pool *pgxpool.Pool
	// AdminToken guards the operator API and metrics. Required.
	AdminToken string
	// Fleet configures the node hub; its Store and Logger are filled in.
	Fleet fleet.Options
	// GitRoot holds users' bare git repos. "" serves the fleet only: no
	// accounts, git hosting or sessions.
	GitRoot string
	// GitURL is where nodes reach this cloud's git host (the base of
	// /git), e.g. http://127.0.0.1:8480/git. Required with GitRoot.
	GitURL string
	// Accounts configures sign-in; its DB, Logger and OnSignOut are
	// filled in.
	Accounts accounts.Options
	// Sessions configures sessions; its DB, Hub, Accounts, Git, GitURL
	// and Logger are filled in.
	Sessions sessions.Options
	// Tasks configures batch tasks; its DB, Fleet, Git, GitURL,
	// Accounts and Logger are filled in. Tasks.Objects (the object
	// store) is optional: without it tasks have no inputs or artifacts.
	Tasks tasks.Options
	// Logger is the one logger. Nil means slog.Default().
	Logger *slog.Logger
	// Internal listens for replica-to-replica calls (forwarded node
	// streams and commands); Fleet.InternalToken and Fleet.InternalURL
	// must be set with it. Nil means none: this replica reaches only the
	// nodes linked to it. Keep it off the public network.
	Internal net.Listener
	// NixCache is the directory of the Nix binary cache served under
	// /nix-cache/ (cloud/nixcache). "" serves none.
	NixCache string
}

// Server is the cloud control plane. Create it with New, run it with Serve.
type Server struct {
	App *fiber.App
	// Internal is the replica-to-replica app; nil without Options.Internal.
	Internal *fiber.App
	Hub      *fleet.Hub
	Store    *store.Store
	Accounts *accounts.Accounts // nil without Options.GitRoot
	Git      *githost.Host      // nil without Options.GitRoot
	Sessions *sessions.Service  // nil without Options.GitRoot
	Tasks    *tasks.Service     // nil without Options.GitRoot
	Ops      *ops.Ops           // the operator dashboard, live stats and fleet gauges
	NixCache *nixcache.Cache    // nil without Options.NixCache
	log      *slog.Logger
	internal net.Listener
}

// New builds the server and its routes.
func New(opts Options) (*Server, error) {
	if opts.Pool == nil {
		return nil, errors.New("server: Options.Pool is required")
	}
	if len(opts.AdminToken) < 16 {
		return nil, errors.New("server: an admin token of at least 16 characters is required (--admin-token or GATEWAVE_ADMIN_TOKEN)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	st := store.New(opts.Pool)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fo := opts.Fleet
	fo.Store, fo.Logger, fo.Registerer = st, opts.Logger, reg
	// The dashboard, live stats and fleet gauges (cloud/ops).
	opsv, err := ops.New(ops.Options{DB: opts.Pool, OfflineAfter: cmp.Or(fo.OfflineAfter, fleet.DefaultOfflineAfter), Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	fo.OnStats = func(id int64, _ string, st *fleetproto.Stats) { opsv.RecordStats(id, st) }
	reg.MustRegister(opsv.Collector())
	requests, err := ops.NewRequestCounter(reg)
	if err != nil {
		return nil, err
	}
	var svc *sessions.Service
	var tsvc *tasks.Service
	if opts.GitRoot != "" {
		fo.OnPool = func(id int64, node string, p *fleetproto.Pool) { svc.OnPool(id, node, p) }
		fo.OnTaskUpdate = func(id int64, node string, u *fleetproto.TaskUpdate) { tsvc.OnUpdate(id, node, u) }
		fo.OnTaskLog = func(id int64, node string, l *fleetproto.TaskLog) { tsvc.OnLog(id, node, l) }
	}
	hub, err := fleet.New(fo)
	if err != nil {
		return nil, err
	}
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// Browsers get error pages a person can read; API clients JSON.
		ErrorHandler: web.ErrorHandler(opts.Logger, apierr.FiberHandler(opts.Logger)),
		BodyLimit:    LargeBodyLimit,
		ReadTimeout:  30 * time.Second,
	})
	limitBodies(app, opts.GitRoot != "", opts.NixCache != "")
	app.Use(requests.Handler())
	s := &Server{App: app, Hub: hub, Store: st, Ops: opsv, log: opts.Logger, internal: opts.Internal}
	if opts.Internal != nil {
		if fo.InternalToken == "" {
			return nil, errors.New("server: an internal listener needs Fleet.InternalToken (GATEWAVE_INTERNAL_TOKEN)")
		}
		s.Internal = fiber.New(fiber.Config{
			DisableStartupMessage: true,
			ErrorHandler:          apierr.FiberHandler(opts.Logger),
			ReadTimeout:           30 * time.Second,
		})
		s.Internal.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true, "replica": hub.Replica()}) })
		hub.MountInternal(s.Internal)
	}
	if opts.GitRoot != "" {
		if opts.GitURL == "" {
			return nil, errors.New("server: GitURL is required with GitRoot")
		}
		ao := opts.Accounts
		ao.DB, ao.Logger = opts.Pool, opts.Logger
		ao.OnSignOut = func(ctx context.Context, u accounts.User) error { return svc.EndUser(ctx, u) }
		var git *githost.Host
		ao.OnUserAdded = func(ctx context.Context, u accounts.User) error {
			if git.Exists(u.Name) {
				return nil
			}
			return git.Create(ctx, u.Name)
		}
		acc, err := accounts.New(ao)
		if err != nil {
			return nil, err
		}
		var authorize githost.Authorizer = func(ctx context.Context, owner, user, pass string, push bool) error {
			return svc.GitAuthorizer(tsvc.GitAuthorizer(acc.GitAuthorizer()))(ctx, owner, user, pass, push)
		}
		git, err = githost.New(githost.Options{Root: opts.GitRoot, Authorize: authorize, ClientIP: acc.ClientIP, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		so := opts.Sessions
		so.DB, so.Hub, so.Accounts, so.Git, so.GitURL, so.Logger = opts.Pool, hub, acc, git, opts.GitURL, opts.Logger
		if svc, err = sessions.New(so); err != nil {
			return nil, err
		}
		to := opts.Tasks
		to.DB, to.Fleet, to.Git, to.GitURL, to.Accounts, to.Logger = opts.Pool, hub, git, opts.GitURL, acc, opts.Logger
		to.SaveSession = svc.SaveNow
		if tsvc, err = tasks.New(to); err != nil {
			return nil, err
		}
		s.Accounts, s.Git, s.Sessions, s.Tasks = acc, git, svc, tsvc
		app.All("/git/*", git.Handler())
		web.Mount(app)
		acc.Mount(app)
		svc.Mount(app)
		tsvc.Mount(app)
		opsv.Mount(app, acc)
	}

	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"ok": true, "replica": hub.Replica(), "version": buildinfo.Version})
	})
	app.Get("/api/v1/nodes/connect", refuseQueryToken, hub.Handler())
	admin := requireBearer(opts.AdminToken)
	app.Get("/api/v1/nodes", admin, s.listNodes)
	app.Get("/api/v1/nodes/:name", admin, s.getNode)
	s.mountProbes(app, admin)
	if opts.NixCache != "" {
		if err := s.mountNixCache(app, opts.NixCache, opts.AdminToken); err != nil {
			return nil, err
		}
	}
	app.Get("/metrics", admin, adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return s, nil
}

// Request bodies are read whole before any handler runs, so the limit is
// chosen from the request line alone, before the body is read: a sign-in
// form or API call cannot make the server buffer a git push's worth of
// bytes, or reach authentication at all, with a large body.
const (
	// SmallBodyLimit bounds every body except git's and the tunnel's:
	// sign-in forms and JSON APIs.
	SmallBodyLimit = 64 << 10
	// LargeBodyLimit bounds git pushes (/git/) and the files the tunnel
	// (/s/) carries to sessiond.
	LargeBodyLimit = 256 << 20
)

// limitBodies sets the per-request body limit on app's server. Fiber routes
// on the undecoded path, so the prefix is matched on that same path: a
// path that only decodes to /git/ does not get the large limit.
func limitBodies(app *fiber.App, large, nix bool) {
	app.Server().HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		var u fasthttp.URI
		if err := u.Parse(nil, h.RequestURI()); err == nil {
			p := u.PathOriginal()
			if large && (bytes.HasPrefix(p, []byte("/git/")) || bytes.HasPrefix(p, []byte("/s/"))) {
				return fasthttp.RequestConfig{MaxRequestBodySize: LargeBodyLimit}
			}
			// NAR uploads to the Nix cache (admin only, checked after),
			// when there is one.
			if nix && h.IsPut() && bytes.HasPrefix(p, []byte(nixcache.Prefix+"/nar/")) {
				return fasthttp.RequestConfig{MaxRequestBodySize: LargeBodyLimit}
			}
		}
		return fasthttp.RequestConfig{MaxRequestBodySize: SmallBodyLimit}
	}
}

// Admin, node and replica tokens are long-lived secrets: in a URL they end
// up in proxy logs, browser history and Referer headers, so they are taken
// from the Authorization header only (no client of these routes is a
// browser, which could not set the header on a WebSocket).
var errQueryToken = apierr.Unauthorized("tokens are accepted only in the Authorization: Bearer header, never in the URL")

func hasQueryToken(c *fiber.Ctx) bool {
	q := c.Context().QueryArgs()
	return q.Has("access_token") || q.Has("token")
}

// refuseQueryToken refuses any request that carries a token in its query.
func refuseQueryToken(c *fiber.Ctx) error {
	if hasQueryToken(c) {
		return apierr.Write(c, errQueryToken)
	}
	return c.Next()
}

// requireBearer lets through requests whose Authorization: Bearer header
// holds want, and refuses any with a token in the query.
func requireBearer(want string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if hasQueryToken(c) {
			return apierr.Write(c, errQueryToken)
		}
		h := c.Get(fiber.HeaderAuthorization)
		if len(h) <= 7 || !strings.EqualFold(h[:7], "bearer ") {
			return apierr.Write(c, apierr.Unauthorized("missing token: send Authorization: Bearer <token>"))
		}
		if !httpauth.Equal(strings.TrimSpace(h[7:]), want) {
			return apierr.Write(c, apierr.Unauthorized("invalid token"))
		}
		return c.Next()
	}
}

func (s *Server) listNodes(c *fiber.Ctx) error {
	nodes, err := s.Store.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"nodes": nodes})
}

func (s *Server) getNode(c *fiber.Ctx) error {
	n, err := s.Store.Get(c.UserContext(), c.Params("name"))
	if errors.Is(err, store.ErrNotFound) {
		return apierr.NotFound("no node named %q", c.Params("name"))
	}
	if err != nil {
		return err
	}
	ev, err := s.Store.Events(c.UserContext(), n.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"node": n, "events": ev})
}

// Serve runs the server on ln until ctx ends, then closes node links with
// 1013 (so gateways return, jittered, to a replica that is up), stops
// accepting, and writes pending heartbeats.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.Hub.Prepare(ctx); err != nil {
		return fmt.Errorf("fleet hub: %w", err)
	}
	hctx, hcancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- s.Hub.Run(hctx) }()
	sctx, scancel := context.WithCancel(context.Background())
	sessDone := make(chan struct{})
	go func() {
		defer close(sessDone)
		if s.Sessions != nil {
			var wg sync.WaitGroup
			wg.Go(func() { s.Tasks.Run(sctx) })
			s.Sessions.Run(sctx)
			wg.Wait()
		}
	}()
	defer func() { scancel(); <-sessDone }()
	appDone := make(chan error, 2)
	go func() { appDone <- s.App.Listener(ln) }()
	if s.Internal != nil {
		go func() {
			if err := s.Internal.Listener(s.internal); err != nil {
				appDone <- fmt.Errorf("internal listener: %w", err)
			}
		}()
		defer func() { _ = s.Internal.ShutdownWithTimeout(5 * time.Second) }()
		s.log.Info("internal listener", "addr", s.internal.Addr().String())
	}
	s.log.Info("cloud serving", "addr", ln.Addr().String(), "replica", s.Hub.Replica())
	var err error
	select {
	case <-ctx.Done():
	case err = <-appDone:
		err = fmt.Errorf("http server: %w", err)
	case err = <-hubDone:
		hcancel()
		_ = s.App.ShutdownWithTimeout(5 * time.Second)
		return fmt.Errorf("fleet hub: %w", err)
	}
	hcancel()
	herr := <-hubDone
	if serr := s.App.ShutdownWithTimeout(5 * time.Second); serr != nil && err == nil {
		err = serr
	}
	return errors.Join(err, herr)
}
