package waves

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/pierrec/lz4/v4"
)

// FST block types (fstapi.h).
const (
	fstBlHdr          = 0
	fstBlVCData       = 1
	fstBlBlackout     = 2
	fstBlGeom         = 3
	fstBlHier         = 4
	fstBlVCDynAlias   = 5
	fstBlHierLZ4      = 6
	fstBlHierLZ4Duo   = 7
	fstBlVCDynAlias2  = 8
	fstBlZWrapper     = 254
	fstBlSkip         = 255
	fstHdrLen         = 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8 + 1 + 128 + 119 + 1 + 8
	fstMaxSection     = 1 << 30
	fstDoubleEndTest  = 2.7182818284590452354
	fstRCVChars       = "xzhuwl-?"
	fstVarTypeReal    = 3
	fstVarTypeRealPar = 4
	fstVarTypePort    = 18
	fstVarTypeRealTm  = 20
	fstVarTypeString  = 21
	fstVarTypeShortRl = 29
)

var fstVarTypes = []string{
	"event", "integer", "parameter", "real", "real_parameter", "reg", "supply0", "supply1", "time", "tri",
	"triand", "trior", "trireg", "tri0", "tri1", "wand", "wire", "wor", "port", "sparray", "realtime",
	"string", "bit", "logic", "int", "shortint", "longint", "byte", "enum", "shortreal",
}

var fstScopeTypes = []string{
	"module", "task", "function", "begin", "fork", "generate", "struct", "union", "class", "interface",
	"package", "program", "vhdl_architecture", "vhdl_procedure", "vhdl_function", "vhdl_record",
	"vhdl_process", "vhdl_block", "vhdl_for_generate", "vhdl_if_generate", "vhdl_generate", "vhdl_package",
}

type fstBlock struct {
	typ byte
	pos int64 // offset of the type byte
	len uint64
}

// fstReader decodes an FST file as GTKWave's fstapi writes it.
type fstReader struct {
	r        io.ReaderAt
	size     int64
	ctx      context.Context
	progress *atomic.Int64

	tb       treeBuilder
	lens     []uint32 // per handle: value length as the value chains store it
	real     []bool
	littleLE bool // doubles are little-endian
}

func fstErr(off int64, format string, args ...any) error {
	return &SyntaxError{Format: "fst", Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// readFST reads the FST dump in r (size bytes) into s. A dump compressed
// whole (vcd2fst -c) is unpacked into a temporary file in tmpDir first.
func readFST(ctx context.Context, r io.ReaderAt, size int64, tmpDir string, progress *atomic.Int64, s sink) error {
	var first [17]byte
	if size < 1 {
		return fstErr(0, "empty file")
	}
	if _, err := r.ReadAt(first[:1], 0); err != nil {
		return fmt.Errorf("read fst: %w", err)
	}
	if first[0] == fstBlZWrapper {
		if size < 17 {
			return fstErr(0, "truncated wrapper block")
		}
		if _, err := r.ReadAt(first[:], 0); err != nil {
			return fmt.Errorf("read fst: %w", err)
		}
		uclen := binary.BigEndian.Uint64(first[9:])
		if uclen > 1100*uint64(size)+1024 {
			return fstErr(9, "wrapper claims %d bytes from %d", uclen, size)
		}
		tmp, err := os.CreateTemp(tmpDir, "unpack-*.fst")
		if err != nil {
			return fmt.Errorf("unpack fst: %w", err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		zr, err := gzip.NewReader(io.NewSectionReader(r, 17, size-17))
		if err != nil {
			return fstErr(17, "wrapper: %v", err)
		}
		n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, zr}, int64(uclen)))
		if err != nil {
			return fstErr(17, "wrapper: %v", err)
		}
		if uint64(n) != uclen {
			return fstErr(17, "wrapper holds %d bytes, not the %d announced", n, uclen)
		}
		return readFST(ctx, tmp, n, tmpDir, progress, s)
	}
	p := &fstReader{r: r, size: size, ctx: ctx, progress: progress}
	return p.read(s)
}

func (p *fstReader) readAt(off int64, n uint64) ([]byte, error) {
	if n > fstMaxSection || off < 0 || off+int64(n) > p.size {
		return nil, fstErr(off, "section of %d bytes runs past the end of the %d-byte file", n, p.size)
	}
	b := make([]byte, n)
	if _, err := p.r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("read fst at %d: %w", off, err)
	}
	return b, nil
}

func (p *fstReader) read(s sink) error {
	var blocks []fstBlock
	var hdr, geom, hier *fstBlock
	for pos := int64(0); pos < p.size; {
		var h [9]byte
		if pos+9 > p.size {
			return fstErr(pos, "truncated block header")
		}
		if _, err := p.r.ReadAt(h[:], pos); err != nil {
			return fmt.Errorf("read fst at %d: %w", pos, err)
		}
		b := fstBlock{typ: h[0], pos: pos, len: binary.BigEndian.Uint64(h[1:])}
		if b.typ == fstBlSkip {
			break
		}
		if b.len < 8 || b.len > uint64(p.size-pos-1) {
			return fstErr(pos, "block of type %d claims %d bytes; the file has %d left (unfinished or truncated dump)", b.typ, b.len, p.size-pos-1)
		}
		if len(blocks) == 0 && b.typ != fstBlHdr {
			return fstErr(pos, "not an FST file: the first block has type %d, not the header", b.typ)
		}
		blocks = append(blocks, b)
		bp := &blocks[len(blocks)-1]
		switch b.typ {
		case fstBlHdr:
			if hdr == nil {
				hdr = bp
			}
		case fstBlGeom:
			geom = bp
		case fstBlHier, fstBlHierLZ4, fstBlHierLZ4Duo:
			hier = bp
		}
		pos += 1 + int64(b.len)
	}
	if hdr == nil {
		return fstErr(0, "no header block")
	}
	if err := p.readHeader(*hdr); err != nil {
		return err
	}
	if hier == nil {
		return fstErr(0, "no hierarchy block (a separate .hier file is not supported)")
	}
	if err := p.readHier(*hier); err != nil {
		return err
	}
	if geom != nil {
		if err := p.readGeom(*geom); err != nil {
			return err
		}
	}
	if err := s.header(&p.tb.meta); err != nil {
		return err
	}
	first := true
	for _, b := range blocks {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		switch b.typ {
		case fstBlVCData, fstBlVCDynAlias, fstBlVCDynAlias2:
			if err := p.readVC(b, first, s); err != nil {
				return err
			}
			first = false
		}
		if p.progress != nil {
			p.progress.Store(b.pos + 1 + int64(b.len))
		}
	}
	return nil
}

func (p *fstReader) readHeader(b fstBlock) error {
	if b.len < 8+fstHdrLen {
		return fstErr(b.pos, "header block is %d bytes, not %d", b.len, 8+fstHdrLen)
	}
	d, err := p.readAt(b.pos+9, fstHdrLen)
	if err != nil {
		return err
	}
	m := &p.tb.meta
	m.Format = "fst"
	m.Start = binary.BigEndian.Uint64(d[0:])
	m.End = binary.BigEndian.Uint64(d[8:])
	switch {
	case math.Float64frombits(binary.LittleEndian.Uint64(d[16:])) == fstDoubleEndTest:
		p.littleLE = true
	case math.Float64frombits(binary.BigEndian.Uint64(d[16:])) == fstDoubleEndTest:
	default:
		return fstErr(b.pos+9+16, "bad endianness marker: not an FST file")
	}
	m.Timescale = fstTimescale(int(int8(d[64])))
	return nil
}

// readGeom takes the value lengths the chains use from the geometry block.
func (p *fstReader) readGeom(b fstBlock) error {
	if b.len < 24 {
		return fstErr(b.pos, "geometry block too short")
	}
	h, err := p.readAt(b.pos+9, 16)
	if err != nil {
		return err
	}
	uclen := binary.BigEndian.Uint64(h)
	maxh := binary.BigEndian.Uint64(h[8:])
	clen := b.len - 24
	data, err := p.readAt(b.pos+25, clen)
	if err != nil {
		return err
	}
	if clen != uclen {
		if data, err = inflate(data, uclen); err != nil {
			return fstErr(b.pos+25, "geometry: %v", err)
		}
	}
	if maxh != uint64(len(p.lens)) {
		return fstErr(b.pos, "geometry has %d handles, the hierarchy %d", maxh, len(p.lens))
	}
	for i := range p.lens {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return fstErr(b.pos+25, "geometry: truncated at handle %d", i)
		}
		data = data[n:]
		switch {
		case v == 0:
			p.lens[i], p.real[i] = 8, true
		case v == 0xFFFFFFFF:
			p.lens[i], p.real[i] = 0, false
		case v > 1<<24:
			return fstErr(b.pos+25, "geometry: handle %d is %d bits wide", i, v)
		default:
			p.lens[i], p.real[i] = uint32(v), false
		}
	}
	return nil
}

func inflate(src []byte, uclen uint64) ([]byte, error) {
	if uclen > fstMaxSection || uclen > 1100*uint64(len(src))+1024 {
		return nil, fmt.Errorf("%d bytes uncompressed is too large", uclen)
	}
	zr, err := zlib.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	out := make([]byte, uclen)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	return out, nil
}

func unlz4(src []byte, uclen uint64) ([]byte, error) {
	if uclen > fstMaxSection || uclen > 255*uint64(len(src))+64 {
		return nil, fmt.Errorf("lz4: %d bytes from %d is not plausible", uclen, len(src))
	}
	out := make([]byte, uclen)
	n, err := lz4.UncompressBlock(src, out)
	if err != nil {
		return nil, fmt.Errorf("lz4: %w", err)
	}
	if uint64(n) != uclen {
		return nil, fmt.Errorf("lz4: %d bytes, not %d", n, uclen)
	}
	return out, nil
}

func (p *fstReader) hierBytes(b fstBlock) ([]byte, error) {
	if b.len < 16 {
		return nil, fstErr(b.pos, "hierarchy block too short")
	}
	h, err := p.readAt(b.pos+9, 8)
	if err != nil {
		return nil, err
	}
	uclen := binary.BigEndian.Uint64(h)
	if uclen > fstMaxSection {
		return nil, fstErr(b.pos+9, "hierarchy of %d bytes is too large", uclen)
	}
	data, err := p.readAt(b.pos+17, b.len-16)
	if err != nil {
		return nil, err
	}
	switch b.typ {
	case fstBlHier:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fstErr(b.pos+17, "hierarchy: %v", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, int64(uclen)))
		if err != nil || uint64(len(out)) != uclen {
			return nil, fstErr(b.pos+17, "hierarchy: gzip stream holds %d of %d bytes (%v)", len(out), uclen, err)
		}
		return out, nil
	case fstBlHierLZ4Duo:
		uclen2, n := binary.Uvarint(data)
		if n <= 0 {
			return nil, fstErr(b.pos+17, "hierarchy: bad inner length")
		}
		mid, err := unlz4(data[n:], uclen2)
		if err != nil {
			return nil, fstErr(b.pos+17, "hierarchy: %v", err)
		}
		data = mid
	}
	out, err := unlz4(data, uclen)
	if err != nil {
		return nil, fstErr(b.pos+17, "hierarchy: %v", err)
	}
	return out, nil
}

// cstr reads a NUL-terminated string.
func cstr(d []byte, i int) (string, int, bool) {
	j := bytes.IndexByte(d[i:], 0)
	if j < 0 {
		return "", i, false
	}
	return string(d[i : i+j]), i + j + 1, true
}

func (p *fstReader) readHier(b fstBlock) error {
	d, err := p.hierBytes(b)
	if err != nil {
		return err
	}
	base := b.pos + 17
	bad := func(i int, what string) error {
		return fstErr(base, "hierarchy: %s at uncompressed byte %d", what, i)
	}
	for i := 0; i < len(d); {
		tag := d[i]
		at := i
		i++
		switch {
		case tag == 254: // scope
			if i >= len(d) {
				return bad(at, "truncated scope")
			}
			st := int(d[i])
			i++
			name, j, ok := cstr(d, i)
			if !ok {
				return bad(at, "unterminated scope name")
			}
			if _, j, ok = cstr(d, j); !ok {
				return bad(at, "unterminated scope component")
			}
			i = j
			kind := "module"
			if st < len(fstScopeTypes) {
				kind = fstScopeTypes[st]
			}
			p.tb.push(name, kind)
		case tag == 255: // upscope
			if !p.tb.pop() {
				return bad(at, "upscope without scope")
			}
		case tag == 252: // attribute begin
			if i+2 > len(d) {
				return bad(at, "truncated attribute")
			}
			_, j, ok := cstr(d, i+2)
			if !ok {
				return bad(at, "unterminated attribute name")
			}
			_, n := binary.Uvarint(d[j:])
			if n <= 0 {
				return bad(at, "truncated attribute argument")
			}
			i = j + n
		case tag == 253: // attribute end
		case int(tag) < len(fstVarTypes):
			if i >= len(d) {
				return bad(at, "truncated variable")
			}
			i++ // direction
			name, j, ok := cstr(d, i)
			if !ok {
				return bad(at, "unterminated variable name")
			}
			length, n := binary.Uvarint(d[j:])
			if n <= 0 || length > 1<<24 {
				return bad(at, "bad variable length")
			}
			j += n
			alias, n := binary.Uvarint(d[j:])
			if n <= 0 {
				return bad(at, "bad alias")
			}
			i = j + n
			width := int(length)
			kind := KindBits
			switch tag {
			case fstVarTypeReal, fstVarTypeRealPar, fstVarTypeRealTm:
				kind, width = KindReal, 64
			case fstVarTypeShortRl:
				kind, width = KindReal, 32
			case fstVarTypeString:
				kind = KindString
			case fstVarTypePort:
				width = (width - 2) / 3
			}
			var h int
			if alias == 0 {
				h = len(p.lens)
				l := uint32(length)
				if kind == KindReal {
					l = 8
				}
				p.lens = append(p.lens, l)
				p.real = append(p.real, kind == KindReal)
				p.tb.meta.Handles = append(p.tb.meta.Handles, Handle{Width: width, Kind: kind})
			} else {
				if alias > uint64(len(p.lens)) {
					return bad(at, fmt.Sprintf("alias of undeclared handle %d", alias))
				}
				h = int(alias - 1)
			}
			p.tb.add(name, fstVarTypes[tag], width, h)
		default:
			return bad(at, fmt.Sprintf("unknown tag %d", tag))
		}
	}
	if len(p.tb.stack) != 0 {
		return fstErr(base, "hierarchy: %d scopes left open", len(p.tb.stack))
	}
	return nil
}

// readVC decodes one value change block, handle by handle.
func (p *fstReader) readVC(b fstBlock, first bool, s sink) error {
	blk, err := p.readAt(b.pos+1, b.len)
	if err != nil {
		return err
	}
	base := b.pos + 1
	bad := func(off int, format string, args ...any) error {
		return fstErr(base+int64(off), "value change block: "+format, args...)
	}
	if len(blk) < 32+24 {
		return bad(0, "too short")
	}
	begTime := binary.BigEndian.Uint64(blk[8:])
	// Time table at the end of the block.
	tail := len(blk) - 24
	tsUclen := binary.BigEndian.Uint64(blk[tail:])
	tsClen := binary.BigEndian.Uint64(blk[tail+8:])
	tsItems := binary.BigEndian.Uint64(blk[tail+16:])
	if tsClen > uint64(tail-32) || tsItems > tsUclen || tsUclen > fstMaxSection {
		return bad(tail, "bad time table sizes")
	}
	tpos := tail - int(tsClen)
	tdata := blk[tpos:tail]
	if tsClen != tsUclen {
		if tdata, err = inflate(tdata, tsUclen); err != nil {
			return bad(tpos, "time table: %v", err)
		}
	}
	if tsItems > uint64(len(tdata)) {
		return bad(tpos, "time table: %d items in %d bytes", tsItems, len(tdata))
	}
	times := make([]uint64, tsItems)
	var tv uint64
	for i := range times {
		d, n := binary.Uvarint(tdata)
		if n <= 0 {
			return bad(tpos, "time table: truncated at item %d", i)
		}
		tdata = tdata[n:]
		tv += d
		times[i] = tv
	}
	// Frame: the values at the start of the block.
	pos := 32
	frameUclen, n := binary.Uvarint(blk[pos:])
	if n <= 0 {
		return bad(pos, "bad frame length")
	}
	pos += n
	frameClen, n := binary.Uvarint(blk[pos:])
	if n <= 0 {
		return bad(pos, "bad frame length")
	}
	pos += n
	frameMax, n := binary.Uvarint(blk[pos:])
	if n <= 0 {
		return bad(pos, "bad frame handle count")
	}
	pos += n
	if frameClen > uint64(tpos-pos) {
		return bad(pos, "frame runs past the block")
	}
	framePos := pos
	frame := blk[pos : pos+int(frameClen)]
	pos += int(frameClen)
	if first && (len(times) == 0 || begTime != times[0]) {
		if frameClen != frameUclen {
			if frame, err = inflate(frame, frameUclen); err != nil {
				return bad(framePos, "frame: %v", err)
			}
		}
		if err := p.emitFrame(frame, frameMax, begTime, s); err != nil {
			return bad(framePos, "frame: %v", err)
		}
	}
	vcMax, n := binary.Uvarint(blk[pos:])
	if n <= 0 {
		return bad(pos, "bad handle count")
	}
	pos += n
	vcStart := pos
	if vcStart >= tpos {
		return bad(pos, "no value changes")
	}
	packType := blk[vcStart]
	// Position table, just before the time table.
	ip := tpos - 8
	if ip < vcStart {
		return bad(tpos, "no position table")
	}
	chainClen := binary.BigEndian.Uint64(blk[ip:])
	if chainClen > uint64(ip-vcStart) {
		return bad(ip, "position table runs past the block")
	}
	idxPos := ip - int(chainClen)
	if vcMax > uint64(len(p.lens)) {
		return bad(pos, "%d handles in a block of a dump with %d", vcMax, len(p.lens))
	}
	offs, lens, err := fstChainTable(blk[idxPos:ip], b.typ, vcMax, idxPos-vcStart)
	if err != nil {
		return bad(idxPos, "position table: %v", err)
	}
	nh := min(len(offs), len(p.lens))
	var scratch []byte
	for h := 0; h < nh; h++ {
		if offs[h] == 0 {
			continue
		}
		start := vcStart + int(offs[h])
		end := start + int(lens[h])
		if lens[h] <= 0 || end > idxPos || start < vcStart {
			return bad(start, "chain of handle %d out of bounds", h)
		}
		c := blk[start:end]
		ul, n := binary.Uvarint(c)
		if n <= 0 {
			return bad(start, "chain of handle %d: bad length", h)
		}
		c = c[n:]
		if ul != 0 {
			if ul > fstMaxSection {
				return bad(start, "chain of handle %d: %d bytes is too large", h, ul)
			}
			var out []byte
			switch packType {
			case '4':
				out, err = unlz4(c, ul)
			case 'F':
				out = make([]byte, ul)
				err = fastlzDecompress(c, out)
			default:
				out, err = inflate(c, ul)
			}
			if err != nil {
				return bad(start, "chain of handle %d: %v", h, err)
			}
			c = out
		}
		if scratch, err = p.emitChain(h, c, times, s, scratch); err != nil {
			return bad(start, "chain of handle %d: %v", h, err)
		}
	}
	return nil
}

// fstChainTable decodes the position table into per-handle offsets (from
// the pack type byte) and lengths, resolving aliases. end is the offset of
// the table itself, where the last chain stops.
func fstChainTable(d []byte, typ byte, vcMax uint64, end int) ([]int64, []int64, error) {
	if vcMax > 1<<26 {
		return nil, nil, fmt.Errorf("%d handles is too many", vcMax)
	}
	offs := make([]int64, vcMax+1)
	lens := make([]int64, vcMax+1)
	idx, pidx := 0, 0
	var pval, prevAlias int64
	put := func() error {
		if idx > int(vcMax) {
			return fmt.Errorf("more entries than the %d handles", vcMax)
		}
		return nil
	}
	for len(d) > 0 {
		if err := put(); err != nil {
			return nil, nil, err
		}
		if typ == fstBlVCDynAlias2 && d[0]&1 != 0 {
			sv, n := svarint(d)
			if n <= 0 {
				return nil, nil, fmt.Errorf("bad entry")
			}
			d = d[n:]
			sh := sv >> 1
			switch {
			case sh > 0:
				pval += sh
				offs[idx] = pval
				if idx > 0 {
					lens[pidx] = pval - offs[pidx]
				}
				pidx = idx
			case sh < 0:
				offs[idx], lens[idx] = 0, sh
				prevAlias = sh
			default:
				offs[idx], lens[idx] = 0, prevAlias
			}
			idx++
			continue
		}
		v, n := binary.Uvarint(d)
		if n <= 0 {
			return nil, nil, fmt.Errorf("bad entry")
		}
		d = d[n:]
		switch {
		case typ != fstBlVCDynAlias2 && v == 0:
			a, n := binary.Uvarint(d)
			if n <= 0 {
				return nil, nil, fmt.Errorf("bad alias entry")
			}
			d = d[n:]
			offs[idx], lens[idx] = 0, -int64(a)
			idx++
		case typ != fstBlVCDynAlias2 && v&1 != 0:
			pval += int64(v >> 1)
			offs[idx] = pval
			if idx > 0 {
				lens[pidx] = pval - offs[pidx]
			}
			pidx = idx
			idx++
		default:
			run := v >> 1
			if run > vcMax+1-uint64(idx) {
				return nil, nil, fmt.Errorf("run of %d past the %d handles", run, vcMax)
			}
			for k := uint64(0); k < run; k++ {
				offs[idx] = 0
				idx++
			}
		}
	}
	if idx > int(vcMax) {
		return nil, nil, fmt.Errorf("more entries than the %d handles", vcMax)
	}
	offs[idx] = int64(end)
	lens[pidx] = offs[idx] - offs[pidx]
	for i := 0; i < idx; i++ {
		if lens[i] < 0 && offs[i] == 0 {
			a := -lens[i] - 1
			if a < int64(i) {
				offs[i], lens[i] = offs[a], lens[a]
			}
		}
	}
	return offs[:idx], lens[:idx], nil
}

// svarint reads a signed LEB128 value (fstGetSVarint64).
func svarint(d []byte) (int64, int) {
	var v int64
	shift := 0
	for i, c := range d {
		if shift >= 64 {
			return 0, -1
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, i + 1
		}
	}
	return 0, -1
}

func (p *fstReader) double(b []byte) []byte {
	var u uint64
	if p.littleLE {
		u = binary.LittleEndian.Uint64(b)
	} else {
		u = binary.BigEndian.Uint64(b)
	}
	return strconv.AppendFloat(nil, math.Float64frombits(u), 'g', -1, 64)
}

func (p *fstReader) emitFrame(f []byte, maxh uint64, t uint64, s sink) error {
	off := 0
	for h := 0; h < int(min(maxh, uint64(len(p.lens)))); h++ {
		l := int(p.lens[h])
		if off+l > len(f) {
			return fmt.Errorf("truncated at handle %d", h)
		}
		v := f[off : off+l]
		off += l
		switch {
		case l == 0:
			continue
		case p.real[h]:
			v = p.double(v)
		default:
			v = lowerBits(v)
		}
		if err := s.change(h, t, v); err != nil {
			return err
		}
	}
	return nil
}

func lowerBits(v []byte) []byte {
	for i, c := range v {
		v[i] = lower(c)
	}
	return v
}

// emitChain decodes the changes of handle h in one block.
func (p *fstReader) emitChain(h int, c []byte, times []uint64, s sink, scratch []byte) ([]byte, error) {
	l := int(p.lens[h])
	ti := uint64(0)
	for len(c) > 0 {
		vli, n := binary.Uvarint(c)
		if n <= 0 || vli > math.MaxUint32 {
			return scratch, fmt.Errorf("bad change header")
		}
		c = c[n:]
		var delta uint64
		var v []byte
		switch {
		case l == 1:
			if vli&1 == 0 {
				delta = vli >> 2
				scratch = append(scratch[:0], byte('0'+(vli>>1)&1))
			} else {
				delta = vli >> 4
				scratch = append(scratch[:0], fstRCVChars[(vli>>1)&7])
			}
			v = scratch
		case l == 0:
			delta = vli >> 1
			sl, n := binary.Uvarint(c)
			if n <= 0 || sl > uint64(len(c)-n) {
				return scratch, fmt.Errorf("bad string length")
			}
			v = append(scratch[:0], c[n:n+int(sl)]...)
			scratch = v
			c = c[n+int(sl):]
		case p.real[h]:
			delta = vli >> 1
			if vli&1 != 0 {
				if len(c) < 8 {
					return scratch, fmt.Errorf("truncated real")
				}
				v = p.double(c[:8])
				c = c[8:]
			} else {
				// fstapi reads one byte of bits as the eight bytes of a
				// double: mirror it.
				if len(c) < 1 {
					return scratch, fmt.Errorf("truncated real")
				}
				var bb [8]byte
				for j := range bb {
					bb[j] = '0' + (c[0]>>(7-uint(j)))&1
				}
				v = p.double(bb[:])
				c = c[1:]
			}
		default:
			delta = vli >> 1
			if vli&1 == 0 {
				nb := (l + 7) / 8
				if len(c) < nb {
					return scratch, fmt.Errorf("truncated vector")
				}
				scratch = scratch[:0]
				for j := 0; j < l; j++ {
					scratch = append(scratch, '0'+(c[j>>3]>>(7-uint(j&7)))&1)
				}
				v = scratch
				c = c[nb:]
			} else {
				if len(c) < l {
					return scratch, fmt.Errorf("truncated vector")
				}
				v = lowerBits(append(scratch[:0], c[:l]...))
				scratch = v
				c = c[l:]
			}
		}
		ti += delta
		if ti >= uint64(len(times)) {
			return scratch, fmt.Errorf("time index %d past the %d times of the block", ti, len(times))
		}
		if err := s.change(h, times[ti], v); err != nil {
			return scratch, err
		}
	}
	return scratch, nil
}
