// Package report builds the report shown after a place-and-route: device
// utilization, Fmax per clock and the critical paths, from nextpnr's
// `--report FILE` JSON, with source locations from the yosys netlist's
// `src` attributes and cell counts from yosys' `stat -json`; each figure is
// compared with the previous build's report (kept next to nextpnr's, as
// report.prev.json by default), so a user sees what their last change cost.
//
// JSON (Report):
//
//	{"created_at":"2025-...","device":"hx1k","package":"tq144",
//	 "utilization":[{"resource":"LC","bel":"ICESTORM_LC","used":41,"available":1280,"delta":3}, ...],
//	 "clocks":[{"name":"clk$SB_IO_IN_$glb_clk","fmax_mhz":194.3,"constraint_mhz":12,"pass":true,"delta_mhz":-2.1}],
//	 "critical_paths":[{"from":"posedge clk","to":"posedge clk","delay_ns":5.1,"delta_ns":0.2,
//	   "steps":[{"type":"routing","from":"cell.O","to":"cell.I1","net":"counter[0]","delay_ns":0.588,
//	             "src":[{"file":"blinky.v","line":9,"column":20}]}]}],
//	 "synthesis":{"cells":85,"delta":2,"cells_by_type":{"SB_LUT4":34,...}},
//	 "previous_at":"2025-..."}
//
// delta and delta_mhz are left out when there is no previous build (or it
// had no such resource or clock); a positive delta is more resources used.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report is one build's figures compared with the previous build's.
type Report struct {
	CreatedAt     time.Time  `json:"created_at"`
	Device        string     `json:"device,omitempty"`
	Package       string     `json:"package,omitempty"`
	Utilization   []Resource `json:"utilization"`
	Clocks        []Clock    `json:"clocks"`
	CriticalPaths []Path     `json:"critical_paths"`
	Synthesis     *Synthesis `json:"synthesis,omitempty"`
	PreviousAt    *time.Time `json:"previous_at,omitempty"`
}

// Resource is the use of one kind of bel.
type Resource struct {
	// Resource is the common name: LC, BRAM, IO, PLL, GB, or the bel type.
	Resource  string `json:"resource"`
	Bel       string `json:"bel"`
	Used      int    `json:"used"`
	Available int    `json:"available"`
	Delta     *int   `json:"delta,omitempty"`
}

// Clock is the timing of one clock domain.
type Clock struct {
	Name string `json:"name"`
	// FmaxMHz is the achieved maximum frequency.
	FmaxMHz float64 `json:"fmax_mhz"`
	// ConstraintMHz is the target (nextpnr --freq or a constraint file).
	ConstraintMHz float64  `json:"constraint_mhz"`
	Pass          bool     `json:"pass"`
	DeltaMHz      *float64 `json:"delta_mhz,omitempty"`
}

// Path is one critical path.
type Path struct {
	From    string   `json:"from"`
	To      string   `json:"to"`
	DelayNs float64  `json:"delay_ns"`
	DeltaNs *float64 `json:"delta_ns,omitempty"`
	Steps   []Step   `json:"steps"`
}

// Step is one segment of a path: a cell's logic or clock-to-q, or routing.
type Step struct {
	Type    string     `json:"type"`
	From    string     `json:"from"`
	To      string     `json:"to"`
	Net     string     `json:"net,omitempty"`
	DelayNs float64    `json:"delay_ns"`
	Src     []Location `json:"src,omitempty"`
}

// Location is a place in a workspace source file (1-based).
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
}

// Synthesis is yosys' cell count.
type Synthesis struct {
	Cells       int            `json:"cells"`
	Delta       *int           `json:"delta,omitempty"`
	CellsByType map[string]int `json:"cells_by_type"`
}

// Options say where a build left its files; relative paths are relative
// to Dir.
type Options struct {
	// Root is the workspace's absolute path; source locations are made
	// relative to it and files outside it are left out.
	Root string
	// Dir is the build's absolute working directory ("" is Root).
	Dir string
	// NextpnrReport is the file given to nextpnr's --report; required.
	NextpnrReport string
	// Netlist is the yosys JSON netlist nextpnr read (--json); optional.
	Netlist string
	// Stat is yosys' `stat -json` output; optional.
	Stat string
	// Previous is where the last report is kept; "" means report.prev.json
	// next to NextpnrReport.
	Previous string
	// Device and Package label the report (nextpnr's --hx1k, --package).
	Device, Package string
	// Now stamps the report; nil means time.Now.
	Now func() time.Time
}

func (o *Options) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	dir := o.Dir
	if dir == "" {
		dir = o.Root
	}
	return filepath.Join(dir, p)
}

// belNames maps nextpnr bel types to the names a user knows.
var belNames = map[string]string{
	"ICESTORM_LC": "LC", "ICESTORM_RAM": "BRAM", "SB_IO": "IO", "ICESTORM_PLL": "PLL", "SB_GB": "GB",
	"ICESTORM_DSP": "DSP", "ICESTORM_SPRAM": "SPRAM", "SB_WARMBOOT": "WARMBOOT",
	"TRELLIS_SLICE": "SLICE", "TRELLIS_IO": "IO", "DP16KD": "BRAM", "EHXPLLL": "PLL", "MULT18X18D": "DSP",
}

// belOrder puts the figures a user looks for first.
var belOrder = map[string]int{"LC": 0, "SLICE": 0, "BRAM": 1, "IO": 2, "PLL": 3, "GB": 4, "DSP": 5, "SPRAM": 6}

type nextpnrReport struct {
	Utilization map[string]struct {
		Used      int `json:"used"`
		Available int `json:"available"`
	} `json:"utilization"`
	Fmax map[string]struct {
		Achieved   float64 `json:"achieved"`
		Constraint float64 `json:"constraint"`
	} `json:"fmax"`
	CriticalPaths []struct {
		From string `json:"from"`
		To   string `json:"to"`
		Path []struct {
			Type  string  `json:"type"`
			Net   string  `json:"net"`
			Delay float64 `json:"delay"`
			From  struct {
				Cell string `json:"cell"`
				Port string `json:"port"`
			} `json:"from"`
			To struct {
				Cell string `json:"cell"`
				Port string `json:"port"`
			} `json:"to"`
		} `json:"path"`
	} `json:"critical_paths"`
}

// Build reads the build's files, compares them with the previous report,
// stores the new one as the next build's previous and returns it.
func Build(opts Options) (*Report, error) {
	if opts.NextpnrReport == "" {
		return nil, errors.New("report: Options.NextpnrReport is required")
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var np nextpnrReport
	if err := readJSON(opts.path(opts.NextpnrReport), &np); err != nil {
		return nil, err
	}
	r := &Report{CreatedAt: now().UTC(), Device: opts.Device, Package: opts.Package,
		Utilization: []Resource{}, Clocks: []Clock{}, CriticalPaths: []Path{}}
	for bel, u := range np.Utilization {
		name := belNames[bel]
		if name == "" {
			name = bel
		}
		r.Utilization = append(r.Utilization, Resource{Resource: name, Bel: bel, Used: u.Used, Available: u.Available})
	}
	sort.Slice(r.Utilization, func(i, j int) bool {
		a, b := r.Utilization[i], r.Utilization[j]
		oa, ok := belOrder[a.Resource]
		if !ok {
			oa = 100
		}
		ob, ok := belOrder[b.Resource]
		if !ok {
			ob = 100
		}
		if oa != ob {
			return oa < ob
		}
		return a.Bel < b.Bel
	})
	for name, f := range np.Fmax {
		r.Clocks = append(r.Clocks, Clock{Name: name, FmaxMHz: round(f.Achieved, 2), ConstraintMHz: round(f.Constraint, 2),
			Pass: f.Constraint <= 0 || f.Achieved >= f.Constraint})
	}
	sort.Slice(r.Clocks, func(i, j int) bool { return r.Clocks[i].Name < r.Clocks[j].Name })

	var src *sources
	if opts.Netlist != "" {
		s, err := readSources(opts.path(opts.Netlist), &opts)
		if err != nil {
			return nil, err
		}
		src = s
	}
	for _, cp := range np.CriticalPaths {
		p := Path{From: cp.From, To: cp.To, Steps: make([]Step, 0, len(cp.Path))}
		var total float64
		for _, st := range cp.Path {
			total += st.Delay
			s := Step{Type: st.Type, Net: st.Net, DelayNs: round(st.Delay, 3),
				From: st.From.Cell + "." + st.From.Port, To: st.To.Cell + "." + st.To.Port}
			if src != nil {
				if st.Net != "" {
					s.Src = src.net(st.Net)
				} else {
					s.Src = src.cell(st.To.Cell)
				}
			}
			p.Steps = append(p.Steps, s)
		}
		p.DelayNs = round(total, 3)
		r.CriticalPaths = append(r.CriticalPaths, p)
	}
	if opts.Stat != "" {
		s, err := readStat(opts.path(opts.Stat))
		if err != nil {
			return nil, err
		}
		r.Synthesis = s
	}

	prevPath := opts.Previous
	if prevPath == "" {
		prevPath = filepath.Join(filepath.Dir(opts.NextpnrReport), "report.prev.json")
	}
	prevPath = opts.path(prevPath)
	var prev Report
	switch err := readJSON(prevPath, &prev); {
	case err == nil:
		compare(r, &prev)
	case errors.Is(err, fs.ErrNotExist):
	default:
		// A damaged previous report only loses the deltas.
	}
	stored := *r
	stored.PreviousAt = nil
	data, err := json.MarshalIndent(&stored, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(prevPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("store report: %w", err)
	}
	return r, nil
}

// compare fills r's deltas from prev.
func compare(r, prev *Report) {
	at := prev.CreatedAt
	r.PreviousAt = &at
	for i := range r.Utilization {
		for _, p := range prev.Utilization {
			if p.Bel == r.Utilization[i].Bel {
				d := r.Utilization[i].Used - p.Used
				r.Utilization[i].Delta = &d
			}
		}
	}
	for i := range r.Clocks {
		for _, p := range prev.Clocks {
			if p.Name == r.Clocks[i].Name {
				d := round(r.Clocks[i].FmaxMHz-p.FmaxMHz, 2)
				r.Clocks[i].DeltaMHz = &d
			}
		}
	}
	for i := range r.CriticalPaths {
		for _, p := range prev.CriticalPaths {
			if p.From == r.CriticalPaths[i].From && p.To == r.CriticalPaths[i].To {
				d := round(r.CriticalPaths[i].DelayNs-p.DelayNs, 3)
				r.CriticalPaths[i].DeltaNs = &d
				break
			}
		}
	}
	if r.Synthesis != nil && prev.Synthesis != nil {
		d := r.Synthesis.Cells - prev.Synthesis.Cells
		r.Synthesis.Delta = &d
	}
}

func round(v float64, digits int) float64 {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

type statFile struct {
	Design struct {
		NumCells       int            `json:"num_cells"`
		NumCellsByType map[string]int `json:"num_cells_by_type"`
	} `json:"design"`
}

func readStat(path string) (*Synthesis, error) {
	var s statFile
	if err := readJSON(path, &s); err != nil {
		return nil, err
	}
	if s.Design.NumCellsByType == nil {
		s.Design.NumCellsByType = map[string]int{}
	}
	return &Synthesis{Cells: s.Design.NumCells, CellsByType: s.Design.NumCellsByType}, nil
}

// sources maps the netlist's net and cell names to their src attributes.
type sources struct {
	nets, cells map[string][]Location
}

type netlist struct {
	Modules map[string]struct {
		Attributes map[string]any `json:"attributes"`
		Netnames   map[string]struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"netnames"`
		Cells map[string]struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"cells"`
	} `json:"modules"`
}

func readSources(path string, o *Options) (*sources, error) {
	var n netlist
	if err := readJSON(path, &n); err != nil {
		return nil, err
	}
	s := &sources{nets: map[string][]Location{}, cells: map[string][]Location{}}
	for _, m := range n.Modules {
		// Only the top (after synthesis the design is flat) carries the nets
		// nextpnr names; cell libraries have no src in the workspace.
		for name, nn := range m.Netnames {
			if l := o.locations(nn.Attributes); len(l) > 0 {
				s.nets[name] = l
			}
		}
		for name, c := range m.Cells {
			if l := o.locations(c.Attributes); len(l) > 0 {
				s.cells[name] = l
			}
		}
	}
	return s, nil
}

// net finds "counter[3]" as the netlist's "counter".
func (s *sources) net(name string) []Location {
	if l, ok := s.nets[name]; ok {
		return l
	}
	if i := strings.LastIndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		return s.nets[name[:i]]
	}
	return nil
}

// cell finds nextpnr's packed "x_LC" as the netlist's "x".
func (s *sources) cell(name string) []Location {
	if l, ok := s.cells[name]; ok {
		return l
	}
	return s.cells[strings.TrimSuffix(name, "_LC")]
}

// locations parses "blinky.v:9.20-9.31|/usr/share/yosys/ice40/arith_map.v:51.21-51.22",
// keeping the workspace's files.
func (o *Options) locations(attrs map[string]any) []Location {
	v, _ := attrs["src"].(string)
	if v == "" {
		return nil
	}
	var out []Location
	for _, part := range strings.Split(v, "|") {
		i := strings.LastIndexByte(part, ':')
		if i <= 0 {
			continue
		}
		file, pos := part[:i], part[i+1:]
		pos, _, _ = strings.Cut(pos, "-")
		ls, cs, _ := strings.Cut(pos, ".")
		line, err := strconv.Atoi(ls)
		if err != nil {
			continue
		}
		col, _ := strconv.Atoi(cs)
		rel, ok := o.rel(file)
		if !ok {
			continue
		}
		loc := Location{File: rel, Line: line, Column: col}
		dup := false
		for _, x := range out {
			dup = dup || x == loc
		}
		if !dup {
			out = append(out, loc)
		}
	}
	return out
}

func (o *Options) rel(file string) (string, bool) {
	abs := o.path(file)
	if o.Root == "" {
		return filepath.ToSlash(file), !filepath.IsAbs(file)
	}
	r, err := filepath.Rel(o.Root, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return filepath.ToSlash(r), true
}
