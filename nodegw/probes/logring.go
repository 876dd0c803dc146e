package probes

import (
	"bytes"
	"sync"
)

// Default bounds of a LogRing.
const (
	DefaultLogLines = 1000
	DefaultLogBytes = 256 << 10
	// maxLogLine bounds one line; a longer one keeps its start and ends
	// with a marker.
	maxLogLine = 8 << 10
)

const cutMarker = " …[line cut]"

// LogRing is an io.Writer that keeps the last lines written to it, at most
// MaxLines lines and MaxBytes bytes together (the oldest go first). The
// nodegw command tees its slog output into one, so the logs probe can show
// an operator what the gateway did recently. It is safe for concurrent
// use; the zero value uses DefaultLogLines and DefaultLogBytes.
type LogRing struct {
	// MaxLines and MaxBytes bound what is kept; 0 means the default.
	MaxLines, MaxBytes int

	mu      sync.Mutex
	lines   []string // a ring: lines[start] is the oldest
	start   int
	n       int // lines held
	size    int // their bytes
	partial []byte
}

// NewLogRing returns a LogRing keeping at most lines lines and bytes bytes
// (0: the defaults).
func NewLogRing(lines, bytes int) *LogRing { return &LogRing{MaxLines: lines, MaxBytes: bytes} }

func (r *LogRing) limits() (int, int) {
	l, b := r.MaxLines, r.MaxBytes
	if l <= 0 {
		l = DefaultLogLines
	}
	if b <= 0 {
		b = DefaultLogBytes
	}
	return l, min(b, 1<<30)
}

// Write adds p, split into lines; a line without its newline yet waits for
// the rest (up to the line bound). It never fails.
func (r *LogRing) Write(p []byte) (int, error) {
	n := len(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine + 1 - len(r.partial)
			if room > 0 {
				r.partial = append(r.partial, p[:min(room, len(p))]...)
			}
			break
		}
		line := p[:i]
		if len(r.partial) > 0 {
			room := maxLogLine + 1 - len(r.partial)
			if room > 0 {
				r.partial = append(r.partial, line[:min(room, len(line))]...)
			}
			line, r.partial = r.partial, nil
		}
		r.add(line)
		p = p[i+1:]
	}
	return n, nil
}

// add keeps line, dropping the oldest lines while a bound is exceeded.
func (r *LogRing) add(line []byte) {
	maxLines, maxBytes := r.limits()
	if len(line) > maxLogLine {
		line = append(line[:maxLogLine:maxLogLine], cutMarker...)
	}
	if len(line) > maxBytes {
		line = line[:maxBytes]
	}
	if len(r.lines) != maxLines {
		r.compact(maxLines)
	}
	for r.n > 0 && (r.n == maxLines || r.size+len(line) > maxBytes) {
		r.size -= len(r.lines[r.start])
		r.lines[r.start] = ""
		r.start = (r.start + 1) % len(r.lines)
		r.n--
	}
	r.lines[(r.start+r.n)%len(r.lines)] = string(line)
	r.n++
	r.size += len(line)
}

// compact resizes the ring to max slots (on first use, or if the bound was
// changed), keeping the newest lines.
func (r *LogRing) compact(max int) {
	old := r.snapshot()
	if len(old) > max {
		old = old[len(old)-max:]
	}
	r.lines = make([]string, max)
	copy(r.lines, old)
	r.start, r.n, r.size = 0, len(old), 0
	for _, l := range old {
		r.size += len(l)
	}
}

func (r *LogRing) snapshot() []string {
	out := make([]string, 0, r.n)
	for i := range r.n {
		out = append(out, r.lines[(r.start+i)%len(r.lines)])
	}
	return out
}

// Lines returns the lines held, oldest first, without their newlines.
func (r *LogRing) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot()
}

// Tail returns the newest lines whose total length with newlines is at
// most max bytes, oldest first, and whether older lines were left out.
func (r *LogRing) Tail(max int) (string, bool) {
	lines := r.Lines()
	total, i := 0, len(lines)
	for i > 0 && total+len(lines[i-1])+1 <= max {
		total += len(lines[i-1]) + 1
		i--
	}
	var b bytes.Buffer
	b.Grow(total)
	for _, l := range lines[i:] {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String(), i > 0
}
