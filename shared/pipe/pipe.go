// Package pipe joins two connections, copying bytes both ways with
// half-closes, and closes both ends when either side is done, so a tunnel
// leaks neither goroutines nor file descriptors.
package pipe

import (
	"io"
	"net"
	"time"
)

// Linger is how long Join waits for the second direction after the first
// one ended before it closes both connections.
const Linger = 10 * time.Second

type closeWriter interface{ CloseWrite() error }

func closeWrite(c net.Conn) {
	if cw, ok := c.(closeWriter); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.Close()
}

// Join copies a→b and b→a until both directions end (or one ends and the
// other does not follow within Linger), then closes a and b. It returns the
// bytes copied in each direction.
func Join(a, b net.Conn) (aToB, bToA int64) {
	type result struct {
		n   int64
		dir int
	}
	done := make(chan result, 2)
	cp := func(dst, src net.Conn, dir int) {
		n, _ := io.Copy(dst, src)
		closeWrite(dst)
		done <- result{n, dir}
	}
	go cp(b, a, 0)
	go cp(a, b, 1)
	record := func(r result) {
		if r.dir == 0 {
			aToB = r.n
		} else {
			bToA = r.n
		}
	}
	record(<-done)
	t := time.NewTimer(Linger)
	select {
	case r := <-done:
		t.Stop()
		record(r)
		_ = a.Close()
		_ = b.Close()
	case <-t.C:
		_ = a.Close()
		_ = b.Close()
		record(<-done)
	}
	return aToB, bToA
}
