// Package pool keeps a compute node's warm pool of session containers on
// dockerd: each runs sessiond (under tini) on a unix socket in a per-container
// bind-mounted directory, with CPU, memory and pids limits, no network by
// default and a workspace volume. Dead or unhealthy containers are replaced;
// released ones are autosaved, destroyed in the background and refilled.
package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// State is where a container is in its life.
type State string

// The states reported to the cloud.
const (
	Starting   State = "starting"   // created, sessiond not answering yet
	Idle       State = "idle"       // warm, waiting for a claim
	Claimed    State = "claimed"    // serving a session
	Destroying State = "destroying" // released: autosaving, then removed
	Failed     State = "failed"     // dead or unhealthy; being replaced
)

// Labels put on every container and volume the pool owns.
const (
	LabelPool  = "dev.gatewave.pool"
	LabelClass = "dev.gatewave.class"
)

// Container is the pool's view of one session container.
type Container struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Class   string    `json:"class"`
	State   State     `json:"state"`
	Owner   string    `json:"owner,omitempty"`   // who claimed it (a session id)
	Socket  string    `json:"socket"`            // sessiond's unix socket on the host
	Token   string    `json:"-"`                 // sessiond's token; never reported
	Volume  string    `json:"volume"`            // workspace volume name
	Workdir string    `json:"workdir,omitempty"` // the volume's directory on the host
	Since   time.Time `json:"since"`             // when State last changed
}

// ErrNoIdle is returned by Claim when no container is idle.
var ErrNoIdle = errors.New("no idle container")

// Options configure a Pool. Classes and StateDir are required.
type Options struct {
	// Docker is the daemon client; nil means one from the environment
	// with API version negotiation (Debian's dockerd 20.10 speaks 1.41).
	Docker *client.Client
	// Image runs sessiond as its entrypoint on
	// unix:/run/gatewave/sessiond.sock with /run/gatewave/token;
	// "" means gatewave/workspace-debian (see images/build.sh).
	Image string
	// Classes are the container kinds and counts, usually from Plan.
	Classes []Class
	// Network is the Docker network; "" means "none" (no egress).
	Network string
	// StateDir holds one directory per container, bind-mounted at
	// /run/gatewave (socket, token, claim record).
	StateDir string
	// Name tells this pool's containers apart from other pools on the same
	// dockerd (tests run several); "" means "gatewave".
	Name string
	// HealthInterval is how often containers are checked; 0 means 2 s.
	HealthInterval time.Duration
	// ReadyTimeout bounds how long sessiond may take to answer after
	// start; 0 means 30 s.
	ReadyTimeout time.Duration
	// Autosave, when set, runs before a released container is destroyed
	// (commit and push of its workspace); its error is logged and the
	// container is kept for another try rather than destroyed.
	Autosave func(ctx context.Context, c Container) error
	// OnChange, when set, is called (serially, never holding the pool's
	// lock) with a snapshot after every state change: the fleet report.
	OnChange func([]Container)
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

type entry struct {
	Container
	failures int
}

// Pool is a running warm pool. Call Run to keep it filled.
type Pool struct {
	opts   Options
	log    *slog.Logger
	docker *client.Client

	mu         sync.Mutex
	containers map[string]*entry // by container ID
	starting   map[string]int    // class → containers being created (no ID yet)

	kick    chan struct{}
	changes chan struct{}
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
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
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
	if n := len(abs) + len("/01234567/sessiond.sock"); n > maxSocketPath {
		return nil, fmt.Errorf("pool: state dir %q is too long for unix sockets (%d > %d bytes)", abs, n, maxSocketPath)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %q: %w", abs, err)
	}
	return &Pool{
		opts: opts, log: log.With("pool", opts.Name), docker: dc,
		containers: map[string]*entry{}, starting: map[string]int{},
		kick: make(chan struct{}, 1), changes: make(chan struct{}, 1),
	}, nil
}

// Run adopts the containers a previous nodegw left running (so sessions
// survive a nodegw restart), then keeps the pool filled and healthy until ctx
// ends. It does not remove containers on return: use Shutdown for that.
func (p *Pool) Run(ctx context.Context) error {
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
	p.setState(pick, Claimed)
	pick.Owner = owner
	c := pick.Container
	p.mu.Unlock()
	if err := writeClaim(p.runDir(c.Name), owner); err != nil {
		p.log.Warn("record claim", "container", c.Name, "err", err)
	}
	p.changed()
	return c, nil
}

// ErrNotIdle is returned by ClaimID for a container that is not idle (and
// not already claimed by the same owner).
var ErrNotIdle = errors.New("container is not idle")

// ClaimID hands the idle container id to owner (the cloud chose it). Claiming
// a container owner already holds succeeds again, so the cloud may retry.
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
	c := e.Container
	p.mu.Unlock()
	if err := writeClaim(p.runDir(c.Name), owner); err != nil {
		p.log.Warn("record claim", "container", c.Name, "err", err)
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

// Release ends a claim: the container is autosaved and destroyed in the
// background, then the pool refills. It returns at once.
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
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if p.opts.Autosave != nil {
			if err := p.opts.Autosave(ctx, c); err != nil {
				// Keep the container (and the user's work) for another try.
				p.log.Error("autosave before destroy failed; keeping container", "container", c.Name, "err", err)
				p.mu.Lock()
				if e, ok := p.containers[id]; ok {
					p.setState(e, Claimed)
				}
				p.mu.Unlock()
				p.changed()
				return
			}
		}
		p.destroy(ctx, c)
		p.kickFill()
	}()
	return nil
}

// Dial connects to the container's sessiond socket.
func (p *Pool) Dial(ctx context.Context, id string) (net.Conn, error) {
	c, ok := p.Get(id)
	if !ok {
		return nil, fmt.Errorf("dial %s: no such container", id)
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", c.Socket)
}

// Shutdown removes every container of this pool (workspaces included)
// without autosave; for tests and decommissioning a node.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.bg.Wait()
	list, err := p.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelPool+"="+p.opts.Name))})
	if err != nil {
		return fmt.Errorf("list pool containers: %w", err)
	}
	var errs []error
	for _, s := range list {
		name := trimSlash(s.Names)
		if err := p.remove(ctx, s.ID, name); err != nil {
			errs = append(errs, err)
		}
	}
	p.mu.Lock()
	p.containers = map[string]*entry{}
	p.mu.Unlock()
	return errors.Join(errs...)
}

func trimSlash(names []string) string {
	if len(names) == 0 {
		return ""
	}
	n := names[0]
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	return n
}

// runDir is the container's directory on the host, named by the random
// suffix of its name: unix socket paths must stay under 108 bytes.
func (p *Pool) runDir(name string) string {
	return filepath.Join(p.opts.StateDir, name[strings.LastIndexByte(name, '-')+1:])
}

// maxSocketPath is the longest unix socket path Linux accepts (sun_path
// holds 108 bytes including the terminating NUL).
const maxSocketPath = 107

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

// fill starts containers until every class has its count.
func (p *Pool) fill(ctx context.Context) {
	p.mu.Lock()
	need := map[string]int{}
	for _, cl := range p.opts.Classes {
		have := p.starting[cl.Name]
		for _, e := range p.containers {
			if e.Class == cl.Name {
				have++
			}
		}
		if n := cl.Count - have; n > 0 {
			need[cl.Name] = n
			p.starting[cl.Name] += n
		}
	}
	p.mu.Unlock()
	for _, cl := range p.opts.Classes {
		for range need[cl.Name] {
			p.bg.Add(1)
			go func() {
				defer p.bg.Done()
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
			}()
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
	dir := p.runDir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("run dir %q: %w", dir, err)
	}
	token := randomHex(24)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	labels := map[string]string{LabelPool: p.opts.Name, LabelClass: cl.Name}
	// Not cancelled with ctx: dockerd finishes a create whose client went
	// away, and a container created behind Shutdown's back would leak.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer ccancel()
	vol, err := p.docker.VolumeCreate(cctx, volume.CreateOptions{Name: name + "-ws", Labels: labels})
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("create volume: %w", err)
	}
	pids := cl.pids()
	resp, err := p.docker.ContainerCreate(cctx,
		&container.Config{Image: p.opts.Image, Labels: labels, Hostname: "workspace"},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(p.opts.Network),
			Binds:       []string{dir + ":/run/gatewave"},
			Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: vol.Name, Target: "/workspace"}},
			Resources: container.Resources{
				NanoCPUs:   int64(cl.CPUs * 1e9),
				Memory:     cl.MemoryBytes,
				MemorySwap: cl.MemoryBytes, // no swap beyond the limit
				PidsLimit:  &pids,
			},
			SecurityOpt: []string{"no-new-privileges"},
		}, nil, nil, name)
	if err != nil {
		p.docker.VolumeRemove(context.WithoutCancel(ctx), vol.Name, true)
		os.RemoveAll(dir)
		return fmt.Errorf("create container %s: %w", name, err)
	}
	if ctx.Err() != nil {
		_ = p.remove(cctx, resp.ID, name)
		return ctx.Err()
	}
	e := &entry{Container: Container{
		ID: resp.ID, Name: name, Class: cl.Name, Socket: filepath.Join(dir, "sessiond.sock"),
		Token: token, Volume: vol.Name, Workdir: vol.Mountpoint,
	}}
	p.mu.Lock()
	p.setState(e, Starting)
	p.containers[resp.ID] = e
	p.mu.Unlock()
	p.changed()
	if err := p.docker.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		p.fail(e.Container, fmt.Errorf("start: %w", err))
		return fmt.Errorf("start container %s: %w", name, err)
	}
	rctx, cancel := context.WithTimeout(ctx, p.opts.ReadyTimeout)
	defer cancel()
	if err := waitHealthy(rctx, e.Socket); err != nil {
		p.fail(e.Container, err)
		return fmt.Errorf("container %s not ready: %w", name, err)
	}
	p.mu.Lock()
	if cur, ok := p.containers[resp.ID]; ok && cur.State == Starting {
		p.setState(cur, Idle)
	}
	p.mu.Unlock()
	p.changed()
	p.log.Debug("container ready", "container", name)
	return nil
}

// fail marks c failed and removes it in the background; fill replaces it.
func (p *Pool) fail(c Container, why error) {
	p.mu.Lock()
	if e, ok := p.containers[c.ID]; ok {
		if e.State == Failed {
			p.mu.Unlock()
			return
		}
		p.setState(e, Failed)
	}
	p.mu.Unlock()
	p.log.Warn("container failed; replacing", "container", c.Name, "owner", c.Owner, "err", why)
	p.changed()
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.destroy(ctx, c)
		p.kickFill()
	}()
}

func (p *Pool) destroy(ctx context.Context, c Container) {
	if err := p.remove(ctx, c.ID, c.Name); err != nil {
		p.log.Error("remove container", "container", c.Name, "err", err)
	}
	p.mu.Lock()
	delete(p.containers, c.ID)
	p.mu.Unlock()
	p.changed()
}

// remove deletes the container, its workspace volume and its run dir.
func (p *Pool) remove(ctx context.Context, id, name string) error {
	var errs []error
	if err := p.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !isNotFound(err) {
		errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
	}
	if name != "" {
		if err := p.docker.VolumeRemove(ctx, name+"-ws", true); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s-ws: %w", name, err))
		}
		if err := os.RemoveAll(p.runDir(name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	return err != nil && client.IsErrNotFound(err)
}

// healthClient talks HTTP over a container's unix socket.
func healthClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
}

func probe(ctx context.Context, socket string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sessiond/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := healthClient(socket).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s", resp.Status)
	}
	return nil
}

func waitHealthy(ctx context.Context, socket string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx, socket)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sessiond on %s: %w (last: %v)", socket, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// checkHealth probes idle and claimed containers; two failures in a row, or
// a container that is not running, mark it failed.
func (p *Pool) checkHealth(ctx context.Context) {
	var check []Container
	p.mu.Lock()
	for _, e := range p.containers {
		if e.State == Idle || e.State == Claimed {
			check = append(check, e.Container)
		}
	}
	p.mu.Unlock()
	for _, c := range check {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx, c.Socket)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			p.mu.Lock()
			if e, ok := p.containers[c.ID]; ok {
				e.failures = 0
			}
			p.mu.Unlock()
			continue
		}
		running := true
		if ins, ierr := p.docker.ContainerInspect(ctx, c.ID); ierr != nil || ins.State == nil || !ins.State.Running {
			running = false
		}
		p.mu.Lock()
		n := 0
		if e, ok := p.containers[c.ID]; ok {
			e.failures++
			n = e.failures
		}
		p.mu.Unlock()
		if !running || n >= 2 {
			p.fail(c, fmt.Errorf("unhealthy (running=%v): %w", running, err))
		}
	}
}

// watchEvents reacts to a pool container dying at once rather than at the
// next health tick.
func (p *Pool) watchEvents(ctx context.Context) {
	for ctx.Err() == nil {
		msgs, errs := p.docker.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
			filters.Arg("type", "container"), filters.Arg("event", "die"),
			filters.Arg("label", LabelPool+"="+p.opts.Name))})
	loop:
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				if c, ok := p.Get(m.Actor.ID); ok && c.State != Destroying && c.State != Failed {
					p.fail(c, errors.New("container died"))
				}
			case err := <-errs:
				if ctx.Err() == nil {
					p.log.Warn("docker events", "err", err)
				}
				break loop
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

type claimRecord struct {
	Owner string `json:"owner"`
}

func writeClaim(dir, owner string) error {
	b, _ := json.Marshal(claimRecord{Owner: owner})
	return os.WriteFile(filepath.Join(dir, "claim.json"), b, 0o600)
}

// adopt takes over running containers of this pool from an earlier nodegw,
// restoring claims from their run dirs, and removes the broken ones.
func (p *Pool) adopt(ctx context.Context) error {
	list, err := p.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelPool+"="+p.opts.Name))})
	if err != nil {
		return fmt.Errorf("list pool containers: %w", err)
	}
	for _, s := range list {
		name := trimSlash(s.Names)
		dir := p.runDir(name)
		tok, terr := os.ReadFile(filepath.Join(dir, "token"))
		c := Container{ID: s.ID, Name: name, Class: s.Labels[LabelClass], Socket: filepath.Join(dir, "sessiond.sock"), Volume: name + "-ws"}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		perr := probe(pctx, c.Socket)
		cancel()
		if s.State != "running" || terr != nil || perr != nil {
			p.log.Info("removing stale container", "container", name, "state", s.State)
			if err := p.remove(ctx, s.ID, name); err != nil {
				p.log.Warn("remove stale container", "container", name, "err", err)
			}
			continue
		}
		c.Token = string(trimNL(tok))
		if v, err := p.docker.VolumeInspect(ctx, c.Volume); err == nil {
			c.Workdir = v.Mountpoint
		}
		e := &entry{Container: c}
		p.setState(e, Idle)
		if b, err := os.ReadFile(filepath.Join(dir, "claim.json")); err == nil {
			var rec claimRecord
			if json.Unmarshal(b, &rec) == nil && rec.Owner != "" {
				e.State, e.Owner = Claimed, rec.Owner
			}
		}
		p.mu.Lock()
		p.containers[s.ID] = e
		p.mu.Unlock()
		p.log.Info("adopted container", "container", name, "state", e.State, "owner", e.Owner)
	}
	p.changed()
	return nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
