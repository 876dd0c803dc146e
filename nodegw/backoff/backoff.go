// Package backoff computes reconnect delays: exponential with full jitter
// (a uniformly random delay between zero and the capped exponential), as
// described in AWS's "Exponential Backoff And Jitter". It is a few lines,
// and the libraries that exist (cenkalti/backoff, sethvargo/go-retry)
// implement proportional jitter, which still synchronizes a herd.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a backoff policy. The zero value uses Base 500 ms and Cap 60 s.
type Policy struct {
	// Base is the ceiling of the first delay. Zero means 500 ms.
	Base time.Duration
	// Cap is the largest ceiling. Zero means 60 s.
	Cap time.Duration
	// Rand returns a uniform float64 in [0,1). Nil means math/rand/v2.
	Rand func() float64
}

// Ceiling returns the upper bound of the delay before retry number attempt
// (0-based): min(Cap, Base·2^attempt).
func (p Policy) Ceiling(attempt int) time.Duration {
	base, cap := p.Base, p.Cap
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if cap <= 0 {
		cap = 60 * time.Second
	}
	d := base
	for i := 0; i < attempt && d < cap; i++ {
		d *= 2
	}
	return min(d, cap)
}

// Delay returns a random delay in [0, Ceiling(attempt)).
func (p Policy) Delay(attempt int) time.Duration {
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(r() * float64(p.Ceiling(attempt)))
}
