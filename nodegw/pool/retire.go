package pool

import (
	"context"
	"math/rand/v2"
	"time"

	"gatewave.dev/shared/fleetproto"
)

// retire ends a container that holds a user's work (released, or
// recovering after it died or failed its health checks): stop it, save its
// workspace from its disk, and only then remove it. A failed save is
// reported (SaveError) and retried with backoff for as long as it takes;
// the container and its disk stay meanwhile. If the pool stops first, the
// record keeps the owner and the next nodegw's adoption picks it up.
func (p *Pool) retire(c Container, why string) {
	p.mu.Lock()
	if e, ok := p.containers[c.ID]; ok {
		if e.retiring {
			p.mu.Unlock()
			return
		}
		e.retiring = true
	}
	p.mu.Unlock()
	p.bg.Go(func() {
		ctx := p.ctx
		defer func() {
			p.mu.Lock()
			if e, ok := p.containers[c.ID]; ok {
				e.retiring = false
			}
			p.mu.Unlock()
		}()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		p.stop(sctx, c)
		cancel()
		wait := p.opts.RetryMin
		for attempt := 1; ctx.Err() == nil; attempt++ {
			err := p.save(ctx, c)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			p.log.Error("save before removal failed; keeping the container and its disk", "container", c.Name,
				"owner", c.Owner, "why", why, "attempt", attempt, "retry_in", wait, "err", err)
			p.setSaveError(c.ID, err.Error())
			// Full jitter, so a fleet of failing saves does not retry in step.
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait/2 + rand.N(wait/2+1)):
			}
			wait = min(2*wait, p.opts.RetryMax)
		}
		if ctx.Err() != nil {
			return
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		p.destroy(dctx, c)
		p.kickFill()
	})
}

func (p *Pool) save(ctx context.Context, c Container) error {
	if p.opts.Autosave == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if cur, ok := p.Get(c.ID); ok {
		c = cur
	}
	err := p.opts.Autosave(ctx, c)
	if err == nil {
		p.setSaveError(c.ID, "")
	}
	return err
}

func (p *Pool) setSaveError(id, msg string) {
	if len(msg) > fleetproto.MaxSaveError {
		msg = msg[:fleetproto.MaxSaveError-3] + "..."
	}
	p.mu.Lock()
	e, ok := p.containers[id]
	changed := ok && e.SaveError != msg
	if changed {
		e.SaveError = msg
	}
	p.mu.Unlock()
	if changed {
		p.changed()
	}
}
