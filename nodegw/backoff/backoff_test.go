package backoff

import (
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 500 * time.Millisecond}, {1, time.Second}, {2, 2 * time.Second},
		{6, 32 * time.Second}, {7, 60 * time.Second}, {1000, 60 * time.Second},
	}
	for _, tt := range tests {
		if got := p.Ceiling(tt.attempt); got != tt.want {
			t.Errorf("Ceiling(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

// Full jitter: delays cover the whole range [0, ceiling), so a herd of
// reconnecting gateways spreads out instead of arriving together.
func TestDelayIsFullJitter(t *testing.T) {
	p := Policy{}
	var lo, hi int
	for range 2000 {
		d := p.Delay(2)
		if d < 0 || d >= 2*time.Second {
			t.Fatalf("Delay(2) = %v outside [0, 2s)", d)
		}
		if d < 200*time.Millisecond {
			lo++
		}
		if d > 1800*time.Millisecond {
			hi++
		}
	}
	if lo == 0 || hi == 0 {
		t.Fatalf("delays do not span the range: %d near 0, %d near the ceiling", lo, hi)
	}
	fixed := Policy{Rand: func() float64 { return 0.5 }}
	if got := fixed.Delay(1); got != 500*time.Millisecond {
		t.Fatalf("Delay with rand 0.5 = %v", got)
	}
}
