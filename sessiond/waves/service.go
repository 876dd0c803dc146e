package waves

import (
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// Options configures a Service. The zero value of every field but
// Workspace works.
type Options struct {
	// Workspace confines every dump that is opened. Required.
	Workspace *workspace.Workspace
	// CacheDir holds the indexes; empty means os.UserCacheDir()/gatewave/waves
	// (or the temporary directory when there is no user cache directory).
	CacheDir string
	// Logger receives indexing events; nil means slog.Default().
	Logger *slog.Logger
}

// Service indexes dumps on first use and answers queries on them.
type Service struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	byPath map[string]*Dump
	byID   map[string]*Dump
}

// New returns a Service for opts.
func New(opts Options) (*Service, error) {
	if opts.Workspace == nil {
		return nil, errors.New("waves: Options.Workspace is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		opts.CacheDir = filepath.Join(base, "gatewave", "waves")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel, byPath: map[string]*Dump{}, byID: map[string]*Dump{}}, nil
}

// Close stops indexing and releases the open indexes.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.byID {
		d.closeData()
	}
	return nil
}

// State of a dump's index.
const (
	StateIndexing = "indexing"
	StateReady    = "ready"
	StateFailed   = "failed"
)

// Status describes a dump and its index.
type Status struct {
	ID        string  `json:"id"`
	Path      string  `json:"path"`
	State     string  `json:"state"`
	Progress  float64 `json:"progress"`
	Error     string  `json:"error,omitempty"`
	Format    string  `json:"format"`
	Timescale string  `json:"timescale"`
	Start     uint64  `json:"start"`
	End       uint64  `json:"end"`
}

// Dump is one opened waveform file and its index.
type Dump struct {
	id, path, format string
	size             int64
	done             chan struct{}
	progress         atomic.Int64

	mu     sync.RWMutex
	state  string
	err    error
	meta   *Meta
	chunks [][]chunk
	data   *os.File
}

// ID is the opaque identifier of this version of the dump.
func (d *Dump) ID() string { return d.id }

// Done is closed when indexing has finished, well or not.
func (d *Dump) Done() <-chan struct{} { return d.done }

// Status reports the dump's state.
func (d *Dump) Status() Status {
	d.mu.RLock()
	defer d.mu.RUnlock()
	st := Status{ID: d.id, Path: d.path, State: d.state, Format: d.format}
	switch d.state {
	case StateReady:
		st.Progress = 1
		st.Timescale, st.Start, st.End = d.meta.Timescale, d.meta.Start, d.meta.End
	case StateIndexing:
		if d.size > 0 {
			st.Progress = min(float64(d.progress.Load())/float64(d.size), 0.999)
		}
	case StateFailed:
		st.Error = d.err.Error()
	}
	return st
}

// Err is the indexing error of a failed dump.
func (d *Dump) Err() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.err
}

func (d *Dump) closeData() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.data != nil {
		d.data.Close()
		d.data = nil
	}
}

// ready returns the index, or an API error while it is not there.
func (d *Dump) ready() (*Meta, [][]chunk, *os.File, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	switch d.state {
	case StateReady:
		if d.data == nil {
			return nil, nil, nil, apierr.NotFound("waves %q: this index was replaced; open the dump again", d.id)
		}
		return d.meta, d.chunks, d.data, nil
	case StateFailed:
		return nil, nil, nil, malformed(d)
	}
	return nil, nil, nil, apierr.Conflict("waves %q: still indexing", d.id)
}

func malformed(d *Dump) error {
	st := d.Status()
	var se *SyntaxError
	if errors.As(d.err, &se) {
		return apierr.New(422, "malformed_dump", "%s: %v", d.path, d.err).WithDetails(st)
	}
	return apierr.Internal("index %s: %v", d.path, d.err).WithDetails(st)
}

// IsDump reports whether name has a waveform extension.
func IsDump(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".vcd", ".fst":
		return true
	}
	return false
}

// Open returns the dump at the workspace-relative path rel, starting its
// indexing if this version of the file (by size and mtime) has none.
func (s *Service) Open(rel string) (*Dump, error) {
	rel, err := workspace.Clean(rel)
	if err != nil {
		return nil, err
	}
	if rel == "." {
		return nil, apierr.BadRequest("path is required: GET /api/v1/waves?path=sim/tb.vcd")
	}
	if !IsDump(rel) {
		return nil, apierr.BadRequest("%q is not a .vcd or .fst file", rel)
	}
	f, err := s.opts.Workspace.Root().Open(rel)
	if err != nil {
		return nil, openErr(rel, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %q: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, apierr.BadRequest("%q is not a regular file", rel)
	}
	format := strings.TrimPrefix(strings.ToLower(path.Ext(rel)), ".")
	sum := sha256.Sum256([]byte(rel + "\x00" + strconv.FormatInt(fi.Size(), 10) + "\x00" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "\x00" + format))
	id := hex.EncodeToString(sum[:10])

	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.byPath[rel]; ok {
		if d.id == id {
			f.Close()
			return d, nil
		}
		delete(s.byID, d.id)
		go func() {
			<-d.done
			d.closeData()
			s.removeCache(d.id)
		}()
	}
	d := &Dump{id: id, path: rel, format: format, size: fi.Size(), done: make(chan struct{}), state: StateIndexing}
	s.byPath[rel] = d
	s.byID[id] = d
	if s.loadCache(d) {
		f.Close()
		close(d.done)
		return d, nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer f.Close()
		s.index(d, f)
	}()
	return d, nil
}

// Get returns an opened dump by its ID.
func (s *Service) Get(id string) (*Dump, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byID[id]
	return d, ok
}

func openErr(rel string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return apierr.NotFound("waves %q: no such file", rel)
	case errors.Is(err, fs.ErrPermission):
		return apierr.Forbidden("waves %q: permission denied", rel)
	case strings.Contains(err.Error(), "escapes"):
		return apierr.New(403, "outside_workspace", "waves %q: resolves outside the workspace", rel)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("open dump %q: %w", rel, err)
}

// cacheFile is the on-disk form of an index's metadata.
type cacheFile struct {
	Version int
	ID      string
	Meta    Meta
	Chunks  [][]chunk
}

const cacheVersion = 1

func (s *Service) cachePath(id, ext string) string {
	return filepath.Join(s.opts.CacheDir, id+ext)
}

func (s *Service) removeCache(id string) {
	os.Remove(s.cachePath(id, ".meta"))
	os.Remove(s.cachePath(id, ".data"))
}

// loadCache adopts an index left by an earlier run.
func (s *Service) loadCache(d *Dump) bool {
	mf, err := os.Open(s.cachePath(d.id, ".meta"))
	if err != nil {
		return false
	}
	defer mf.Close()
	var c cacheFile
	if err := gob.NewDecoder(mf).Decode(&c); err != nil || c.Version != cacheVersion || c.ID != d.id {
		return false
	}
	data, err := os.Open(s.cachePath(d.id, ".data"))
	if err != nil {
		return false
	}
	relink(&c.Meta)
	d.meta, d.chunks, d.data, d.state = &c.Meta, c.Chunks, data, StateReady
	return true
}

// relink makes Meta.Signals point at the signals in the tree again (gob
// does not keep shared pointers).
func relink(m *Meta) {
	var walk func([]*Scope)
	walk = func(ss []*Scope) {
		for _, sc := range ss {
			for _, sig := range sc.Signals {
				if sig.ID >= 0 && sig.ID < len(m.Signals) {
					m.Signals[sig.ID] = sig
				}
			}
			walk(sc.Scopes)
		}
	}
	walk(m.Scopes)
}

// ctxReader stops a read when the service closes.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (s *Service) index(d *Dump, f *os.File) {
	defer close(d.done)
	meta, chunks, data, err := s.build(d, f)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.state, d.err = StateFailed, err
		s.log.Warn("waves: index failed", "path", d.path, "err", err)
		return
	}
	d.meta, d.chunks, d.data, d.state = meta, chunks, data, StateReady
}

func (s *Service) build(d *Dump, f *os.File) (*Meta, [][]chunk, *os.File, error) {
	if err := os.MkdirAll(s.opts.CacheDir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("waves cache: %w", err)
	}
	tmp, err := os.CreateTemp(s.opts.CacheDir, d.id+".*.tmp")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("waves cache: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	b := newBuilder(tmp)
	pp := newPipe(b)
	switch d.format {
	case "vcd":
		err = newVCDReader(ctxReader{s.ctx, f}, &d.progress).read(pp)
	default:
		err = readFST(s.ctx, f, d.size, s.opts.CacheDir, &d.progress, pp)
	}
	if b.meta != nil { // the header was read: the pipe runs
		if cerr := pp.close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("index %s: %w", d.path, err)
	}
	chunks, err := b.finish()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := os.Rename(tmp.Name(), s.cachePath(d.id, ".data")); err != nil {
		return nil, nil, nil, fmt.Errorf("waves cache: %w", err)
	}
	keep = true
	if err := s.writeMeta(d.id, b.meta, chunks); err != nil {
		s.log.Warn("waves: index not kept for the next start", "path", d.path, "err", err)
	}
	s.log.Info("waves: indexed", "path", d.path, "signals", len(b.meta.Signals), "changes", b.changes, "bytes", d.size)
	return b.meta, chunks, tmp, nil
}

func (s *Service) writeMeta(id string, m *Meta, chunks [][]chunk) error {
	mf, err := os.CreateTemp(s.opts.CacheDir, id+".*.meta.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(mf.Name())
	if err := gob.NewEncoder(mf).Encode(cacheFile{Version: cacheVersion, ID: id, Meta: *m, Chunks: chunks}); err != nil {
		mf.Close()
		return fmt.Errorf("encode index metadata: %w", err)
	}
	if err := mf.Close(); err != nil {
		return err
	}
	return os.Rename(mf.Name(), s.cachePath(id, ".meta"))
}

// Scopes is the dump's hierarchy.
func (d *Dump) Scopes() ([]*Scope, error) {
	m, _, _, err := d.ready()
	if err != nil {
		return nil, err
	}
	if m.Scopes == nil {
		return []*Scope{}, nil
	}
	return m.Scopes, nil
}

// SearchHit is one signal found by Search.
type SearchHit struct {
	ID    int    `json:"id"`
	Path  string `json:"path"`
	Width int    `json:"width"`
	Type  string `json:"type"`
}

// Search finds up to limit signals whose dotted path contains q, ignoring case.
func (d *Dump) Search(q string, limit int) ([]SearchHit, error) {
	m, _, _, err := d.ready()
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	q = strings.ToLower(q)
	out := []SearchHit{}
	for _, sig := range m.Signals {
		if strings.Contains(strings.ToLower(sig.Path), q) {
			out = append(out, SearchHit{ID: sig.ID, Path: sig.Path, Width: sig.Width, Type: sig.Type})
			if len(out) >= limit {
				break
			}
		}
	}
	return out, nil
}

// MaxPixels bounds a window's width.
const MaxPixels = 1 << 16

// Window answers the signals ids over (t0, t1], downsampled to pixels.
func (d *Dump) Window(ids []int, t0, t1 uint64, pixels int) (*Window, error) {
	m, chunks, data, err := d.ready()
	if err != nil {
		return nil, err
	}
	if t1 <= t0 {
		return nil, apierr.BadRequest("end (%d) must be after start (%d)", t1, t0)
	}
	if pixels <= 0 || pixels > MaxPixels {
		return nil, apierr.BadRequest("pixels must be 1..%d, not %d", MaxPixels, pixels)
	}
	for _, id := range ids {
		if id < 0 || id >= len(m.Signals) {
			return nil, apierr.BadRequest("no signal %d in this dump (it has %d)", id, len(m.Signals))
		}
	}
	return windowAll(data, m, chunks, ids, t0, t1, pixels)
}
