package lsp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gatewave.dev/sessiond/childenv"

	"github.com/fasthttp/websocket"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"golang.org/x/time/rate"

	"gatewave.dev/sessiond/lsp/jsonrpc"
)

// Close codes sent to the client.
const (
	// CloseServerDied means the language server exited or broke the
	// protocol without the client asking; reconnect to start a fresh one.
	CloseServerDied = 4001
)

// shutdownID is the id of the shutdown request sessiond sends on the
// client's behalf when the client leaves without one.
const shutdownID = `"sessiond-shutdown"`

// session is one WebSocket joined to one language server process.
type session struct {
	svc  *Service
	lang Language
	// conn is the connection itself, not Fiber's pooled wrapper, which is
	// recycled once the handler returns (Close may still hold the session).
	conn  *websocket.Conn
	paths pathMap
	log   *slog.Logger

	cmd    *exec.Cmd
	pgid   int
	stdin  *os.File
	stdout *os.File
	stderr *os.File
	in     *jsonrpc.Writer

	exited     chan struct{}         // closed once the process is reaped
	waitErr    error                 // valid after exited
	pumpDone   chan struct{}         // stdout fully read
	pumpErr    atomic.Pointer[error] // why reading the server failed
	stderrDone chan struct{}
	monDone    chan struct{}

	clientGone  atomic.Bool // the client left; drop server output
	clientExit  atomic.Bool // the client sent exit itself
	shutdownAck chan struct{}
	ackOnce     sync.Once

	wmu     sync.Mutex // one WebSocket writer at a time
	wclosed bool       // a close frame went out; write nothing more

	logLimit *rate.Limiter
	dropped  atomic.Int64
}

// start launches the language server for lang in the workspace, in a
// process group of its own so that everything it spawns can be killed.
func (s *Service) start(lang Language, bin string, conn *websocket.Conn) (*session, error) {
	cmd := exec.Command(bin, lang.Args...)
	childenv.Limit(cmd)
	cmd.Dir = s.ws.Dir()
	cmd.Env = childenv.Base()
	keys := make([]string, 0, len(lang.Env))
	for k := range lang.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+lang.Env[k])
	}
	// Pdeathsig: if sessiond itself dies, its language servers go too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	// Own pipes rather than cmd.StdoutPipe: reads may outlive Wait (the
	// last responses before a crash still reach the client).
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", lang.Command, err)
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %w", lang.Command, err)
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %w", lang.Command, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	inR.Close()
	outW.Close()
	errW.Close()

	ss := &session{
		svc:         s,
		lang:        lang,
		conn:        conn,
		paths:       newPathMap(s.ws.Dir()),
		log:         s.log.With("language", lang.ID, "server", lang.Command, "pid", cmd.Process.Pid),
		cmd:         cmd,
		pgid:        cmd.Process.Pid,
		stdin:       inW,
		stdout:      outR,
		stderr:      errR,
		in:          jsonrpc.NewWriter(inW),
		exited:      make(chan struct{}),
		pumpDone:    make(chan struct{}),
		stderrDone:  make(chan struct{}),
		monDone:     make(chan struct{}),
		shutdownAck: make(chan struct{}),
		logLimit:    rate.NewLimiter(rate.Limit(20), 50),
	}
	go func() {
		ss.waitErr = cmd.Wait()
		close(ss.exited)
	}()
	go ss.pumpServer()
	go ss.pumpStderr()
	go ss.monitor()
	ss.log.Info("language server started")
	return ss, nil
}

// send writes one text frame to the client.
func (ss *session) send(msg []byte) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.wclosed {
		return errors.New("websocket closed")
	}
	return ss.conn.WriteMessage(websocket.TextMessage, msg)
}

// closeWS sends a close frame (once) and gives the client a moment to
// answer it, after which the read loop ends anyway.
func (ss *session) closeWS(code int, reason string) {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.wclosed {
		return
	}
	ss.wclosed = true
	if len(reason) > 123 { // the protocol's limit for a close reason
		reason = reason[:120] + "..."
	}
	deadline := time.Now().Add(time.Second)
	_ = ss.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
	_ = ss.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
}

// pumpServer forwards the server's messages to the client, in order.
func (ss *session) pumpServer() {
	defer close(ss.pumpDone)
	r := jsonrpc.NewReader(ss.stdout, jsonrpc.ReaderOptions{
		MaxMessageSize: ss.svc.cfg.MaxMessageSize,
		Stray: func(b []byte) {
			ss.logLine("stray output on the language server's stdout skipped", b)
		},
	})
	for {
		msg, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				ss.pumpErr.Store(&err)
				ss.log.Warn("reading from the language server failed; stopping it", "err", err)
				ss.kill()
			}
			return
		}
		if ss.clientGone.Load() {
			if v, err := jsonrpc2.ScanMessageView(msg); err == nil && string(v.IDRaw) == shutdownID {
				ss.ackOnce.Do(func() { close(ss.shutdownAck) })
			}
			continue // keep draining so the server never blocks on a full pipe
		}
		if err := ss.send(ss.paths.toClient(msg)); err != nil {
			ss.clientGone.Store(true)
		}
	}
}

// pumpStderr copies the server's stderr to the log, rate-limited.
func (ss *session) pumpStderr() {
	defer close(ss.stderrDone)
	br := bufio.NewReaderSize(ss.stderr, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			ss.logLine("language server stderr", line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (ss *session) logLine(what string, b []byte) {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return
	}
	if !ss.logLimit.Allow() {
		ss.dropped.Add(1)
		return
	}
	if len(b) > 1024 {
		b = append(b[:1024:1024], "..."...)
	}
	if n := ss.dropped.Swap(0); n > 0 {
		ss.log.Warn("language server output rate-limited", "dropped_lines", n)
	}
	ss.log.Info(what, "line", string(b))
}

// monitor tells the client when the server dies under it.
func (ss *session) monitor() {
	defer close(ss.monDone)
	<-ss.exited
	// Deliver what the server wrote before it died, unless some
	// grandchild keeps stdout open.
	select {
	case <-ss.pumpDone:
	case <-time.After(time.Second):
	}
	if ss.clientGone.Load() {
		return
	}
	pumpErr := ss.pumpErr.Load()
	if ss.clientExit.Load() && pumpErr == nil {
		ss.closeWS(websocket.CloseNormalClosure, "language server exited")
		return
	}
	why := "exited"
	if ss.waitErr != nil {
		why = ss.waitErr.Error()
	}
	if pumpErr != nil {
		why = (*pumpErr).Error()
	}
	ss.log.Warn("language server died", "why", why)
	ss.notify(protocol.MessageTypeError, fmt.Sprintf("The %s language server (%s) stopped: %s. Reconnect to start a fresh one.", ss.lang.ID, ss.lang.Command, why))
	ss.closeWS(CloseServerDied, ss.lang.Command+" "+why)
}

// notify shows the user a message through the client's window/showMessage.
func (ss *session) notify(typ protocol.MessageType, text string) {
	params, err := protocol.Marshal(&protocol.ShowMessageParams{Type: typ, Message: text})
	if err != nil {
		ss.log.Error("encode showMessage", "err", err)
		return
	}
	_ = ss.send(jsonrpc2.AppendNotification(nil, protocol.MethodWindowShowMessage, params))
}

// kill ends the whole process group.
func (ss *session) kill() {
	_ = syscall.Kill(-ss.pgid, syscall.SIGKILL)
}

// writeServer writes to the server's stdin, giving up after d (a server
// that stops reading must not hold up the teardown).
func (ss *session) writeServer(msg []byte, d time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ss.in.Write(msg)
	}()
	select {
	case <-done:
	case <-ss.exited:
	case <-time.After(d):
		ss.kill()
		<-done
	}
}

// teardown runs once the client has gone: shutdown and exit, a grace
// period, then SIGKILL to the group, and the process is always reaped.
func (ss *session) teardown() {
	ss.clientGone.Store(true)
	grace := ss.svc.cfg.ShutdownGrace
	select {
	case <-ss.exited:
	default:
		if !ss.clientExit.Load() {
			ss.writeServer(jsonrpc2.AppendCall(nil, jsonrpc2.NewStringID("sessiond-shutdown"), protocol.MethodShutdown, nil), grace)
			select {
			case <-ss.shutdownAck:
			case <-ss.exited:
			case <-time.After(grace):
			}
			ss.writeServer(jsonrpc2.AppendNotification(nil, protocol.MethodExit, nil), grace)
		}
		ss.stdin.Close()
		select {
		case <-ss.exited:
		case <-time.After(grace):
			ss.log.Warn("language server ignored exit; killing its process group")
		}
	}
	ss.kill() // also whatever it spawned, even if it exited itself
	<-ss.exited
	ss.stdin.Close()
	select {
	case <-ss.pumpDone:
	case <-time.After(time.Second):
		ss.stdout.Close() // a descendant that left the group holds the pipe
		<-ss.pumpDone
	}
	select {
	case <-ss.stderrDone:
	case <-time.After(time.Second):
		ss.stderr.Close()
		<-ss.stderrDone
	}
	<-ss.monDone
	ss.stdout.Close()
	ss.stderr.Close()
	ss.log.Info("language server stopped", "status", fmt.Sprint(ss.waitErr))
}
