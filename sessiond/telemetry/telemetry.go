// Package telemetry measures CPU, memory, load and processes as the user's
// session sees them: inside a container, the container's cgroup limits and
// usage; elsewhere, the host's (through gopsutil).
package telemetry

import (
	"cmp"
	"context"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/load"
	"github.com/shirou/gopsutil/v3/mem"
)

// Snapshot is one reading, as served by GET /api/v1/telemetry.
type Snapshot struct {
	Time time.Time `json:"time"`
	// Source is "cgroup-v1", "cgroup-v2" or "host".
	Source        string    `json:"source"`
	CPU           CPU       `json:"cpu"`
	Memory        Memory    `json:"memory"`
	Load          Load      `json:"load"`
	Processes     Processes `json:"processes"`
	Sessiond      Self      `json:"sessiond"`
	UptimeSeconds uint64    `json:"uptime_seconds"`
}

// CPU usage; Percent is of the limit (100 = every allowed core busy).
type CPU struct {
	Percent    float64 `json:"percent"`
	LimitCores float64 `json:"limit_cores"`
	UsedCores  float64 `json:"used_cores"`
}

// Memory usage in bytes.
type Memory struct {
	UsedBytes  int64   `json:"used_bytes"`
	LimitBytes int64   `json:"limit_bytes"`
	Percent    float64 `json:"percent"`
}

// Load averages (always the host's: the kernel keeps no per-cgroup load).
type Load struct {
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
}

// Processes visible to sessiond (the container's own in a PID namespace).
// Count includes kernel threads; the top lists leave them out.
type Processes struct {
	Count  int       `json:"count"`
	TopCPU []Process `json:"top_cpu"`
	TopRSS []Process `json:"top_rss"`
}

// Process is one row of a top list. CPUPercent is of one core.
type Process struct {
	PID        int32   `json:"pid"`
	Name       string  `json:"name"`
	CPUPercent float64 `json:"cpu_percent"`
	RSSBytes   int64   `json:"rss_bytes"`
}

// Self describes sessiond itself.
type Self struct {
	RSSBytes      int64   `json:"rss_bytes"`
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// Options configure a Collector. The zero value reads the real system.
type Options struct {
	// CgroupRoot is where cgroup files are mounted; "" means /sys/fs/cgroup.
	CgroupRoot string
	// Proc is the proc file system; "" means /proc.
	Proc string
	// TopN is the length of each top list; 0 means 5.
	TopN int
	// ForceHost ignores cgroup files (for tests of the host path).
	ForceHost bool
}

// Collector takes readings. It is safe for concurrent use; readings taken
// closer together than minGap share one sample.
type Collector struct {
	opts    Options
	cg      cgroup
	inCtr   bool
	started time.Time

	mu       sync.Mutex
	last     *Snapshot
	prevAt   time.Time
	prevCPU  float64 // cumulative CPU seconds (cgroup or host busy time)
	prevProc map[int32]uint64
	kthreads map[int32]bool // kernel threads, not read again until kthreadsAt + a minute
	kthAt    time.Time
	buf      []byte
}

// MinInterval is the shortest interval a stream may ask for.
const MinInterval = 100 * time.Millisecond

const (
	minGap    = 50 * time.Millisecond
	clockTick = 100.0 // USER_HZ, the unit of /proc/PID/stat times on Linux
)

// New returns a Collector.
func New(o Options) *Collector {
	if o.CgroupRoot == "" {
		o.CgroupRoot = "/sys/fs/cgroup"
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.TopN == 0 {
		o.TopN = 5
	}
	c := &Collector{opts: o, started: time.Now(), buf: make([]byte, 0, 1024)}
	if !o.ForceHost {
		c.cg = detectCgroup(o.CgroupRoot)
		c.inCtr = inContainer()
	}
	return c
}

func inContainer() bool {
	return exists("/.dockerenv") || exists("/run/.containerenv") || os.Getenv("container") != ""
}

// Snapshot returns a reading. CPU figures are averaged since the previous
// reading; when there is none yet (or it is stale), it samples twice, 200 ms
// apart, so the first answer is already meaningful.
func (c *Collector) Snapshot(ctx context.Context) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.last != nil && now.Sub(c.prevAt) < minGap {
		return c.last, nil
	}
	if c.last == nil || now.Sub(c.prevAt) > 30*time.Second {
		c.sample(time.Now())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return c.sample(time.Now()), nil
}

// sample takes one reading and computes rates against the previous one.
func (c *Collector) sample(now time.Time) *Snapshot {
	s := &Snapshot{Time: now.UTC(), Source: "host"}
	hostCores := float64(runtime.NumCPU())
	elapsed := now.Sub(c.prevAt).Seconds()

	// CPU: limit and cumulative busy seconds.
	limit := hostCores
	cgLimit := c.cg.cpuLimit()
	if cgLimit > 0 && cgLimit < limit {
		limit = cgLimit
	}
	var busy float64
	useCg := false
	if ns, ok := c.cg.cpuUsage(); ok && (c.inCtr || cgLimit > 0) {
		busy, useCg = float64(ns)/1e9, true
	} else if t, err := cpu.Times(false); err == nil && len(t) > 0 {
		ts := t[0] // every state but idle and iowait (Total is deprecated)
		busy = ts.User + ts.System + ts.Nice + ts.Irq + ts.Softirq + ts.Steal + ts.Guest + ts.GuestNice
	}
	if c.last != nil && elapsed > 0 {
		used := max(0, (busy-c.prevCPU)/elapsed)
		s.CPU.UsedCores = used
		s.CPU.Percent = min(100, 100*used/limit)
	}
	s.CPU.LimitCores = limit
	c.prevCPU = busy

	// Memory.
	vm, vmErr := mem.VirtualMemory()
	memLimit := c.cg.memLimit()
	if vmErr == nil && (memLimit == 0 || int64(vm.Total) < memLimit) {
		memLimit = int64(vm.Total)
	}
	if used, ok := c.cg.memUsed(); ok && (c.inCtr || c.cg.memLimit() > 0) {
		s.Memory.UsedBytes, useCg = used, true
	} else if vmErr == nil {
		s.Memory.UsedBytes = int64(vm.Total - vm.Available)
	}
	s.Memory.LimitBytes = memLimit
	if memLimit > 0 {
		s.Memory.Percent = 100 * float64(s.Memory.UsedBytes) / float64(memLimit)
	}
	if useCg {
		s.Source = "cgroup-v1"
		if c.cg.version == 2 {
			s.Source = "cgroup-v2"
		}
	}

	if avg, err := load.Avg(); err == nil {
		s.Load = Load{avg.Load1, avg.Load5, avg.Load15}
	}
	if up, err := host.Uptime(); err == nil {
		s.UptimeSeconds = up
	}
	c.processes(s, elapsed)
	s.Sessiond.UptimeSeconds = now.Sub(c.started).Seconds()

	c.prevAt = now
	c.last = s
	return s
}

func (c *Collector) processes(s *Snapshot, elapsed float64) {
	// PIDs are reused: forget the kernel threads now and then.
	if c.kthreads == nil || time.Since(c.kthAt) > time.Minute {
		c.kthreads, c.kthAt = map[int32]bool{}, time.Now()
	}
	var procs []procStat
	var count int
	procs, count, c.buf = readProcs(c.opts.Proc, c.buf, c.kthreads)
	self := int32(os.Getpid())
	next := make(map[int32]uint64, len(procs))
	rows := make([]Process, 0, len(procs))
	for _, p := range procs {
		if p.pid == 2 || p.ppid == 2 {
			c.kthreads[p.pid] = true
			continue
		}
		next[p.pid] = p.ticks
		row := Process{PID: p.pid, Name: p.name, RSSBytes: p.rss}
		if prev, ok := c.prevProc[p.pid]; ok && elapsed > 0 && p.ticks >= prev {
			row.CPUPercent = 100 * float64(p.ticks-prev) / clockTick / elapsed
		}
		if p.pid == self {
			s.Sessiond.RSSBytes = p.rss
		}
		rows = append(rows, row)
	}
	c.prevProc = next
	s.Processes.Count = count
	n := min(c.opts.TopN, len(rows))
	slices.SortFunc(rows, func(a, b Process) int { return cmp.Compare(b.CPUPercent, a.CPUPercent) })
	s.Processes.TopCPU = slices.Clone(rows[:n])
	slices.SortFunc(rows, func(a, b Process) int { return cmp.Compare(b.RSSBytes, a.RSSBytes) })
	s.Processes.TopRSS = slices.Clone(rows[:n])
}
