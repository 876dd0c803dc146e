package wsconn_test

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/testenv"
	"gatewave.dev/shared/wsconn"
)

// serve runs a Fiber WebSocket endpoint on 127.0.0.1 whose handler gets the
// server side as a *wsconn.Conn, and returns a dialled client side.
func serve(t *testing.T, h func(*wsconn.Conn)) *wsconn.Conn {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/ws", websocket.New(func(c *websocket.Conn) {
		c.SetReadLimit(1 << 20)
		h(wsconn.New(c.Conn))
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
	ctx := testenv.Context(t, testenv.WaitShort)
	ws, _, err := fws.DefaultDialer.DialContext(ctx, "ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	c := wsconn.New(ws)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Many goroutines write at once: every byte arrives, each write intact, and
// (under -race) nothing races or panics.
func TestConcurrentWriters(t *testing.T) {
	const writers, each = 16, 200
	got := make(chan []byte, 1)
	client := serve(t, func(c *wsconn.Conn) {
		b, _ := io.ReadAll(io.LimitReader(c, writers*each*8))
		got <- b
	})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			msg := bytes.Repeat([]byte{byte('a' + w)}, 8)
			for range each {
				if _, err := client.Write(msg); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b := <-got
	if len(b) != writers*each*8 {
		t.Fatalf("read %d bytes, want %d", len(b), writers*each*8)
	}
	for i := 0; i < len(b); i += 8 {
		if !bytes.Equal(b[i:i+8], bytes.Repeat(b[i:i+1], 8)) {
			t.Fatalf("write interleaved at %d: %q", i, b[i:i+8])
		}
	}
}

// A close code and reason from the peer end the stream with io.EOF and are
// readable afterwards: the gateway relies on this for 1013 retry-after.
func TestCloseStatus(t *testing.T) {
	client := serve(t, func(c *wsconn.Conn) {
		_ = c.CloseWithCode(1013, "retry-after=3")
	})
	_, err := io.ReadAll(client)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if code, reason := client.CloseStatus(); code != 1013 || reason != "retry-after=3" {
		t.Fatalf("CloseStatus = %d %q", code, reason)
	}
}

// A message over the read limit closes that connection with an error.
func TestOversizedMessage(t *testing.T) {
	errc := make(chan error, 1)
	client := serve(t, func(c *wsconn.Conn) {
		_, err := io.ReadAll(c)
		errc <- err
	})
	_, _ = client.Write(make([]byte, 2<<20))
	if err := <-errc; err == nil {
		t.Fatal("oversized message did not fail the read")
	}
}

// A text message is refused.
func TestTextMessageRefused(t *testing.T) {
	errc := make(chan error, 1)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/ws", websocket.New(func(c *websocket.Conn) {
		_, err := io.ReadAll(wsconn.New(c.Conn))
		errc <- err
	}))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go app.Listener(ln)
	defer app.Shutdown()
	ws, _, err := fws.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.WriteMessage(fws.TextMessage, []byte("hi"))
	if err := <-errc; err == nil {
		t.Fatal("text message accepted")
	}
}
