// Package pipe joins two connections, copying bytes both ways with
// half-closes, and closes both ends when either side is done, so a tunnel
// leaks neither goroutines nor file descriptors.
package pipe

import (
	"io"
	"net"
	"sync"
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
func Join(a, b net.Conn) (aToB, bToA int64) { return join(a, b, false) }

// JoinServer is Join for a client and the server it reaches (a tunnel's
// stream and sessiond's socket, a browser and the node's stream): once the
// server's side ends, the server is done with the connection (it closed
// it, or died), so both are closed at once instead of lingering for the
// client, and a WebSocket through the tunnel sees its close as soon as its
// container goes. A client's half-close is passed on as in Join: the
// server may still be answering.
func JoinServer(client, server net.Conn) (toServer, toClient int64) {
	return join(client, server, true)
}

// join is Join; with bIsServer, b's end closes both at once.
func join(a, b net.Conn, bIsServer bool) (aToB, bToA int64) {
	type result struct {
		n   int64
		dir int
	}
	done := make(chan result, 2)
	cp := func(dst, src net.Conn, dir int) {
		n, _ := copyConn(dst, src)
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
	first := <-done
	record(first)
	if !bIsServer || first.dir == 0 {
		t := time.NewTimer(Linger)
		select {
		case r := <-done:
			t.Stop()
			record(r)
			_ = a.Close()
			_ = b.Close()
			return aToB, bToA
		case <-t.C:
		}
	}
	_ = a.Close()
	_ = b.Close()
	record(<-done)
	return aToB, bToA
}

// bufPool holds copy buffers larger than io.Copy's 32 KiB: between a yamux
// stream and a socket, every write is a yamux frame and a WebSocket
// message, so fewer, larger writes carry a tunnelled download faster.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyConn copies src to dst. Between two TCP connections io.Copy's own
// path (splice) is best; otherwise the copy goes through a large buffer.
func copyConn(dst, src net.Conn) (int64, error) {
	_, dstTCP := dst.(*net.TCPConn)
	_, srcTCP := src.(*net.TCPConn)
	if dstTCP && srcTCP {
		return io.Copy(dst, src)
	}
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	// The wrappers hide ReaderFrom/WriterTo, which would bypass buf.
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
}
