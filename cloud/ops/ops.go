// Package ops is what operators look at: the admin-only dashboard
// (GET /admin/ops, its live part GET /admin/ops/live polled by
// web/static/ops.js, and the same data as JSON at GET /api/v1/admin/ops),
// the nodes' live CPU and memory samples (fleetproto.Stats, kept in the
// node_stats table so that any replica can show them), and the fleet's
// Prometheus gauges, read from PostgreSQL at each scrape.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/web"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Options configures Ops. DB is required.
type Options struct {
	DB *pgxpool.Pool
	// OfflineAfter is the fleet's offline window, shown on the page. Zero
	// shows none.
	OfflineAfter time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// Ops serves the dashboard and records stats.
type Ops struct {
	opts Options
	log  *slog.Logger
	acc  *accounts.Accounts // set by Mount

	mu      sync.Mutex
	pending map[int64]*fleetproto.Stats // nodes whose stats are being written → the next sample to write
}

// New returns Ops.
func New(opts Options) (*Ops, error) {
	if opts.DB == nil {
		return nil, errors.New("ops: Options.DB is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Ops{opts: opts, log: opts.Logger, pending: map[int64]*fleetproto.Stats{}}, nil
}

// RecordStats stores a node's latest sample. It runs on the node's read
// loop, so it never waits for the database: the write goes on in the
// background, and samples that arrive while one of the same node is being
// written wait, the newest replacing older ones, for the next write.
func (o *Ops) RecordStats(nodeID int64, st *fleetproto.Stats) {
	o.mu.Lock()
	if _, busy := o.pending[nodeID]; busy {
		o.pending[nodeID] = st
		o.mu.Unlock()
		return
	}
	o.pending[nodeID] = nil // a write is under way
	o.mu.Unlock()
	go func() {
		for st != nil {
			if err := o.storeStats(context.Background(), nodeID, st); err != nil {
				o.log.Warn("store node stats", "node_id", nodeID, "err", err)
			}
			o.mu.Lock()
			st = o.pending[nodeID]
			if st == nil {
				delete(o.pending, nodeID)
			} else {
				o.pending[nodeID] = nil
			}
			o.mu.Unlock()
		}
	}()
}

func (o *Ops) storeStats(ctx context.Context, nodeID int64, st *fleetproto.Stats) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = o.opts.DB.Exec(ctx, `INSERT INTO node_stats (node_id, stats, reported_at) VALUES ($1, $2, $3)
		ON CONFLICT (node_id) DO UPDATE SET stats = EXCLUDED.stats, reported_at = EXCLUDED.reported_at`, nodeID, b, o.opts.Now())
	return err
}

// Mount adds the dashboard's routes: signed-in admins only (others get
// 403; a signed-out browser is sent to sign in, an API client gets 401).
func (o *Ops) Mount(app fiber.Router, acc *accounts.Accounts) {
	o.acc = acc
	req := acc.Require()
	admin := func(c *fiber.Ctx) error {
		if u, _ := accounts.UserFrom(c); !u.Admin {
			return apierr.Forbidden("only an admin can see the operator dashboard")
		}
		return c.Next()
	}
	app.Get("/admin/ops", req, admin, o.page)
	app.Get("/admin/ops/live", req, admin, o.live)
	app.Get("/api/v1/admin/ops", req, admin, o.json)
}

func (o *Ops) view(c *fiber.Ctx) (*View, error) {
	s, err := o.Snapshot(c.UserContext())
	if err != nil {
		return nil, err
	}
	return &View{Snapshot: s, OfflineAfter: o.opts.OfflineAfter}, nil
}

func (o *Ops) page(c *fiber.Ctx) error {
	v, err := o.view(c)
	if err != nil {
		return err
	}
	u, _ := accounts.UserFrom(c)
	return web.Render(c, fiber.StatusOK, "ops", web.Page{Title: "Operator dashboard", User: u.Name, CSRF: o.acc.CSRFToken(c), Data: v})
}

func (o *Ops) live(c *fiber.Ctx) error {
	v, err := o.view(c)
	if err != nil {
		return err
	}
	return web.RenderFragment(c, "ops-live", v)
}

func (o *Ops) json(c *fiber.Ctx) error {
	s, err := o.Snapshot(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(s)
}
