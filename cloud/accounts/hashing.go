package accounts

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy is returned when every password-hashing slot is taken and the
// queue for them is full (or a wait ran out): the request is refused at
// once (503 with Retry-After) instead of piling up.
var ErrBusy = errors.New("too many sign-ins at once; try again in a moment")

// HashLimit bounds concurrent argon2id work. Each hash holds
// Argon2Params.MemoryKiB of memory and a core for its duration, so without
// a bound a flood of sign-ins (or git requests with passwords) would take
// all of both.
type HashLimit struct {
	// Concurrency is how many hashes run at once; 0 means GOMAXPROCS.
	Concurrency int
	// Queue is how many more requests may wait for a slot; 0 means four
	// per slot, negative means none wait.
	Queue int
	// MaxWait is the longest a request waits for a slot; 0 means 2 s.
	MaxWait time.Duration
}

// hasher is a semaphore with a bounded queue.
type hasher struct {
	slots   chan struct{}
	queue   int64
	maxWait time.Duration
	waiting atomic.Int64
	// running and peak count hashes in progress (peak is the most ever
	// seen at once), for tests and metrics.
	running, peak atomic.Int64
}

func newHasher(l HashLimit) *hasher {
	if l.Concurrency <= 0 {
		l.Concurrency = runtime.GOMAXPROCS(0)
	}
	switch {
	case l.Queue == 0:
		l.Queue = 4 * l.Concurrency
	case l.Queue < 0:
		l.Queue = 0
	}
	if l.MaxWait <= 0 {
		l.MaxWait = 2 * time.Second
	}
	return &hasher{slots: make(chan struct{}, l.Concurrency), queue: int64(l.Queue), maxWait: l.MaxWait}
}

// do runs f in a slot, waiting for one while ctx lasts, MaxWait has not
// passed and the queue has room.
func (h *hasher) do(ctx context.Context, f func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		if h.waiting.Add(1) > h.queue {
			h.waiting.Add(-1)
			return ErrBusy
		}
		t := time.NewTimer(h.maxWait)
		select {
		case h.slots <- struct{}{}:
			h.waiting.Add(-1)
			t.Stop()
		case <-t.C:
			h.waiting.Add(-1)
			return ErrBusy
		case <-ctx.Done():
			h.waiting.Add(-1)
			t.Stop()
			return fmt.Errorf("wait to check password: %w", ctx.Err())
		}
	}
	defer func() { <-h.slots }()
	n := h.running.Add(1)
	defer h.running.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	f()
	return nil
}
