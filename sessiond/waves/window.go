package waves

import (
	"encoding/json"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Change is one entry of a window: a time and a value. The value "*" stands
// for several changes within one pixel.
type Change struct {
	T uint64
	V string
}

// MarshalJSON writes the change as the pair [t,"v"].
func (c Change) MarshalJSON() ([]byte, error) {
	return c.appendJSON(nil), nil
}

func (c Change) appendJSON(b []byte) []byte {
	b = append(b, '[')
	b = strconv.AppendUint(b, c.T, 10)
	b = append(b, ',')
	b = appendString(b, c.V)
	return append(b, ']')
}

// appendString appends s as a JSON string; encoding/json escapes what is
// not plain ASCII.
func appendString(b []byte, s string) []byte {
	if plainASCII(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// UnmarshalJSON reads the pair [t,"v"].
func (c *Change) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[0], &c.T); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &c.V)
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// SignalWindow is one signal's part of a window.
type SignalWindow struct {
	ID      int      `json:"id"`
	Initial string   `json:"initial"`
	Changes []Change `json:"changes"`
}

// Window is the answer to a window query.
type Window struct {
	Start   uint64         `json:"start"`
	End     uint64         `json:"end"`
	Signals []SignalWindow `json:"signals"`
}

// AppendJSON appends the window's JSON document to b. It is what
// MarshalJSON returns, without encoding/json's second pass over the
// output, which costs more than the query on a million-change window.
func (w *Window) AppendJSON(b []byte) []byte {
	b = append(b, `{"start":`...)
	b = strconv.AppendUint(b, w.Start, 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendUint(b, w.End, 10)
	b = append(b, `,"signals":[`...)
	for i, sw := range w.Signals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(sw.ID), 10)
		b = append(b, `,"initial":`...)
		b = appendString(b, sw.Initial)
		b = append(b, `,"changes":[`...)
		for j, c := range sw.Changes {
			if j > 0 {
				b = append(b, ',')
			}
			b = c.appendJSON(b)
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// MarshalJSON encodes the window.
func (w *Window) MarshalJSON() ([]byte, error) { return w.AppendJSON(nil), nil }

// unknown is the value before a handle's first change.
func (h Handle) unknown() string {
	if h.Kind != KindBits {
		return ""
	}
	return strings.Repeat("x", max(h.Width, 1))
}

// sampler downsamples a time-ordered run of changes to pixels.
type sampler struct {
	h      Handle
	buf    []byte
	t0, t1 uint64
	w      int
	scale  float64 // pixels per time unit
	out    []Change
	pix    int
	cnt    int
	firstT uint64
	lastT  uint64
	val    value
	next   uint64 // first time of the pixel after s.pix
}

func newSampler(h Handle, t0, t1 uint64, w int) *sampler {
	return &sampler{h: h, t0: t0, t1: t1, w: w, scale: float64(w) / float64(t1-t0), pix: -1}
}

func (s *sampler) pixel(t uint64) int {
	p := int(float64(t-s.t0) * s.scale)
	if p >= s.w {
		p = s.w - 1
	}
	return p
}

func (s *sampler) add(t uint64, v value) {
	if t >= s.next || s.pix < 0 {
		p := s.pixel(t)
		s.flush(p)
		s.pix, s.cnt, s.firstT = p, 0, t
		s.next = s.boundary(p + 1)
	}
	s.cnt++
	s.lastT = t
	s.val = v
}

// boundary is the first time that falls in pixel p (or later).
func (s *sampler) boundary(p int) uint64 {
	if p >= s.w {
		return math.MaxUint64
	}
	b := s.t0 + uint64(math.Ceil(float64(p)/s.scale))
	for b > s.t0 && s.pixel(b-1) >= p { // float rounding: step back
		b--
	}
	for s.pixel(b) < p {
		b++
	}
	return b
}

// flush ends the current pixel; next is the pixel of the following change
// (or s.w+1 at the end). A pixel with several changes becomes "*" at its
// first change, and when the next pixel has no change of its own the value
// it settled to follows at that pixel's start, so the viewer knows what the
// band ends in.
func (s *sampler) flush(next int) {
	switch {
	case s.cnt == 1:
		s.out = append(s.out, Change{s.firstT, s.h.text(s.buf, s.val)})
	case s.cnt > 1:
		s.out = append(s.out, Change{s.firstT, "*"})
		if next > s.pix+1 && s.pix+1 < s.w {
			b := s.boundary(s.pix + 1)
			if b <= s.lastT {
				b = s.lastT + 1
			}
			if b <= s.t1 {
				s.out = append(s.out, Change{b, s.h.text(s.buf, s.val)})
			}
		}
	}
	s.cnt = 0
}

// query answers one handle's part of a window from its chunks.
func query(r io.ReaderAt, h Handle, chunks []chunk, t0, t1 uint64, pixels int) (string, []Change, error) {
	// The last chunk starting at or before t0 holds the initial value.
	k := sort.Search(len(chunks), func(i int) bool { return chunks[i].First > t0 }) - 1
	if k < 0 {
		k = 0
	}
	j := sort.Search(len(chunks), func(i int) bool { return chunks[i].First > t1 })
	initial := h.unknown()
	changes := []Change{}
	if k >= j {
		if k < len(chunks) && chunks[k].First <= t0 {
			j = k + 1
		} else {
			return initial, changes, nil
		}
	}
	size := 0
	for _, c := range chunks[k:j] {
		size += int(c.Size)
	}
	buf := make([]byte, 0, size)
	for _, c := range chunks[k:j] {
		b, err := readChunk(r, c, buf[len(buf):])
		if err != nil {
			return "", nil, err
		}
		buf = buf[:len(buf)+len(b)]
	}
	s := newSampler(h, t0, t1, pixels)
	s.buf = buf
	var init value
	haveInit := false
	off := 0
	for _, c := range chunks[k:j] {
		cur := cursor{h: h, buf: buf, pos: off, end: off + int(c.Size), t: c.First}
		off += int(c.Size)
		if c.Last <= t0 {
			// Only the last change matters, but it is found by decoding.
			for {
				t, v, ok, err := cur.next()
				if err != nil {
					return "", nil, err
				}
				if !ok {
					break
				}
				_ = t
				init, haveInit = v, true
			}
			continue
		}
		for {
			t, v, ok, err := cur.next()
			if err != nil {
				return "", nil, err
			}
			if !ok || t > t1 {
				break
			}
			if t <= t0 {
				init, haveInit = v, true
				continue
			}
			s.add(t, v)
		}
	}
	s.flush(pixels + 1)
	if haveInit {
		initial = h.text(buf, init)
	}
	if s.out != nil {
		changes = s.out
	}
	return initial, changes, nil
}

// windowAll answers several handles in parallel.
func windowAll(r io.ReaderAt, m *Meta, chunks [][]chunk, ids []int, t0, t1 uint64, pixels int) (*Window, error) {
	w := &Window{Start: t0, End: t1, Signals: make([]SignalWindow, len(ids))}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, id := range ids {
		sig := m.Signals[id]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h := m.Handles[sig.Handle]
			init, ch, err := query(r, h, chunks[sig.Handle], t0, t1, pixels)
			w.Signals[i] = SignalWindow{ID: id, Initial: init, Changes: ch}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}
