package fleetproto

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestStatsRoundTrip(t *testing.T) {
	in := &Stats{Node: Usage{CPUCores: 1.5, CPULimit: 8, MemoryBytes: 3 << 30, MemoryLimitBytes: 16 << 30},
		Containers: []ContainerStats{{ID: "0123456789ab", Name: "gw-1", Kind: StatsSession, Usage: Usage{CPUCores: 0.25, CPULimit: 4, MemoryBytes: 1 << 20}}},
		Omitted:    3}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got := m.(*Stats)
	if got.Node != in.Node || len(got.Containers) != 1 || got.Containers[0] != in.Containers[0] || got.Omitted != 3 {
		t.Fatalf("round trip: got %+v", got)
	}
}

func TestStatsRefusesWhatANodeMustNotSend(t *testing.T) {
	ok := `{"id":"0123456789ab","name":"c","kind":"session","cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0}`
	many := strings.TrimSuffix(strings.Repeat(ok+",", MaxStatsContainers+1), ",")
	tests := []struct{ name, data, want string }{
		{"too many containers", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[` + many + `]}`, "at most"},
		{"negative cpu", `{"node":{"cpu_cores":-1,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[]}`, "out of range"},
		{"absurd cpu", `{"node":{"cpu_cores":1e300,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[]}`, "out of range"},
		{"negative memory", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":-5,"memory_limit_bytes":0},"containers":[]}`, "cannot unmarshal"},
		{"bad id", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[{"id":"../x","name":"c","kind":"task","cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0}]}`, "not valid"},
		{"bad kind", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[{"id":"0123456789ab","name":"c","kind":"host","cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0}]}`, "kind"},
		{"long name", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[{"id":"0123456789ab","name":"` + strings.Repeat("x", 129) + `","kind":"task","cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0}]}`, "longer"},
		{"NUL in a name", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[{"id":"0123456789ab","name":"a\u0000b","kind":"task","cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0}]}`, "UTF-8 text"},
		{"unknown field", `{"node":{"cpu_cores":0,"cpu_limit":0,"memory_bytes":0,"memory_limit_bytes":0},"containers":[],"exec":"rm"}`, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(fmt.Sprintf(`{"type":"stats","data":%s}`, tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if err := (&Stats{Node: Usage{CPUCores: math.NaN()}}).validate(); err == nil {
		t.Fatal("NaN accepted")
	}
}

// A full report of the longest names still fits in one frame.
func TestStatsFullReportFitsAFrame(t *testing.T) {
	s := &Stats{}
	for i := range MaxStatsContainers {
		s.Containers = append(s.Containers, ContainerStats{ID: fmt.Sprintf("%064x", i), Name: strings.Repeat("n", 128), Kind: StatsTask,
			Usage: Usage{CPUCores: 1234.5678901234, CPULimit: 4096, MemoryBytes: math.MaxUint64, MemoryLimitBytes: math.MaxUint64}})
	}
	b, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxFrame {
		t.Fatalf("%d bytes > MaxFrame %d", len(b), MaxFrame)
	}
}
