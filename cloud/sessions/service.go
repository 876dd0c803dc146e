// Package sessions is the cloud's side of IDE sessions: allocation of warm
// containers to signed-in users (one short FOR UPDATE SKIP LOCKED claim
// with a lease, least-loaded online node, a FIFO queue when none is idle),
// the browser tunnel /s/{session}/... to the container's sessiond over the
// node's link, restarts in a fresh container when one dies, and ending
// sessions (sign-out, idle timeout, node lost) with an autosave to the
// user's ide/autosave branch.
//
// Read it one file at a time:
//
//	service.go   Options, New, Run: the loops that drive everything else
//	store.go     session rows: states, reading, queueing
//	dispatch.go  the queue: claim a container, start (prepare) a session
//	pool.go      a node's pool report: containers and what they say
//	restart.go   a container that died: "restarting", then a fresh one
//	end.go       ending sessions and releasing containers
//	sweep.go     the periodic checks (leases, idle, lost nodes, queue)
//	orphans.go   containers a node kept after their session ended
//	drain.go     elastic pools' demand, and moving sessions off a draining node
//	git.go       the git credential nodes use for a session
//	tunnel.go    /s/{session}/... to sessiond; route.go its streams
//	http.go      the session API and the home page
//
// Every time that decides something (leases, idle and queue limits, lost
// nodes) is the database's clock, never a replica's: replicas' clocks
// disagree, the database has one.
package sessions

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/shared/fleetproto"
)

// Options configure a Service. DB, Hub, Accounts, Git and GitURL are required.
type Options struct {
	DB       *pgxpool.Pool
	Hub      *fleet.Hub
	Accounts *accounts.Accounts
	Git      *githost.Host
	// GitURL is where nodes reach the git host, e.g.
	// http://127.0.0.1:8480/git; repos are GitURL/OWNER.git.
	GitURL string
	// EmailDomain makes the address of a session's commits: user.email is
	// NAME@EmailDomain (user.name is the account name). "" means
	// "users." and GitURL's host name.
	EmailDomain string
	// LeaseTTL bounds a claim while its container is being prepared; a
	// claim whose replica died (or whose start is slow) is requeued onto
	// another container after it. 0 means 60 s.
	LeaseTTL time.Duration
	// StartTimeout bounds preparing a container; 0 means 45 s.
	StartTimeout time.Duration
	// IdleTimeout ends a session without tunnel traffic for this long;
	// 0 means 2 hours, negative never.
	IdleTimeout time.Duration
	// NodeLostAfter ends the sessions of a node silent for this long (they
	// show "reconnecting" until then); 0 means 10 minutes.
	NodeLostAfter time.Duration
	// MaxQueueWait ends a session that waited this long in the queue
	// without ever starting; 0 means 30 minutes, negative never. A queued
	// session also ends when its user has no live sign-in left.
	MaxQueueWait time.Duration
	// CommandTimeout bounds one release (autosave and destroy) or orphan
	// release sent to a node; 0 means 2 minutes. A node that does not
	// answer in time is asked again at a later sweep.
	CommandTimeout time.Duration
	// ReleaseConcurrency bounds the releases this replica runs at once in
	// the background (at most a quarter of them, and at least one, per
	// node, so one slow node cannot take them all); 0 means 32.
	ReleaseConcurrency int
	// SweepInterval is how often leases, idle sessions, lost nodes and the
	// queue are checked; 0 means 1 s.
	SweepInterval time.Duration
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Service allocates, tunnels, restarts and ends sessions.
type Service struct {
	opts Options
	db   *pgxpool.Pool
	hub  *fleet.Hub
	log  *slog.Logger

	kick chan struct{}

	pmu     sync.Mutex
	pending map[int64]poolReport // latest unwritten report per node
	pkick   chan struct{}

	wmu     sync.Mutex
	waiters map[string][]chan struct{} // session → woken when its start ends

	rmu    sync.Mutex
	routes map[string]*route // session → tunnel route

	umu   sync.Mutex
	users map[string]cachedUser // cookie → user, briefly

	rel releases
	dr  drains // demand sent to nodes, moves off draining ones

	amu    sync.Mutex
	active map[string]bool // sessions with tunnel activity not yet written
	wsOpen map[string]int  // session → open WebSockets

	bg sync.WaitGroup
}

type poolReport struct {
	node string
	p    *fleetproto.Pool
}

type cachedUser struct {
	u   accounts.User
	exp time.Time
}

// New checks opts and fills defaults. Plug OnPool into fleet.Options.OnPool
// and EndUser into accounts.Options.OnSignOut, then call Run and Mount.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Hub == nil || opts.Accounts == nil || opts.Git == nil || opts.GitURL == "" {
		return nil, errors.New("sessions: DB, Hub, Accounts, Git and GitURL are required")
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 60 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 45 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 2 * time.Hour
	}
	if opts.NodeLostAfter <= 0 {
		opts.NodeLostAfter = 10 * time.Minute
	}
	if opts.MaxQueueWait == 0 {
		opts.MaxQueueWait = 30 * time.Minute
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 2 * time.Minute
	}
	if opts.ReleaseConcurrency <= 0 {
		opts.ReleaseConcurrency = 32
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.GitURL = strings.TrimRight(opts.GitURL, "/")
	return &Service{
		opts: opts, db: opts.DB, hub: opts.Hub, log: opts.Logger,
		kick: make(chan struct{}, 1), pending: map[int64]poolReport{}, pkick: make(chan struct{}, 1),
		waiters: map[string][]chan struct{}{}, routes: map[string]*route{}, users: map[string]cachedUser{},
		active: map[string]bool{}, wsOpen: map[string]int{},
		rel: releases{busy: map[string]bool{}, perNode: map[string]int{}},
	}, nil
}

// OnPool is the hub's pool-report hook. It only records the report; a
// worker writes it, so the node's read loop never waits on the database.
func (s *Service) OnPool(nodeID int64, node string, p *fleetproto.Pool) {
	s.pmu.Lock()
	s.pending[nodeID] = poolReport{node, p}
	s.pmu.Unlock()
	select {
	case s.pkick <- struct{}{}:
	default:
	}
}

func (s *Service) kickDispatch() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run writes pool reports, serves the queue and sweeps until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.writeReports(ctx) })
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			s.bg.Wait()
			s.closeRoutes()
			return
		case <-t.C:
			s.sweep(ctx)
		case <-s.kick:
		}
		s.serveQueue(ctx)
	}
}

// writeReports stores the nodes' latest pool reports as they come.
func (s *Service) writeReports(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.pkick:
		}
		s.pmu.Lock()
		batch := s.pending
		s.pending = map[int64]poolReport{}
		s.pmu.Unlock()
		for id, r := range batch {
			moved, err := s.storePool(ctx, id, r.p)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("store pool report", "node", r.node, "err", err)
				}
				continue
			}
			for _, sid := range moved {
				s.dropRoute(sid)
				s.wake(sid)
			}
		}
		s.kickDispatch()
	}
}

func (s *Service) wait(id string) chan struct{} {
	ch := make(chan struct{})
	s.wmu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.wmu.Unlock()
	return ch
}

func (s *Service) wake(id string) {
	s.wmu.Lock()
	for _, ch := range s.waiters[id] {
		close(ch)
	}
	delete(s.waiters, id)
	s.wmu.Unlock()
}

func connected(h *fleet.Hub, node string) bool {
	_, err := h.Session(node)
	return err == nil
}
