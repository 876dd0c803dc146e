package pool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

func (p *Pool) probe(ctx context.Context, c Container) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://sessiond/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := p.controlClient(c, "sessiond.sock").Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s", resp.Status)
	}
	return nil
}

func (p *Pool) waitHealthy(ctx context.Context, c Container) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := p.probe(ctx, c)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sessiond of %s: %w (last: %v)", c.Name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// checkHealth probes idle and claimed containers, all at once so a slow
// one delays none of the others. A container that is not running fails at
// once; a running one only after failing every probe for UnhealthyAfter
// (a build that pegs the CPU slows sessiond's answers, it does not end the
// session).
func (p *Pool) checkHealth(ctx context.Context) {
	var check []Container
	p.mu.Lock()
	for _, e := range p.containers {
		if (e.State == Idle || e.State == Claimed) && !e.retiring {
			check = append(check, e.Container)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range check {
		wg.Go(func() { p.checkOne(ctx, c) })
	}
	wg.Wait()
}

func (p *Pool) checkOne(ctx context.Context, c Container) {
	err := p.probe(ctx, c)
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	if err == nil {
		p.mu.Lock()
		if e, ok := p.containers[c.ID]; ok {
			e.failures, e.failSince = 0, time.Time{}
		}
		p.mu.Unlock()
		return
	}
	running, why := true, ""
	if ins, ierr := p.docker.ContainerInspect(ctx, c.ID); ierr != nil || ins.State == nil || !ins.State.Running {
		running = false
		if ierr == nil && ins.State != nil && ins.State.OOMKilled {
			why = " (OOM-killed)"
		}
	}
	p.mu.Lock()
	var n int
	var since time.Time
	if e, ok := p.containers[c.ID]; ok {
		e.failures++
		if e.failSince.IsZero() {
			e.failSince = now
		}
		n, since = e.failures, e.failSince
	}
	p.mu.Unlock()
	if !running {
		p.fail(c, fmt.Errorf("not running%s: %w", why, err))
		return
	}
	if n >= 2 && now.Sub(since) >= p.opts.UnhealthyAfter {
		p.fail(c, fmt.Errorf("unhealthy for %s: %w", now.Sub(since).Round(time.Second), err))
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
				if c, ok := p.Get(m.Actor.ID); ok && (c.State == Idle || c.State == Claimed || c.State == Starting) {
					// Not "oom" events: a build killed for memory leaves
					// the container (and the session) running.
					why := "container died"
					if code := m.Actor.Attributes["exitCode"]; code != "" {
						why += " (exit " + code + ")"
					}
					p.fail(c, errors.New(why))
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
