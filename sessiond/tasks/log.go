package tasks

import (
	"fmt"
	"sync"
)

// outputLog is a task's combined stdout and stderr. It keeps the first and
// the last half of maxBytes; when a task writes more, the middle is dropped
// and a reader that reaches the gap is told how much it missed. Readers track
// an absolute offset into the stream, so a late joiner starts at 0 and sees
// everything still held.
type outputLog struct {
	mu      sync.Mutex
	half    int
	head    []byte
	tail    []byte // bytes [tailAt, total)
	tailAt  int64
	total   int64
	closed  bool
	changed chan struct{} // closed and replaced on every write and on close
}

func newOutputLog(maxBytes int) *outputLog {
	return &outputLog{half: maxBytes / 2, changed: make(chan struct{})}
}

// Write appends p; it never fails, so a chatty build is never blocked or
// killed by its log.
func (l *outputLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if room := l.half - len(l.head); room > 0 && l.total == int64(len(l.head)) {
		k := min(room, len(p))
		l.head = append(l.head, p[:k]...)
		l.total += int64(k)
		l.tailAt = l.total
		p = p[k:]
	}
	if len(p) > 0 {
		l.tail = append(l.tail, p...)
		l.total += int64(len(p))
		if over := len(l.tail) - l.half; over > 0 {
			// Shift rarely: only once the tail holds twice what it keeps.
			if len(l.tail) >= 2*l.half || len(p) >= l.half {
				keep := l.tail[over:]
				l.tail = append(make([]byte, 0, 2*l.half), keep...)
				l.tailAt += int64(over)
			}
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return n, nil
}

// finish marks the end of output; readers then see done.
func (l *outputLog) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// readFrom returns a copy of the output from offset off (or a note about the
// dropped middle), the offset to read from next, a channel closed when more
// arrives, and whether the log is complete and fully read.
func (l *outputLog) readFrom(off int64) (data []byte, next int64, wait <-chan struct{}, done bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case off < int64(len(l.head)):
		data = append([]byte(nil), l.head[off:]...)
		next = int64(len(l.head))
	case off < l.tailAt:
		data = fmt.Appendf(nil, "\n[... %d bytes of output dropped: the log keeps the first and last %d KiB ...]\n", l.tailAt-off, l.half>>10)
		next = l.tailAt
	case off < l.total:
		data = append([]byte(nil), l.tail[off-l.tailAt:]...)
		next = l.total
	default:
		next = off
	}
	return data, next, l.changed, l.closed && next >= l.total
}

// size is the number of bytes written so far, retained or not.
func (l *outputLog) size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}
