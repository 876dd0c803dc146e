// Package resources measures what a compute node offers: CPU cores, RAM,
// disk and GPUs (through nvidia-smi when it is installed).
package resources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	"github.com/shirou/gopsutil/v3/mem"

	"gatewave.dev/shared/fleetproto"
)

// Probe measures the machine. diskPath is the file system whose size is
// reported ("" means "/").
func Probe(ctx context.Context, diskPath string) (fleetproto.Resources, error) {
	var r fleetproto.Resources
	n, err := cpu.CountsWithContext(ctx, true)
	if err != nil {
		return r, fmt.Errorf("count CPUs: %w", err)
	}
	r.CPUCores = n
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return r, fmt.Errorf("read memory: %w", err)
	}
	r.MemoryBytes = vm.Total
	if diskPath == "" {
		diskPath = "/"
	}
	du, err := disk.UsageWithContext(ctx, diskPath)
	if err != nil {
		return r, fmt.Errorf("disk usage of %q: %w", diskPath, err)
	}
	r.DiskBytes = du.Total
	r.GPUs, err = GPUs(ctx)
	return r, err
}

// GPUs lists NVIDIA GPUs with nvidia-smi. No nvidia-smi means no GPUs.
func GPUs(ctx context.Context) ([]fleetproto.GPU, error) {
	bin, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, nil
	}
	out, err := exec.CommandContext(ctx, bin, "--query-gpu=index,name,uuid,memory.total", "--format=csv,noheader,nounits").Output()
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi: %w", err)
	}
	return ParseNvidiaSMI(out)
}

// ParseNvidiaSMI parses `nvidia-smi --query-gpu=index,name,uuid,memory.total
// --format=csv,noheader,nounits` output (memory in MiB).
func ParseNvidiaSMI(out []byte) ([]fleetproto.GPU, error) {
	var gpus []fleetproto.GPU
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 4 {
			return nil, fmt.Errorf("nvidia-smi line %q: want 4 fields", line)
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		idx, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("nvidia-smi index %q: %w", f[0], err)
		}
		mib, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("nvidia-smi memory %q: %w", f[3], err)
		}
		gpus = append(gpus, fleetproto.GPU{Index: idx, Name: f[1], UUID: f[2], MemoryBytes: mib << 20})
	}
	if len(gpus) == 0 {
		return nil, errors.New("nvidia-smi listed no GPUs")
	}
	return gpus, sc.Err()
}
