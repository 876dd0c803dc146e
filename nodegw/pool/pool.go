// Package pool keeps a compute node's warm pool of session containers on
// dockerd. Each container runs sessiond (under tini) with its sockets in a
// per-container directory of the node's that only the container's root can
// enter; sessiond then drops to the unprivileged user (uid 1000), which
// runs everything the user starts. Containers are hardened (no
// capabilities but the two sessiond needs to drop root, no new privileges,
// a read-only root filesystem, pids and open-file limits, no network by
// default) and their workspace is a disk of its own with a fixed size.
//
// The pool's files, one job each:
//   - pool.go: states, options, claims and releases (the state machine)
//   - docker.go: how a container is created and removed
//   - disk.go: the workspace's sized disk (a loop-mounted ext4 image)
//   - dial.go: reaching sessiond without trusting the container's files
//   - control.go: the control socket (restore, live snapshot)
//   - saver.go: snapshots of a stopped container's disk in a one-off container
//   - health.go: probes and Docker events
//   - retire.go: ending a container that held a user's work (save first)
//   - records.go: what the node remembers of each container, and adoption
package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// State is where a container is in its life.
type State string

// The states reported to the cloud.
const (
	Starting   State = "starting"   // created, sessiond not answering yet
	Idle       State = "idle"       // warm, waiting for a claim
	Claimed    State = "claimed"    // serving a session
	Destroying State = "destroying" // released: stopped, saved, then removed
	Failed     State = "failed"     // dead or unhealthy with no user work; being replaced
	Recovering State = "recovering" // claimed and died or failed health: saved from its disk, then removed
)

// Labels put on every container the pool owns.
const (
	LabelPool  = "dev.gatewave.pool"
	LabelClass = "dev.gatewave.class"
	// LabelSaver marks the pool's one-off snapshot containers.
	LabelSaver = "dev.gatewave.saver"
)

// Container is the pool's view of one session container.
type Container struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Class string `json:"class"`
	State State  `json:"state"`
	Owner string `json:"owner,omitempty"` // who claimed it (a session id)
	Token string `json:"-"`               // sessiond's token; never reported
	// Disk is the workspace's mount point on the node ("" with a Docker
	// volume). The node never reads or writes inside it: restore and
	// snapshot run in containers, as the user.
	Disk string `json:"-"`
	// Volume is the workspace's Docker volume when there is no disk.
	Volume string `json:"volume,omitempty"`
	// DiskBytes is the workspace's size (0 without a quota): a snapshot
	// of it can be no bigger, whatever the container sends.
	DiskBytes int64 `json:"-"`
	// SaveError is why the latest save before removal failed ("" when
	// none failed); the pool retries with backoff meanwhile.
	SaveError string    `json:"save_error,omitempty"`
	Since     time.Time `json:"since"` // when State last changed
}

// ErrNoIdle is returned by Claim when no container is idle.
var ErrNoIdle = errors.New("no idle container")

// ErrNotIdle is returned by ClaimID for a container that is not idle (and
// not already claimed by the same owner).
var ErrNotIdle = errors.New("container is not idle")

// Options configure a Pool. Classes and StateDir are required.
type Options struct {
	// Docker is the daemon client; nil means one from the environment
	// with API version negotiation (Debian's dockerd 20.10 speaks 1.41).
	Docker *client.Client
	// Image runs sessiond as its entrypoint with its sockets and token in
	// /run/gatewave and /usr/local/bin/sessiond (see images/build.sh);
	// "" means gatewave/workspace-debian.
	Image string
	// Classes are the container kinds and counts, usually from Plan.
	Classes []Class
	// Network is the Docker network; "" means "none" (no egress).
	Network string
	// EngineOnly reaches containers through the Docker engine alone: the
	// run directory is an anonymous volume of the container's with the
	// token copied in, and sessiond is dialled by exec (dialExec), never
	// through a node directory. Always so on Windows, whose host cannot
	// share a directory or a socket with a Linux container safely.
	EngineOnly bool
	// StateDir is the node's own directory for the pool (mode 0700):
	// per-container socket directories, disks and records.
	StateDir string
	// Name tells this pool's containers apart from other pools on the same
	// dockerd (tests run several); "" means "gatewave".
	Name string
	// HealthInterval is how often containers are checked; 0 means 2 s.
	HealthInterval time.Duration
	// ProbeTimeout bounds one health probe; 0 means 3 s.
	ProbeTimeout time.Duration
	// UnhealthyAfter is how long a running container may fail every probe
	// before it is given up: a build pegging the CPU slows sessiond down
	// but must not end the session. 0 means 30 s.
	UnhealthyAfter time.Duration
	// ReadyTimeout bounds how long sessiond may take to answer after
	// start; 0 means 30 s.
	ReadyTimeout time.Duration
	// Autosave saves a container's workspace (see Snapshot). It runs, with
	// the container stopped, before any container that held a user's work
	// is removed: released, dead, OOM-killed, unhealthy, or at Shutdown.
	// While it fails the container and its disk stay, the error is
	// reported in SaveError and it is retried with backoff. nil means
	// nothing is saved.
	Autosave func(ctx context.Context, c Container) error
	// RetryMin and RetryMax bound the backoff between failed saves; 0
	// means 1 s and 5 minutes.
	RetryMin, RetryMax time.Duration
	// OnChange, when set, is called (serially, never holding the pool's
	// lock) with a snapshot after every state change: the fleet report.
	OnChange func([]Container)
	// Claimed, when set, tells adoption whether a container the pool has
	// no record of was claimed all the same (the session service keeps
	// its own records): such a container, left by a nodegw from before
	// the pool kept records, is saved from its volume, not just removed.
	Claimed func(id string) (owner string, ok bool)
	// Elastic, when set, makes the pool elastic: each class holds between
	// its Min and its Count containers, following demand (elastic.go).
	// nil means fixed pools of Count. Either way a draining node
	// (fleetproto.PoolDemand) keeps no idle containers.
	Elastic *Elastic
	// Unhardened creates containers as before the tenancy work (default
	// capabilities, writable root filesystem, a plain Docker volume): only
	// for the benchmark that measures what hardening costs.
	Unhardened bool
	// NixDir is the node's Nix cache directory (nodegw/nixproxy: its
	// socket and nix.conf), given to every container read-only at
	// /run/gatewave-nix. "" gives none.
	NixDir string
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

type entry struct {
	Container
	failures  int
	failSince time.Time // first failed probe of the current run of failures
	retiring  bool
}

// Pool is a running warm pool. Call Run to keep it filled.
type Pool struct {
	opts   Options
	log    *slog.Logger
	docker *client.Client
	ids    idmap // container root and user as node uids

	// ctx bounds the pool's background work (saves, removals); Run's
	// end cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	containers map[string]*entry // by container ID
	starting   map[string]int    // class → containers being created (no ID yet)
	el         elasticState

	kick    chan struct{}
	changes chan struct{}
	savers  chan struct{} // one-off snapshot containers running
	bg      sync.WaitGroup
}

// New checks opts and connects to dockerd; it starts nothing.
func New(opts Options) (*Pool, error) {
	if len(opts.Classes) == 0 {
		return nil, errors.New("pool: no container classes")
	}
	if opts.StateDir == "" {
		return nil, errors.New("pool: StateDir is required")
	}
	el := elasticState{targets: map[string]Target{}, claims: map[string][]time.Time{}}
	if opts.Elastic != nil {
		e := *opts.Elastic
		e.defaults()
		opts.Elastic = &e
		for _, cl := range opts.Classes {
			if cl.Min < 0 || cl.Min > cl.Count {
				return nil, fmt.Errorf("pool: class %s: minimum %d not between 0 and its count %d", cl.Name, cl.Min, cl.Count)
			}
			el.targets[cl.Name] = Target{N: cl.Min}
		}
	}
	if opts.Image == "" {
		opts.Image = "gatewave/workspace-debian"
	}
	if opts.Network == "" {
		opts.Network = "none"
	}
	if opts.Name == "" {
		opts.Name = "gatewave"
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 2 * time.Second
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 3 * time.Second
	}
	if opts.UnhealthyAfter <= 0 {
		opts.UnhealthyAfter = 30 * time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	dc := opts.Docker
	if dc == nil {
		var err error
		dc, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("docker client: %w", err)
		}
	}
	abs, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir %q: %w", opts.StateDir, err)
	}
	opts.StateDir = abs
	for _, d := range []string{abs, filepath.Join(abs, "run"), filepath.Join(abs, "disks"), filepath.Join(abs, "records"), filepath.Join(abs, "scratch")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("state dir %q: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("state dir %q: %w", d, err)
		}
	}
	ids, err := detectIDs(context.Background(), dc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{
		opts: opts, log: log.With("pool", opts.Name), docker: dc, ids: ids, ctx: ctx, cancel: cancel,
		containers: map[string]*entry{}, starting: map[string]int{}, el: el,
		kick: make(chan struct{}, 1), changes: make(chan struct{}, 1), savers: make(chan struct{}, 2),
	}, nil
}

// Run adopts the containers a previous nodegw left (so sessions survive a
// nodegw restart, and the work of dead ones is saved), then keeps the pool
// filled and healthy until ctx ends. It does not remove containers on
// return: use Shutdown for that.
func (p *Pool) Run(ctx context.Context) error {
	defer p.cancel()
	if err := p.adopt(ctx); err != nil {
		return err
	}
	go p.report(ctx)
	go p.watchEvents(ctx)
	tick := time.NewTicker(p.opts.HealthInterval)
	defer tick.Stop()
	for {
		p.fill(ctx)
		select {
		case <-ctx.Done():
			p.cancel()
			p.bg.Wait()
			return nil
		case <-tick.C:
			p.checkHealth(ctx)
		case <-p.kick:
		}
	}
}

// Snapshot returns every container's state, sorted by name.
func (p *Pool) Snapshot() []Container {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Container, 0, len(p.containers))
	for _, e := range p.containers {
		out = append(out, e.Container)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Counts returns how many containers are in each state.
func (p *Pool) Counts() map[State]int {
	n := map[State]int{}
	for _, c := range p.Snapshot() {
		n[c.State]++
	}
	return n
}

// Claim hands an idle container to owner. class "" takes any class, the
// first configured (standard) first. It returns ErrNoIdle when none is idle.
func (p *Pool) Claim(ctx context.Context, class, owner string) (Container, error) {
	p.mu.Lock()
	var pick *entry
	for _, cl := range p.opts.Classes {
		if class != "" && cl.Name != class {
			continue
		}
		for _, e := range p.containers {
			if e.Class == cl.Name && e.State == Idle && (pick == nil || e.Since.Before(pick.Since)) {
				pick = e
			}
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		p.mu.Unlock()
		return Container{}, ErrNoIdle
	}
	id := pick.ID
	p.mu.Unlock()
	return p.ClaimID(id, owner)
}

// ClaimID hands the idle container id to owner (the cloud chose it). Claiming
// a container owner already holds succeeds again, so the cloud may retry.
// The claim is on disk (the node's own records) before it returns.
func (p *Pool) ClaimID(id, owner string) (Container, error) {
	p.mu.Lock()
	e, ok := p.containers[id]
	switch {
	case !ok:
		p.mu.Unlock()
		return Container{}, fmt.Errorf("claim %s: %w", id, ErrNotIdle)
	case e.State == Claimed && e.Owner == owner:
		c := e.Container
		p.mu.Unlock()
		return c, nil
	case e.State != Idle:
		p.mu.Unlock()
		return Container{}, fmt.Errorf("claim %s (%s): %w", id, e.State, ErrNotIdle)
	}
	p.setState(e, Claimed)
	e.Owner = owner
	p.noteClaim(e.Class)
	c := e.Container
	p.mu.Unlock()
	p.kickFill() // a claim is demand: the class may grow
	if err := p.writeRecord(c); err != nil {
		// Without the record a restarted nodegw would not know whose work
		// this is: refuse the claim and give the container up.
		p.discard(c, fmt.Errorf("record claim: %w", err))
		return Container{}, fmt.Errorf("claim %s: %w", id, err)
	}
	p.changed()
	return c, nil
}

// Get returns the container with the given ID.
func (p *Pool) Get(id string) (Container, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.containers[id]
	if !ok {
		return Container{}, false
	}
	return e.Container, true
}

// Release ends a claim: in the background the container is stopped, its
// workspace saved (Autosave) and then removed, and the pool refills. It
// returns at once.
func (p *Pool) Release(id string) error {
	p.mu.Lock()
	e, ok := p.containers[id]
	if !ok || e.State != Claimed {
		p.mu.Unlock()
		return fmt.Errorf("release %s: not a claimed container", id)
	}
	p.setState(e, Destroying)
	c := e.Container
	p.mu.Unlock()
	p.changed()
	p.retire(c, "released")
	return nil
}

// Discard removes a claimed container without saving it: for a claim
// whose restore failed, when nothing in it is the user's yet (a save would
// record a half-restored workspace as their latest work).
func (p *Pool) Discard(id string) error {
	c, ok := p.Get(id)
	if !ok {
		return fmt.Errorf("discard %s: no such container", id)
	}
	p.discard(c, errors.New("discarded"))
	return nil
}

func (p *Pool) discard(c Container, why error) {
	p.mu.Lock()
	if e, ok := p.containers[c.ID]; ok {
		p.setState(e, Failed)
		e.Owner = ""
		c = e.Container
	}
	p.mu.Unlock()
	p.log.Warn("container discarded", "container", c.Name, "err", why)
	p.changed()
	p.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.destroy(ctx, c)
		p.kickFill()
	})
}

// Shutdown removes every container of this pool, saving first the
// workspace of each that holds a user's work; one whose save fails is kept
// (with its disk) for the next nodegw to save. For decommissioning a node,
// stopping `make run`, and tests. Call it after Run has returned.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.cancel()
	p.bg.Wait()
	p.cleanSavers(ctx)
	var errs []error
	for _, c := range p.Snapshot() {
		if c.Owner != "" && p.opts.Autosave != nil {
			p.mu.Lock()
			if e, ok := p.containers[c.ID]; ok && e.State == Claimed {
				p.setState(e, Destroying) // stopped: saved from its disk
			}
			p.mu.Unlock()
			p.stop(ctx, c)
			if err := p.opts.Autosave(ctx, c); err != nil {
				errs = append(errs, fmt.Errorf("save %s before shutdown (kept): %w", c.Name, err))
				continue
			}
		}
		if err := p.remove(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	// Containers this process never adopted (another nodegw's leftovers
	// of the same pool name) have no record: nothing to save.
	errs = append(errs, p.removeUnknown(ctx))
	p.mu.Lock()
	p.containers = map[string]*entry{}
	p.mu.Unlock()
	return errors.Join(errs...)
}

// suffix is the random part of a container's name: it names the
// container's socket directory, disk and record.
func suffix(name string) string { return name[strings.LastIndexByte(name, '-')+1:] }

func (p *Pool) runDir(name string) string {
	return filepath.Join(p.opts.StateDir, "run", suffix(name))
}

// setState must be called with p.mu held.
func (p *Pool) setState(e *entry, s State) {
	e.State = s
	e.Since = time.Now()
}

func (p *Pool) changed() {
	select {
	case p.changes <- struct{}{}:
	default:
	}
}

func (p *Pool) kickFill() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *Pool) report(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.changes:
			if p.opts.OnChange != nil {
				p.opts.OnChange(p.Snapshot())
			}
		}
	}
}

// fill starts containers until every class has its target (its count in
// a fixed pool) and retires idle ones beyond it.
func (p *Pool) fill(ctx context.Context) {
	p.mu.Lock()
	retired := p.decide()
	need := map[string]int{}
	for _, cl := range p.opts.Classes {
		have := p.starting[cl.Name]
		for _, e := range p.containers {
			if e.Class == cl.Name {
				have++
			}
		}
		if n := p.targetOf(cl) - have; n > 0 {
			need[cl.Name] = n
			p.starting[cl.Name] += n
		}
	}
	p.mu.Unlock()
	p.shrink(retired)
	for _, cl := range p.opts.Classes {
		for range need[cl.Name] {
			p.bg.Go(func() {
				err := p.start(ctx, cl)
				p.mu.Lock()
				p.starting[cl.Name]--
				p.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					p.log.Error("start container", "class", cl.Name, "err", err)
					// Back off before the next fill retries, so a missing
					// image does not spin.
					select {
					case <-ctx.Done():
					case <-time.After(p.opts.HealthInterval):
						p.kickFill()
					}
				}
			})
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// start creates, starts and waits for one container of class cl.
func (p *Pool) start(ctx context.Context, cl Class) error {
	name := fmt.Sprintf("%s-%s-%s", p.opts.Name, cl.Name, randomHex(4))
	token := randomHex(24)
	// Not cancelled with ctx: dockerd finishes a create whose client went
	// away, and a container created behind Shutdown's back would leak.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer ccancel()
	c := Container{Name: name, Class: cl.Name, Token: token, DiskBytes: max(cl.disk(), 0)}
	if err := p.prepareRunDir(c); err != nil {
		return err
	}
	var err error
	if c.Disk, c.Volume, err = p.makeWorkspace(cctx, name, cl); err != nil {
		os.RemoveAll(p.runDir(name))
		return err
	}
	id, err := p.create(cctx, c, cl)
	if err != nil {
		_ = p.remove(cctx, c)
		return fmt.Errorf("create container %s: %w", name, err)
	}
	c.ID = id
	if err := p.writeRecord(c); err != nil {
		_ = p.remove(cctx, c)
		return err
	}
	if ctx.Err() != nil {
		_ = p.remove(cctx, c)
		return ctx.Err()
	}
	e := &entry{Container: c}
	p.mu.Lock()
	p.setState(e, Starting)
	p.containers[id] = e
	p.mu.Unlock()
	p.changed()
	if err := p.docker.ContainerStart(ctx, id, startOptions); err != nil {
		p.fail(e.Container, fmt.Errorf("start: %w", err))
		return fmt.Errorf("start container %s: %w", name, err)
	}
	rctx, cancel := context.WithTimeout(ctx, p.opts.ReadyTimeout)
	defer cancel()
	if err := p.waitHealthy(rctx, e.Container); err != nil {
		p.fail(e.Container, err)
		return fmt.Errorf("container %s not ready: %w", name, err)
	}
	p.mu.Lock()
	if cur, ok := p.containers[id]; ok && cur.State == Starting {
		p.setState(cur, Idle)
	}
	p.mu.Unlock()
	p.changed()
	p.log.Debug("container ready", "container", name)
	return nil
}

// fail handles a container that died or stopped answering: one that held
// a user's work is recovered (stopped, saved from its disk, removed);
// any other is removed. fill replaces either.
func (p *Pool) fail(c Container, why error) {
	p.mu.Lock()
	e, ok := p.containers[c.ID]
	if !ok || e.State == Failed || e.State == Recovering || e.State == Destroying {
		p.mu.Unlock()
		return
	}
	recovering := e.Owner != ""
	if recovering {
		p.setState(e, Recovering)
	} else {
		p.setState(e, Failed)
	}
	c = e.Container
	p.mu.Unlock()
	p.changed()
	if recovering {
		p.log.Warn("claimed container failed; saving its workspace before replacing it", "container", c.Name, "owner", c.Owner, "err", why)
		p.retire(c, why.Error())
		return
	}
	p.log.Warn("container failed; replacing", "container", c.Name, "err", why)
	p.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.destroy(ctx, c)
		p.kickFill()
	})
}

func (p *Pool) destroy(ctx context.Context, c Container) {
	if err := p.remove(ctx, c); err != nil {
		p.log.Error("remove container", "container", c.Name, "err", err)
	}
	p.mu.Lock()
	delete(p.containers, c.ID)
	p.mu.Unlock()
	p.changed()
}
