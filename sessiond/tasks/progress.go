package tasks

import (
	"bytes"
	"io"
)

// Progress is how far a task that reports it has got (a flash): done of
// total units, bytes unless the phase says otherwise; total 0 means not
// known. See the package doc for where it appears.
type Progress struct {
	Phase string `json:"phase"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// maxProgressLine bounds the partial line kept between writes: progress
// lines are short, and a longer one is not a progress line.
const maxProgressLine = 4 << 10

// progressWriter passes output on and feeds Spec.Progress one line at a
// time, a line ending at '\n' or '\r' (progress bars redraw with '\r').
type progressWriter struct {
	next io.Writer
	t    *Task
	line []byte
	long bool // the current line outgrew maxProgressLine
}

func (w *progressWriter) Write(p []byte) (int, error) {
	n, err := w.next.Write(p)
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if len(w.line)+len(p) > maxProgressLine {
				w.long = true
				w.line = w.line[:0]
			} else if !w.long {
				w.line = append(w.line, p...)
			}
			break
		}
		if !w.long && len(w.line)+i <= maxProgressLine {
			w.line = append(w.line, p[:i]...)
			w.feed(w.line)
		}
		w.line, w.long = w.line[:0], false
		p = p[i+1:]
	}
	return n, err
}

// flush feeds a last line that had no end.
func (w *progressWriter) flush() {
	if len(w.line) > 0 && !w.long {
		w.feed(w.line)
	}
	w.line = w.line[:0]
}

func (w *progressWriter) feed(line []byte) {
	if len(line) == 0 {
		return
	}
	if pr, ok := w.t.spec.Progress(line); ok {
		w.t.mu.Lock()
		w.t.progress = &pr
		w.t.mu.Unlock()
	}
}
