package waves

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// chunk is one run of a handle's changes in the data file.
type chunk struct {
	Off   int64
	Size  uint32
	Count uint32
	First uint64 // time of the first change
	Last  uint64 // time of the last change
}

// Tuning of the builder: a handle's run is cut into a chunk at chunkBytes,
// and every run is written out once all runs together hold budgetBytes.
const (
	chunkBytes  = 16 << 10
	budgetBytes = 32 << 20
)

// scalarChars are the values of a one-bit signal, by their code.
const scalarChars = "01xzhuwl-"

var scalarCode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(scalarChars); i++ {
		t[scalarChars[i]] = byte(i)
	}
	return t
}()

// Vector encodings (the low two bits of a vector change's varint).
const (
	tagBin  = 0 // 1 bit per bit
	tagQuad = 1 // 2 bits per bit: 0 1 x z
	tagRaw  = 2 // the characters as they are
)

type run struct {
	buf    []byte
	last   []byte // the last change's key (see builder.changeKey)
	has    bool
	shift  uint8 // of the time delta in a change's first varint
	first  uint64
	prev   uint64
	count  uint32
	chunks []chunk
}

// builder turns a stream of changes into per-handle chunks on disk.
type builder struct {
	f        *os.File
	w        *bufio.Writer
	off      int64
	handles  []Handle
	runs     []run
	buffered int
	changes  int64
	meta     *Meta
	key      []byte
}

func newBuilder(f *os.File) *builder {
	return &builder{f: f, w: bufio.NewWriterSize(f, 1<<20)}
}

func (b *builder) header(m *Meta) error {
	b.meta = m
	b.handles = m.Handles
	b.runs = make([]run, len(m.Handles))
	for i, h := range m.Handles {
		switch {
		case h.Kind == KindBits && h.Width == 1:
			b.runs[i].shift = 4
		case h.Kind == KindBits:
			b.runs[i].shift = 2
		}
	}
	return nil
}

func (b *builder) change(h int, t uint64, v []byte) error {
	b.key = appendKey(b.key[:0], b.handles[h], v)
	return b.changeKey(h, t, b.key)
}

// changeKey adds a change given as its key: the low bits of the change's
// first varint (scalar code or vector tag; nothing for reals and
// strings) in one byte, then the bytes that follow the varint. Equal
// values have equal keys, so the key is also what a change is compared
// with to drop repeats.
func (b *builder) changeKey(h int, t uint64, key []byte) error {
	r := &b.runs[h]
	if r.has && string(r.last) == string(key) {
		return nil
	}
	r.last = append(r.last[:0], key...)
	r.has = true
	if r.count == 0 {
		r.first, r.prev = t, t
	}
	n0 := len(r.buf)
	r.buf = binary.AppendUvarint(r.buf, (t-r.prev)<<r.shift|uint64(key[0]))
	r.buf = append(r.buf, key[1:]...)
	r.prev = t
	r.count++
	b.changes++
	b.buffered += len(r.buf) - n0
	if len(r.buf) >= chunkBytes {
		if err := b.flushRun(r); err != nil {
			return err
		}
	}
	if b.buffered >= budgetBytes {
		return b.flushAll()
	}
	return nil
}

// appendKey appends the key of value v of a handle h (see changeKey).
func appendKey(key []byte, h Handle, v []byte) []byte {
	switch {
	case h.Kind == KindBits && h.Width == 1 && len(v) == 1 && scalarCode[v[0]] != 0xff:
		return append(key, scalarCode[v[0]])
	case h.Kind == KindBits && len(v) == h.Width:
		if k, ok := appendBin(key, v); ok {
			return k
		}
		quad := true
		for _, c := range v {
			if c != '0' && c != '1' && c != 'x' && c != 'z' {
				quad = false
				break
			}
		}
		if quad {
			key = append(key, tagQuad)
			var acc byte
			for i, c := range v {
				acc = acc<<2 | scalarCode[c]
				if i&3 == 3 {
					key = append(key, acc)
					acc = 0
				}
			}
			if r := len(v) & 3; r != 0 {
				key = append(key, acc<<(2*(4-r)))
			}
			return key
		}
		key = append(key, tagRaw)
		return append(key, v...)
	case h.Kind == KindBits:
		// A scalar with a value outside 01xzhuwl-, or a vector of the wrong
		// length (only when the reader could not normalize it).
		if h.Width == 1 {
			key = append(key, 15)
		} else {
			key = append(key, 3)
		}
		key = binary.AppendUvarint(key, uint64(len(v)))
		return append(key, v...)
	default:
		key = append(key, 0)
		key = binary.AppendUvarint(key, uint64(len(v)))
		return append(key, v...)
	}
}

// appendBin appends the key of a vector of only 0 and 1 (tagBin, then one
// bit per bit, MSB first); ok is false, and key as it was, if v has
// another character.
func appendBin(key []byte, v []byte) ([]byte, bool) {
	start := len(key)
	key = append(key, tagBin)
	for len(v) >= 8 {
		// Eight characters at once: each byte must be '0' or '1'; the
		// multiplication gathers their low bits, the first one highest.
		x := binary.LittleEndian.Uint64(v) ^ 0x3030303030303030
		if x&0xfefefefefefefefe != 0 {
			return key[:start], false
		}
		key = append(key, byte(x*0x8040201008040201>>56))
		v = v[8:]
	}
	if len(v) > 0 {
		var acc byte
		for _, c := range v {
			d := c - '0'
			if d > 1 {
				return key[:start], false
			}
			acc = acc<<1 | d
		}
		key = append(key, acc<<(8-len(v)))
	}
	return key, true
}

func (b *builder) flushRun(r *run) error {
	if r.count == 0 {
		return nil
	}
	if _, err := b.w.Write(r.buf); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	r.chunks = append(r.chunks, chunk{Off: b.off, Size: uint32(len(r.buf)), Count: r.count, First: r.first, Last: r.prev})
	b.off += int64(len(r.buf))
	b.buffered -= len(r.buf)
	if cap(r.buf) > 2*chunkBytes {
		r.buf = nil
	} else {
		r.buf = r.buf[:0]
	}
	r.count = 0
	return nil
}

func (b *builder) flushAll() error {
	for i := range b.runs {
		if err := b.flushRun(&b.runs[i]); err != nil {
			return err
		}
		if len(b.runs[i].buf) == 0 {
			b.runs[i].buf = nil
		}
	}
	return nil
}

// finish writes out what is buffered and returns the chunk tables.
func (b *builder) finish() ([][]chunk, error) {
	if err := b.flushAll(); err != nil {
		return nil, err
	}
	if err := b.w.Flush(); err != nil {
		return nil, fmt.Errorf("write index: %w", err)
	}
	out := make([][]chunk, len(b.runs))
	for i := range b.runs {
		out[i] = b.runs[i].chunks
	}
	b.runs = nil
	return out, nil
}

// value is one decoded change's value, still in its packed form: a tag
// and a span of the query buffer (no pointer, so keeping it is cheap).
type value struct {
	tag      byte // scalar code, vector tag, or 0xff for length-prefixed bytes
	off, end int32
}

// cursor decodes one chunk held in buf[pos:end].
type cursor struct {
	h        Handle
	buf      []byte
	pos, end int
	t        uint64
}

// next decodes a change; ok is false at the end of the chunk.
func (c *cursor) next() (t uint64, v value, ok bool, err error) {
	if c.pos >= c.end {
		return 0, value{}, false, nil
	}
	x, n := binary.Uvarint(c.buf[c.pos:c.end])
	if n <= 0 {
		return 0, value{}, false, errCorrupt
	}
	c.pos += n
	switch {
	case c.h.Kind == KindBits && c.h.Width == 1 && x&15 < uint64(len(scalarChars)):
		c.t += x >> 4
		return c.t, value{tag: byte(x & 15)}, true, nil
	case c.h.Kind == KindBits && c.h.Width == 1:
		c.t += x >> 4
	case c.h.Kind == KindBits:
		c.t += x >> 2
		tag := byte(x & 3)
		var size int
		switch tag {
		case tagBin:
			size = (c.h.Width + 7) / 8
		case tagQuad:
			size = (c.h.Width + 3) / 4
		case tagRaw:
			size = c.h.Width
		default:
			return c.lenPrefixed()
		}
		if size > c.end-c.pos {
			return 0, value{}, false, errCorrupt
		}
		v = value{tag: tag, off: int32(c.pos), end: int32(c.pos + size)}
		c.pos += size
		return c.t, v, true, nil
	default:
		c.t += x
	}
	return c.lenPrefixed()
}

func (c *cursor) lenPrefixed() (uint64, value, bool, error) {
	l, n := binary.Uvarint(c.buf[c.pos:c.end])
	if n <= 0 || l > uint64(c.end-c.pos-n) {
		return 0, value{}, false, errCorrupt
	}
	v := value{tag: 0xff, off: int32(c.pos + n), end: int32(c.pos + n + int(l))}
	c.pos += n + int(l)
	return c.t, v, true, nil
}

var errCorrupt = fmt.Errorf("index data is corrupt")

// text renders v, a span of buf, the way the API sends values.
func (h Handle) text(buf []byte, v value) string {
	b := buf[v.off:v.end]
	if h.Kind != KindBits || v.tag == 0xff {
		return string(b)
	}
	if h.Width == 1 {
		return scalarChars[v.tag : v.tag+1]
	}
	out := make([]byte, h.Width)
	switch v.tag {
	case tagBin:
		for i := range out {
			out[i] = '0' + (b[i>>3]>>(7-uint(i&7)))&1
		}
	case tagQuad:
		for i := range out {
			out[i] = scalarChars[(b[i>>2]>>(2*(3-uint(i&3))))&3]
		}
	default:
		copy(out, b)
	}
	return string(out)
}

// readChunk reads c's bytes from r into buf.
func readChunk(r io.ReaderAt, c chunk, buf []byte) ([]byte, error) {
	if cap(buf) < int(c.Size) {
		buf = make([]byte, c.Size)
	}
	buf = buf[:c.Size]
	if _, err := r.ReadAt(buf, c.Off); err != nil {
		return nil, fmt.Errorf("read index chunk at %d: %w", c.Off, err)
	}
	return buf, nil
}
