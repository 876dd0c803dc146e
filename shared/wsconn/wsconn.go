// Package wsconn adapts a WebSocket to a net.Conn so that a stream
// multiplexer (yamux) can run over it. Both ends of the fleet link use it:
// the cloud with the *websocket.Conn Fiber hands out, the node gateway with
// the one its dialer returns.
//
// Every Write becomes one binary WebSocket message. Writes are serialized by
// a mutex, so any number of goroutines may write: Fiber's WebSocket (and
// the fasthttp/gorilla one under it) panics on concurrent writers.
// Keepalive is not this layer's job; the multiplexer above owns it.
package wsconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// Conn is a net.Conn over a WebSocket. Create it with New.
type Conn struct {
	ws *websocket.Conn

	rmu sync.Mutex // guards r
	r   io.Reader  // the message being read, nil between messages

	wmu sync.Mutex // one writer at a time

	cmu        sync.Mutex
	closeCode  int
	closeText  string
	closeOnce  sync.Once
	closeError error
}

var _ net.Conn = (*Conn)(nil)

// New wraps ws. The caller should already have set ws's read limit (see
// SetReadLimit): a message over it closes the connection, not the process.
func New(ws *websocket.Conn) *Conn {
	return &Conn{ws: ws}
}

// Read reads bytes of binary messages as one continuous stream. A text
// message is a protocol error. A close frame from the peer ends the stream
// with io.EOF; its code and reason are then available from CloseStatus.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					c.cmu.Lock()
					c.closeCode, c.closeText = ce.Code, ce.Text
					c.cmu.Unlock()
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, fmt.Errorf("wsconn: unexpected WebSocket message type %d, want binary", typ)
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// WriteBufferSize is the write buffer for both ends of a node link: a
// message goes out in frames of this size, one write each, so 4 KiB frames
// would cost a tunnelled 8 MiB download two thousand writes.
const WriteBufferSize = 64 << 10

// WriteBufferPool shares write buffers between links: a buffer is held only
// while a message is being written, so 10,000 idle nodes hold none.
var WriteBufferPool = &sync.Pool{}

// Write sends p as one binary message.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseStatus returns the close code and reason the peer sent, or 0 and ""
// when it sent none (yet).
func (c *Conn) CloseStatus() (code int, reason string) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.closeCode, c.closeText
}

// Close sends a normal-closure frame and closes the connection.
func (c *Conn) Close() error {
	return c.CloseWithCode(websocket.CloseNormalClosure, "")
}

// CloseWithCode sends a close frame with code and reason (best effort, one
// second at most) and closes the underlying connection. Later calls do
// nothing and return the first call's result.
func (c *Conn) CloseWithCode(code int, reason string) error {
	c.closeOnce.Do(func() {
		// WriteControl may run concurrently with WriteMessage, but taking
		// the write lock keeps the close frame after any message in flight.
		// A writer stuck on a dead peer must not block Close forever.
		locked := make(chan struct{})
		go func() { c.wmu.Lock(); close(locked) }()
		select {
		case <-locked:
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			c.wmu.Unlock()
		case <-time.After(time.Second):
			go func() { <-locked; c.wmu.Unlock() }()
		}
		c.closeError = c.ws.Close()
	})
	return c.closeError
}

func (c *Conn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}
