package waves

// pipe runs a builder in its own goroutine, fed in batches, so that
// reading a dump and encoding its index use two cores. A batch entry is
// either a value as the readers normalize it, or (keyed) a value the VCD
// reader has already encoded the way the builder keeps it (see
// builder.changeKey), which saves the builder a pass over its bytes.
type pipe struct {
	dst  *builder
	full chan *batch
	free chan *batch
	done chan error
	cur  *batch
}

type batch struct {
	n    int
	h    [batchLen]int32
	t    [batchLen]uint64
	end  [batchLen]uint32 // end offset of each value in data, | keyed
	data []byte
}

const (
	batchLen  = 1 << 15
	batchData = 1 << 22
	keyed     = 1 << 31
)

func newPipe(dst *builder) *pipe {
	p := &pipe{dst: dst, full: make(chan *batch, 2), free: make(chan *batch, 3), done: make(chan error, 1)}
	for i := 0; i < 3; i++ {
		p.free <- &batch{data: make([]byte, 0, batchData+1<<16)}
	}
	p.cur = <-p.free
	return p
}

func (p *pipe) header(m *Meta) error {
	if err := p.dst.header(m); err != nil {
		return err
	}
	go p.run()
	return nil
}

func (p *pipe) run() {
	var err error
	for b := range p.full {
		if err == nil {
			start := uint32(0)
			n := b.n
			hs, ts, ends, data := b.h[:n], b.t[:n], b.end[:n], b.data
			for i, h := range hs {
				e := ends[i]
				if e&keyed != 0 {
					e &^= keyed
					err = p.dst.changeKey(int(h), ts[i], data[start:e])
				} else {
					err = p.dst.change(int(h), ts[i], data[start:e])
				}
				if err != nil {
					break
				}
				start = e
			}
		}
		b.n, b.data = 0, b.data[:0]
		p.free <- b
	}
	p.done <- err
}

func (p *pipe) change(h int, t uint64, v []byte) error {
	b := p.cur
	b.data = append(b.data, v...)
	p.commit(h, t, 0)
	return nil
}

// commit ends the entry whose value the caller appended to p.cur.data.
func (p *pipe) commit(h int, t uint64, flag uint32) {
	b := p.cur
	n := b.n
	b.h[n], b.t[n], b.end[n] = int32(h), t, uint32(len(b.data))|flag
	b.n = n + 1
	if b.n >= batchLen || len(b.data) >= batchData {
		p.full <- b
		p.cur = <-p.free
	}
}

// close hands over the last batch and waits for the sink; it must be
// called once after a successful header, whatever happened since.
func (p *pipe) close() error {
	if p.cur.n > 0 {
		p.full <- p.cur
	}
	close(p.full)
	return <-p.done
}
