package fleetproto

import (
	"strings"
	"testing"
)

func TestPoolDemandValidate(t *testing.T) {
	tests := []struct {
		name string
		d    PoolDemand
		err  string
	}{
		{"empty", PoolDemand{}, ""},
		{"any and a class", PoolDemand{Queued: map[string]int{"": 3, "burst": 1}, Drain: true}, ""},
		{"bad class", PoolDemand{Queued: map[string]int{"../x": 1}}, "not valid"},
		{"negative", PoolDemand{Queued: map[string]int{"standard": -1}}, "want 0 to"},
		{"too many", PoolDemand{Queued: map[string]int{"standard": MaxDemand + 1}}, "want 0 to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.err)
			}
		})
	}
}
