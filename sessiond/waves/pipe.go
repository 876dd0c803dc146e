package waves

// pipe runs a sink in its own goroutine, fed in batches, so that reading a
// dump and encoding its index use two cores.
type pipe struct {
	dst  sink
	full chan *batch
	free chan *batch
	done chan error
	cur  *batch
}

type batch struct {
	h    []int32
	t    []uint64
	end  []uint32 // end offset of each value in data
	data []byte
}

const batchLen = 1 << 15

func newPipe(dst sink) *pipe {
	p := &pipe{dst: dst, full: make(chan *batch, 2), free: make(chan *batch, 3), done: make(chan error, 1)}
	for i := 0; i < 3; i++ {
		p.free <- &batch{}
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
			for i, h := range b.h {
				if err = p.dst.change(int(h), b.t[i], b.data[start:b.end[i]]); err != nil {
					break
				}
				start = b.end[i]
			}
		}
		b.h, b.t, b.end, b.data = b.h[:0], b.t[:0], b.end[:0], b.data[:0]
		p.free <- b
	}
	p.done <- err
}

func (p *pipe) change(h int, t uint64, v []byte) error {
	b := p.cur
	b.h = append(b.h, int32(h))
	b.t = append(b.t, t)
	b.data = append(b.data, v...)
	b.end = append(b.end, uint32(len(b.data)))
	if len(b.h) >= batchLen || len(b.data) >= 1<<22 {
		p.full <- b
		p.cur = <-p.free
	}
	return nil
}

// close hands over the last batch and waits for the sink; it must be
// called once after a successful header, whatever happened since.
func (p *pipe) close() error {
	if len(p.cur.h) > 0 {
		p.full <- p.cur
	}
	close(p.full)
	return <-p.done
}
