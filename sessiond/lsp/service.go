// Package lsp is sessiond's language-server proxy. A browser editor speaks
// LSP over a WebSocket, one JSON-RPC message per text frame; the proxy
// starts the configured language server in the workspace for each socket
// and speaks Content-Length framed JSON-RPC with it over stdio. Clients see
// the workspace as file:///workspace wherever it really is; everything else
// passes through byte for byte and in order.
package lsp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"gatewave.dev/sessiond/lsp/jsonrpc"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/wsorigin"
)

// Config is the user-facing configuration. The zero value works.
type Config struct {
	// Languages are the built-in languages; nil means DefaultLanguages().
	Languages map[string]Language
	// ConfigFile is the workspace-relative file that overrides Languages;
	// "" means DefaultConfigFile, "-" disables it.
	ConfigFile string
	// MaxMessageSize caps one JSON-RPC message in either direction; 0 means
	// 64 MiB. A larger message closes the socket with 1009.
	MaxMessageSize int64
	// ShutdownGrace is how long a server gets to answer shutdown and then
	// to exit before its process group is killed; 0 means 2 s.
	ShutdownGrace time.Duration
	// SearchPath lists directories searched after PATH for server binaries;
	// nil means the Go bin directories ($GOBIN or $GOPATH/bin).
	SearchPath []string
	// MaxSessions caps concurrent language servers; 0 means 32.
	MaxSessions int
}

// Options are what New needs: sessiond's parts plus the Config.
type Options struct {
	// Workspace is the confined workspace; required.
	Workspace *workspace.Workspace
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
	// Origins guards the WebSocket upgrade; the zero value is same-origin.
	Origins wsorigin.Policy
	// Trusted reports whether the workspace's ConfigFile may choose the
	// programs to run; nil means trusted. See configFile.
	Trusted func() bool
	Config
}

// Service serves api/v1/lsp. Create it with New.
type Service struct {
	ws      *workspace.Workspace
	log     *slog.Logger
	origins wsorigin.Policy
	trusted func() bool
	cfg     Config

	mu       sync.Mutex
	closed   bool
	sessions map[*session]struct{}
	wg       sync.WaitGroup
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Workspace == nil {
		return nil, errors.New("lsp: Options.Workspace is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := opts.Config
	if c.Languages == nil {
		c.Languages = DefaultLanguages()
	}
	switch c.ConfigFile {
	case "":
		c.ConfigFile = DefaultConfigFile
	case "-":
		c.ConfigFile = ""
	default:
		rel, err := workspace.Clean(c.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("lsp: ConfigFile %q: %w", c.ConfigFile, err)
		}
		c.ConfigFile = rel
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = jsonrpc.DefaultMaxMessageSize
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 2 * time.Second
	}
	if c.SearchPath == nil {
		c.SearchPath = goBinDirs()
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 32
	}
	return &Service{
		ws:       opts.Workspace,
		log:      opts.Logger.With("service", "lsp"),
		origins:  opts.Origins,
		trusted:  opts.Trusted,
		cfg:      c,
		sessions: make(map[*session]struct{}),
	}, nil
}

// Mount adds GET lsp (the language list) and the lsp/{language} WebSocket.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/lsp", s.list)
	api.Get("/lsp/:language", s.prepare, s.origins.Upgrade(s.serve, websocket.Config{
		ReadBufferSize:  64 << 10,
		WriteBufferSize: 64 << 10,
	}))
}

// Close ends every session: the client sockets close with 1001 and the
// servers get shutdown, exit and finally SIGKILL to their groups.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	var all []*session
	for ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.closeWS(websocket.CloseGoingAway, "sessiond is shutting down")
		_ = ss.conn.NetConn().Close() // ends the read loop, which tears down
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(3*s.cfg.ShutdownGrace + 3*time.Second):
		for _, ss := range all {
			ss.kill()
		}
		<-done
		return nil
	}
}

func (s *Service) languages() (map[string]Language, error) {
	langs, err := loadLanguages(s.ws, s.configFile(), s.cfg.Languages)
	if err != nil {
		return nil, apierr.New(http.StatusInternalServerError, "invalid_config", "language configuration: %v", err)
	}
	return langs, nil
}

// LanguageInfo is one entry of GET api/v1/lsp.
type LanguageInfo struct {
	ID         string   `json:"id"`
	Command    string   `json:"command"`
	Extensions []string `json:"extensions"`
	Available  bool     `json:"available"`
}

func (s *Service) list(c *fiber.Ctx) error {
	langs, err := s.languages()
	if err != nil {
		return err
	}
	out := make([]LanguageInfo, 0, len(langs))
	for _, id := range sortedIDs(langs) {
		l := langs[id]
		_, _, err := resolve(l, s.cfg.SearchPath)
		ext := l.Extensions
		if ext == nil {
			ext = []string{}
		}
		out = append(out, LanguageInfo{ID: id, Command: l.Command, Extensions: ext, Available: err == nil})
	}
	return c.JSON(fiber.Map{"languages": out})
}

const (
	localLang = "lsp.language"
	localBin  = "lsp.binary"
)

// prepare validates the language before the upgrade, so that bad input
// gets a JSON error rather than a socket that closes at once.
func (s *Service) prepare(c *fiber.Ctx) error {
	langs, err := s.languages()
	if err != nil {
		return err
	}
	id := c.Params("language")
	l, ok := langs[id]
	if !ok {
		ids := sortedIDs(langs)
		return apierr.NotFound("unknown language %q; configured languages: %v", id, ids).
			WithDetails(fiber.Map{"languages": ids})
	}
	bin, args, err := resolve(l, s.cfg.SearchPath)
	if err != nil {
		return apierr.New(http.StatusServiceUnavailable, "language_server_missing",
			"language %q needs the language server binary %q, which is not installed (%v)", id, l.Command, err).
			WithDetails(fiber.Map{"language": id, "binary": l.Command})
	}
	s.mu.Lock()
	closed, n := s.closed, len(s.sessions)
	s.mu.Unlock()
	if closed {
		return apierr.New(http.StatusServiceUnavailable, "shutting_down", "sessiond is shutting down")
	}
	if n >= s.cfg.MaxSessions {
		return apierr.New(http.StatusTooManyRequests, "too_many_sessions", "%d language servers are already running; close an editor first", n)
	}
	l.Args = args
	c.Locals(localLang, l)
	c.Locals(localBin, bin)
	return c.Next()
}

// serve joins one WebSocket to a fresh language server.
func (s *Service) serve(conn *websocket.Conn) {
	lang, _ := conn.Locals(localLang).(Language)
	bin, _ := conn.Locals(localBin).(string)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "sessiond is shutting down"), time.Now().Add(time.Second))
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ss, err := s.start(lang, bin, conn.Conn)
	if err != nil {
		s.log.Error("language server did not start", "language", lang.ID, "err", err)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(CloseServerDied, truncate(err.Error())), time.Now().Add(time.Second))
		return
	}
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	defer func() {
		ss.teardown() // deferred: even a panic must not leave the server running
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
	}()
	ss.pumpClient()
}

func truncate(s string) string {
	if len(s) > 123 {
		return s[:120] + "..."
	}
	return s
}

// pumpClient forwards the client's messages to the server, in order, until
// the client goes or the server dies.
func (ss *session) pumpClient() {
	max := ss.svc.cfg.MaxMessageSize
	var buf bytes.Buffer
	for {
		typ, r, err := ss.conn.NextReader()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage && typ != websocket.BinaryMessage {
			continue
		}
		buf.Reset()
		n, err := buf.ReadFrom(io.LimitReader(r, max+1))
		if err != nil {
			return
		}
		if n > max {
			ss.log.Warn("client message over the size limit; closing", "limit", max)
			ss.notify(protocol.MessageTypeError, fmt.Sprintf("A message to the %s language server was larger than the %d-byte limit; the connection is closed.", ss.lang.ID, max))
			ss.closeWS(websocket.CloseMessageTooBig, fmt.Sprintf("message exceeds the %d-byte limit", max))
			return
		}
		msg := buf.Bytes()
		msg, ok := ss.fromClient(msg)
		if !ok {
			continue
		}
		if err := ss.in.Write(msg); err != nil {
			// The server is gone; monitor tells the client. Wait for that
			// before tearing down so the close code is the right one.
			<-ss.monDone
			return
		}
		if buf.Cap() > 1<<20 {
			buf = bytes.Buffer{} // do not keep a 10 MiB buffer for small messages
		}
	}
}

// fromClient checks and maps one client message. Invalid JSON is answered
// with a JSON-RPC parse error and not forwarded.
func (ss *session) fromClient(msg []byte) ([]byte, bool) {
	v, err := jsonrpc2.ScanMessageView(msg)
	if err != nil {
		code := jsonrpc2.ParseError
		if errors.Is(err, jsonrpc2.ErrInvalidRequest) {
			code = jsonrpc2.InvalidRequest
		}
		_ = ss.send(jsonrpc2.AppendResponse(nil, jsonrpc2.ID{}, nil, jsonrpc2.NewError(code, "sessiond: not a JSON-RPC message: "+err.Error())))
		return nil, false
	}
	switch string(v.MethodBytes) {
	case protocol.MethodInitialize:
		out, err := ss.initialize(msg, v)
		if err != nil {
			ss.log.Warn("initialize params not rewritten", "err", err)
		} else {
			msg = out
		}
	case protocol.MethodExit:
		ss.clientExit.Store(true)
	}
	return ss.paths.toServer(msg), true
}

// initialize sets processId to sessiond's pid and maps rootPath; rootUri
// and workspaceFolders are URIs and get mapped with everything else.
func (ss *session) initialize(msg []byte, v jsonrpc2.MessageView) ([]byte, error) {
	// Only the deprecated rootPath needs decoding here (clients still send
	// it, and servers still read it).
	var p struct {
		RootPath *string `json:"rootPath"`
	}
	if err := protocol.Unmarshal(v.Params, &p); err != nil {
		return nil, fmt.Errorf("decode initialize params: %w", err)
	}
	params := bytes.Clone(v.Params)
	pid := fmt.Appendf(nil, "%d", os.Getpid())
	params, err := setMember(params, "processId", pid)
	if err != nil {
		return nil, err
	}
	if p.RootPath != nil {
		rp := *p.RootPath
		if mapped, ok := ss.paths.serverPath(rp); ok {
			q, err := jsontext.AppendQuote(nil, mapped)
			if err != nil {
				return nil, fmt.Errorf("rootPath: %w", err)
			}
			if params, err = setMember(params, "rootPath", q); err != nil {
				return nil, err
			}
		}
	}
	id, ok := v.ID.ID()
	if !ok {
		return nil, errors.New("initialize is not a call (it has no id)")
	}
	return jsonrpc2.AppendCall(nil, id, protocol.MethodInitialize, params), nil
}

// setMember replaces (or adds) the member name of the JSON object obj.
func setMember(obj []byte, name string, value []byte) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("set %s: params are not an object", name)
	}
	bodyStart := int(dec.InputOffset())
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", name, err)
		}
		key := tok.String()
		val, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", name, err)
		}
		if key == name {
			end := int(dec.InputOffset())
			start := end - len(val)
			return slices.Concat(obj[:start], value, obj[end:]), nil
		}
	}
	sep := []byte(",")
	if len(bytes.TrimSpace(obj[bodyStart:len(obj)-1])) == 0 {
		sep = nil
	}
	member, err := jsontext.AppendQuote(nil, name)
	if err != nil {
		return nil, err
	}
	member = append(append(member, ':'), value...)
	return slices.Concat(obj[:bodyStart], member, sep, obj[bodyStart:]), nil
}
