// Package probes answers the cloud's maintenance commands about the node
// itself (issue 16, host.ssh): host.probe runs one of a fixed set of
// read-only probes (uptime, disk, Docker info, the gateway's recent logs)
// and host.exec runs an operator's argv with a time and output limit,
// without a shell and without the gateway's environment, only when the
// node was started with --allow-exec. Neither runs anything a user gave
// and neither can start a task: they only report.
package probes

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/docker/client"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
)

// Options configures a Prober. The zero value answers every probe (the
// docker probe saying dockerd is not used) and refuses host.exec.
type Options struct {
	// Docker is the dockerd the pool uses; nil means the node runs no
	// pool and the docker probe says so.
	Docker *client.Client
	// DiskPaths are the file systems the disk probe reports; empty means
	// "/".
	DiskPaths []string
	// Logs holds the gateway's recent log lines; nil means the logs probe
	// says none are kept.
	Logs *LogRing
	// AllowExec lets host.exec run commands; false refuses every one.
	AllowExec bool
	// MaxConcurrentExec bounds the host.exec commands running at once; 0
	// means 4.
	MaxConcurrentExec int
	// Logger records every probe and exec; nil means slog.Default().
	Logger *slog.Logger
}

// Prober answers host.probe and host.exec.
type Prober struct {
	opts Options
	log  *slog.Logger
	sem  chan struct{} // host.exec slots
}

// New returns a Prober for opts.
func New(opts Options) *Prober {
	if len(opts.DiskPaths) == 0 {
		opts.DiskPaths = []string{"/"}
	}
	if opts.MaxConcurrentExec <= 0 {
		opts.MaxConcurrentExec = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Prober{opts: opts, log: opts.Logger, sem: make(chan struct{}, opts.MaxConcurrentExec)}
}

// Commands returns the gateway command handlers: host.probe and host.exec.
func (p *Prober) Commands() map[string]gateway.CommandHandler {
	return map[string]gateway.CommandHandler{
		fleetproto.CommandHostProbe: p.Probe,
		fleetproto.CommandHostExec:  p.Exec,
	}
}

// probeTimeout bounds one probe (dockerd may hang).
const probeTimeout = 10 * time.Second

// Probe is the host.probe handler: HostProbeArgs → HostProbeResult.
func (p *Prober) Probe(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var args fleetproto.HostProbeArgs
	if err := decodeStrict(cmd.Args, &args); err != nil {
		return nil, fmt.Errorf("host.probe: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var res fleetproto.HostProbeResult
	var err error
	switch args.Probe {
	case fleetproto.ProbeUptime:
		res, err = uptime()
	case fleetproto.ProbeDisk:
		res = p.disk()
	case fleetproto.ProbeDocker:
		res, err = p.docker(ctx)
	case fleetproto.ProbeLogs:
		res = p.logs()
	default:
		return nil, fmt.Errorf("host.probe: unknown probe %q: want one of %s", args.Probe, strings.Join(fleetproto.Probes, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("host.probe %s: %w", args.Probe, err)
	}
	p.log.Info("host probe", "probe", args.Probe, "exit_code", res.ExitCode)
	// The logs keep their newest lines when cut.
	return encodeFit(res, args.Probe == fleetproto.ProbeLogs)
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data.
func decodeStrict(b []byte, v any) error {
	if err := fleetproto.DecodeStrict(b, v); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	return nil
}

func uptime() (fleetproto.HostProbeResult, error) {
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return fleetproto.HostProbeResult{}, err
	}
	load, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return fleetproto.HostProbeResult{}, err
	}
	uf := strings.Fields(string(up))
	lf := strings.Fields(string(load))
	if len(uf) < 1 || len(lf) < 4 {
		return fleetproto.HostProbeResult{}, fmt.Errorf("unexpected /proc/uptime %q or /proc/loadavg %q", up, load)
	}
	secs, err := strconv.ParseFloat(uf[0], 64)
	if err != nil {
		return fleetproto.HostProbeResult{}, fmt.Errorf("/proc/uptime %q: %w", up, err)
	}
	var b strings.Builder
	d := time.Duration(secs) * time.Second
	fmt.Fprintf(&b, "up %dd %dh %dm (%.0f s)\n", int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60, secs)
	fmt.Fprintf(&b, "load average: %s %s %s (1, 5, 15 min)\n", lf[0], lf[1], lf[2])
	if run, total, ok := strings.Cut(lf[3], "/"); ok {
		fmt.Fprintf(&b, "processes: %s running, %s total\n", run, total)
	}
	return fleetproto.HostProbeResult{Output: b.String()}, nil
}

func (p *Prober) disk() fleetproto.HostProbeResult {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tSIZE\tFREE\tUSED")
	code := 0
	for _, path := range p.opts.DiskPaths {
		size, free, avail, err := diskSpace(path)
		if err != nil {
			fmt.Fprintf(tw, "%s\terror: %v\t\t\n", path, err)
			code = 1
			continue
		}
		used := size - free
		pct := 0.0
		if used+avail > 0 { // as df: what is used of what a user can have
			pct = 100 * float64(used) / float64(used+avail)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\n", path, gib(size), gib(avail), pct)
	}
	tw.Flush()
	return fleetproto.HostProbeResult{Output: b.String(), ExitCode: code}
}

func gib(n uint64) string { return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30)) }

func (p *Prober) docker(ctx context.Context) (fleetproto.HostProbeResult, error) {
	if p.opts.Docker == nil {
		return fleetproto.HostProbeResult{Output: "dockerd is not used by this gateway (it runs without the warm pool)\n"}, nil
	}
	info, err := p.opts.Docker.Info(ctx)
	if err != nil {
		return fleetproto.HostProbeResult{}, fmt.Errorf("docker info: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server version: %s\n", info.ServerVersion)
	fmt.Fprintf(&b, "containers: %d running, %d total (%d paused, %d stopped)\n", info.ContainersRunning, info.Containers, info.ContainersPaused, info.ContainersStopped)
	fmt.Fprintf(&b, "images: %d\n", info.Images)
	fmt.Fprintf(&b, "storage driver: %s\n", info.Driver)
	fmt.Fprintf(&b, "cgroup driver: %s (cgroup v%s)\n", info.CgroupDriver, info.CgroupVersion)
	return fleetproto.HostProbeResult{Output: b.String()}, nil
}

func (p *Prober) logs() fleetproto.HostProbeResult {
	if p.opts.Logs == nil {
		return fleetproto.HostProbeResult{Output: "this gateway keeps no log lines\n"}
	}
	out, cut := p.opts.Logs.Tail(fleetproto.MaxProbeOutput)
	return fleetproto.HostProbeResult{Output: out, Truncated: cut}
}
