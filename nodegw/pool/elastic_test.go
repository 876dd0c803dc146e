package pool

import (
	"testing"
	"time"
)

// The policy on its own: growth at once and within the bounds, shrinking
// only after demand stayed lower for the whole cool-down, and draining.
func TestNextTarget(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	const cool = time.Minute
	type step struct {
		at   time.Duration // since t0
		s    Signals
		want int
	}
	bounds := Signals{Min: 1, Max: 4}
	with := func(f func(*Signals)) Signals { s := bounds; f(&s); return s }
	tests := []struct {
		name  string
		start Target
		steps []step
	}{
		{"idle stays at the minimum", Target{N: 1}, []step{
			{0, bounds, 1}, {time.Hour, bounds, 1},
		}},
		{"a queue grows it at once, capped at the maximum", Target{N: 1}, []step{
			{0, with(func(s *Signals) { s.Queued = 2 }), 2},
			{time.Second, with(func(s *Signals) { s.Queued = 9 }), 4},
		}},
		{"claims in the window keep containers warm", Target{N: 1}, []step{
			{0, with(func(s *Signals) { s.Claimed, s.Claims = 1, 1 }), 2},
		}},
		{"shrinks only after the cool-down", Target{N: 4}, []step{
			{0, bounds, 4},                  // demand fell: the cool-down starts
			{cool - time.Second, bounds, 4}, // not yet
			{cool, bounds, 1},               // down to the minimum
			{cool + time.Second, bounds, 1}, // and stays
		}},
		{"demand that comes back restarts the cool-down: no flapping", Target{N: 4}, []step{
			{0, bounds, 4},
			{cool / 2, with(func(s *Signals) { s.Queued = 4 }), 4}, // back up: the cool-down is over
			{cool, bounds, 4}, // low again: a new cool-down starts
			{cool + cool/2, with(func(s *Signals) { s.Queued = 4 }), 4},
			{2 * cool, bounds, 4},
			{3*cool - time.Second, bounds, 4},
			{3 * cool, bounds, 1},
		}},
		{"never below what is claimed", Target{N: 4}, []step{
			{0, with(func(s *Signals) { s.Claimed = 3 }), 4},
			{cool, with(func(s *Signals) { s.Claimed = 3 }), 3},
		}},
		{"draining wants nothing, at once; undrained it grows back", Target{N: 3}, []step{
			{0, with(func(s *Signals) { s.Claimed, s.Drain = 2, true }), 0},
			{time.Second, bounds, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := tt.start
			for i, st := range tt.steps {
				cur = NextTarget(cur, st.s, t0.Add(st.at), cool)
				if cur.N != st.want {
					t.Fatalf("step %d (%+v at %v): target %d, want %d", i, st.s, st.at, cur.N, st.want)
				}
			}
		})
	}
}
