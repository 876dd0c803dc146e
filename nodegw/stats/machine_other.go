//go:build !linux

package stats

import (
	"fmt"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/mem"
)

// machineCPU is the machine's CPU time in hundredths of a second, busy
// being everything but idle and iowait, as readCPU has it on Linux.
func (s *Sampler) machineCPU() (cpuTimes, error) {
	ts, err := cpu.Times(false)
	if err != nil || len(ts) == 0 {
		return cpuTimes{}, fmt.Errorf("cpu times: %v", err)
	}
	t := ts[0]
	ticks := func(sec float64) uint64 { return uint64(sec * 100) }
	idle := ticks(t.Idle) + ticks(t.Iowait)
	busy := ticks(t.User) + ticks(t.Nice) + ticks(t.System) + ticks(t.Irq) + ticks(t.Softirq) + ticks(t.Steal)
	return cpuTimes{total: busy + idle, busy: busy}, nil
}

func (s *Sampler) machineMem() (total, avail uint64, err error) {
	vm, err := mem.VirtualMemory()
	if err != nil {
		return 0, 0, fmt.Errorf("memory: %w", err)
	}
	return vm.Total, vm.Available, nil
}
