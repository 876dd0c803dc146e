package pool

import "testing"

func TestPlan(t *testing.T) {
	tests := []struct {
		name          string
		cores         int
		mem           int64
		sizing        Sizing
		standard, bur int
	}{
		{"architecture node 56c/128GiB", 56, 128 * gib, Sizing{}, 13, 8},
		{"small node 8c/16GiB", 8, 16 * gib, Sizing{}, 1, 8},
		{"memory bound 56c/32GiB", 56, 32 * gib, Sizing{}, 3, 8},
		{"factor 3", 56, 128 * gib, Sizing{Oversubscribe: 3}, 13, 12},
		{"no burst", 56, 128 * gib, Sizing{Oversubscribe: -1}, 13, 0},
		{"pinned counts", 2, 2 * gib, Sizing{StandardCount: 3, BurstCount: 5}, 3, 5},
		{"tiny test sizes", 2, 24 * gib, Sizing{Standard: Size{CPUs: 0.25, MemoryBytes: 64 * mib}, Burst: Size{CPUs: 0.1, MemoryBytes: 32 * mib}, SpareCores: 1, HostMemoryBytes: gib}, 4, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			classes, err := Plan(tt.cores, tt.mem, tt.sizing)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, c := range classes {
				got[c.Name] = c.Count
			}
			if got["standard"] != tt.standard || got["burst"] != tt.bur {
				t.Fatalf("Plan = %v, want standard %d burst %d", got, tt.standard, tt.bur)
			}
		})
	}
	if _, err := Plan(1, gib, Sizing{}); err == nil {
		t.Fatal("a node too small for any container must be refused")
	}
}

func TestReserved(t *testing.T) {
	classes := []Class{{Name: "standard", Size: Size{CPUs: 4, MemoryBytes: 8 << 30}, Count: 2},
		{Name: "burst", Size: Size{CPUs: 1, MemoryBytes: 512 << 20}, Count: 8}}
	cpus, mem := Reserved(classes, 12)
	if cpus != 12 || mem != 16<<30+4<<30 {
		t.Fatalf("reserved %v cores, %d bytes; want 12 (capped at the node's) and 20 GiB", cpus, mem)
	}
	if cpus, _ := Reserved(classes[:1], 12); cpus != 8 {
		t.Fatalf("standard only: %v cores", cpus)
	}
}
