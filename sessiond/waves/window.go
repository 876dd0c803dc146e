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
	b := make([]byte, 0, 24+len(c.V))
	b = append(b, '[')
	b = strconv.AppendUint(b, c.T, 10)
	b = append(b, ',')
	if plainASCII(c.V) {
		b = append(b, '"')
		b = append(b, c.V...)
		b = append(b, '"')
	} else {
		q, err := json.Marshal(c.V)
		if err != nil {
			return nil, err
		}
		b = append(b, q...)
	}
	return append(b, ']'), nil
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
	t0, t1 uint64
	w      int
	scale  float64 // pixels per time unit
	out    []Change
	pix    int
	cnt    int
	firstT uint64
	lastT  uint64
	val    value
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
	p := s.pixel(t)
	if p != s.pix {
		s.flush(p)
		s.pix, s.cnt, s.firstT = p, 0, t
	}
	s.cnt++
	s.lastT = t
	s.val = v
}

// flush ends the current pixel; next is the pixel of the following change
// (or s.w+1 at the end). A pixel with several changes becomes "*" at its
// first change, and when the next pixel has no change of its own the value
// it settled to follows at that pixel's start, so the viewer knows what the
// band ends in.
func (s *sampler) flush(next int) {
	switch {
	case s.cnt == 1:
		s.out = append(s.out, Change{s.firstT, s.h.text(s.val)})
	case s.cnt > 1:
		s.out = append(s.out, Change{s.firstT, "*"})
		if next > s.pix+1 && s.pix+1 < s.w {
			b := s.t0 + uint64(math.Ceil(float64(s.pix+1)/s.scale))
			if b <= s.lastT {
				b = s.lastT + 1
			}
			if b <= s.t1 {
				s.out = append(s.out, Change{b, s.h.text(s.val)})
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
		b, err := readChunk(r, c, buf[len(buf):len(buf)])
		if err != nil {
			return "", nil, err
		}
		buf = buf[:len(buf)+len(b)]
	}
	s := newSampler(h, t0, t1, pixels)
	var init value
	haveInit := false
	off := 0
	for _, c := range chunks[k:j] {
		cur := cursor{h: h, data: buf[off : off+int(c.Size)], t: c.First}
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
		initial = h.text(init)
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
