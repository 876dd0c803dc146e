package terminal

import "sync"

// scrollback keeps the most recent output of a terminal. Readers track an
// absolute offset, so a reattaching client replays what is still held and a
// live one follows new output without the reader ever blocking the shell.
type scrollback struct {
	mu      sync.Mutex
	max     int
	buf     []byte // bytes [start, start+len(buf))
	start   int64
	closed  bool
	changed chan struct{}
}

func newScrollback(max int) *scrollback {
	return &scrollback{max: max, changed: make(chan struct{})}
}

func (s *scrollback) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	// Trim in batches (at twice the limit) so small writes stay cheap.
	if len(s.buf) >= 2*s.max {
		drop := len(s.buf) - s.max
		s.buf = append(make([]byte, 0, 2*s.max), s.buf[drop:]...)
		s.start += int64(drop)
	}
	s.notifyLocked()
	return len(p), nil
}

func (s *scrollback) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.notifyLocked()
}

func (s *scrollback) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// recent is the offset a reattaching client starts from: at most max bytes
// back from the end.
func (s *scrollback) recent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.start, s.start+int64(len(s.buf))-int64(s.max))
}

// readFrom copies what follows off (skipping anything already dropped), and
// returns the next offset, a channel closed on change, and whether the
// output is complete and fully read.
func (s *scrollback) readFrom(off int64, limit int) (data []byte, next int64, wait <-chan struct{}, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	off = max(off, s.start)
	end := s.start + int64(len(s.buf))
	if off < end {
		n := min(end-off, int64(limit))
		data = append([]byte(nil), s.buf[off-s.start:off-s.start+n]...)
		off += n
	}
	return data, off, s.changed, s.closed && off >= end
}
