package waves

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
)

// SyntaxError is a malformed dump, located by line (VCD only) and byte offset.
type SyntaxError struct {
	Format string
	Line   int
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d (byte %d): %s", e.Format, e.Line, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: byte %d: %s", e.Format, e.Offset, e.Msg)
}

// sink receives a dump as it is read: the header once, then value changes
// in time order per handle (handles may interleave in any order).
type sink interface {
	header(m *Meta) error
	change(h int, t uint64, v []byte) error
}

// vcdReader is a streaming VCD tokenizer and parser. It holds one buffer
// and the last value of nothing: memory does not grow with the dump.
type vcdReader struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64 // file offset of buf[0]
	tokOff   int64 // file offset of the last token
	line     int
	eof      bool
	progress *atomic.Int64

	tb      treeBuilder
	ids     map[string]int
	small   []int32 // handle+1 by one- or two-character identifier
	vec     []byte
	scratch []byte
}

const vcdBufSize = 1 << 20

func newVCDReader(r io.Reader, progress *atomic.Int64) *vcdReader {
	return &vcdReader{r: r, buf: make([]byte, vcdBufSize), line: 1, progress: progress, ids: map[string]int{}}
}

func (p *vcdReader) errorf(format string, args ...any) error {
	return &SyntaxError{Format: "vcd", Line: p.line, Offset: p.tokOff, Msg: fmt.Sprintf(format, args...)}
}

// fill moves the unread tail to the front and reads more.
func (p *vcdReader) fill() error {
	if p.eof {
		return nil
	}
	n := copy(p.buf, p.buf[p.pos:p.end])
	p.base += int64(p.pos)
	p.pos, p.end = 0, n
	if p.end == len(p.buf) {
		// A single token longer than the buffer: grow.
		nb := make([]byte, 2*len(p.buf))
		copy(nb, p.buf[:p.end])
		p.buf = nb
	}
	for p.end < len(p.buf) {
		m, err := p.r.Read(p.buf[p.end:])
		p.end += m
		if errors.Is(err, io.EOF) {
			p.eof = true
			break
		}
		if err != nil {
			return fmt.Errorf("read vcd: %w", err)
		}
		if m == 0 {
			continue
		}
		break
	}
	if p.progress != nil {
		p.progress.Store(p.base + int64(p.end))
	}
	return nil
}

// token returns the next whitespace-separated token, nil at the end. The
// slice is valid until the next call. The loops work on locals: this is
// the hottest code of indexing.
func (p *vcdReader) token() ([]byte, error) {
	for {
		buf, pos, end, line := p.buf, p.pos, p.end, p.line
		for pos < end {
			c := buf[pos]
			if c > ' ' {
				break
			}
			if c == '\n' {
				line++
			}
			pos++
		}
		p.pos, p.line = pos, line
		if pos < end {
			break
		}
		if p.eof {
			p.tokOff = p.base + int64(p.pos)
			return nil, nil
		}
		if err := p.fill(); err != nil {
			return nil, err
		}
	}
	start := p.pos
	for {
		buf, pos, end := p.buf, p.pos, p.end
		for pos < end && buf[pos] > ' ' {
			pos++
		}
		p.pos = pos
		if pos < end || p.eof {
			p.tokOff = p.base + int64(start)
			return buf[start:pos], nil
		}
		// The token runs past the buffer: keep it and read more.
		scanned := p.pos - start
		p.pos = start
		if err := p.fill(); err != nil {
			return nil, err
		}
		start, p.pos = 0, scanned
	}
}

// peekToken returns the next token if it is all in the buffer (it ends
// before the buffer does, or at the end of the file), and false, reading
// nothing, if not.
func (p *vcdReader) peekToken() ([]byte, bool) {
	buf, pos, line := p.buf[:p.end], p.pos, p.line
	for pos < len(buf) && buf[pos] <= ' ' {
		if buf[pos] == '\n' {
			line++
		}
		pos++
	}
	start := pos
	for pos < len(buf) && buf[pos] > ' ' {
		pos++
	}
	if start == pos || (pos == len(buf) && !p.eof) {
		return nil, false
	}
	p.pos, p.line, p.tokOff = pos, line, p.base+int64(start)
	return buf[start:pos], true
}

// tokensUntilEnd collects the tokens of a header command up to $end.
func (p *vcdReader) tokensUntilEnd(cmd string) ([]string, error) {
	var out []string
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, p.errorf("%s without $end", cmd)
		}
		if string(t) == "$end" {
			return out, nil
		}
		out = append(out, string(t))
	}
}

// read parses the whole dump into s.
func (p *vcdReader) read(s sink) error {
	p.tb.meta.Format = "vcd"
	p.tb.meta.Timescale = "1s"
	if err := p.fill(); err != nil {
		return err
	}
	if err := p.readHeader(); err != nil {
		return err
	}
	if err := s.header(&p.tb.meta); err != nil {
		return err
	}
	return p.readValues(s)
}

func (p *vcdReader) readHeader() error {
	for {
		t, err := p.token()
		if err != nil {
			return err
		}
		if t == nil {
			return p.errorf("no $enddefinitions: the file ends in the header")
		}
		switch string(t) {
		case "$enddefinitions":
			if _, err := p.tokensUntilEnd("$enddefinitions"); err != nil {
				return err
			}
			if len(p.tb.stack) != 0 {
				return p.errorf("%d $scope without $upscope at $enddefinitions", len(p.tb.stack))
			}
			return nil
		case "$scope":
			f, err := p.tokensUntilEnd("$scope")
			if err != nil {
				return err
			}
			if len(f) < 1 {
				return p.errorf("$scope needs a kind and a name")
			}
			name := ""
			if len(f) >= 2 {
				name = strings.Join(f[1:], " ")
			}
			p.tb.push(name, f[0])
		case "$upscope":
			if _, err := p.tokensUntilEnd("$upscope"); err != nil {
				return err
			}
			if !p.tb.pop() {
				return p.errorf("$upscope without $scope")
			}
		case "$var":
			if err := p.readVar(); err != nil {
				return err
			}
		case "$timescale":
			f, err := p.tokensUntilEnd("$timescale")
			if err != nil {
				return err
			}
			ts := strings.Join(f, "")
			if !validTimescale(ts) {
				return p.errorf("bad $timescale %q", ts)
			}
			p.tb.meta.Timescale = ts
		default:
			if len(t) > 0 && t[0] == '$' {
				// $date, $version, $comment and unknown sections.
				if _, err := p.tokensUntilEnd(string(t)); err != nil {
					return err
				}
				continue
			}
			return p.errorf("unexpected %q in the header", truncate(t))
		}
	}
}

func validTimescale(ts string) bool {
	i := 0
	for i < len(ts) && ts[i] >= '0' && ts[i] <= '9' {
		i++
	}
	if i == 0 {
		return false
	}
	switch ts[i:] {
	case "s", "ms", "us", "ns", "ps", "fs", "as", "zs":
		return true
	}
	return false
}

func (p *vcdReader) readVar() error {
	f, err := p.tokensUntilEnd("$var")
	if err != nil {
		return err
	}
	if len(f) < 4 {
		return p.errorf("$var needs a type, a size, an identifier and a name")
	}
	typ := f[0]
	width, err := strconv.Atoi(f[1])
	if err != nil || width < 0 || width > 1<<16 {
		return p.errorf("$var %s: bad size %q", f[3], f[1])
	}
	id := f[2]
	ref := strings.Join(f[3:], " ")
	h, ok := p.ids[id]
	if !ok {
		h = len(p.tb.meta.Handles)
		kind := KindBits
		switch typ {
		case "real", "realtime", "real_parameter":
			kind, width = KindReal, 64
		case "shortreal":
			kind, width = KindReal, 32
		case "string":
			kind = KindString
		}
		if kind == KindBits && width == 0 {
			width = 1
		}
		p.tb.meta.Handles = append(p.tb.meta.Handles, Handle{Width: width, Kind: kind})
		p.ids[id] = h
		if k := smallID(id); k >= 0 {
			for len(p.small) <= k {
				p.small = append(p.small, 0)
			}
			p.small[k] = int32(h + 1)
		}
	}
	p.tb.add(ref, typ, p.tb.meta.Handles[h].Width, h)
	return nil
}

// smallID numbers one- and two-character identifiers for a table lookup.
func smallID(id string) int {
	switch len(id) {
	case 1:
		return int(id[0] - '!')
	case 2:
		return 94 + int(id[0]-'!')*94 + int(id[1]-'!')
	}
	return -1
}

func (p *vcdReader) lookup(id []byte) (int, bool) {
	var k int
	switch len(id) {
	case 1:
		k = int(id[0]) - '!'
	case 2:
		k = 94 + (int(id[0])-'!')*94 + int(id[1]) - '!'
	default:
		h, ok := p.ids[string(id)]
		return h, ok
	}
	if k >= 0 && k < len(p.small) && p.small[k] != 0 {
		return int(p.small[k] - 1), true
	}
	h, ok := p.ids[string(id)]
	return h, ok
}

func truncate(t []byte) string {
	if len(t) > 40 {
		return string(t[:40]) + "..."
	}
	return string(t)
}

func (p *vcdReader) readValues(s sink) error {
	// A pipe takes the commonest values as builder keys, encoded here.
	pp, _ := s.(*pipe)
	var now uint64
	seenTime := false
	for {
		t, err := p.token()
		if err != nil {
			return err
		}
		if t == nil {
			break
		}
		c := t[0]
		switch c {
		case '#':
			v, ok := parseUint(t[1:])
			if !ok {
				return p.errorf("bad time %q", truncate(t))
			}
			if seenTime && v < now {
				return p.errorf("time goes backwards: #%d after #%d", v, now)
			}
			if !seenTime {
				p.tb.meta.Start = v
			}
			now, seenTime = v, true
		case '0', '1', 'x', 'X', 'z', 'Z', 'h', 'H', 'u', 'U', 'w', 'W', 'l', 'L', '-':
			if len(t) < 2 {
				return p.errorf("scalar change %q has no identifier", truncate(t))
			}
			h, ok := p.lookup(t[1:])
			if !ok {
				return p.errorf("unknown identifier %q", truncate(t[1:]))
			}
			v := lower(c)
			hd := p.tb.meta.Handles[h]
			if pp != nil && hd.Kind == KindBits && hd.Width == 1 && scalarCode[v] != 0xff {
				pp.cur.data = append(pp.cur.data, scalarCode[v])
				pp.commit(h, now, keyed)
				continue
			}
			p.scratch = append(p.scratch[:0], v)
			if hd.Kind == KindBits && hd.Width > 1 {
				p.scratch = p.padVector(p.scratch, hd.Width)
			}
			if err := s.change(h, now, p.scratch); err != nil {
				return err
			}
		case 'b', 'B', 'r', 'R', 's', 'S':
			val := t[1:]
			id, ok := p.peekToken()
			if !ok {
				// The identifier is not all in the buffer yet: keep the
				// value, which reading more may move.
				p.vec = append(p.vec[:0], val...)
				val = p.vec
				if id, err = p.token(); err != nil {
					return err
				}
			}
			if id == nil {
				return p.errorf("value %q has no identifier", truncate(t))
			}
			h, ok := p.lookup(id)
			if !ok {
				return p.errorf("unknown identifier %q", truncate(id))
			}
			hd := p.tb.meta.Handles[h]
			var out []byte
			switch {
			case (c == 'r' || c == 'R') != (hd.Kind == KindReal):
				return p.errorf("%c value for %s variable %q", c, kindName(hd.Kind), truncate(id))
			case (c == 's' || c == 'S') && hd.Kind != KindString:
				return p.errorf("string value for %s variable %q", kindName(hd.Kind), truncate(id))
			case c == 'r' || c == 'R':
				f, err := strconv.ParseFloat(string(val), 64)
				if err != nil {
					return p.errorf("bad real %q", truncate(val))
				}
				out = strconv.AppendFloat(p.scratch[:0], f, 'g', -1, 64)
				p.scratch = out[:0]
			case c == 's' || c == 'S' || hd.Kind == KindString:
				out = val
			case pp != nil && hd.Width > 1 && len(val) == hd.Width:
				key, ok := appendBin(pp.cur.data, val)
				if ok {
					pp.cur.data = key
					pp.commit(h, now, keyed)
					continue
				}
				fallthrough
			default:
				val = append(p.vec[:0], val...)
				for i, b := range val {
					l := bitChar[b]
					if l == 0 {
						return p.errorf("bad bit %q in vector %q", b, truncate(val))
					}
					val[i] = l
				}
				out = p.padVector(val, hd.Width)
				p.vec = out[:0]
			}
			if err := s.change(h, now, out); err != nil {
				return err
			}
		case '$':
			switch string(t) {
			case "$dumpvars", "$dumpall", "$dumpon", "$dumpoff", "$end":
			case "$comment":
				if _, err := p.tokensUntilEnd("$comment"); err != nil {
					return err
				}
			default:
				return p.errorf("unexpected %q among value changes", truncate(t))
			}
		default:
			return p.errorf("unexpected %q among value changes", truncate(t))
		}
	}
	p.tb.meta.End = now
	return nil
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// bitChar maps the characters of a VCD vector to their lower case, and
// everything else to 0.
var bitChar = func() (t [256]byte) {
	for _, c := range []byte("01xzhuwl-") {
		t[c] = c
		if c >= 'a' {
			t[c-'a'+'A'] = c
		}
	}
	return t
}()

// padVector extends v to width bits the VCD way (0 for a leading 0 or 1,
// else the leading bit) or keeps its rightmost width bits.
func (p *vcdReader) padVector(v []byte, width int) []byte {
	if len(v) == width || width <= 0 {
		return v
	}
	if len(v) > width {
		return v[len(v)-width:]
	}
	if len(v) == 0 {
		v = append(v, '0')
	}
	fillc := v[0]
	if fillc == '1' {
		fillc = '0'
	}
	n := width - len(v)
	v = append(v, make([]byte, n)...)
	copy(v[n:], v[:width-n])
	for i := 0; i < n; i++ {
		v[i] = fillc
	}
	return v
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func kindName(k Kind) string {
	switch k {
	case KindReal:
		return "real"
	case KindString:
		return "string"
	}
	return "bit"
}
