package stats

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func (s *Sampler) machineCPU() (cpuTimes, error) { return readCPU(s.opts.Proc + "/stat") }

func (s *Sampler) machineMem() (total, avail uint64, err error) {
	return readMem(s.opts.Proc + "/meminfo")
}

// readCPU reads the machine's CPU time from /proc/stat's first line: busy
// is everything but idle and iowait.
func readCPU(path string) (cpuTimes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cpuTimes{}, fmt.Errorf("cpu times: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, fmt.Errorf("cpu times: unexpected first line of %s", path)
	}
	var t cpuTimes
	for i, v := range f[1:] {
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("cpu times: %w", err)
		}
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t, nil
}

// readMem reads MemTotal and MemAvailable from /proc/meminfo, in bytes.
func readMem(path string) (total, avail uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := 0
	for sc.Scan() && seen < 2 {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "MemTotal" && k != "MemAvailable") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("memory: %s: %w", k, err)
		}
		if k == "MemTotal" {
			total = n << 10
		} else {
			avail = n << 10
		}
		seen++
	}
	if seen < 2 {
		return 0, 0, fmt.Errorf("memory: no MemTotal and MemAvailable in %s", path)
	}
	return total, avail, sc.Err()
}
