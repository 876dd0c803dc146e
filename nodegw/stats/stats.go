// Package stats samples the node's live CPU and memory use and its
// containers' (the warm pool's and the batch tasks'), every few seconds,
// into fleetproto.Stats reports for the cloud's operator dashboard.
//
// The machine's figures come from /proc/stat and /proc/meminfo (on
// Windows from the system's counters, through gopsutil), the
// containers' from dockerd's stats API (one-shot reads; CPU is the change
// in a container's CPU time between two samples), so nothing is read from
// a path or file a container can change.
package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"gatewave.dev/shared/fleetproto"
)

// Docker is the part of the Docker client the sampler uses.
type Docker interface {
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerStatsOneShot(ctx context.Context, id string) (container.StatsResponseReader, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
}

var _ Docker = (*client.Client)(nil)

// Options configures a Sampler. Every zero value works.
type Options struct {
	// Docker is the dockerd whose containers are sampled; nil samples the
	// machine only.
	Docker Docker
	// Labels select the containers sampled, each label=value with its
	// kind (fleetproto.StatsSession or StatsTask); a container matching
	// none is not the gateway's and is left out.
	Labels map[string]string // "dev.gatewave.pool=NAME" → kind
	// Interval is how often Run samples. Zero means 5 s.
	Interval time.Duration
	// Proc is where /proc is. Empty means /proc.
	Proc string
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// Sampler takes samples; the zero value is not usable: call New.
type Sampler struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	cpuPrev cpuTimes
	prev    map[string]containerCPU // container → its last CPU time
	limits  map[string]float64      // container → cores allowed (inspect, cached)
}

type cpuTimes struct{ busy, total uint64 }

type containerCPU struct {
	ns uint64
	at time.Time
}

// New returns a Sampler.
func New(opts Options) *Sampler {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sampler{opts: opts, log: opts.Logger, prev: map[string]containerCPU{}, limits: map[string]float64{}}
}

// Run samples every Interval until ctx ends and hands each sample to send
// (the gateway's Send: a sample taken while the link is down is dropped;
// the next follows).
func (s *Sampler) Run(ctx context.Context, send func(*fleetproto.Stats)) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		st, err := s.Sample(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Debug("stats sample incomplete", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		send(st)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample takes one sample. CPU figures are averages since the previous
// sample (zero on the first). A partial sample comes with the error that
// cut it short.
func (s *Sampler) Sample(ctx context.Context) (*fleetproto.Stats, error) {
	st := &fleetproto.Stats{Containers: []fleetproto.ContainerStats{}}
	var errs []error
	if err := s.node(&st.Node); err != nil {
		errs = append(errs, err)
	}
	if s.opts.Docker != nil {
		if err := s.containers(ctx, st); err != nil {
			errs = append(errs, err)
		}
	}
	return st, errors.Join(errs...)
}

func (s *Sampler) node(u *fleetproto.Usage) error {
	u.CPULimit = float64(runtime.NumCPU())
	var errs []error
	if t, err := s.machineCPU(); err != nil {
		errs = append(errs, err)
	} else {
		s.mu.Lock()
		p := s.cpuPrev
		s.cpuPrev = t
		s.mu.Unlock()
		if p.total > 0 && t.total > p.total && t.busy >= p.busy {
			u.CPUCores = min(float64(t.busy-p.busy)/float64(t.total-p.total)*u.CPULimit, u.CPULimit)
		}
	}
	total, avail, err := s.machineMem()
	if err != nil {
		errs = append(errs, err)
	} else {
		u.MemoryLimitBytes = total
		if avail <= total {
			u.MemoryBytes = total - avail
		}
	}
	return errors.Join(errs...)
}

type found struct {
	id, name, kind string
}

func (s *Sampler) containers(ctx context.Context, st *fleetproto.Stats) error {
	var list []found
	seen := map[string]bool{}
	keys := make([]string, 0, len(s.opts.Labels))
	for k := range s.opts.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, label := range keys {
		cs, err := s.opts.Docker.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
		if err != nil {
			return fmt.Errorf("list containers: %w", err)
		}
		for _, c := range cs {
			if seen[c.ID] || !fleetproto.ValidContainerID(c.ID) {
				continue
			}
			seen[c.ID] = true
			name := ""
			if len(c.Names) > 0 {
				name = strings.TrimPrefix(c.Names[0], "/")
			}
			list = append(list, found{c.ID, Printable(name, 128), s.opts.Labels[label]})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	if len(list) > fleetproto.MaxStatsContainers {
		st.Omitted = len(list) - fleetproto.MaxStatsContainers
		list = list[:fleetproto.MaxStatsContainers]
	}
	var errs []error
	for _, f := range list {
		u, err := s.container(ctx, f.id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st.Containers = append(st.Containers, fleetproto.ContainerStats{ID: f.id, Name: f.name, Kind: f.kind, Usage: u})
	}
	s.mu.Lock()
	for id := range s.prev {
		if !seen[id] {
			delete(s.prev, id)
			delete(s.limits, id)
		}
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

func (s *Sampler) container(ctx context.Context, id string) (fleetproto.Usage, error) {
	var u fleetproto.Usage
	r, err := s.opts.Docker.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return u, fmt.Errorf("container %.12s stats: %w", id, err)
	}
	var v container.StatsResponse
	err = json.NewDecoder(r.Body).Decode(&v)
	r.Body.Close()
	if err != nil {
		return u, fmt.Errorf("container %.12s stats: %w", id, err)
	}
	u.MemoryBytes = MemoryInUse(v.MemoryStats)
	u.MemoryLimitBytes = v.MemoryStats.Limit
	now := v.Read
	if now.IsZero() {
		now = time.Now()
	}
	s.mu.Lock()
	p, had := s.prev[id]
	s.prev[id] = containerCPU{ns: v.CPUStats.CPUUsage.TotalUsage, at: now}
	limit, known := s.limits[id]
	s.mu.Unlock()
	if had && now.After(p.at) && v.CPUStats.CPUUsage.TotalUsage >= p.ns {
		u.CPUCores = float64(v.CPUStats.CPUUsage.TotalUsage-p.ns) / float64(now.Sub(p.at).Nanoseconds())
	}
	if !known {
		if in, err := s.opts.Docker.ContainerInspect(ctx, id); err == nil && in.HostConfig != nil {
			limit = CoresAllowed(in.HostConfig.Resources)
			s.mu.Lock()
			s.limits[id] = limit
			s.mu.Unlock()
		}
	}
	u.CPULimit = limit
	if limit > 0 {
		u.CPUCores = min(u.CPUCores, limit)
	}
	u.CPUCores = min(u.CPUCores, float64(runtime.NumCPU()))
	return u, nil
}

// MemoryInUse is a container's memory as `docker stats` shows it: usage
// less the inactive page cache (cgroup v2's inactive_file, v1's
// total_inactive_file).
func MemoryInUse(m container.MemoryStats) uint64 {
	cache := m.Stats["inactive_file"]
	if v, ok := m.Stats["total_inactive_file"]; ok {
		cache = v
	}
	if cache > m.Usage {
		return m.Usage
	}
	return m.Usage - cache
}

// CoresAllowed is a container's CPU limit in cores; 0 when unlimited.
func CoresAllowed(r container.Resources) float64 {
	switch {
	case r.NanoCPUs > 0:
		return float64(r.NanoCPUs) / 1e9
	case r.CPUQuota > 0 && r.CPUPeriod > 0:
		return float64(r.CPUQuota) / float64(r.CPUPeriod)
	}
	return 0
}

// Printable keeps s to at most n bytes of printable text: control
// characters and invalid UTF-8 become '?', so a report's size stays what
// its limits say once JSON-encoded.
func Printable(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
