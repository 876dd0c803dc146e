// Package project is the HDL language server's model of a workspace: every
// Verilog, SystemVerilog and VHDL file parsed into the design model, the
// units they declare, the macros they define, which file includes which,
// and the analysis over all of it (name resolution, constant widths,
// project-level diagnostics, the design hierarchy). It reads files but never
// runs anything; the language server drives it.
package project

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/verilog"
	"gatewave.dev/sessiond/hdl/vhdl"
)

// Options configure a Project. Root is required.
type Options struct {
	// Root is the workspace directory.
	Root string
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
	// Workers parse files in parallel; 0 means GOMAXPROCS.
	Workers int
	// MaxFileSize skips larger files (generated netlists); 0 means 8 MiB.
	MaxFileSize int64
}

// Source is one indexed file.
type Source struct {
	Path string
	Lang design.Lang
	Src  []byte
	File *design.File
	// Header marks a file only ever `include'd (by extension, or because
	// another file includes it): it is not compiled on its own, so its own
	// parse reports no errors.
	Header bool
	// Open marks text that came from the editor rather than the disk.
	Open bool
	// Included lists what this file includes, resolved, transitively.
	Included []string
	// Shape hashes what the design hierarchy sees of the file: its units,
	// parameters, ports and instances, not where they are written.
	Shape uint64

	lines *Lines
}

// Lines is the line index of s.Src (made with the parse, so readers
// sharing the snapshot never race to build it).
func (s *Source) Lines() *Lines { return s.lines }

// UnitRef is a unit and the file that declares it.
type UnitRef struct {
	Unit   *design.Unit
	Source *Source
}

// Project is the indexed workspace. Its methods are safe for concurrent
// use; readers get a consistent snapshot under RLock.
type Project struct {
	opts Options
	root *os.Root
	log  *slog.Logger

	mu        sync.RWMutex
	cfg       Config
	cfgErr    error
	files     map[string]*Source // every project file by path
	disk      map[string]bool    // HDL files on disk inside the project, by path
	open      map[string][]byte  // editor overlays
	units     map[string][]UnitRef
	macros    map[string]*design.Macro
	includers map[string][]string // included path -> files that include it (directly or not)
	byBase    map[string][]string // base name -> every HDL or header path, for include inference
	gen       uint64              // bumps on every change, for caches
	shapeGen  uint64              // bumps when a file's Shape changes
}

// New opens root. Call Index to read the files.
func New(opts Options) (*Project, error) {
	if opts.Root == "" {
		return nil, errors.New("project: Options.Root is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = 8 << 20
	}
	r, err := os.OpenRoot(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("project: open %s: %w", opts.Root, err)
	}
	return &Project{
		opts:  opts,
		root:  r,
		log:   opts.Logger,
		files: map[string]*Source{},
		disk:  map[string]bool{},
		open:  map[string][]byte{},
	}, nil
}

// Close releases the workspace handle.
func (p *Project) Close() error { return p.root.Close() }

// Root is the workspace directory.
func (p *Project) Root() string { return p.opts.Root }

// FS is the workspace opened as an os.Root, which confines every open to
// it; it is valid until Close.
func (p *Project) FS() *os.Root { return p.root }

// Config is the configuration in effect and the error that kept the
// workspace's file from taking effect, if any.
func (p *Project) Config() (Config, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.cfg, p.cfgErr
}

// ShapeGeneration changes when the design hierarchy may have: a unit, a
// parameter, a port or an instance was added, removed or changed.
func (p *Project) ShapeGeneration() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.shapeGen
}

// Generation changes whenever anything in the project does.
func (p *Project) Generation() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.gen
}

// skipDir is a directory not indexed: version control and dependencies
// always; tool output that holds copies of the sources (build, obj_dir,
// ...) unless the configuration lists the files itself.
func skipDir(name string, cfg Config) bool {
	switch name {
	case ".git", ".hg", ".svn", "node_modules":
		return true
	}
	if len(cfg.Files) > 0 {
		return false
	}
	switch name {
	case "obj_dir", "build", "work", "sim_build", ".Xil", "xsim.dir":
		return true
	}
	return strings.HasPrefix(name, ".") && name != ".ide"
}

// inSkippedDir reports whether a directory on rel's path is one Index
// does not descend into.
func inSkippedDir(rel string, cfg Config) bool {
	parts := strings.Split(rel, "/")
	for _, d := range parts[:len(parts)-1] {
		if skipDir(d, cfg) {
			return true
		}
	}
	return false
}

// Index (re)reads the configuration and every file, and parses them all.
func (p *Project) Index() error {
	cfg, cfgErr := LoadConfig(p.root)
	var paths []string
	err := fs.WalkDir(p.root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			if rel == "." {
				return err
			}
			return nil // unreadable corner: skip it, index the rest
		}
		if d.IsDir() {
			if rel != "." && skipDir(d.Name(), cfg) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && IsHDL(rel) {
			paths = append(paths, rel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("project: walk %s: %w", p.opts.Root, err)
	}
	sort.Strings(paths)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg, p.cfgErr = cfg, cfgErr
	p.disk = map[string]bool{}
	for _, rel := range paths {
		p.disk[rel] = true
	}
	p.files = map[string]*Source{}
	p.rebuildLocked(nil)
	return nil
}

// members are the paths in the project: files on disk or open in the
// editor that the config includes. Headers are members when some member
// includes them or when the config names them.
func (p *Project) membersLocked() []string {
	seen := map[string]bool{}
	var out []string
	for rel := range p.disk {
		if p.cfg.Includes(rel) {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	for rel := range p.open {
		if !seen[rel] && IsHDL(rel) && p.cfg.Includes(rel) {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

// rebuildLocked re-derives the index. changed lists the paths whose text
// changed (nil: everything). Files whose text did not change, whose
// includes did not change and that used no macro that changed keep their
// parse.
func (p *Project) rebuildLocked(changed []string) {
	p.gen++
	members := p.membersLocked()
	p.byBase = map[string][]string{}
	for rel := range p.disk {
		b := path.Base(rel)
		p.byBase[b] = append(p.byBase[b], rel)
	}
	for rel := range p.open {
		if !p.disk[rel] {
			b := path.Base(rel)
			p.byBase[b] = append(p.byBase[b], rel)
		}
	}
	for _, l := range p.byBase {
		sort.Strings(l)
	}
	// Parse what changed: everything on a full rebuild, else the changed
	// files and the files that include them.
	todo := map[string]bool{}
	if changed == nil {
		for _, rel := range members {
			todo[rel] = true
		}
	} else {
		for _, rel := range changed {
			todo[rel] = true
			for _, inc := range p.includers[rel] {
				todo[inc] = true
			}
		}
		for _, rel := range members {
			if p.files[rel] == nil {
				todo[rel] = true
			}
		}
	}
	keep := map[string]*Source{}
	for _, rel := range members {
		if s := p.files[rel]; s != nil && !todo[rel] {
			keep[rel] = s
		}
	}
	var list []string
	for rel := range todo {
		if slices.Contains(members, rel) {
			list = append(list, rel)
		}
	}
	sort.Strings(list)
	oldMacros := p.macros
	oldShape := map[string]uint64{}
	for rel, src := range p.files {
		oldShape[rel] = src.Shape
	}
	p.files = keep
	p.parseLocked(list, p.macroTableLocked(keep))
	// Macros come from every file: a use before its file was parsed (or
	// in a file parsed in the same batch) needs a second look.
	p.macros = p.macroTableLocked(p.files)
	var again []string
	macrosChanged := !sameMacros(oldMacros, p.macros)
	for rel, s := range p.files {
		if macrosChanged && usesChangedMacro(s.File, oldMacros, p.macros) || hasUndefinedMacro(s.File) && anyDefined(s.File, p.macros) {
			again = append(again, rel)
		}
	}
	if len(again) > 0 {
		sort.Strings(again)
		p.parseLocked(again, p.macros)
		p.macros = p.macroTableLocked(p.files)
	}
	p.indexUnitsLocked()
	changedShape := len(oldShape) != len(p.files)
	for rel, src := range p.files {
		if old, ok := oldShape[rel]; !ok || old != src.Shape {
			changedShape = true
		}
	}
	if changedShape {
		p.shapeGen++
	}
}

func (p *Project) macroTableLocked(files map[string]*Source) map[string]*design.Macro {
	m := map[string]*design.Macro{}
	paths := make([]string, 0, len(files))
	for rel := range files {
		paths = append(paths, rel)
	}
	sort.Strings(paths)
	for _, rel := range paths {
		s := files[rel]
		if s.File == nil {
			continue
		}
		for _, mac := range s.File.Macros {
			if _, dup := m[mac.Name]; !dup {
				m[mac.Name] = mac
			}
		}
	}
	for name, body := range p.cfg.Defines {
		m[name] = &design.Macro{Name: name, Body: body, Span: design.Span{File: ConfigFile}}
	}
	return m
}

func hasUndefinedMacro(f *design.File) bool {
	if f == nil {
		return false
	}
	for _, d := range f.Diags {
		if d.Code == "undefined-macro" {
			return true
		}
	}
	return false
}

// anyDefined reports whether a macro f used undefined now exists.
func anyDefined(f *design.File, macros map[string]*design.Macro) bool {
	for _, u := range f.MacroUses {
		if macros[u.Name] != nil {
			return true
		}
	}
	return false
}

// sameMacros reports whether two macro tables define the same.
func sameMacros(a, b map[string]*design.Macro) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		y := b[name]
		if y == nil || x.Body != y.Body || !slices.Equal(x.Params, y.Params) {
			return false
		}
	}
	return true
}

// usesChangedMacro reports whether f uses a macro whose definition differs
// between old and cur.
func usesChangedMacro(f *design.File, old, cur map[string]*design.Macro) bool {
	if f == nil || old == nil {
		return false
	}
	for _, u := range f.MacroUses {
		a, b := old[u.Name], cur[u.Name]
		if (a == nil) != (b == nil) || a != nil && (a.Body != b.Body || !slices.Equal(a.Params, b.Params)) {
			return true
		}
	}
	return false
}

// readLocked returns the current text of rel: the editor's, else the disk's.
func (p *Project) readLocked(rel string) ([]byte, bool, error) {
	if b, ok := p.open[rel]; ok {
		return b, true, nil
	}
	st, err := p.root.Stat(rel)
	if err != nil {
		return nil, false, err
	}
	if st.Size() > p.opts.MaxFileSize {
		return nil, false, fmt.Errorf("%s is %d bytes, over the %d-byte limit", rel, st.Size(), p.opts.MaxFileSize)
	}
	b, err := p.root.ReadFile(rel)
	return b, false, err
}

func langOf(rel string) design.Lang {
	switch strings.ToLower(path.Ext(rel)) {
	case ".sv", ".svh":
		return design.SystemVerilog
	case ".vhd", ".vhdl":
		return design.VHDL
	}
	return design.Verilog
}

// parseLocked parses paths in parallel with the macro table given.
func (p *Project) parseLocked(paths []string, macros map[string]*design.Macro) {
	texts := make([][]byte, len(paths))
	opens := make([]bool, len(paths))
	for i, rel := range paths {
		b, open, err := p.readLocked(rel)
		if err != nil {
			p.log.Debug("hdl: skip file", "path", rel, "err", err)
			continue
		}
		texts[i], opens[i] = b, open
	}
	out := make([]*Source, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	inc := p.includeResolverLocked()
	for w := 0; w < p.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = parseOne(paths[i], texts[i], opens[i], macros, inc)
				if !opens[i] && out[i].File != nil {
					// Highlighting tokens are a third of the index's
					// memory and only open files need them (Tokens
					// makes them again on demand).
					out[i].File.Tokens = nil
				}
			}
		}()
	}
	for i := range paths {
		if texts[i] != nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	for i, rel := range paths {
		if out[i] != nil {
			p.files[rel] = out[i]
		} else {
			delete(p.files, rel)
		}
	}
	p.includers = map[string][]string{}
	for rel, s := range p.files {
		for _, inc := range s.Included {
			p.includers[inc] = append(p.includers[inc], rel)
		}
	}
	for rel, s := range p.files {
		s.Header = IsHeader(rel) || len(p.includers[rel]) > 0
	}
}

func parseOne(rel string, src []byte, open bool, macros map[string]*design.Macro, inc includeFunc) (s *Source) {
	s = &Source{Path: rel, Lang: langOf(rel), Src: src, Open: open, lines: NewLines(src)}
	defer func() {
		// The parsers are fuzzed; this is the last line of defence so one
		// file can never take the server down.
		if r := recover(); r != nil {
			s.File = &design.File{Path: rel, Lang: s.Lang, Diags: []design.Diag{{
				Span: design.Span{File: rel}, Severity: design.Error, Code: "internal",
				Message: fmt.Sprintf("the HDL parser failed on this file (%v); please report it", r),
			}}}
		}
	}()
	if s.Lang == design.VHDL {
		s.File = vhdl.Parse(rel, src)
		return s
	}
	var included []string
	s.File = verilog.Parse(rel, src, verilog.Options{
		Lang:    s.Lang,
		Defines: macros,
		Include: func(name, from string) (string, []byte, bool) {
			got, b, ok := inc(name, from)
			if ok && !slices.Contains(included, got) {
				included = append(included, got)
			}
			return got, b, ok
		},
	})
	s.Included = included
	s.Shape = shape(s.File)
	return s
}

// shape hashes the units, parameters, ports and instances of f.
func shape(f *design.File) uint64 {
	h := fnv.New64a()
	w := func(ss ...string) {
		for _, x := range ss {
			_, _ = h.Write([]byte(x))
			_, _ = h.Write([]byte{0})
		}
	}
	var expr func(e *design.Expr)
	expr = func(e *design.Expr) {
		if e == nil {
			w("nil")
			return
		}
		w(strconv.Itoa(int(e.Op)), e.Text)
		for _, a := range e.Args {
			expr(a)
		}
	}
	for _, u := range f.Units {
		w("unit", strconv.Itoa(int(u.Kind)), u.Name, u.Of)
		for _, d := range append(append([]*design.Decl(nil), u.Params...), u.Ports...) {
			w(d.Name, strconv.Itoa(int(d.Kind)))
			expr(d.Value)
		}
		Scopes(u, func(sc *design.Scope, _ []*design.Scope) {
			w("scope", sc.Name)
			for _, in := range sc.Instances {
				w("inst", in.Module, in.Name)
				for _, c := range in.Params {
					w(c.Name)
					expr(c.Expr)
				}
			}
		})
	}
	return h.Sum64()
}

type includeFunc func(name, from string) (string, []byte, bool)

// includeResolverLocked resolves `include names: relative to the including
// file, then the configured include directories, then the directories the
// workspace's files live in that hold a file of that name (shortest path
// first), so that no include list is ever needed. The returned function
// reads under the lock the caller holds.
func (p *Project) includeResolverLocked() includeFunc {
	dirs := slices.Clone(p.cfg.IncludeDirs)
	byBase := p.byBase
	exists := func(rel string) bool {
		if _, ok := p.open[rel]; ok {
			return true
		}
		return p.disk[rel]
	}
	var mu sync.Mutex // readLocked is called from the parse workers
	return func(name, from string) (string, []byte, bool) {
		name = strings.TrimPrefix(path.Clean(name), "./")
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") && !strings.Contains(from, "/") {
			return "", nil, false
		}
		var cands []string
		cands = append(cands, path.Join(path.Dir(from), name))
		for _, d := range dirs {
			cands = append(cands, path.Join(d, name))
		}
		cands = append(cands, name)
		for _, c := range byBase[path.Base(name)] {
			if strings.HasSuffix(c, "/"+name) || c == name {
				cands = append(cands, c)
			}
		}
		for _, c := range cands {
			if strings.HasPrefix(c, "../") || !exists(c) {
				continue
			}
			mu.Lock()
			b, _, err := p.readLocked(c)
			mu.Unlock()
			if err == nil {
				return c, b, true
			}
		}
		return "", nil, false
	}
}

// unitKey is how units are found: lowercase, since VHDL is case-blind;
// Verilog lookups then check the exact spelling.
func unitKey(name string) string { return strings.ToLower(name) }

func (p *Project) indexUnitsLocked() {
	p.units = map[string][]UnitRef{}
	paths := make([]string, 0, len(p.files))
	for rel := range p.files {
		paths = append(paths, rel)
	}
	sort.Strings(paths)
	for _, rel := range paths {
		s := p.files[rel]
		if s.File == nil {
			continue
		}
		for _, u := range s.File.Units {
			if u.Name == "" || u.Kind == design.UnitCompilation {
				continue
			}
			k := unitKey(u.Name)
			p.units[k] = append(p.units[k], UnitRef{Unit: u, Source: s})
		}
	}
}

// SetOpen records the editor's text for rel (didOpen/didChange) and
// re-derives what depends on it.
func (p *Project) SetOpen(rel string, text []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open[rel] = text
	p.rebuildLocked([]string{rel})
}

// CloseOpen drops the editor's text for rel; the disk's counts again.
func (p *Project) CloseOpen(rel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.open[rel]; !ok {
		return
	}
	delete(p.open, rel)
	p.rebuildLocked([]string{rel})
}

// DiskChanged re-reads rel from the disk (created, written or removed
// outside the editor: a checkout, a generator). The configuration file
// re-indexes everything.
func (p *Project) DiskChanged(rels ...string) error {
	for _, rel := range rels {
		if rel == ConfigFile {
			return p.Index()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var changed []string
	for _, rel := range rels {
		if !IsHDL(rel) || inSkippedDir(rel, p.cfg) {
			continue
		}
		st, err := p.root.Stat(rel)
		if err == nil && st.Mode().IsRegular() {
			p.disk[rel] = true
		} else {
			delete(p.disk, rel)
			if _, open := p.open[rel]; !open {
				delete(p.files, rel)
			}
		}
		changed = append(changed, rel)
	}
	if len(changed) > 0 {
		p.rebuildLocked(changed)
	}
	return nil
}

// Snapshot is a read-only view of the project at one generation. Hold it
// only for the duration of one request.
type Snapshot struct {
	p *Project
}

// View runs fn with the project read-locked.
func (p *Project) View(fn func(s *Snapshot)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	fn(&Snapshot{p: p})
}

// Source is the indexed file at rel, or nil.
func (s *Snapshot) Source(rel string) *Source { return s.p.files[rel] }

// Sources are every indexed file, sorted by path.
func (s *Snapshot) Sources() []*Source {
	out := make([]*Source, 0, len(s.p.files))
	for _, f := range s.p.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Macro is the project's definition of name, or nil.
func (s *Snapshot) Macro(name string) *design.Macro { return s.p.macros[name] }

// Macros is every macro the project defines.
func (s *Snapshot) Macros() map[string]*design.Macro { return s.p.macros }

// Config is the configuration in effect.
func (s *Snapshot) Config() Config { return s.p.cfg }

// VisibleMacros are the macros to offer in rel: its own, those of the
// headers it includes, those defined in source files (which compile
// before it in some order) and the configured ones, but not the macros
// of headers it does not include (another core's), nor include guards.
func (s *Snapshot) VisibleMacros(rel string) map[string]*design.Macro {
	out := map[string]*design.Macro{}
	mine := map[string]bool{rel: true}
	if src := s.Source(rel); src != nil {
		for _, inc := range src.Included {
			mine[inc] = true
		}
	}
	for name, m := range s.p.macros {
		def := s.Source(m.Span.File)
		if def != nil && def.Header && !mine[m.Span.File] {
			continue
		}
		if def != nil && isIncludeGuard(def, m) {
			continue
		}
		out[name] = m
	}
	for f := range mine {
		if src := s.Source(f); src != nil && src.File != nil {
			for _, m := range src.File.Macros {
				if !isIncludeGuard(src, m) {
					out[m.Name] = m
				}
			}
		}
	}
	return out
}

// isIncludeGuard reports whether m is a header's guard: defined empty
// right after an `ifndef of the same name.
func isIncludeGuard(src *Source, m *design.Macro) bool {
	if m.Body != "" || len(m.Params) > 0 || m.Full.Start <= 0 || m.Full.Start > len(src.Src) {
		return false
	}
	before := strings.TrimRight(string(src.Src[max(0, m.Full.Start-200):m.Full.Start]), " \t\r\n")
	return strings.HasSuffix(before, "`ifndef "+m.Name)
}

// Includers are the files that include rel.
func (s *Snapshot) Includers(rel string) []string { return s.p.includers[rel] }

// Units are the units named name, as from a file in lang (VHDL is
// case-blind, Verilog exact, and a Verilog name also finds a VHDL unit
// case-blind, as mixed-language tools do).
func (s *Snapshot) Units(name string, from design.Lang) []UnitRef {
	all := s.p.units[unitKey(name)]
	var out []UnitRef
	for _, u := range all {
		if from == design.VHDL || u.Source.Lang == design.VHDL || u.Unit.Name == name {
			out = append(out, u)
		}
	}
	return out
}

// AllUnits is every unit, sorted by name then path.
func (s *Snapshot) AllUnits() []UnitRef {
	var out []UnitRef
	for _, l := range s.p.units {
		out = append(out, l...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Unit.Name != out[j].Unit.Name {
			return out[i].Unit.Name < out[j].Unit.Name
		}
		return out[i].Source.Path < out[j].Source.Path
	})
	return out
}

// Text is the current text of any workspace file (for a span in a file
// outside the project, e.g. the config), or nil.
func (s *Snapshot) Text(rel string) []byte {
	if src := s.p.files[rel]; src != nil {
		return src.Src
	}
	b, _, err := s.p.readLocked(rel)
	if err != nil {
		return nil
	}
	return b
}

// Tokens are rel's highlighting tokens. A file that is not open in the
// editor dropped its own when it was indexed; they are made again here.
func (s *Snapshot) Tokens(rel string) []design.Token {
	src := s.Source(rel)
	if src == nil || src.File == nil {
		return nil
	}
	if src.File.Tokens != nil || len(src.Src) == 0 {
		return src.File.Tokens
	}
	f := parseOne(rel, src.Src, src.Open, s.p.macros, s.p.includeResolverLocked()).File
	if f == nil {
		return nil
	}
	return f.Tokens
}
