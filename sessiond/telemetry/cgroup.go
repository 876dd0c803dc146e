package telemetry

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroup reads the limits and usage of the cgroup sessiond runs in, from the
// files a container runtime mounts at /sys/fs/cgroup: v2's unified files or
// v1's per-controller directories.
type cgroup struct {
	version int // 0 when no cgroup files were found
	root    string
	cpuDir  string // v1: directory holding cpu.cfs_*; v2: root
	acctDir string // v1: directory holding cpuacct.usage
	memDir  string
}

func detectCgroup(root string) cgroup {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return cgroup{version: 2, root: root, cpuDir: root, acctDir: root, memDir: root}
	}
	cg := cgroup{version: 1, root: root}
	for _, d := range []string{"cpu", "cpu,cpuacct"} {
		if exists(filepath.Join(root, d, "cpu.cfs_quota_us")) {
			cg.cpuDir = filepath.Join(root, d)
			break
		}
	}
	for _, d := range []string{"cpuacct", "cpu,cpuacct"} {
		if exists(filepath.Join(root, d, "cpuacct.usage")) {
			cg.acctDir = filepath.Join(root, d)
			break
		}
	}
	if exists(filepath.Join(root, "memory", "memory.limit_in_bytes")) {
		cg.memDir = filepath.Join(root, "memory")
	}
	if cg.cpuDir == "" && cg.acctDir == "" && cg.memDir == "" {
		return cgroup{}
	}
	return cg
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// cpuLimit returns the CPU quota in cores, or 0 when unlimited or unknown.
func (c cgroup) cpuLimit() float64 {
	switch c.version {
	case 2:
		f := strings.Fields(readString(filepath.Join(c.cpuDir, "cpu.max")))
		if len(f) == 2 && f[0] != "max" {
			q, err1 := strconv.ParseFloat(f[0], 64)
			p, err2 := strconv.ParseFloat(f[1], 64)
			if err1 == nil && err2 == nil && p > 0 {
				return q / p
			}
		}
	case 1:
		if c.cpuDir == "" {
			return 0
		}
		q, ok1 := readInt(filepath.Join(c.cpuDir, "cpu.cfs_quota_us"))
		p, ok2 := readInt(filepath.Join(c.cpuDir, "cpu.cfs_period_us"))
		if ok1 && ok2 && q > 0 && p > 0 {
			return float64(q) / float64(p)
		}
	}
	return 0
}

// cpuUsage returns the cgroup's cumulative CPU time in nanoseconds.
func (c cgroup) cpuUsage() (int64, bool) {
	switch c.version {
	case 2:
		v, ok := statField(filepath.Join(c.acctDir, "cpu.stat"), "usage_usec")
		return v * 1000, ok
	case 1:
		if c.acctDir == "" {
			return 0, false
		}
		return readInt(filepath.Join(c.acctDir, "cpuacct.usage"))
	}
	return 0, false
}

// unlimitedMem is above any real limit: v1 reports "no limit" as a huge
// page-aligned number rather than "max".
const unlimitedMem = 1 << 60

// memLimit returns the memory limit in bytes, or 0 when unlimited.
func (c cgroup) memLimit() int64 {
	var file string
	switch c.version {
	case 2:
		file = "memory.max"
	case 1:
		file = "memory.limit_in_bytes"
	default:
		return 0
	}
	if c.memDir == "" {
		return 0
	}
	v, ok := readInt(filepath.Join(c.memDir, file))
	if !ok || v <= 0 || v >= unlimitedMem {
		return 0
	}
	return v
}

// memUsed returns the working set: usage minus inactive page cache, as
// `docker stats` and the kubelet count it.
func (c cgroup) memUsed() (int64, bool) {
	var usage, inactive string
	switch c.version {
	case 2:
		usage, inactive = "memory.current", "inactive_file"
	case 1:
		usage, inactive = "memory.usage_in_bytes", "total_inactive_file"
	default:
		return 0, false
	}
	if c.memDir == "" {
		return 0, false
	}
	u, ok := readInt(filepath.Join(c.memDir, usage))
	if !ok {
		return 0, false
	}
	if in, ok := statField(filepath.Join(c.memDir, "memory.stat"), inactive); ok && in < u {
		u -= in
	}
	return u, true
}

func readString(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

func readInt(p string) (int64, bool) {
	s := readString(p)
	if s == "" || s == "max" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func statField(p, key string) (int64, bool) {
	f, err := os.Open(p)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
