package telemetry

import (
	"os"
	"path/filepath"
	"testing"
)

func files(t *testing.T, root string, m map[string]string) {
	t.Helper()
	for p, v := range m {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCgroupFiles(t *testing.T) {
	tests := []struct {
		name              string
		files             map[string]string
		version           int
		cores             float64
		memLimit, memUsed int64
		usageNS           int64
	}{
		{"v2 limited", map[string]string{
			"cgroup.controllers": "cpu memory",
			"cpu.max":            "150000 100000\n",
			"cpu.stat":           "usage_usec 2500\nuser_usec 2000\n",
			"memory.max":         "268435456\n",
			"memory.current":     "100000000\n",
			"memory.stat":        "anon 1\ninactive_file 1000000\n",
		}, 2, 1.5, 268435456, 99000000, 2500000},
		{"v2 unlimited", map[string]string{
			"cgroup.controllers": "",
			"cpu.max":            "max 100000\n",
			"cpu.stat":           "usage_usec 1\n",
			"memory.max":         "max\n",
			"memory.current":     "5\n",
		}, 2, 0, 0, 5, 1000},
		{"v1 limited", map[string]string{
			"cpu,cpuacct/cpu.cfs_quota_us":  "200000\n",
			"cpu,cpuacct/cpu.cfs_period_us": "100000\n",
			"cpu,cpuacct/cpuacct.usage":     "123456789\n",
			"memory/memory.limit_in_bytes":  "268435456\n",
			"memory/memory.usage_in_bytes":  "50000000\n",
			"memory/memory.stat":            "cache 1\ntotal_inactive_file 10000000\n",
		}, 1, 2, 268435456, 40000000, 123456789},
		{"v1 unlimited", map[string]string{
			"cpu/cpu.cfs_quota_us":         "-1\n",
			"cpu/cpu.cfs_period_us":        "100000\n",
			"cpuacct/cpuacct.usage":        "7\n",
			"memory/memory.limit_in_bytes": "9223372036854771712\n",
			"memory/memory.usage_in_bytes": "8\n",
		}, 1, 0, 0, 8, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			files(t, root, tc.files)
			cg := detectCgroup(root)
			if cg.version != tc.version {
				t.Fatalf("version %d", cg.version)
			}
			if got := cg.cpuLimit(); got != tc.cores {
				t.Errorf("cpuLimit %v want %v", got, tc.cores)
			}
			if got := cg.memLimit(); got != tc.memLimit {
				t.Errorf("memLimit %v want %v", got, tc.memLimit)
			}
			if got, _ := cg.memUsed(); got != tc.memUsed {
				t.Errorf("memUsed %v want %v", got, tc.memUsed)
			}
			if got, _ := cg.cpuUsage(); got != tc.usageNS {
				t.Errorf("cpuUsage %v want %v", got, tc.usageNS)
			}
		})
	}
	if cg := detectCgroup(t.TempDir()); cg.version != 0 {
		t.Fatalf("empty dir detected as cgroup v%d", cg.version)
	}
}

func TestParseStat(t *testing.T) {
	line := "42 (my (odd) proc) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 100 1000000 256 18446744073709551615"
	ps, ok := parseStat([]byte(line), 4096)
	if !ok || ps.name != "my (odd) proc" || ps.ticks != 200 || ps.rss != 256*4096 {
		t.Fatalf("%+v %v", ps, ok)
	}
	if _, ok := parseStat([]byte("garbage"), 4096); ok {
		t.Fatal("parsed garbage")
	}
}
