// Package nixproxy lets session containers, which have no network, read
// the cloud's Nix binary cache. The node listens on one unix socket in a
// directory of its own that every session container gets read-only at
// /run/gatewave-nix, next to a nix.conf naming the substituter and the
// cloud's public key; sessiond inside forwards 127.0.0.1:37515 to that
// socket for nix.
//
// The socket is the container boundary, so it forwards only what nix needs
// to substitute: GET and HEAD of nix-cache-info, <hash>.narinfo and
// nar/<hash>.nar, with no query and no body, to the cloud's /nix-cache/
// with the node's token, which the container never sees. Everything else
// is refused before anything reaches the cloud.
package nixproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

const (
	// Socket is the socket's name in Options.Dir.
	Socket = "cache.sock"
	// Conf is the nix.conf fragment's name in Options.Dir; the image's
	// /etc/nix/nix.conf includes /run/gatewave-nix/nix.conf.
	Conf = "nix.conf"
	// ContainerDir is where containers see Options.Dir.
	ContainerDir = "/run/gatewave-nix"
	// SubstituterURL is what nix inside a container uses: sessiond's
	// forwarder (sessiond --nix-cache-socket, listening on
	// 127.0.0.1:37515).
	SubstituterURL = "http://127.0.0.1:37515/nix-cache"
)

// Options configures a Proxy.
type Options struct {
	// CloudURL is the cloud's base URL (http, https, ws or wss). Required.
	CloudURL string
	// Token is the node's token, sent to the cloud only. Required.
	Token string
	// Dir holds the socket and nix.conf; it is made (0755) if missing,
	// and its parents (0700, the node's own). Required.
	Dir string
	// Client reaches the cloud; nil means one that follows no redirects.
	Client *http.Client
	// MaxConcurrent bounds requests in flight from all containers (0
	// means 16); beyond it requests get 503.
	MaxConcurrent int
	// MaxConns bounds the socket's open connections from all containers
	// (0 means 128): beyond it connections wait in the socket's backlog,
	// so no container can make nodegw hold more (a goroutine and a file
	// descriptor each) by opening them faster than they time out.
	MaxConns int
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// Proxy is the node's side of the cache path.
type Proxy struct {
	opts  Options
	cloud *url.URL
	log   *slog.Logger
	slots chan struct{}
	key   string
}

// allowed is every path nix asks a binary cache for while substituting.
var allowed = regexp.MustCompile(`^/nix-cache/(nix-cache-info|[0-9a-df-np-sv-z]{32}\.narinfo|nar/[0-9a-df-np-sv-z]{52}\.nar)$`)

// New checks the options and makes Dir.
func New(opts Options) (*Proxy, error) {
	if opts.CloudURL == "" || opts.Token == "" || opts.Dir == "" {
		return nil, errors.New("nixproxy: CloudURL, Token and Dir are required")
	}
	u, err := url.Parse(strings.TrimRight(opts.CloudURL, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("nixproxy: cloud URL %q: %v", opts.CloudURL, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("nixproxy: cloud URL %q: want http(s) or ws(s)", opts.CloudURL)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 16
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 128
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// Dir is the node's state directory's "nix": a state directory this
	// makes stays the node's alone (0700), so only containers, which get
	// Dir itself bind-mounted, reach the socket, never the host's other
	// users.
	if err := os.MkdirAll(filepath.Dir(opts.Dir), 0o700); err != nil {
		return nil, fmt.Errorf("nixproxy: %w", err)
	}
	if err := os.Mkdir(opts.Dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("nixproxy: %w", err)
	}
	if err := os.Chmod(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("nixproxy: %w", err)
	}
	return &Proxy{opts: opts, cloud: u, log: opts.Logger, slots: make(chan struct{}, opts.MaxConcurrent)}, nil
}

// ErrNoCache: the cloud serves no Nix cache (it runs without a data dir).
var ErrNoCache = errors.New("the cloud serves no nix cache")

// FetchKey asks the cloud for its public key and writes Dir/nix.conf, so
// nix in containers trusts what the cache signs.
func (p *Proxy) FetchKey(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cloud.String()+"/nix-cache/public-key", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+p.opts.Token)
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("nix cache key: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusNotFound {
		return "", ErrNoCache
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("nix cache key: %s", resp.Status)
	}
	key := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^[A-Za-z0-9._-]+:[A-Za-z0-9+/]{43}=$`).MatchString(key) {
		return "", fmt.Errorf("nix cache key: the cloud sent %q, not a Nix public key", key)
	}
	conf := fmt.Sprintf("# Written by nodegw (nodegw/nixproxy): the cloud's Nix binary cache.\nsubstituters = %s\ntrusted-public-keys = %s\n", SubstituterURL, key)
	tmp := filepath.Join(p.opts.Dir, "."+Conf+".tmp")
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		return "", fmt.Errorf("nix conf: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(p.opts.Dir, Conf)); err != nil {
		return "", fmt.Errorf("nix conf: %w", err)
	}
	p.key = key
	return key, nil
}

// Serve listens on Dir/cache.sock until ctx ends.
func (p *Proxy) Serve(ctx context.Context) error {
	path := filepath.Join(p.opts.Dir, Socket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("nixproxy: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("nixproxy: %w", err)
	}
	// Every container's user (uid 1000, remapped or not) connects.
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return fmt.Errorf("nixproxy: %w", err)
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Minute, // a big NAR on a slow disk
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	p.log.Info("nix cache socket", "path", path)
	if err := srv.Serve(limitListener(ln, p.opts.MaxConns)); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// ServeHTTP forwards one allowed request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		refuse(w, http.StatusMethodNotAllowed, "only GET and HEAD")
		return
	}
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		refuse(w, http.StatusBadRequest, "no request bodies")
		return
	}
	// The raw request line: no query, no fragment, no escapes, and only
	// the paths of a binary cache (the absolute form's host is ignored:
	// the request always goes to the cloud).
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" || r.URL.ForceQuery || r.URL.Fragment != "" || !allowed.MatchString(path) || r.URL.Path != path {
		refuse(w, http.StatusNotFound, "not a nix cache path")
		return
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	default:
		refuse(w, http.StatusServiceUnavailable, "busy")
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.cloud.String()+path, nil)
	if err != nil {
		refuse(w, http.StatusBadRequest, "bad request")
		return
	}
	req.Header.Set("Authorization", "Bearer "+p.opts.Token)
	req.Header.Set("User-Agent", "gatewave-nodegw-nixproxy")
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		p.log.Warn("nix cache: cloud unreachable", "path", path, "err", err)
		refuse(w, http.StatusBadGateway, "the cloud's nix cache is unreachable")
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		refuse(w, http.StatusNotFound, "not in the cache")
		return
	default:
		p.log.Warn("nix cache: cloud refused", "path", path, "status", resp.Status)
		refuse(w, http.StatusBadGateway, "the cloud's nix cache answered "+resp.Status)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Length"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.Copy(w, resp.Body)
	}
}

// limitListener accepts at most n connections at a time: Accept waits
// until one of those is closed.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limited{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limited struct {
	net.Listener
	slots chan struct{}
	once  sync.Once
	done  chan struct{}
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limited) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// CloseWrite keeps the server's graceful close of a unix connection.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
