package fleetproto

import (
	"fmt"
	"regexp"
)

// Elastic pools and draining (issue 17). The cloud tells each node, with
// CommandPoolDemand, how many queued sessions it should make room for and
// whether it is draining; the node's pool turns that, its recent claims
// and its own bounds into a target per container class (nodegw/pool,
// elastic.go) and grows or shrinks toward it.
const (
	// CommandPoolDemand carries a node's share of the queue and its drain
	// state (PoolDemand → PoolTargets). The cloud sends it when either
	// changes and again now and then, so a node that reconnected learns
	// it.
	CommandPoolDemand = "pool.demand"
)

// MaxDemand bounds one class's queued count in a PoolDemand.
const MaxDemand = 4096

// PoolDemand is CommandPoolDemand's argument.
type PoolDemand struct {
	// Queued is how many queued sessions this node is asked to make room
	// for, by container class; the key "" counts sessions that take any
	// class.
	Queued map[string]int `json:"queued,omitempty"`
	// Drain: the node is draining. It gets no new claims, so it keeps no
	// idle containers: its pool empties as its sessions move away.
	Drain bool `json:"drain,omitempty"`
}

var classRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks a decoded PoolDemand.
func (d PoolDemand) Validate() error {
	if len(d.Queued) > 64 {
		return fmt.Errorf("pool demand: %d classes, at most 64", len(d.Queued))
	}
	for k, v := range d.Queued {
		if k != "" && !classRE.MatchString(k) {
			return fmt.Errorf("pool demand: class %q is not valid", k)
		}
		if v < 0 || v > MaxDemand {
			return fmt.Errorf("pool demand: class %q: %d queued, want 0 to %d", k, v, MaxDemand)
		}
	}
	return nil
}

// PoolTargets answers CommandPoolDemand: the node's bounds and targets as
// it last decided them.
type PoolTargets struct {
	Classes []ClassTarget `json:"classes"`
}

// ClassTarget is one class of a PoolTargets.
type ClassTarget struct {
	Name string `json:"name"`
	// Min and Max bound the class's containers (claimed ones included);
	// Min equals Max in a fixed pool.
	Min int `json:"min"`
	Max int `json:"max"`
	// Target is how many the pool holds now or is moving to.
	Target int `json:"target"`
}
