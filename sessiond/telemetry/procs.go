package telemetry

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// procStat is what the process table needs from /proc/PID/stat.
type procStat struct {
	pid   int32
	ppid  int32
	name  string
	ticks uint64 // utime + stime, in clock ticks
	rss   int64  // bytes
}

// readProcs reads /proc/*/stat: one small file per process. gopsutil's
// process API reads three files per process (stat, statm, status) to get
// the same figures, which would cost the 1 s telemetry stream most of its
// idle-CPU budget on a busy host.
//
// Kernel threads (children of kthreadd, PID 2) are listed in skip by the
// caller once seen and not read again: they have no memory, are not the
// user's, and are half the process table of a typical host.
func readProcs(proc string, buf []byte, skip map[int32]bool) ([]procStat, int, []byte) {
	d, err := os.Open(proc)
	if err != nil {
		return nil, 0, buf
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	out := make([]procStat, 0, len(names))
	count := 0
	page := int64(os.Getpagesize())
	for _, n := range names {
		pid, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			continue
		}
		count++
		if skip[int32(pid)] {
			continue
		}
		// Raw syscalls: os.Open would also try (and fail) to register each
		// /proc file with the network poller, a third syscall per process.
		fd, err := unix.Open(proc+"/"+n+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		buf = buf[:cap(buf)]
		k, err := unix.Read(fd, buf)
		unix.Close(fd)
		if err != nil || k <= 0 {
			continue
		}
		if ps, ok := parseStat(buf[:k], page); ok {
			ps.pid = int32(pid)
			out = append(out, ps)
		}
	}
	return out, count, buf
}

// parseStat parses "pid (comm) state ppid ... utime stime ... rss ...".
// comm may hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte, page int64) (procStat, bool) {
	l, r := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if l < 0 || r < l {
		return procStat{}, false
	}
	ps := procStat{name: string(b[l+1 : r])}
	fields := bytes.Fields(b[r+1:])
	// After comm: state(0) ppid(1) ... utime(11) stime(12) ... rss(21).
	if len(fields) < 22 {
		return procStat{}, false
	}
	ppid, _ := strconv.ParseInt(string(fields[1]), 10, 32)
	ps.ppid = int32(ppid)
	ut, _ := strconv.ParseUint(string(fields[11]), 10, 64)
	st, _ := strconv.ParseUint(string(fields[12]), 10, 64)
	rss, _ := strconv.ParseInt(string(fields[21]), 10, 64)
	ps.ticks = ut + st
	ps.rss = rss * page
	return ps, true
}
