package ops

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gatewave.dev/shared/fleetproto"
)

// View is what the dashboard's templates (web/templates/ops.html) get:
// the snapshot and the figures formatted for reading. Every value a node
// reported goes through html/template's escaping.
type View struct {
	*Snapshot
	OfflineAfter time.Duration
}

// PoolStates are the pool columns, in order.
var PoolStates = []string{"idle", "claimed", "starting", "recovering", "failed", "destroying"}

// PoolStates lists the pool states for the template.
func (View) PoolStates() []string { return PoolStates }

// Counted is one state and how many are in it.
type Counted struct {
	State string
	N     int
}

func counted(m map[string]int, order []string) []Counted {
	var out []Counted
	seen := map[string]bool{}
	for _, s := range order {
		seen[s] = true
		out = append(out, Counted{s, m[s]})
	}
	var rest []string
	for s := range m {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	for _, s := range rest {
		out = append(out, Counted{s, m[s]})
	}
	return out
}

// SessionCounts are open sessions by state.
func (v View) SessionCounts() []Counted {
	return counted(v.Sessions.Counts, []string{"queued", "starting", "ready", "restarting", "ending"})
}

// TaskCounts are tasks by state.
func (v View) TaskCounts() []Counted {
	return counted(v.Tasks.Counts, []string{"queued", "dispatched", "fetching", "building", "running", "uploading", "succeeded", "failed", "cancelled", "lost"})
}

// OfflineWindow says the offline window in words; "" when unknown.
func (v View) OfflineWindow() string {
	if v.OfflineAfter <= 0 {
		return ""
	}
	return v.OfflineAfter.String()
}

// Age says how long ago something was, in seconds, for reading.
func Age(seconds float64) string {
	switch {
	case seconds < 0:
		return "never"
	case seconds < 90:
		return fmt.Sprintf("%.0f s ago", seconds)
	case seconds < 90*60:
		return fmt.Sprintf("%.0f min ago", seconds/60)
	case seconds < 48*3600:
		return fmt.Sprintf("%.1f h ago", seconds/3600)
	}
	return fmt.Sprintf("%.0f days ago", seconds/86400)
}

// Bytes formats a byte count.
func Bytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// Cores formats a core count.
func Cores(c float64) string {
	return strconv.FormatFloat(math.Round(c*100)/100, 'f', -1, 64)
}

// HeartbeatAge is the node's last heartbeat in words.
func (n Node) HeartbeatAge() string { return Age(n.HeartbeatAgeSeconds) }

// Declared is what the node offers, in words.
func (n Node) Declared() string {
	r := n.Resources
	s := fmt.Sprintf("%d cores, %s", r.CPUCores, Bytes(r.MemoryBytes))
	if len(r.GPUs) > 0 {
		s += fmt.Sprintf(", %d GPUs", len(r.GPUs))
	}
	return s
}

// Held is what the pool and tasks hold, in words.
func (n Node) Held() string {
	u := n.Used
	s := fmt.Sprintf("pool %s cores, %s", Cores(u.PoolCPUs), Bytes(u.PoolMemoryBytes))
	if u.Tasks == 0 {
		return s + "; no tasks"
	}
	return s + fmt.Sprintf("; %d tasks %s cores, %s", u.Tasks, Cores(u.TaskCPUs), Bytes(u.TaskMemoryBytes))
}

// StaleStats says the live figures are a dead link's last ones: the node
// is not linked, or its latest sample is over half a minute old.
func (n Node) StaleStats() bool {
	return n.Stats != nil && (!n.Linked || (n.State != "online" && n.State != "draining") || n.Stats.AgeSeconds > 30)
}

// ShownVersion is the gateway version the node registered with (its own
// text) as the page shows it: printable.
func (n Node) ShownVersion() string { return printable(n.Version) }

// ShownDrainDetail is the drain's detail as the page shows it: printable
// (it quotes the node's own error when a save failed).
func (n Node) ShownDrainDetail() string { return printable(n.DrainDetail) }

// StateLabel is the state as shown, with a dropped link said.
func (n Node) StateLabel() string {
	if (n.State == "online" || n.State == "draining") && !n.Linked {
		return n.State + " (link lost)"
	}
	return n.State
}

// Count is the node's containers in a pool state.
func (n Node) Count(state string) int { return n.Pool[state] }

// CPU is a usage's CPU in words: cores busy of the limit, and a percent.
func CPU(u fleetproto.Usage) string {
	if u.CPULimit > 0 {
		return fmt.Sprintf("%.2f of %s cores (%.0f%%)", u.CPUCores, Cores(u.CPULimit), 100*u.CPUCores/u.CPULimit)
	}
	return fmt.Sprintf("%.2f cores", u.CPUCores)
}

// Memory is a usage's memory in words.
func Memory(u fleetproto.Usage) string {
	if u.MemoryLimitBytes > 0 {
		return fmt.Sprintf("%s of %s (%.0f%%)", Bytes(u.MemoryBytes), Bytes(u.MemoryLimitBytes), 100*float64(u.MemoryBytes)/float64(u.MemoryLimitBytes))
	}
	return Bytes(u.MemoryBytes)
}

// Percent is the share of a limit in use, 0–100, for a bar; 0 without a limit.
func Percent(used, limit float64) float64 {
	if limit <= 0 {
		return 0
	}
	return min(max(100*used/limit, 0), 100)
}

// NodeCPU and the others below format the node's live figures.
func (l *Live) NodeCPU() string     { return CPU(l.Node) }
func (l *Live) NodeMemory() string  { return Memory(l.Node) }
func (l *Live) CPUPercent() float64 { return Percent(l.Node.CPUCores, l.Node.CPULimit) }
func (l *Live) MemPercent() float64 {
	return Percent(float64(l.Node.MemoryBytes), float64(l.Node.MemoryLimitBytes))
}
func (l *Live) Age() string          { return Age(l.AgeSeconds) }
func (l *Live) Rows() []ContainerRow { return containerRows(l.Containers) }

// ContainerRow is one container's live figures, formatted.
type ContainerRow struct {
	ID, Name, Kind, CPU, Memory string
}

func containerRows(cs []fleetproto.ContainerStats) []ContainerRow {
	out := make([]ContainerRow, len(cs))
	for i, c := range cs {
		out[i] = ContainerRow{ID: short(c.ID), Name: printable(c.Name), Kind: c.Kind, CPU: CPU(c.Usage), Memory: Memory(c.Usage)}
	}
	return out
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// printable keeps a node's text readable: control characters, bidi
// overrides and invalid UTF-8 become U+FFFD (html/template escapes the
// rest).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return '\ufffd'
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
}

// Date formats a time for the tables.
func Date(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
