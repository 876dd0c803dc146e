// Package app is the Gatewave desktop application: a Wails window showing
// the same IDE build as the browser, talking to a sessiond that runs inside
// this process on a loopback port with a random token. The token reaches the
// page only through a bound method; it is never written to disk or a URL.
package app

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"gatewave.dev/desktop/reaper"
	"gatewave.dev/desktop/recent"
	"gatewave.dev/desktop/trust"
	"gatewave.dev/frontend"
	"gatewave.dev/sessiond/server"
	"gatewave.dev/sessiond/settings"
)

// Options configure the desktop app. The zero value asks for a folder with
// a picker and remembers folders in the user's config directory.
type Options struct {
	// Folder is the workspace to open at start; empty shows a folder picker
	// when the IDE first asks for its connection.
	Folder string
	// Recent stores the recently opened folders; the zero value is the
	// user's config dir (see recent.DefaultPath).
	Recent recent.List
	// Trust stores the folders the user trusts to choose programs to run
	// (.ide/languages.toml, .ide/tasks.toml); the zero value is the user's
	// config dir (see trust.DefaultPath). Every other folder opens in
	// restricted mode.
	Trust trust.Store
	// SettingsFile keeps the IDE's settings (theme, font size, tab size)
	// for every folder; empty means <user config dir>/gatewave/settings.json
	// (see sessiond/settings.DefaultPath).
	SettingsFile string
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
	// UI is the IDE build the window shows; nil means the embedded frontend
	// (gatewave.dev/frontend), or a small built-in page listing the
	// workspace when that build is empty.
	UI fs.FS
	// Probe, when set, turns on test mode: the app writes JSON lines about
	// its connection (including the token), what the page rendered and the
	// questions it would ask in a native dialog, and obeys the commands
	// read from Control (which also answer those questions). Never set it
	// outside tests.
	Probe io.Writer
	// Control carries test commands, one a line: "quit", "open PATH",
	// "click TESTID", "type TEXT", "answer yes|no". Used only with Probe;
	// nil means none.
	Control io.Reader
}

// WebviewOrigin is the Origin the Wails webview sends with the IDE's
// requests; sessiond allows it for CORS and WebSocket upgrades.
func WebviewOrigin() string {
	if runtime.GOOS == "windows" {
		return "http://wails.localhost"
	}
	return "wails://wails"
}

// Connection tells the IDE where its sessiond is.
type Connection struct {
	// BaseURL is "http://127.0.0.1:PORT/".
	BaseURL string `json:"base_url"`
	// Token is the bearer token for this run of sessiond.
	Token string `json:"token"`
	// Folder is the workspace's absolute path, for the window's title.
	Folder string `json:"folder"`
	// WebUSB is always false: the desktop webview has no WebUSB, so the
	// IDE flashes through sessiond's native api/v1/flash.
	WebUSB bool `json:"webusb"`
}

// Desktop is the application: the window, the embedded sessiond and the
// folder it serves.
type Desktop struct {
	opts  Options
	log   *slog.Logger
	ui    fs.FS
	probe *probe

	opMu   sync.Mutex // serialises opening and closing workspaces
	pickMu sync.Mutex // one folder picker at a time

	quitOnce sync.Once
	forced   atomic.Bool   // a signal ends the app: close without asking
	done     chan struct{} // closed when Run has shut everything down

	// confirm asks the user a yes/no question; nil means a native dialog.
	confirm func(question) bool
	answers chan bool // test mode: the answers to confirm's questions

	mu      sync.Mutex
	ctx     context.Context // Wails' context, set on startup
	srv     *server.Server
	served  chan struct{} // closed when srv.Serve returns
	conn    Connection
	trusted *atomic.Bool // whether srv may use the folder's .ide config
	unsaved []string     // the page's tabs with unsaved changes
}

//go:embed all:fallback
var fallbackFS embed.FS

//go:embed probe.js
var probeJS string

// New prepares the app; Run shows it.
func New(opts Options) (*Desktop, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Desktop{opts: opts, log: opts.Logger, ui: opts.UI, done: make(chan struct{})}
	if d.ui == nil {
		if frontend.Built() {
			d.ui = frontend.Dist()
		} else {
			d.ui, _ = fs.Sub(fallbackFS, "fallback")
			d.log.Warn("the IDE build is empty; showing the fallback page (run make frontend, then rebuild)")
		}
	}
	if opts.Probe != nil {
		d.probe = &probe{w: opts.Probe, start: time.Now()}
		d.answers = make(chan bool, 1)
		d.confirm = d.probeConfirm
	}
	return d, nil
}

// Run opens the folder given in Options (if any), shows the window and
// blocks until it closes. bound is the struct Wails binds for the page:
// wrap API in a struct named App in package main so that the IDE's call is
// window.go.main.App.Connection(). When the window closes (or on SIGTERM or
// SIGINT, which Wails turns into a quit) sessiond shuts down, stopping its
// services and their processes, and then any process still running below
// this one is killed.
func (d *Desktop) Run(bound any) error {
	if err := reaper.BecomeSubreaper(); err != nil {
		d.log.Warn("orphaned child processes will not be adopted", "err", err)
	} else {
		reapCtx, stopReaping := context.WithCancel(context.Background())
		defer stopReaping()
		go reaper.ReapOrphans(reapCtx, 5*time.Second)
	}
	defer close(d.done)
	if d.opts.Folder != "" {
		if err := d.open(d.opts.Folder); err != nil {
			return err
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			d.forceQuit()
		}
	}()
	runErr := wails.Run(d.wailsOptions(bound))
	return errors.Join(runErr, d.shutdown())
}

// quitGrace is how long a quit may take before it is forced.
const quitGrace = 5 * time.Second

// quit closes the window as its close button does: beforeClose first asks
// whether to discard unsaved files and running tasks.
func (d *Desktop) quit() {
	if ctx := d.wailsCtx(); ctx != nil {
		wruntime.Quit(ctx)
	}
}

// forceQuit closes the window without asking: a signal means the session
// or the user's kill is ending the app, and nobody is there to answer.
// GTK cannot leave its main loop while a modal dialog (the folder picker,
// a question) runs its own, so if the window has not closed after
// quitGrace, shut down and exit anyway.
func (d *Desktop) forceQuit() {
	d.forced.Store(true)
	d.quit()
	d.quitOnce.Do(func() {
		go func() {
			select {
			case <-d.done:
			case <-time.After(quitGrace):
				d.log.Error("the window did not close in time; forcing the exit")
				if err := d.shutdown(); err != nil {
					d.log.Error("shut down", "err", err)
				}
				os.Exit(1)
			}
		}()
	})
}

// shutdown stops sessiond and then kills whatever still runs below us.
func (d *Desktop) shutdown() error {
	err := d.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	killed, kerr := reaper.KillDescendants(ctx, 2*time.Second)
	for _, p := range killed {
		// WebKit's helper processes are expected here; anything else
		// escaped sessiond's own shutdown.
		d.log.Debug("stopped leftover process", "pid", p.PID, "comm", p.Comm)
	}
	d.probe.emit(map[string]any{"event": "exit", "killed": len(killed)})
	return errors.Join(err, kerr)
}

func (d *Desktop) wailsOptions(bound any) *options.App {
	return &options.App{
		Title:            "Gatewave",
		Width:            1280,
		Height:           800,
		MinWidth:         640,
		MinHeight:        400,
		BackgroundColour: options.NewRGB(0x1e, 0x1f, 0x22),
		AssetServer:      &assetserver.Options{Assets: d.ui},
		Menu:             d.menu(nil),
		OnStartup: func(ctx context.Context) {
			d.mu.Lock()
			d.ctx = ctx
			d.mu.Unlock()
			d.setTitle()
			d.refreshMenu()
			if d.probe != nil {
				wruntime.EventsOn(ctx, "gatewave:probe", d.probe.dom)
				if d.opts.Control != nil {
					go d.control(ctx, d.opts.Control)
				}
			}
		},
		OnDomReady: func(ctx context.Context) {
			if d.probe != nil {
				wruntime.WindowExecJS(ctx, probeJS)
			}
		},
		// Wails calls this for the window's close button, the Quit menu
		// item and runtime.Quit alike.
		OnBeforeClose: d.beforeClose,
		OnShutdown: func(context.Context) {
			if err := d.close(); err != nil {
				d.log.Error("stop sessiond", "err", err)
			}
		},
		Bind: []any{bound},
		Linux: &linux.Options{
			ProgramName: "gatewave-desktop",
			// Software rendering: GPU compositing buys nothing for an
			// editor and fails on machines without a working GL stack.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	}
}

// API holds the methods the page may call. Every exported method here is
// callable from JavaScript, so it has no lifecycle methods.
type API struct{ d *Desktop }

// API returns the bound API.
func (d *Desktop) API() *API { return &API{d: d} }

// Connection returns the embedded sessiond's address and token. With no
// folder open yet it first asks for one with a folder picker.
func (a *API) Connection() (Connection, error) {
	d := a.d
	d.mu.Lock()
	c := d.conn
	d.mu.Unlock()
	if c.BaseURL != "" {
		return c, nil
	}
	// The page may ask more than once while the picker is up; show one.
	d.pickMu.Lock()
	defer d.pickMu.Unlock()
	d.mu.Lock()
	c = d.conn
	d.mu.Unlock()
	if c.BaseURL != "" {
		return c, nil
	}
	dir, err := d.pick()
	if err != nil {
		return Connection{}, err
	}
	if dir == "" {
		return Connection{}, errors.New("no folder is open: choose one with File › Open Folder…")
	}
	if err := d.open(dir); err != nil {
		return Connection{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn, nil
}

// OpenFolder shows the folder picker and, unless cancelled, switches the
// IDE to the chosen folder (the page reloads). It returns the folder, or ""
// when cancelled (in the picker, or when asked about unsaved work).
func (a *API) OpenFolder() (string, error) {
	return a.d.pickAndSwitch()
}

// RecentFolders lists the recently opened folders, most recent first.
func (a *API) RecentFolders() ([]string, error) {
	return a.d.opts.Recent.Load()
}

// OpenRecent switches the IDE to dir, which must be one of RecentFolders.
func (a *API) OpenRecent(dir string) error {
	list, err := a.d.opts.Recent.Load()
	if err != nil {
		return err
	}
	for _, r := range list {
		if r == dir {
			_, err := a.d.switchTo(dir)
			return err
		}
	}
	return fmt.Errorf("%q is not a recent folder", dir)
}

func (d *Desktop) wailsCtx() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ctx
}

// pick shows the folder picker, starting at the most recent folder.
func (d *Desktop) pick() (string, error) {
	ctx := d.wailsCtx()
	if ctx == nil {
		return "", errors.New("the window is not ready yet")
	}
	start := ""
	if list, _ := d.opts.Recent.Load(); len(list) > 0 {
		start = filepath.Dir(list[0])
	}
	dir, err := wruntime.OpenDirectoryDialog(ctx, wruntime.OpenDialogOptions{
		Title:                "Open a folder",
		DefaultDirectory:     start,
		CanCreateDirectories: true,
	})
	if err != nil {
		return "", fmt.Errorf("folder picker: %w", err)
	}
	return dir, nil
}

func (d *Desktop) pickAndSwitch() (string, error) {
	dir, err := d.pick()
	if err != nil || dir == "" {
		return "", err
	}
	switched, err := d.switchTo(dir)
	if !switched {
		return "", err
	}
	return dir, err
}

// switchTo serves dir instead of the current folder and reloads the page,
// which then asks for the new connection. It first asks whether to discard
// the current folder's pending work, and reports false when the user said
// no.
func (d *Desktop) switchTo(dir string) (bool, error) {
	if !d.confirmDiscard("Open " + filepath.Base(dir)) {
		return false, nil
	}
	if err := d.open(dir); err != nil {
		if ctx := d.wailsCtx(); ctx != nil {
			_, _ = wruntime.MessageDialog(ctx, wruntime.MessageDialogOptions{
				Type: wruntime.ErrorDialog, Title: "Cannot open folder", Message: err.Error(),
			})
		}
		return false, err
	}
	if ctx := d.wailsCtx(); ctx != nil {
		wruntime.WindowReloadApp(ctx)
	}
	return true, nil
}

// open starts a sessiond on dir (stopping the previous one), on a random
// loopback port with a fresh random token, and remembers dir.
func (d *Desktop) open(dir string) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("open folder %q: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return fmt.Errorf("open folder: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("open folder %q: not a directory", abs)
	}
	if err := d.closeLocked(); err != nil {
		d.log.Error("stop the previous sessiond", "err", err)
	}
	token, err := randomToken()
	if err != nil {
		return err
	}
	trusted := new(atomic.Bool)
	if ok, err := d.opts.Trust.Trusted(abs); err != nil {
		d.log.Warn("the folder opens in restricted mode", "folder", abs, "err", err)
	} else {
		trusted.Store(ok)
	}
	srv, err := server.New(server.Options{
		Root:                 abs,
		Token:                token,
		AllowedOrigins:       []string{WebviewOrigin()},
		Logger:               d.log.With("component", "sessiond"),
		TrustWorkspaceConfig: trusted.Load,
		SettingsFile:         d.settingsFile(),
	})
	if err != nil {
		return fmt.Errorf("start sessiond on %q: %w", abs, err)
	}
	ln, err := server.Listen("127.0.0.1:0")
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			d.log.Error("sessiond stopped", "err", err)
		}
	}()
	conn := Connection{BaseURL: "http://" + ln.Addr().String() + "/", Token: token, Folder: abs}
	d.mu.Lock()
	// The page reloads for the new folder and reports its own tabs.
	d.srv, d.served, d.conn, d.trusted, d.unsaved = srv, served, conn, trusted, nil
	d.mu.Unlock()
	d.log.Info("sessiond started", "folder", abs, "addr", ln.Addr().String())

	if _, err := d.opts.Recent.Add(abs); err != nil {
		d.log.Warn("remember recent folder", "err", err)
	}
	d.setTitle()
	d.refreshMenu()
	d.probe.emit(map[string]any{"event": "connection", "base_url": conn.BaseURL, "token": conn.Token, "folder": abs, "pid": os.Getpid(), "trusted": trusted.Load()})
	return nil
}

// close stops the running sessiond, if any.
func (d *Desktop) close() error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	return d.closeLocked()
}

func (d *Desktop) closeLocked() error {
	d.mu.Lock()
	srv, served := d.srv, d.served
	d.srv, d.served, d.conn, d.trusted = nil, nil, Connection{}, nil
	d.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	select {
	case <-served:
	case <-ctx.Done():
	}
	d.log.Info("sessiond stopped")
	return err
}

func (d *Desktop) setTitle() {
	ctx := d.wailsCtx()
	if ctx == nil {
		return
	}
	d.mu.Lock()
	folder := d.conn.Folder
	d.mu.Unlock()
	title := "Gatewave"
	if folder != "" {
		title = filepath.Base(folder) + " — Gatewave"
	}
	wruntime.WindowSetTitle(ctx, title)
}

// menu builds the application menu: File › Open Folder…, Open Recent, Quit.
func (d *Desktop) menu(recentDirs []string) *menu.Menu {
	m := menu.NewMenu()
	file := m.AddSubmenu("File")
	file.AddText("Open Folder…", keys.CmdOrCtrl("o"), func(*menu.CallbackData) {
		// Menu callbacks run on the UI thread; the dialog must not block it.
		go func() {
			if _, err := d.pickAndSwitch(); err != nil {
				d.log.Error("open folder", "err", err)
			}
		}()
	})
	rec := file.AddSubmenu("Open Recent")
	if len(recentDirs) == 0 {
		rec.AddText("(none)", nil, nil).Disabled = true
	}
	for _, dir := range recentDirs {
		rec.AddText(dir, nil, func(*menu.CallbackData) {
			go func() {
				if _, err := d.switchTo(dir); err != nil {
					d.log.Error("open recent folder", "err", err)
				}
			}()
		})
	}
	file.AddSeparator()
	file.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) {
		d.quit()
	})
	return m
}

func (d *Desktop) refreshMenu() {
	ctx := d.wailsCtx()
	if ctx == nil {
		return
	}
	list, err := d.opts.Recent.Load()
	if err != nil {
		d.log.Warn("load recent folders", "err", err)
	}
	wruntime.MenuSetApplicationMenu(ctx, d.menu(list))
	wruntime.MenuUpdateApplicationMenu(ctx)
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// settingsFile is Options.SettingsFile or the default; without a config
// dir the IDE runs on the default settings and says it cannot keep them.
func (d *Desktop) settingsFile() string {
	if d.opts.SettingsFile != "" {
		return d.opts.SettingsFile
	}
	p, err := settings.DefaultPath()
	if err != nil {
		d.log.Warn("IDE settings will not be kept", "err", err)
	}
	return p
}
