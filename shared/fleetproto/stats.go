package fleetproto

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// TypeStats is the node's live CPU and memory use, gateway → cloud, sent
// every few seconds while the link is up (the operator dashboard shows it).
// It is data from a node: the cloud bounds and escapes it, never acts on it.
const TypeStats Type = "stats"

// MaxStatsContainers bounds one Stats report; a node with more containers
// sends the busiest ones and says how many it left out (Omitted).
const MaxStatsContainers = 128

// Container kinds in a Stats report.
const (
	StatsSession = "session" // a warm-pool container (idle or claimed)
	StatsTask    = "task"    // a batch task's container
)

// Stats is one sample of the node's use and its containers'.
type Stats struct {
	// Node is the whole machine's use.
	Node Usage `json:"node"`
	// Containers are the pool's and the tasks' running containers, at
	// most MaxStatsContainers.
	Containers []ContainerStats `json:"containers"`
	// Omitted is how many running containers were left out.
	Omitted int `json:"omitted,omitempty"`
}

// Usage is CPU and memory use against what is available.
type Usage struct {
	// CPUCores is the cores in use (1.5 = one and a half cores busy),
	// averaged since the previous sample.
	CPUCores float64 `json:"cpu_cores"`
	// CPULimit is the cores available (the machine's, or the container's
	// quota); 0 when unknown or unlimited.
	CPULimit    float64 `json:"cpu_limit"`
	MemoryBytes uint64  `json:"memory_bytes"`
	// MemoryLimitBytes is the memory available; 0 when unknown.
	MemoryLimitBytes uint64 `json:"memory_limit_bytes"`
}

// ContainerStats is one container's use.
type ContainerStats struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is StatsSession or StatsTask.
	Kind string `json:"kind"`
	Usage
}

func (*Stats) messageType() Type { return TypeStats }

// maxCores bounds any core count a node reports: above it the value is
// nonsense, not a machine.
const maxCores = 1 << 16

func (u Usage) validate(what string) error {
	for _, v := range []float64{u.CPUCores, u.CPULimit} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxCores {
			return fmt.Errorf("stats: %s: cpu value %v out of range", what, v)
		}
	}
	return nil
}

func (m *Stats) validate() error {
	if len(m.Containers) > MaxStatsContainers {
		return fmt.Errorf("stats: %d containers, at most %d", len(m.Containers), MaxStatsContainers)
	}
	if m.Omitted < 0 || m.Omitted > 1<<20 {
		return errors.New("stats: omitted out of range")
	}
	if err := m.Node.validate("node"); err != nil {
		return err
	}
	for _, c := range m.Containers {
		if !ValidContainerID(c.ID) {
			return fmt.Errorf("stats: container id %q is not valid", c.ID)
		}
		if len(c.Name) > 128 {
			return errors.New("stats: container name longer than 128 bytes")
		}
		if !utf8.ValidString(c.Name) || strings.ContainsRune(c.Name, 0) {
			return errors.New("stats: container name is not valid UTF-8 text")
		}
		if c.Kind != StatsSession && c.Kind != StatsTask {
			return fmt.Errorf("stats: container kind %q is not valid", c.Kind)
		}
		if err := c.Usage.validate("container " + c.ID); err != nil {
			return err
		}
	}
	return nil
}
