// Package langserver is Gatewave's HDL language server: LSP 3.17 over
// stdio for Verilog, SystemVerilog and VHDL in one process, on top of the
// project index (package project) and the real tools run on save (package
// lint). sessiond starts it as a child of its own binary (see Arg), so the
// FROM-scratch image and the desktop app carry it without another file.
package langserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/lint"
	"gatewave.dev/sessiond/hdl/project"
	"gatewave.dev/sessiond/ignore"
	"gatewave.dev/sessiond/lsp/jsonrpc"
	"gatewave.dev/sessiond/watch"
)

// Name is how the server introduces itself (serverInfo, the IDE's status).
const Name = "gatewave-hdl"

// Options configure a Server. The zero value reads stdin and writes stdout.
type Options struct {
	In     io.Reader
	Out    io.Writer
	Logger *slog.Logger
	// Root overrides the workspace the client names in initialize.
	Root string
	// Watch picks up changes on disk (checkout, generators); tests turn
	// it off to drive DiskChanged themselves. Nil means true.
	Watch *bool
	// Lint runs the real tools on save; nil means true.
	Lint *bool
	// LintTools limits which tools run (nil: every installed one).
	LintTools []string
	// DiagnosticDelay debounces diagnostics after an edit; 0 means 30 ms.
	DiagnosticDelay time.Duration
}

// Server is one LSP connection.
type Server struct {
	opts Options
	log  *slog.Logger
	in   *jsonrpc.Reader

	wmu sync.Mutex
	out *jsonrpc.Writer

	// Set by initialize, then read-only.
	proj  *project.Project
	root  string // absolute workspace path, symlinks resolved
	utf8  bool
	watch *watch.Watcher

	mu          sync.Mutex
	docs        map[string]*document // by workspace-relative path
	published   map[string]bool      // paths with diagnostics shown
	toolDiags   map[string][]Diagnostic
	dirty       map[string]bool // paths whose diagnostics are due
	diagTimer   *time.Timer
	lintRun     bool // a lint is running
	lintAgain   bool // another save arrived meanwhile
	toldNoTools bool
	hierGen     uint64          // the ShapeGeneration last announced
	closing     bool            // close has begun: no new timers or goroutines
	pinKnown    map[string]bool // constraint files seen (on disk or opened)
	shutdown    bool            // the client asked to shut down

	// Owned by whoever holds flushMu.
	flushMu    sync.Mutex
	flushShape uint64              // ShapeGeneration of the last flush
	unitNames  map[string][]string // units each file declared at the last flush

	ctx    context.Context // ends with Run: stops the watcher and the tools
	cancel context.CancelFunc
	bg     sync.WaitGroup // timers and goroutines close waits for
}

type document struct {
	rel     string
	uri     string
	version int
	text    []byte
}

// New makes a server; Run serves it.
func New(opts Options) *Server {
	if opts.In == nil {
		opts.In = os.Stdin
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.DiagnosticDelay <= 0 {
		opts.DiagnosticDelay = 30 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:      opts,
		log:       opts.Logger,
		in:        jsonrpc.NewReader(opts.In, jsonrpc.ReaderOptions{}),
		out:       jsonrpc.NewWriter(opts.Out),
		docs:      map[string]*document{},
		published: map[string]bool{},
		toolDiags: map[string][]Diagnostic{},
		dirty:     map[string]bool{},
		unitNames: map[string][]string{},
		pinKnown:  map[string]bool{},
		ctx:       ctx,
		cancel:    cancel,
	}
}

func on(b *bool) bool { return b == nil || *b }

// errExit ends Run after the exit notification.
var errExit = errors.New("exit")

// Run reads and answers messages until the client exits or the input ends.
func (s *Server) Run() error {
	defer s.close()
	for {
		body, err := s.in.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var tl *jsonrpc.TooLargeError
			if errors.As(err, &tl) {
				s.log.Warn("hdl: message over the size limit; skipped", "err", err)
				continue
			}
			return fmt.Errorf("read: %w", err)
		}
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			s.reply(nil, nil, &respError{Code: codeParseError, Message: "not JSON: " + err.Error()})
			continue
		}
		if err := s.handle(&m); err != nil {
			if errors.Is(err, errExit) {
				return nil
			}
			return err
		}
	}
}

func (s *Server) close() {
	s.cancel()
	s.mu.Lock()
	s.closing = true
	if s.diagTimer != nil && s.diagTimer.Stop() {
		s.bg.Done()
	}
	s.mu.Unlock()
	if s.watch != nil {
		_ = s.watch.Close()
	}
	s.bg.Wait()
	if s.proj != nil {
		_ = s.proj.Close()
	}
}

func (s *Server) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("hdl: marshal", "err", err)
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.out.Write(b); err != nil {
		s.log.Debug("hdl: write", "err", err)
	}
}

func (s *Server) reply(id json.RawMessage, result any, e *respError) {
	if id == nil {
		id = json.RawMessage("null")
	}
	m := map[string]any{"jsonrpc": "2.0", "id": id}
	if e != nil {
		m["error"] = e
	} else {
		m["result"] = result
	}
	s.write(m)
}

func (s *Server) notify(method string, params any) {
	s.write(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// showMessage tells the user something plainly (type 1 error, 2 warning, 3 info).
func (s *Server) showMessage(typ int, text string) {
	s.notify("window/showMessage", map[string]any{"type": typ, "message": text})
}

type handlerFunc func(s *Server, params json.RawMessage) (any, error)

var requests = map[string]handlerFunc{
	"textDocument/completion":          (*Server).completion,
	"textDocument/hover":               (*Server).hover,
	"textDocument/definition":          (*Server).definition,
	"textDocument/declaration":         (*Server).definition,
	"textDocument/typeDefinition":      (*Server).typeDefinition,
	"textDocument/references":          (*Server).references,
	"textDocument/prepareRename":       (*Server).prepareRename,
	"textDocument/rename":              (*Server).rename,
	"textDocument/documentSymbol":      (*Server).documentSymbol,
	"workspace/symbol":                 (*Server).workspaceSymbol,
	"textDocument/documentHighlight":   (*Server).documentHighlight,
	"textDocument/foldingRange":        (*Server).foldingRange,
	"textDocument/semanticTokens/full": (*Server).semanticTokens,
	"textDocument/inlayHint":           (*Server).inlayHint,
	"textDocument/signatureHelp":       (*Server).signatureHelp,
	"textDocument/codeAction":          (*Server).codeAction,
	"textDocument/formatting":          (*Server).formatting,
	"textDocument/rangeFormatting":     (*Server).rangeFormatting,
	"gatewave/hierarchy":               (*Server).hierarchy,
}

// requestError is an error with an LSP code.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func failf(format string, a ...any) error {
	return &requestError{code: codeRequestFailed, msg: fmt.Sprintf(format, a...)}
}

func (s *Server) handle(m *message) (err error) {
	isRequest := m.ID != nil && string(m.ID) != "null"
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("hdl: handler panicked", "method", m.Method, "panic", r)
			if isRequest {
				s.reply(m.ID, nil, &respError{Code: codeInternal, Message: fmt.Sprintf("%s failed inside the HDL server: %v", m.Method, r)})
			}
			err = nil
		}
	}()
	if m.Method == "" {
		return nil // a response to something we sent
	}
	switch m.Method {
	case "initialize":
		if s.proj != nil {
			s.reply(m.ID, nil, &respError{Code: codeInvalidRequest, Message: "the server is already initialized"})
			return nil
		}
		res, e := s.initialize(m.Params)
		s.respond(m.ID, res, e)
		return nil
	case "initialized", "$/cancelRequest", "$/setTrace", "workspace/didChangeConfiguration":
		return nil
	case "shutdown":
		s.mu.Lock()
		s.shutdown = true
		s.mu.Unlock()
		s.reply(m.ID, nil, nil)
		return nil
	case "exit":
		return errExit
	}
	if s.proj == nil {
		if isRequest {
			s.reply(m.ID, nil, &respError{Code: codeNotInitialized, Message: "initialize first"})
		}
		return nil
	}
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	if down {
		if isRequest {
			s.reply(m.ID, nil, &respError{Code: codeInvalidRequest, Message: "the server is shutting down; only exit is accepted"})
		}
		return nil
	}
	switch m.Method {
	case "textDocument/didOpen":
		return s.didOpen(m.Params)
	case "textDocument/didChange":
		return s.didChange(m.Params)
	case "textDocument/didClose":
		return s.didClose(m.Params)
	case "textDocument/didSave":
		return s.didSave(m.Params)
	case "workspace/didChangeWatchedFiles":
		return nil // our own watcher sees the disk
	}
	h, ok := requests[m.Method]
	if !ok {
		if isRequest {
			s.reply(m.ID, nil, &respError{Code: codeMethodNotFound, Message: "the HDL server does not implement " + m.Method})
		}
		return nil
	}
	res, e := h(s, m.Params)
	if isRequest {
		s.respond(m.ID, res, e)
	}
	return nil
}

func (s *Server) respond(id json.RawMessage, res any, err error) {
	if err == nil {
		s.reply(id, res, nil)
		return
	}
	var re *requestError
	if errors.As(err, &re) {
		s.reply(id, nil, &respError{Code: re.code, Message: re.msg})
		return
	}
	s.reply(id, nil, &respError{Code: codeInvalidParams, Message: err.Error()})
}

// semantic token legend: the IDE styles these names.
var tokenTypes = []string{"keyword", "type", "parameter", "variable", "property", "function", "macro", "namespace", "class", "enumMember", "comment", "string", "number", "operator", "interface"}
var tokenModifiers = []string{"declaration", "readonly", "inactive", "defaultLibrary"}

func (s *Server) initialize(raw json.RawMessage) (any, error) {
	var p struct {
		RootURI      string `json:"rootUri"`
		RootPath     string `json:"rootPath"`
		Capabilities struct {
			General struct {
				PositionEncodings []string `json:"positionEncodings"`
			} `json:"general"`
		} `json:"capabilities"`
		WorkspaceFolders []struct {
			URI string `json:"uri"`
		} `json:"workspaceFolders"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("initialize params: %w", err)
	}
	root := s.opts.Root
	if root == "" {
		u := p.RootURI
		if u == "" && len(p.WorkspaceFolders) > 0 {
			u = p.WorkspaceFolders[0].URI
		}
		if u != "" {
			r, err := uriToPath(u)
			if err != nil {
				return nil, err
			}
			root = r
		} else {
			root = p.RootPath
		}
	}
	if root == "" {
		return nil, errors.New("initialize: no rootUri: the HDL server needs a workspace folder")
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	proj, err := project.New(project.Options{Root: root, Logger: s.log})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := proj.Index(); err != nil {
		_ = proj.Close()
		return nil, err
	}
	s.log.Info("hdl: indexed", "root", root, "took", time.Since(start))
	s.root, s.proj = root, proj
	for _, e := range p.Capabilities.General.PositionEncodings {
		if e == "utf-8" {
			s.utf8 = true
		}
	}
	if _, cfgErr := proj.Config(); cfgErr != nil {
		s.showMessage(2, fmt.Sprintf("%v; using zero configuration until it is fixed.", cfgErr))
	}
	if on(s.opts.Watch) {
		w, err := watch.New(root, watch.Options{Logger: s.log, Ignore: []string{".git", "node_modules", "obj_dir"}})
		if err != nil {
			s.log.Warn("hdl: no file watching", "err", err)
		} else {
			s.watch = w
			ch, _ := w.Subscribe()
			s.bg.Add(1)
			go s.watchLoop(ch)
		}
	}
	// Every file's problems show once the index is ready.
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.publishAll()
	}()
	enc := "utf-16"
	if s.utf8 {
		enc = "utf-8"
	}
	return map[string]any{
		"serverInfo": map[string]any{"name": Name, "version": "1"},
		"capabilities": map[string]any{
			"positionEncoding": enc,
			"textDocumentSync": map[string]any{"openClose": true, "change": 2, "save": map[string]any{"includeText": false}},
			"completionProvider": map[string]any{
				"triggerCharacters": []string{".", "`", ":", "$", "(", "#", ","},
			},
			"hoverProvider":             true,
			"definitionProvider":        true,
			"declarationProvider":       true,
			"typeDefinitionProvider":    true,
			"referencesProvider":        true,
			"renameProvider":            map[string]any{"prepareProvider": true},
			"documentSymbolProvider":    true,
			"workspaceSymbolProvider":   true,
			"documentHighlightProvider": true,
			"foldingRangeProvider":      true,
			"semanticTokensProvider": map[string]any{
				"legend": map[string]any{"tokenTypes": tokenTypes, "tokenModifiers": tokenModifiers},
				"full":   true,
			},
			"inlayHintProvider":               true,
			"signatureHelpProvider":           map[string]any{"triggerCharacters": []string{"(", ",", "."}},
			"codeActionProvider":              map[string]any{"codeActionKinds": []string{"quickfix"}},
			"documentFormattingProvider":      true,
			"documentRangeFormattingProvider": true,
		},
	}, nil
}

func uriToPath(u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "file" {
		return "", fmt.Errorf("%q is not a file URI", u)
	}
	return filepath.FromSlash(pu.Path), nil
}

// rel maps a document URI to its workspace-relative path.
func (s *Server) rel(uri string) (string, error) {
	p, err := uriToPath(uri)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		p = filepath.Join(r, filepath.Base(p))
	}
	r, err := filepath.Rel(s.root, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the workspace", uri)
	}
	return filepath.ToSlash(r), nil
}

// uri is the document URI of a workspace-relative path.
func (s *Server) uri(rel string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(s.root, filepath.FromSlash(rel)))}
	return u.String()
}

func (s *Server) didOpen(raw json.RawMessage) error {
	var p struct {
		TextDocument struct {
			URI     string `json:"uri"`
			Version int    `json:"version"`
			Text    string `json:"text"`
		} `json:"textDocument"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil // a notification has no one to answer
	}
	d := &document{rel: rel, uri: p.TextDocument.URI, version: p.TextDocument.Version, text: []byte(p.TextDocument.Text)}
	s.mu.Lock()
	s.docs[rel] = d
	s.mu.Unlock()
	if isPinFile(rel) {
		s.notePinFile(rel)
	} else {
		s.proj.SetOpen(rel, d.text)
	}
	s.changed(rel, true)
	return nil
}

// notePinFile remembers a constraint file, to check again when the
// design's ports change.
func (s *Server) notePinFile(rel string) {
	s.mu.Lock()
	s.pinKnown[rel] = true
	s.mu.Unlock()
}

type contentChange struct {
	Range *Range `json:"range"`
	Text  string `json:"text"`
}

func (s *Server) didChange(raw json.RawMessage) error {
	var p struct {
		TextDocument struct {
			URI     string `json:"uri"`
			Version int    `json:"version"`
		} `json:"textDocument"`
		ContentChanges []contentChange `json:"contentChanges"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil // a notification has no one to answer
	}
	s.mu.Lock()
	d := s.docs[rel]
	if d == nil {
		s.mu.Unlock()
		return nil
	}
	text := d.text
	for _, c := range p.ContentChanges {
		text = applyChange(text, c, s.utf8)
	}
	d.text, d.version = text, p.TextDocument.Version
	s.mu.Unlock()
	if !isPinFile(rel) {
		s.proj.SetOpen(rel, text)
	}
	s.changed(rel, false)
	return nil
}

// applyChange applies one incremental (or whole-text) change.
func applyChange(text []byte, c contentChange, utf8 bool) []byte {
	if c.Range == nil {
		return []byte(c.Text)
	}
	l := project.NewLines(text)
	a := l.Offset(c.Range.Start.Line, c.Range.Start.Character, !utf8)
	b := l.Offset(c.Range.End.Line, c.Range.End.Character, !utf8)
	if b < a {
		a, b = b, a
	}
	out := make([]byte, 0, len(text)-(b-a)+len(c.Text))
	out = append(out, text[:a]...)
	out = append(out, c.Text...)
	return append(out, text[b:]...)
}

func (s *Server) didClose(raw json.RawMessage) error {
	var p struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
	}
	rel, err := s.decode(raw, &p, &p.TextDocument.URI)
	if err != nil {
		return nil // a notification has no one to answer
	}
	s.mu.Lock()
	delete(s.docs, rel)
	s.mu.Unlock()
	if !isPinFile(rel) {
		s.proj.CloseOpen(rel)
	}
	s.changed(rel, false)
	return nil
}

func (s *Server) didSave(raw json.RawMessage) error {
	var p struct {
		TextDocument TextDocumentIdentifier `json:"textDocument"`
	}
	if rel, err := s.decode(raw, &p, &p.TextDocument.URI); err == nil && project.IsHDL(rel) {
		s.startLint()
	}
	return nil
}

// watchLoop feeds changes on disk to the project. A write to an open file
// is the editor saving it: the editor's text stays, and the tools run.
func (s *Server) watchLoop(ch <-chan []watch.Event) {
	defer s.bg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case batch, ok := <-ch:
			if !ok {
				return
			}
			var rels []string
			saved := false
			for _, e := range batch {
				if path.Base(e.Path) == ".gitignore" {
					// What shows problems may have changed anywhere below it.
					s.publishAllAsync()
				}
				if e.Path == project.ConfigFile || project.IsHDL(e.Path) {
					rels = append(rels, e.Path)
				}
				if isPinFile(e.Path) {
					s.notePinFile(e.Path)
					s.changed(e.Path, false)
				}
				s.mu.Lock()
				_, open := s.docs[e.Path]
				s.mu.Unlock()
				if open && e.Op == watch.OpWrite || e.Op == watch.OpCreate && project.IsHDL(e.Path) {
					saved = true
				}
			}
			if len(rels) == 0 {
				continue
			}
			if err := s.proj.DiskChanged(rels...); err != nil {
				s.log.Warn("hdl: reindex", "err", err)
			}
			for _, rel := range rels {
				if rel == project.ConfigFile {
					if _, err := s.proj.Config(); err != nil {
						s.showMessage(2, fmt.Sprintf("%v; using zero configuration until it is fixed.", err))
					}
					s.publishAllAsync()
				}
				s.changed(rel, false)
			}
			if saved {
				s.startLint()
			}
		}
	}
}

// changed schedules diagnostics for rel and whatever depends on it; now
// skips the debounce (a file just opened).
func (s *Server) changed(rel string, now bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.dirty[rel] = true
	for p := range s.docs {
		s.dirty[p] = true
	}
	if s.diagTimer != nil && s.diagTimer.Stop() {
		s.bg.Done() // that flush will not run
	}
	delay := s.opts.DiagnosticDelay
	if now {
		delay = 0
	}
	s.bg.Add(1)
	s.diagTimer = time.AfterFunc(delay, func() {
		defer s.bg.Done()
		s.flushDiagnostics()
	})
}

func (s *Server) publishAllAsync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.publishAll()
	}()
}

// publishAll publishes every project file's diagnostics (and clears files
// that had some and left the project).
func (s *Server) publishAll() {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	var rels []string
	s.proj.View(func(v *project.Snapshot) {
		for _, src := range v.Sources() {
			rels = append(rels, src.Path)
			s.unitNames[src.Path] = v.UnitNames(src.Path)
		}
	})
	s.flushShape = s.proj.ShapeGeneration()
	pins := s.pinFiles()
	s.mu.Lock()
	for _, p := range pins {
		s.pinKnown[p] = true
	}
	for p := range s.pinKnown {
		rels = append(rels, p)
	}
	for p := range s.published {
		rels = append(rels, p)
	}
	s.mu.Unlock()
	s.publish(dedupStrings(rels))
	// The index is ready: the IDE (re)fetches the hierarchy.
	s.mu.Lock()
	s.hierGen = s.proj.ShapeGeneration()
	s.mu.Unlock()
	s.notify("gatewave/hierarchyChanged", map[string]any{})
}

func dedupStrings(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, x := range in {
		if i == 0 || x != in[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) flushDiagnostics() {
	// One flush at a time, so an older snapshot's results never land
	// after a newer one's.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = map[string]bool{}
	s.mu.Unlock()
	all := map[string]bool{}
	shape := s.proj.ShapeGeneration()
	s.proj.View(func(v *project.Snapshot) {
		for rel := range dirty {
			all[rel] = true
			// A header's problems show in the files that include it.
			for _, inc := range v.Includers(rel) {
				all[inc] = true
			}
		}
		if shape == s.flushShape {
			return
		}
		// A unit, port or parameter changed: the files that use the
		// units of the changed files (as they were and as they are) may
		// have new problems, or lost some.
		names := map[string]bool{}
		for rel := range dirty {
			for _, n := range s.unitNames[rel] {
				names[n] = true
			}
			s.unitNames[rel] = v.UnitNames(rel)
			for _, n := range s.unitNames[rel] {
				names[n] = true
			}
		}
		for _, rel := range v.Dependents(names) {
			all[rel] = true
		}
		// The top's ports may have changed: check the pin constraints.
		s.mu.Lock()
		for rel := range s.pinKnown {
			all[rel] = true
		}
		s.mu.Unlock()
	})
	s.flushShape = shape
	rels := make([]string, 0, len(all))
	for rel := range all {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	s.publish(rels)
	s.hierarchyChanged()
}

func (s *Server) hierarchyChanged() {
	g := s.proj.ShapeGeneration()
	s.mu.Lock()
	same := g == s.hierGen
	s.hierGen = g
	s.mu.Unlock()
	if !same {
		s.notify("gatewave/hierarchyChanged", map[string]any{})
	}
}

// publish sends the diagnostics of rels: the server's own plus the last
// on-save tool run's.
func (s *Server) publish(rels []string) {
	type out struct {
		rel   string
		diags []Diagnostic
	}
	var all []out
	// A .gitignore'd file (generated, a scratch copy) keeps its definitions
	// in the index but shows no problems unless it is open, as git hides it.
	ign := ignore.NewReader(s.proj.FS())
	s.mu.Lock()
	open := make(map[string]bool, len(s.docs))
	for rel := range s.docs {
		open[rel] = true
	}
	s.mu.Unlock()
	s.proj.View(func(v *project.Snapshot) {
		for _, rel := range rels {
			var ds []Diagnostic
			if !open[rel] && ign.Ignored(rel) {
				all = append(all, out{rel, nil})
				continue
			}
			if isPinFile(rel) {
				ds = s.pinDiagnostics(v, rel)
			} else if src := v.Source(rel); src != nil {
				for _, d := range v.Diagnostics(rel) {
					ds = append(ds, s.toDiagnostic(src.Lines(), d))
				}
				for _, r := range src.File.Inactive {
					if r.File == rel {
						_ = r // inactive branches are shown through semantic tokens
					}
				}
			}
			s.mu.Lock()
			tools := s.toolDiags[rel]
			s.mu.Unlock()
			own := len(ds)
			for _, t := range tools {
				if !overlapsAny(t, ds[:own]) {
					ds = append(ds, t)
				}
			}
			all = append(all, out{rel, ds})
		}
	})
	for _, o := range all {
		s.mu.Lock()
		had := s.published[o.rel]
		if len(o.diags) > 0 {
			s.published[o.rel] = true
		} else {
			delete(s.published, o.rel)
		}
		s.mu.Unlock()
		if len(o.diags) == 0 && !had {
			continue
		}
		if o.diags == nil {
			o.diags = []Diagnostic{}
		}
		s.notify("textDocument/publishDiagnostics", map[string]any{"uri": s.uri(o.rel), "diagnostics": o.diags})
	}
}

func (s *Server) toDiagnostic(l *project.Lines, d design.Diag) Diagnostic {
	sev := int(d.Severity)
	if sev == 0 {
		sev = 1
	}
	return Diagnostic{Range: s.rangeOf(l, d.Span.Start, d.Span.End), Severity: sev, Code: d.Code, Source: "hdl", Message: d.Message}
}

func (s *Server) rangeOf(l *project.Lines, a, b int) Range {
	sl, sc := l.Position(a, !s.utf8)
	el, ec := l.Position(b, !s.utf8)
	return Range{Start: Position{sl, sc}, End: Position{el, ec}}
}

// startLint runs the real tools over the project, one run at a time.
func (s *Server) startLint() {
	if !on(s.opts.Lint) {
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if s.lintRun {
		s.lintAgain = true
		s.mu.Unlock()
		return
	}
	s.lintRun = true
	s.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for {
			s.runLint()
			s.mu.Lock()
			if !s.lintAgain || s.ctx.Err() != nil {
				s.lintRun = false
				s.mu.Unlock()
				return
			}
			s.lintAgain = false
			s.mu.Unlock()
		}
	}()
}

// LintOptions is what the tools get for the project: the compiled files
// in order, include directories (configured, then where included files
// live) and defines.
//
// A Verilog file that instantiates a unit the workspace has only in VHDL
// (or a Verilog file left out for that reason) is left out too: verilator
// stops at the module it cannot find and reports nothing else for any
// file. The notes say so on each such instance.
func LintOptions(v *project.Snapshot, root string) (lint.Options, []LintNote) {
	cfg := v.Config()
	skip, notes := crossLanguageFiles(v)
	o := lint.Options{Root: root, Defines: cfg.Defines, Top: cfg.Top}
	dirs := map[string]bool{}
	for _, d := range cfg.IncludeDirs {
		if !dirs[d] {
			dirs[d] = true
			o.IncludeDirs = append(o.IncludeDirs, d)
		}
	}
	var pkgs, rest, vpk, vrest []string
	for _, src := range v.Sources() {
		if src.Header || skip[src.Path] {
			continue
		}
		isPkg := false
		for _, u := range src.File.Units {
			if u.Kind == design.UnitPackage || u.Kind == design.UnitInterface {
				isPkg = true
			}
		}
		for _, inc := range src.File.Includes {
			if inc.Resolved != "" {
				// The directory the written name is relative to:
				// "inc/defs.vh" found at "rtl/inc/defs.vh" needs "rtl".
				// A name that climbs ("../x.vh") resolves next to the
				// including file, which the tools do themselves.
				name := strings.TrimPrefix(path.Clean(inc.Name), "./")
				d, ok := strings.CutSuffix(inc.Resolved, name)
				if !ok || strings.HasPrefix(name, "../") {
					continue
				}
				d = strings.TrimSuffix(d, "/")
				if d == "" {
					d = "."
				}
				if !dirs[d] {
					dirs[d] = true
					o.IncludeDirs = append(o.IncludeDirs, d)
				}
			}
		}
		switch {
		case src.Lang == design.VHDL && isPkg:
			vpk = append(vpk, src.Path)
		case src.Lang == design.VHDL:
			vrest = append(vrest, src.Path)
		case isPkg:
			pkgs = append(pkgs, src.Path)
		default:
			rest = append(rest, src.Path)
		}
	}
	o.Verilog = append(pkgs, rest...)
	o.VHDL = append(vpk, vrest...)
	return o, notes
}

// LintNote is a diagnostic the server adds to the tools' own.
type LintNote struct {
	Path string
	Diag design.Diag
}

// crossLanguageFiles are the Verilog files the Verilog tools cannot
// check on their own: they instantiate a VHDL unit, or a module of a file
// left out for that reason.
func crossLanguageFiles(v *project.Snapshot) (map[string]bool, []LintNote) {
	skip := map[string]bool{}
	var notes []LintNote
	for changed := true; changed; {
		changed = false
		for _, src := range v.Sources() {
			if src.Lang == design.VHDL || src.Header || skip[src.Path] || src.File == nil {
				continue
			}
			for _, u := range src.File.Units {
				project.Scopes(u, func(sc *design.Scope, _ []*design.Scope) {
					for _, in := range sc.Instances {
						if skip[src.Path] {
							return
						}
						t := v.Module(in.Module, src.Lang)
						if t == nil || t.Source.Lang != design.VHDL && !skip[t.Source.Path] {
							continue
						}
						why := fmt.Sprintf("the VHDL %s '%s'", unitKindName(t.Unit.Kind), t.Unit.Name)
						if t.Source.Lang != design.VHDL {
							why = fmt.Sprintf("'%s' from %s, which they skip too", t.Unit.Name, t.Source.Path)
						}
						skip[src.Path], changed = true, true
						notes = append(notes, LintNote{Path: src.Path, Diag: design.Diag{
							Span: in.ModuleSpan, Severity: design.Information, Code: "not-tool-checked",
							Message: "The on-save Verilog tools skip this file: it instantiates " + why +
								", which they cannot read. The server's own checks cover it.",
						}})
					}
				})
			}
		}
	}
	return skip, notes
}

func (s *Server) runLint() {
	var o lint.Options
	var notes []LintNote
	s.proj.View(func(v *project.Snapshot) { o, notes = LintOptions(v, s.root) })
	o.Tools = s.opts.LintTools
	o.Env = lintEnv()
	if len(lint.Available()) == 0 {
		s.mu.Lock()
		told := s.toldNoTools
		s.toldNoTools = true
		s.mu.Unlock()
		if !told {
			s.showMessage(3, "On-save checks are off: none of verilator, iverilog, yosys or ghdl is installed here. Syntax and project errors still show as you type.")
		}
		s.notify("gatewave/lintDone", map[string]any{"tools": []string{}})
		return
	}
	start := time.Now()
	ds, err := lint.Run(s.ctx, o)
	if err != nil {
		if s.ctx.Err() == nil {
			s.showMessage(2, "The on-save HDL checks did not run: "+err.Error())
		}
		return
	}
	defer func() {
		s.notify("gatewave/lintDone", map[string]any{"tools": lint.Available(), "ms": time.Since(start).Milliseconds()})
	}()
	next := map[string][]Diagnostic{}
	s.proj.View(func(v *project.Snapshot) {
		for _, d := range ds {
			text := v.Text(d.Path)
			if text == nil || crossLanguage(v, d) {
				continue
			}
			l := project.NewLines(text)
			a := l.LineStart(d.StartLine) + d.StartCol
			b := l.LineStart(d.EndLine) + d.EndCol
			next[d.Path] = append(next[d.Path], Diagnostic{
				Range:    s.rangeOf(l, min(a, len(text)), min(b, len(text))),
				Severity: int(d.Severity),
				Code:     d.Code,
				Source:   d.Source,
				Message:  d.Message,
			})
		}
		for _, n := range notes {
			if src := v.Source(n.Path); src != nil {
				next[n.Path] = append(next[n.Path], s.toDiagnostic(src.Lines(), n.Diag))
			}
		}
	})
	s.mu.Lock()
	var rels []string
	for p := range s.toolDiags {
		rels = append(rels, p)
	}
	for p := range next {
		rels = append(rels, p)
	}
	s.toolDiags = next
	s.mu.Unlock()
	s.publish(dedupStrings(rels))
}

// lintEnv is the tools' environment: sessiond's, already scrubbed of
// secrets by childenv when it started us.
func lintEnv() []string { return os.Environ() }

// crossLanguage reports whether a tool's complaint is only that a unit is
// missing which the workspace has in the other language (a Verilog tool
// cannot see a VHDL entity, and ghdl no Verilog module): in a mixed design
// that is not a problem.
func crossLanguage(v *project.Snapshot, d lint.Diagnostic) bool {
	m := strings.ToLower(d.Message)
	if !strings.Contains(m, "module") && !strings.Contains(m, "entity") && !strings.Contains(m, "component") && !strings.Contains(m, "unit") {
		return false
	}
	fromVHDL := strings.HasSuffix(d.Path, ".vhd") || strings.HasSuffix(d.Path, ".vhdl")
	for _, name := range words(d.Message) {
		for _, u := range v.Units(name, design.VHDL) {
			if (u.Source.Lang == design.VHDL) != fromVHDL {
				return true
			}
		}
	}
	return false
}

// words are the identifiers in a message.
func words(msg string) []string {
	var out []string
	for i := 0; i < len(msg); {
		if !isIdentByte(msg[i]) {
			i++
			continue
		}
		j := i
		for j < len(msg) && isIdentByte(msg[j]) {
			j++
		}
		out = append(out, msg[i:j])
		i = j
	}
	return out
}

// overlapsAny reports whether a tool's diagnostic says what one of the
// server's own already does: same severity, overlapping range on the same
// line. The server's own stays (it follows the text as it is typed).
func overlapsAny(d Diagnostic, own []Diagnostic) bool {
	for _, o := range own {
		if o.Severity != d.Severity || o.Range.Start.Line != d.Range.Start.Line {
			continue
		}
		if o.Range.Start.Character <= d.Range.End.Character && d.Range.Start.Character <= o.Range.End.Character || sameProblem(o, d) {
			return true
		}
	}
	return false
}

// sameProblem reports whether a tool's message on a line is the kind of
// problem the server's own diagnostic there is (the tools point at other
// tokens: verilator's WIDTH at the operator, ours at the operand).
func sameProblem(own, tool Diagnostic) bool {
	m := strings.ToLower(tool.Code + " " + tool.Message)
	switch own.Code {
	case "width-mismatch":
		return strings.Contains(m, "width") || strings.Contains(m, "bits")
	case "unknown-module":
		return strings.Contains(m, "module") || strings.Contains(m, "entity")
	case "undeclared":
		return strings.Contains(m, "declared") || strings.Contains(m, "undefined") || strings.Contains(m, "not found")
	case "unknown-port", "missing-port", "too-many-ports":
		return strings.Contains(m, "port") || strings.Contains(m, "pin")
	case "unknown-parameter":
		return strings.Contains(m, "param")
	}
	return false
}
