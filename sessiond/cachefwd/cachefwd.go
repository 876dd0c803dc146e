// Package cachefwd gives nix in a session container the node's Nix cache
// socket as a loopback address: a container has no network, and nix
// reaches a binary cache over HTTP only. Each connection to the listener
// is joined, byte for byte, to a new connection to the socket; the node's
// side (nodegw/nixproxy) decides what passes, so this adds no trust.
package cachefwd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultListen is where nix in the container finds the cache
// (nodegw/nixproxy.SubstituterURL).
const DefaultListen = "127.0.0.1:37515"

// Options configures Serve.
type Options struct {
	// Socket is the node's cache socket, e.g. /run/gatewave-nix/cache.sock. Required.
	Socket string
	// Listen is the loopback address ("" means DefaultListen).
	Listen string
	// MaxConns bounds open connections (0 means 64).
	MaxConns int
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// ErrNoMount: the socket's directory is not there (no cache on this node,
// or an image run outside a pool).
var ErrNoMount = errors.New("cachefwd: the node's nix cache directory is not mounted")

// Listen binds the loopback address when the socket's directory exists.
// The socket itself may appear later: each connection dials it anew.
func Listen(o Options) (net.Listener, error) {
	if o.Socket == "" {
		return nil, errors.New("cachefwd: Options.Socket is required")
	}
	if fi, err := os.Stat(filepath.Dir(o.Socket)); err != nil || !fi.IsDir() {
		return nil, ErrNoMount
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	return net.Listen("tcp", o.Listen)
}

// Serve forwards connections from ln to the socket until ctx ends.
func Serve(ctx context.Context, ln net.Listener, o Options) error {
	if o.MaxConns <= 0 {
		o.MaxConns = 64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	go func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range open {
			c.Close()
		}
	}()
	slots := make(chan struct{}, o.MaxConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case slots <- struct{}{}:
		default:
			c.Close()
			continue
		}
		mu.Lock()
		open[c] = true
		mu.Unlock()
		wg.Go(func() {
			defer func() { <-slots }()
			forward(c, o)
			mu.Lock()
			delete(open, c)
			mu.Unlock()
		})
	}
}

func forward(c net.Conn, o Options) {
	defer c.Close()
	d := net.Dialer{Timeout: 5 * time.Second}
	u, err := d.Dial("unix", o.Socket)
	if err != nil {
		o.Logger.Debug("nix cache socket", "err", err)
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); closeWrite(u); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
