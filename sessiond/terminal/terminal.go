// Package terminal gives sessiond's clients shells on pseudo-terminals. Each
// shell outlives a dropped WebSocket for a grace period, keeps recent output
// in a scrollback buffer to replay on reattach, and when it exits, or is
// abandoned, every process in its session is stopped and reaped.
package terminal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gatewave.dev/sessiond/childenv"

	"github.com/creack/pty"

	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/wsorigin"
)

// Options configure a Service. Dir is required.
type Options struct {
	// Dir is the directory shells start in (the workspace).
	Dir string
	// Logger is sessiond's logger; nil means slog.Default().
	Logger *slog.Logger
	// Origins guards the WebSocket; the zero value allows same origin.
	Origins wsorigin.Policy
	// Shell is the program to run; "" means $SHELL, else /bin/bash, else
	// /bin/sh.
	Shell string
	// Grace is how long a shell with no client attached keeps running;
	// 0 means 60 s.
	Grace time.Duration
	// Scrollback is how many recent output bytes a reattaching client
	// gets; 0 means 256 KiB.
	Scrollback int
	// MaxSessions caps concurrent shells; 0 means 32.
	MaxSessions int
	// Env is added to the environment shells inherit from sessiond.
	Env []string
	// ExtraEnv, when set, is asked for more variables before each shell
	// starts (the workspace's shell.nix, sessiond/nixshell); a notice it
	// returns is shown at the top of that terminal.
	ExtraEnv func(ctx context.Context) (env []string, notice string)
}

// Service owns the terminal sessions.
type Service struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Dir == "" {
		return nil, errors.New("terminal: Options.Dir is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Grace <= 0 {
		opts.Grace = 60 * time.Second
	}
	if opts.Scrollback <= 0 {
		opts.Scrollback = 256 << 10
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 32
	}
	if opts.Shell == "" {
		opts.Shell = pickShell()
	}
	return &Service{opts: opts, log: opts.Logger, sessions: map[string]*Session{}}, nil
}

func pickShell() string {
	for _, c := range []string{os.Getenv("SHELL"), "/bin/bash", "/bin/sh"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return "/bin/sh"
}

// Session is one shell on a pseudo-terminal.
type Session struct {
	id      string
	svc     *Service
	cmd     *exec.Cmd
	pty     *os.File
	out     *scrollback
	started time.Time
	exited  chan struct{}

	mu         sync.Mutex
	status     int
	cols, rows int
	attachment int           // increases on every attach
	kick       chan struct{} // closed to take the session from the current client
	attached   bool
	grace      *time.Timer
}

// Info describes a session for GET /api/v1/ptys.
type Info struct {
	ID        string    `json:"id"`
	PID       int       `json:"pid"`
	Shell     string    `json:"shell"`
	StartedAt time.Time `json:"started_at"`
	Cols      int       `json:"cols"`
	Rows      int       `json:"rows"`
	Attached  bool      `json:"attached"`
	Exited    bool      `json:"exited"`
	// Status is the shell's exit status once Exited.
	Status *int `json:"status,omitempty"`
}

// Open starts a new shell of the given size.
func (s *Service) Open(cols, rows int) (*Session, error) {
	var extra []string
	var notice string
	if s.opts.ExtraEnv != nil {
		extra, notice = s.opts.ExtraEnv(context.Background())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, apierr.New(503, "shutting_down", "sessiond is shutting down")
	}
	if len(s.sessions) >= s.opts.MaxSessions {
		return nil, apierr.New(429, "too_many_terminals", "%d terminals are open; close one first", len(s.sessions))
	}
	cmd := exec.Command(s.opts.Shell)
	childenv.Limit(cmd)
	cmd.Dir = s.opts.Dir
	cmd.Env = append(append(childenv.Base("TERM", "COLORTERM"), "TERM=xterm-256color", "COLORTERM=truecolor"), s.opts.Env...)
	cmd.Env = append(cmd.Env, extra...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return nil, fmt.Errorf("start shell %s: %w", s.opts.Shell, err)
	}
	sess := &Session{
		id: newID(), svc: s, cmd: cmd, pty: f, out: newScrollback(s.opts.Scrollback),
		started: time.Now(), exited: make(chan struct{}), cols: cols, rows: rows,
		kick: make(chan struct{}),
	}
	if notice != "" {
		sess.out.Write([]byte("\x1b[33m[gatewave] " + notice + "\x1b[0m\r\n"))
	}
	s.sessions[sess.id] = sess
	// Until a client attaches, the shell is on its grace period like any
	// abandoned one, so a failed upgrade cannot leak it.
	sess.detach(0)
	go sess.run()
	s.log.Info("terminal opened", "id", sess.id, "pid", cmd.Process.Pid, "shell", s.opts.Shell)
	return sess, nil
}

// run copies terminal output into the scrollback and, when the shell
// exits, stops whatever it left in its session and reaps it.
func (t *Session) run() {
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 32<<10)
		for {
			n, err := t.pty.Read(buf)
			if n > 0 {
				t.out.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	err := t.cmd.Wait()
	status := -1
	if ps := t.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			status = 128 + int(ws.Signal())
		} else {
			status = ps.ExitCode()
		}
	} else if err != nil {
		t.svc.log.Warn("terminal wait", "id", t.id, "err", err)
	}
	// Background jobs keep the terminal open; the session ends with its
	// shell, so they go too.
	signalSession(t.cmd.Process.Pid, syscall.SIGHUP)
	signalSession(t.cmd.Process.Pid, syscall.SIGCONT)
	select {
	case <-copied:
	case <-time.After(500 * time.Millisecond):
		signalSession(t.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
			t.svc.log.Warn("terminal output still open after its shell exited", "id", t.id)
		}
	}
	t.pty.Close()
	t.mu.Lock()
	t.status = status
	t.mu.Unlock()
	t.out.finish()
	close(t.exited)
	t.svc.log.Info("terminal exited", "id", t.id, "status", status)

	// A client attached now has seen the exit; a detached session stays
	// for the rest of its grace period so a reconnect can learn the status.
	t.mu.Lock()
	if !t.attached && t.grace == nil {
		t.svc.forget(t.id)
	}
	t.mu.Unlock()
}

// signalSession sends sig to every process in session sid (the shell's
// pid, since the pty makes it a session leader). Processes are found by
// scanning /proc, which also catches jobs in their own process groups.
func signalSession(sid int, sig syscall.Signal) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		_ = syscall.Kill(-sid, sig)
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		// After the command: state ppid pgrp session ...
		f := strings.Fields(s[i+1:])
		if len(f) >= 4 && f[3] == strconv.Itoa(sid) {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// Get returns session id or a 404.
func (s *Service) Get(id string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.sessions[id]; ok {
		return t, nil
	}
	return nil, apierr.NotFound("no terminal %q (it exited, or was closed after %s without a client)", id, s.opts.Grace)
}

func (s *Service) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// List describes every session.
func (s *Service) List() []Info {
	s.mu.Lock()
	ss := make([]*Session, 0, len(s.sessions))
	for _, t := range s.sessions {
		ss = append(ss, t)
	}
	s.mu.Unlock()
	out := make([]Info, 0, len(ss))
	for _, t := range ss {
		out = append(out, t.Info())
	}
	slices.SortFunc(out, func(a, b Info) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

// Info describes t.
func (t *Session) Info() Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	in := Info{ID: t.id, PID: t.cmd.Process.Pid, Shell: t.svc.opts.Shell, StartedAt: t.started, Cols: t.cols, Rows: t.rows, Attached: t.attached}
	select {
	case <-t.exited:
		in.Exited = true
		st := t.status
		in.Status = &st
	default:
	}
	return in
}

// attach makes the caller the session's client, taking it from any previous
// one, and stops the grace timer.
func (t *Session) attach() (gen int, kicked <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	close(t.kick)
	t.kick = make(chan struct{})
	t.attachment++
	t.attached = true
	if t.grace != nil {
		t.grace.Stop()
		t.grace = nil
	}
	return t.attachment, t.kick
}

// detach starts the grace period unless another client has attached since.
func (t *Session) detach(gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.attachment {
		return
	}
	t.attached = false
	t.grace = time.AfterFunc(t.svc.opts.Grace, func() {
		t.mu.Lock()
		expired := !t.attached && t.attachment == gen
		t.mu.Unlock()
		if expired {
			t.svc.log.Info("terminal abandoned", "id", t.id, "grace", t.svc.opts.Grace)
			t.Kill()
			<-t.exited
			t.svc.forget(t.id)
		}
	})
}

// Resize sets the terminal size.
func (t *Session) Resize(cols, rows int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := pty.Setsize(t.pty, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		return fmt.Errorf("resize terminal %s: %w", t.id, err)
	}
	t.cols, t.rows = cols, rows
	return nil
}

// Kill hangs up the session's processes and kills what remains shortly
// after; run reaps the shell.
func (t *Session) Kill() {
	select {
	case <-t.exited:
		return
	default:
	}
	pid := t.cmd.Process.Pid
	signalSession(pid, syscall.SIGHUP)
	signalSession(pid, syscall.SIGCONT)
	select {
	case <-t.exited:
	case <-time.After(time.Second):
		signalSession(pid, syscall.SIGKILL)
	}
}

// Close kills every shell and waits until each is reaped.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	ss := make([]*Session, 0, len(s.sessions))
	for _, t := range s.sessions {
		ss = append(ss, t)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.mu.Lock()
			if t.grace != nil {
				t.grace.Stop()
			}
			t.mu.Unlock()
			t.Kill()
			<-t.exited
		}()
	}
	wg.Wait()
	return nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
