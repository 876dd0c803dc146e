package langserver

import (
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
	"gatewave.dev/sessiond/hdl/pcf"
	"gatewave.dev/sessiond/hdl/project"
)

// Pin constraint files (.pcf, .lpf, .cst) are served next to the HDL:
// completion of the top module's ports and the package's pins, hover on
// both, and diagnostics (unknown port, pin not on the package, pin used
// twice, a top-level port left unconstrained).

func isPinFile(rel string) bool {
	_, ok := pcf.SyntaxFor(rel)
	return ok
}

// pinText is the current text of a constraint file: the editor's, else
// the disk's.
func (s *Server) pinText(v *project.Snapshot, rel string) []byte {
	s.mu.Lock()
	d := s.docs[rel]
	s.mu.Unlock()
	if d != nil {
		return d.text
	}
	return v.Text(rel)
}

// pinContext is what checking rel needs: the top module's ports and the
// device and package (.ide/hdl.toml, else the Makefile next to the file
// or at the root).
func (s *Server) pinContext(v *project.Snapshot, rel string, f *pcf.File) pcf.Context {
	cfg := v.Config()
	var mk []byte
	for _, dir := range []string{path.Dir(rel), "."} {
		for _, name := range []string{"GNUmakefile", "makefile", "Makefile"} {
			if b := v.Text(path.Join(dir, name)); b != nil {
				mk = b
				break
			}
		}
		if mk != nil {
			break
		}
	}
	return pcf.Context{
		Ports:  topPorts(v, f),
		Target: pcf.DetectTarget(mk, pcf.Target{Device: cfg.Device, Package: cfg.Package}),
	}
}

// topPorts are the ports of the design's top for f: the configured top,
// else the module whose ports f names most (a testbench instantiating the
// real top is a top too, but has no ports), preferring what nothing
// instantiates; nil when there is no module at all (then ports are not
// checked).
func topPorts(v *project.Snapshot, f *pcf.File) []pcf.Port {
	tops := v.Tops()
	if v.Config().Top == "" {
		isTop := map[*design.Unit]bool{}
		for _, t := range tops {
			isTop[t.Unit] = true
		}
		var all []project.UnitRef
		for _, u := range v.AllUnits() {
			if (u.Unit.Kind == design.UnitModule || u.Unit.Kind == design.UnitEntity) && len(u.Unit.Ports) > 0 && !u.Source.Header {
				all = append(all, u)
			}
		}
		// Tops first, so that they win ties.
		sort.SliceStable(all, func(i, j int) bool { return isTop[all[i].Unit] && !isTop[all[j].Unit] })
		tops = all
	}
	if len(tops) == 0 {
		return nil
	}
	named := map[string]bool{}
	for _, st := range f.Stmts {
		if st.Port.Valid() {
			p, _, ok := pcf.SplitBit(st.Port.Text)
			if !ok {
				p = st.Port.Text
			}
			named[p] = true
		}
	}
	best, score := tops[0], -1
	for _, t := range tops {
		n := 0
		for _, p := range t.Unit.Ports {
			if named[p.Name] {
				n++
			}
		}
		if n > score {
			best, score = t, n
		}
	}
	w := &project.Where{Source: best.Source, Unit: best.Unit}
	if best.Unit.Body != nil {
		w.Chain = []*design.Scope{best.Unit.Body}
	}
	ev := v.NewEval(w)
	ports := []pcf.Port{}
	for _, p := range best.Unit.Ports {
		pp := pcf.Port{Name: p.Name, Dir: p.Dir, Width: 1}
		if n, ok := ev.Width(p); ok {
			pp.Width = int(n)
		}
		if len(p.Type.Packed) > 0 {
			r := p.Type.Packed[len(p.Type.Packed)-1]
			l, ok1 := ev.Value(r.Left)
			rr, ok2 := ev.Value(r.Right)
			if ok1 && ok2 {
				pp.LSB = int(min(l, rr))
			}
		}
		if pp.Width <= 1 && len(p.Type.Packed) == 0 {
			pp.Width = 0 // a scalar
		}
		ports = append(ports, pp)
	}
	return ports
}

// pinDiagnostics are rel's problems.
func (s *Server) pinDiagnostics(v *project.Snapshot, rel string) []Diagnostic {
	text := s.pinText(v, rel)
	if text == nil {
		return nil
	}
	f := pcf.Parse(rel, text)
	l := project.NewLines(text)
	var out []Diagnostic
	for _, d := range pcf.Diagnose(f, s.pinContext(v, rel, f)) {
		dd := s.toDiagnostic(l, d)
		dd.Source = "pcf"
		out = append(out, dd)
	}
	return out
}

// pinFiles are the constraint files in the workspace (tool output
// directories and hidden ones left out), for the first publication.
func (s *Server) pinFiles() []string {
	var out []string
	_ = filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != s.root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "build" || name == "obj_dir") {
				return filepath.SkipDir
			}
			return nil
		}
		if isPinFile(name) {
			if rel, err := filepath.Rel(s.root, p); err == nil {
				out = append(out, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func (s *Server) pinCompletion(v *project.Snapshot, rel string, off int) CompletionList {
	text := s.pinText(v, rel)
	f := pcf.Parse(rel, text)
	l := project.NewLines(text)
	out := CompletionList{Items: []CompletionItem{}}
	for i, it := range pcf.Complete(f, off, s.pinContext(v, rel, f)) {
		kind := ciValue
		switch it.Kind {
		case pcf.ItemPort:
			kind = ciProperty
		case pcf.ItemPin:
			kind = ciConstant
		case pcf.ItemKeyword:
			kind = ciKeyword
		}
		ci := CompletionItem{Label: it.Label, Kind: kind, Detail: it.Detail, SortText: sortKey(i)}
		if it.Edit.Valid() {
			ci.TextEdit = &TextEdit{Range: s.rangeOf(l, it.Edit.Start, it.Edit.End), NewText: it.Label}
		}
		out.Items = append(out.Items, ci)
	}
	return out
}

// sortKey keeps the package's order (ports as declared, pins by number).
func sortKey(i int) string {
	const digits = "0123456789"
	b := []byte("00000")
	for k := len(b) - 1; k >= 0 && i > 0; k-- {
		b[k] = digits[i%10]
		i /= 10
	}
	return string(b)
}

func (s *Server) pinHover(v *project.Snapshot, rel string, off int) *Hover {
	text := s.pinText(v, rel)
	f := pcf.Parse(rel, text)
	h, ok := pcf.Hover(f, off, s.pinContext(v, rel, f))
	if !ok {
		return nil
	}
	r := s.rangeOf(project.NewLines(text), h.Span.Start, h.Span.End)
	return &Hover{Contents: MarkupContent{Kind: "markdown", Value: h.Text}, Range: &r}
}
