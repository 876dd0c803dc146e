package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"gatewave.dev/shared/fleetproto"
)

// Elastic pools. A fixed pool holds each class's Count containers. An
// elastic one (Options.Elastic) holds between the class's Min and Count:
// it grows at once when the cloud's queue share for the node
// (fleetproto.PoolDemand) or its own recent claims rise, and shrinks back
// only after demand has stayed lower for a cool-down, retiring idle
// containers (never claimed ones: those end only when released). A
// draining node keeps no idle containers at all, elastic or not.

// Elastic configures an elastic pool.
type Elastic struct {
	// CoolDown is how long demand must stay below a class's target
	// before the class shrinks; 0 means 5 minutes.
	CoolDown time.Duration
	// Window is how far back claims count as demand (a claim rate of N
	// per Window keeps N more containers warm); 0 means 10 minutes.
	Window time.Duration
	// Now is the clock; nil means time.Now. Tests move it by hand.
	Now func() time.Time
}

func (e *Elastic) defaults() {
	if e.CoolDown <= 0 {
		e.CoolDown = 5 * time.Minute
	}
	if e.Window <= 0 {
		e.Window = 10 * time.Minute
	}
	if e.Now == nil {
		e.Now = time.Now
	}
}

// elasticState is what the pool knows of demand; guarded by Pool.mu.
type elasticState struct {
	demand  fleetproto.PoolDemand
	targets map[string]Target      // by class (elastic pools)
	claims  map[string][]time.Time // by class: claims within the window
}

// Signals are what a class's target is decided from.
type Signals struct {
	// Min and Max bound the target.
	Min, Max int
	// Claimed containers serve sessions now.
	Claimed int
	// Queued sessions the cloud asks this node to make room for.
	Queued int
	// Claims is how many claims the class had within the window.
	Claims int
	// Drain: the node takes no new claims, so it needs no container
	// beyond those claimed.
	Drain bool
}

// Target is a class's target and what its hysteresis remembers.
type Target struct {
	N int
	// LowSince is when demand first fell below N and has stayed there
	// since; zero while it has not.
	LowSince time.Time
}

// NextTarget decides a class's target from the current one: demand is
// the claimed containers plus the queue share plus the claims of the
// window, within [Min, Max]. The target rises to demand at once; it falls
// only once demand has stayed below it for coolDown, so demand that comes
// and goes does not make the pool flap. Draining, it is 0 (claimed
// containers stay until released; nothing is started).
func NextTarget(cur Target, s Signals, now time.Time, coolDown time.Duration) Target {
	if s.Drain {
		return Target{}
	}
	want := min(max(s.Claimed+s.Queued+s.Claims, s.Min), s.Max)
	switch {
	case want >= cur.N:
		return Target{N: want}
	case cur.LowSince.IsZero():
		return Target{N: cur.N, LowSince: now}
	case now.Sub(cur.LowSince) >= coolDown:
		return Target{N: want}
	default:
		return cur
	}
}

// Demand is the gateway's handler of fleetproto.CommandPoolDemand: it
// records the cloud's demand, lets the pool act on it, and answers with
// the targets as last decided.
func (p *Pool) Demand(_ context.Context, cmd *fleetproto.Command) ([]byte, error) {
	var d fleetproto.PoolDemand
	if err := json.Unmarshal(cmd.Args, &d); err != nil {
		return nil, fmt.Errorf("pool demand: %w", err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	if d.Drain != p.el.demand.Drain {
		p.log.Info("pool drain", "draining", d.Drain)
	}
	p.el.demand = d
	p.mu.Unlock()
	p.kickFill()
	return json.Marshal(p.Targets())
}

// Targets returns every class's bounds and target.
func (p *Pool) Targets() fleetproto.PoolTargets {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out fleetproto.PoolTargets
	for _, cl := range p.opts.Classes {
		out.Classes = append(out.Classes, fleetproto.ClassTarget{Name: cl.Name, Min: p.minOf(cl), Max: cl.Count, Target: p.targetOf(cl)})
	}
	return out
}

// minOf is cl's lower bound: Min when elastic, Count when fixed.
func (p *Pool) minOf(cl Class) int {
	if p.opts.Elastic == nil {
		return cl.Count
	}
	return cl.Min
}

// targetOf must be called with p.mu held.
func (p *Pool) targetOf(cl Class) int {
	if p.el.demand.Drain {
		return 0
	}
	if p.opts.Elastic == nil {
		return cl.Count
	}
	return p.el.targets[cl.Name].N
}

// noteClaim counts a claim of class; p.mu held.
func (p *Pool) noteClaim(class string) {
	if p.opts.Elastic != nil {
		p.el.claims[class] = append(p.el.claims[class], p.opts.Elastic.Now())
	}
}

// decide updates every class's target and picks the idle containers
// beyond it, now in state Destroying, for the caller to remove. p.mu held.
func (p *Pool) decide() []Container {
	if p.opts.Elastic != nil {
		now := p.opts.Elastic.Now()
		anyQueued := p.el.demand.Queued[""]
		for _, cl := range p.opts.Classes {
			kept := p.el.claims[cl.Name][:0]
			for _, at := range p.el.claims[cl.Name] {
				if now.Sub(at) < p.opts.Elastic.Window {
					kept = append(kept, at)
				}
			}
			p.el.claims[cl.Name] = kept
			s := Signals{Min: cl.Min, Max: cl.Count, Claims: len(kept), Queued: p.el.demand.Queued[cl.Name], Drain: p.el.demand.Drain}
			for _, e := range p.containers {
				if e.Class == cl.Name && e.State == Claimed {
					s.Claimed++
				}
			}
			// Sessions that take any class go to the first class with
			// room, as a claim without a class does (Claim).
			room := max(0, s.Max-(s.Claimed+s.Queued+s.Claims))
			take := min(room, anyQueued)
			s.Queued += take
			anyQueued -= take
			prev := p.el.targets[cl.Name]
			next := NextTarget(prev, s, now, p.opts.Elastic.CoolDown)
			if next.N != prev.N {
				p.log.Info("pool target", "class", cl.Name, "from", prev.N, "to", next.N, "claimed", s.Claimed,
					"queued", s.Queued, "claims", s.Claims, "draining", s.Drain)
			}
			p.el.targets[cl.Name] = next
		}
	}
	var out []Container
	for _, cl := range p.opts.Classes {
		// p.starting counts every container being started, those already
		// in p.containers (state Starting) too, until start returns.
		live := p.starting[cl.Name]
		var idle []*entry
		for _, e := range p.containers {
			if e.Class != cl.Name {
				continue
			}
			switch e.State {
			case Claimed:
				live++
			case Idle:
				live++
				idle = append(idle, e)
			}
		}
		// The newest idle ones go first: the oldest have proved healthy
		// the longest.
		sort.Slice(idle, func(i, j int) bool { return idle[i].Since.After(idle[j].Since) })
		for _, e := range idle {
			if live <= p.targetOf(cl) {
				break
			}
			p.setState(e, Destroying)
			out = append(out, e.Container)
			live--
		}
	}
	return out
}

// shrink removes idle containers decide picked. They never held a
// user's work: nothing to save.
func (p *Pool) shrink(cs []Container) {
	if len(cs) == 0 {
		return
	}
	p.changed()
	for _, c := range cs {
		p.log.Info("idle container retired", "container", c.Name, "class", c.Class)
		p.bg.Go(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), time.Minute)
			defer cancel()
			p.destroy(ctx, c)
		})
	}
}
