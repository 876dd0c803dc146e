// Package cli turns nodegw's flags and environment into a running gateway.
// Flags win over environment variables, which win over defaults.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"

	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/cliflag"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/nodegw/metrics"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/nodegw/probes"
	"gatewave.dev/nodegw/resources"
	"gatewave.dev/nodegw/sessions"
	"gatewave.dev/shared/fleetproto"
)

// Env holds what the command reads from its process.
type Env struct {
	Stderr io.Writer
	Getenv func(string) string
}

// Run runs nodegw with args (without the program name) until ctx ends and
// returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	fs := flag.NewFlagSet("nodegw", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cloud := fs.String("cloud", env.Getenv("NODEGW_CLOUD"), "cloud base URL, e.g. https://cloud.example.com (env NODEGW_CLOUD)")
	tokenFile := fs.String("token-file", env.Getenv("NODEGW_TOKEN_FILE"), "file holding the node token (else env NODEGW_TOKEN)")
	host, _ := os.Hostname()
	name := fs.String("name", firstNonEmpty(env.Getenv("NODEGW_NAME"), strings.ToLower(host)), "node name the token was issued for (env NODEGW_NAME)")
	diskPath := fs.String("disk-path", defaultDiskPath, "file system whose size is reported")
	verbose := fs.Bool("v", false, "debug logging")
	withPool := fs.Bool("pool", envBool(env, "NODEGW_POOL", true), "run the warm container pool on dockerd (env NODEGW_POOL)")
	image := fs.String("image", firstNonEmpty(env.Getenv("NODEGW_IMAGE"), "gatewave/workspace-debian"), "session container image (env NODEGW_IMAGE)")
	stateDir := fs.String("state-dir", firstNonEmpty(env.Getenv("NODEGW_STATE_DIR"), defaultStateDir), "node state: container run dirs, git cache, claims (env NODEGW_STATE_DIR)")
	poolName := fs.String("pool-name", firstNonEmpty(env.Getenv("NODEGW_POOL_NAME"), "gatewave"), "label telling this pool's containers apart on dockerd")
	network := fs.String("network", env.Getenv("NODEGW_NETWORK"), "Docker network for session containers (default none: no egress)")
	stdCount := fs.Int("standard-count", envInt(env, "NODEGW_STANDARD_COUNT", 0), "standard containers (default: from the node's resources)")
	burstCount := fs.Int("burst-count", envInt(env, "NODEGW_BURST_COUNT", 0), "over-subscribed containers (default: from the spare cores)")
	stdCPUs := fs.Float64("standard-cpus", 0, "standard container cores (default 4)")
	stdMem := fs.Int64("standard-memory-mib", 0, "standard container memory in MiB (default 8192)")
	burstCPUs := fs.Float64("burst-cpus", 0, "over-subscribed container cores (default 1)")
	burstMem := fs.Int64("burst-memory-mib", 0, "over-subscribed container memory in MiB (default 512)")
	over := fs.Float64("oversubscribe", 0, "over-subscribed containers per spare core (default 2; negative: none)")
	stdMin := fs.Int("standard-min", envInt(env, "NODEGW_STANDARD_MIN", -1), "elastic pool: fewest standard containers kept when idle, growing up to the standard count under demand (default: a fixed pool)")
	burstMin := fs.Int("burst-min", envInt(env, "NODEGW_BURST_MIN", -1), "elastic pool: fewest over-subscribed containers kept when idle (default: a fixed pool)")
	coolDown := fs.Duration("pool-cool-down", 5*time.Minute, "elastic pool: how long demand must stay lower before the pool shrinks")
	claimWindow := fs.Duration("pool-claim-window", 10*time.Minute, "elastic pool: how far back claims count as demand")
	autosaveEvery := fs.Duration("autosave-interval", 5*time.Minute, "periodic autosave of open sessions")
	stdDisk := fs.Int64("standard-disk-mib", defaultDiskMiB, "standard container workspace size in MiB (0: 16384; negative: no quota, a plain volume)")
	burstDisk := fs.Int64("burst-disk-mib", defaultDiskMiB, "over-subscribed container workspace size in MiB (0: 16384; negative: no quota)")
	shutdownPool := fs.Bool("shutdown-pool", false, "on exit, save every open workspace and remove the pool's containers (those whose save fails are kept)")
	dockerHost := fs.String("docker-host", firstNonEmpty(env.Getenv("NODEGW_DOCKER_HOST"), env.Getenv("DOCKER_HOST"), defaultDockerHost),
		"Docker engine endpoint: unix:///var/run/docker.sock, npipe:////./pipe/docker_engine (Docker Desktop on Windows) or tcp://127.0.0.1:2375 (env NODEGW_DOCKER_HOST, DOCKER_HOST)")
	allowExec := fs.Bool("allow-exec", envBool(env, "NODEGW_ALLOW_EXEC", false), "let operators run bounded commands on this node (cloud node exec; env NODEGW_ALLOW_EXEC)")
	metricsListen := fs.String("metrics-listen", env.Getenv("NODEGW_METRICS_LISTEN"), "serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:9480 (env NODEGW_METRICS_LISTEN; default off)")
	statsEvery := fs.Duration("stats-interval", 5*time.Second, "how often the node's live CPU and memory (and its containers') go to the cloud")
	lb := cliflag.KeyValues{}
	fs.Var(lb, "label", "label key=value reported at registration (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	// The logs probe shows an operator the gateway's recent lines.
	ring := probes.NewLogRing(0, 0)
	log := slog.New(slog.NewJSONHandler(io.MultiWriter(ring, env.Stderr), &slog.HandlerOptions{Level: level}))

	token := env.Getenv("NODEGW_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			log.Error("read token file", "path", *tokenFile, "err", err)
			return 1
		}
		token = strings.TrimSpace(string(b))
	}
	if *cloud == "" {
		log.Error("no cloud URL: pass --cloud or set NODEGW_CLOUD")
		return 2
	}
	if err := secureStateDir(*stateDir); err != nil {
		log.Error("state dir", "err", err)
		return 2
	}
	gopts := gateway.Options{
		CloudURL: *cloud, Token: token, Name: *name, Version: buildinfo.Version, Labels: map[string]string(lb), Logger: log,
		Resources: func(ctx context.Context) (fleetproto.Resources, error) { return resources.Probe(ctx, *diskPath) },
	}
	mx := metrics.New()
	gopts.OnEvent = mx.OnEvent
	obs := observeOptions{PoolName: *poolName, StatsInterval: *statsEvery, MetricsListen: *metricsListen}
	var gp atomic.Pointer[gateway.Gateway]
	var svc *sessions.Service
	var p *pool.Pool
	var runner taskRunner
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		if p != nil && *shutdownPool {
			sctx, scancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer scancel()
			log.Info("saving open workspaces and removing the pool")
			if err := p.Shutdown(sctx); err != nil {
				log.Error("pool shutdown", "err", err)
			}
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *withPool {
		res, err := resources.Probe(ctx, *diskPath)
		if err != nil {
			log.Warn("resource probe incomplete", "err", err)
		}
		classes, err := pool.Plan(res.CPUCores, int64(res.MemoryBytes), pool.Sizing{
			Standard:      pool.Size{CPUs: *stdCPUs, MemoryBytes: *stdMem << 20, DiskBytes: *stdDisk << 20},
			Burst:         pool.Size{CPUs: *burstCPUs, MemoryBytes: *burstMem << 20, DiskBytes: *burstDisk << 20},
			Oversubscribe: *over, StandardCount: *stdCount, BurstCount: *burstCount,
		})
		if err != nil {
			log.Error("pool sizing", "err", err)
			return 2
		}
		elastic := elasticPool(classes, *stdMin, *burstMin, *coolDown, *claimWindow)
		// The cloud gives batch tasks what the pool does not hold (at
		// most: an elastic pool holds its maximum only under demand).
		poolCPUs, poolMem := pool.Reserved(classes, res.CPUCores)
		gopts.Resources = func(ctx context.Context) (fleetproto.Resources, error) {
			r, err := resources.Probe(ctx, *diskPath)
			r.PoolCPUs, r.PoolMemoryBytes = poolCPUs, uint64(max(poolMem, 0))
			return r, err
		}
		dc, err := dockerClient(*dockerHost)
		if err != nil {
			log.Error("pool", "err", err)
			return 2
		}
		obs.Docker = dc
		p, err = pool.New(pool.Options{
			Docker: dc, Image: *image, Classes: classes, Network: *network, Name: *poolName,
			StateDir: filepath.Join(*stateDir, "pool"), Logger: log,
			Autosave: func(ctx context.Context, c pool.Container) error { return svc.Autosave(ctx, c) },
			OnChange: func(cs []pool.Container) { svc.OnChange(cs) },
			Claimed:  func(id string) (string, bool) { return svc.Claimed(id) },
			Elastic:  elastic,
			NixDir:   nixCache(ctx, *cloud, token, filepath.Join(*stateDir, "nix"), log),
		})
		if err != nil {
			log.Error("pool", "err", err)
			return 2
		}
		svc, err = sessions.New(sessions.Options{
			Pool: p, Cache: &gitcache.Cache{Dir: filepath.Join(*stateDir, "git")}, Dir: filepath.Join(*stateDir, "sessions"),
			AutosaveInterval: *autosaveEvery, Logger: log,
			Report: func(r *fleetproto.Pool) {
				mx.OnPool(r)
				if g := gp.Load(); g != nil {
					g.ReportPool(r)
				}
			},
		})
		if err != nil {
			log.Error("sessions", "err", err)
			return 2
		}
		gopts.Streams, gopts.Commands = svc.Streams(), svc.Commands()
		var gpus []string
		for _, g := range res.GPUs {
			gpus = append(gpus, strconv.Itoa(g.Index))
		}
		switch runner, err = newTaskRunner(*dockerHost, filepath.Join(*stateDir, "tasks"), gpus, log, &gp); {
		case errors.Is(err, errNoTasks):
			log.Warn("batch tasks are off on this node", "err", err)
		case err != nil:
			log.Error("tasks", "err", err)
			return 2
		default:
			maps.Copy(gopts.Commands, runner.Commands())
		}
		log.Info("warm pool", "classes", fmt.Sprintf("%+v", classes), "image", *image, "elastic", elastic != nil)
		wg.Go(func() {
			if err := p.Run(ctx); err != nil {
				log.Error("pool stopped", "err", err)
				cancel()
			}
		})
		wg.Go(func() { svc.Run(ctx) })
	}
	if gopts.Commands == nil {
		gopts.Commands = map[string]gateway.CommandHandler{}
	}
	maps.Copy(gopts.Commands, probes.New(probes.Options{
		Docker: probeDocker(*withPool, *dockerHost, log), DiskPaths: probeDisks(*withPool, *diskPath, *stateDir), Logs: ring,
		AllowExec: *allowExec, Logger: log,
	}).Commands())
	if *allowExec {
		log.Warn("host.exec is allowed: operators with the admin token can run commands on this node")
	}
	g, err := gateway.New(gopts)
	if err != nil {
		log.Error("configuration", "err", err)
		return 2
	}
	gp.Store(g)
	obs.Runner = runner
	if err := observe(ctx, &wg, g, mx, obs, log); err != nil {
		log.Error("configuration", "err", err)
		return 2
	}
	if runner != nil {
		// Tasks a crashed or killed run left behind: removed and reported
		// lost (sent once the link is up), so the cloud runs them again.
		if err := runner.Recover(ctx); err != nil {
			log.Warn("tasks left by a previous run", "err", err)
		}
	}
	if svc != nil {
		if last := svc.LastReport(); last != nil {
			g.ReportPool(last)
		}
	}
	// The link outlives the task runner: the attempts its shutdown ends
	// are reported lost over it, so the cloud runs them again.
	var stopFirst func()
	if runner != nil {
		stopFirst = func() {
			sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
			defer scancel()
			if err := runner.Shutdown(sctx); err != nil {
				log.Error("tasks shutdown", "err", err)
			}
		}
	}
	if err := serve(ctx, g.Run, stopFirst, reportGrace); err != nil {
		log.Error("gateway stopped", "err", err)
		return 1
	}
	return 0
}

// elasticPool sets the classes' minimums from the --*-min flags (negative:
// not given) and returns the elastic options, nil when no minimum was
// given (fixed pools). A minimum above a class's count is that count.
func elasticPool(classes []pool.Class, stdMin, burstMin int, coolDown, window time.Duration) *pool.Elastic {
	if stdMin < 0 && burstMin < 0 {
		return nil
	}
	for i := range classes {
		m := stdMin
		if classes[i].Name == "burst" {
			m = burstMin
		}
		if m < 0 {
			m = classes[i].Count // this class stays fixed
		}
		classes[i].Min = min(m, classes[i].Count)
	}
	return &pool.Elastic{CoolDown: coolDown, Window: window}
}

// reportGrace is how long the link stays up after the task runner's
// shutdown, for its last reports to leave.
const reportGrace = 2 * time.Second

// serve runs the gateway's run until ctx ends; then it calls stopFirst
// (if not nil) while the gateway still runs, waits grace, and only then
// stops the gateway. It returns run's error.
func serve(ctx context.Context, run func(context.Context) error, stopFirst func(), grace time.Duration) error {
	gctx, gcancel := context.WithCancel(context.Background())
	defer gcancel()
	errc := make(chan error, 1)
	go func() { errc <- run(gctx) }()
	select {
	case err := <-errc:
		if stopFirst != nil {
			stopFirst()
		}
		return err
	case <-ctx.Done():
	}
	if stopFirst != nil {
		stopFirst()
		select {
		case err := <-errc:
			return err
		case <-time.After(grace):
		}
	}
	gcancel()
	return <-errc
}

// probeDocker is the dockerd the docker probe asks: the pool's, none
// without the pool.
func probeDocker(withPool bool, host string, log *slog.Logger) *client.Client {
	if !withPool {
		return nil
	}
	dc, err := dockerClient(host)
	if err != nil {
		log.Warn("docker probe: no docker client", "err", err)
		return nil
	}
	return dc
}

// probeDisks are the file systems the disk probe reports.
func probeDisks(withPool bool, diskPath, stateDir string) []string {
	if withPool && stateDir != diskPath {
		return []string{diskPath, stateDir}
	}
	return []string{diskPath}
}

func envBool(env Env, key string, def bool) bool {
	if v, err := strconv.ParseBool(env.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envInt(env Env, key string, def int) int {
	if v, err := strconv.Atoi(env.Getenv(key)); err == nil {
		return v
	}
	return def
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// dockerClient talks to the Docker engine at host (a DOCKER_HOST-style
// URL; DOCKER_CERT_PATH and DOCKER_TLS_VERIFY still apply), negotiating
// the API version.
func dockerClient(host string) (*client.Client, error) {
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	return dc, nil
}

// taskRunner runs batch tasks (tasks.Runner; none on a node that cannot).
type taskRunner interface {
	Commands() map[string]gateway.CommandHandler
	Recover(ctx context.Context) error
	Shutdown(ctx context.Context) error
}
