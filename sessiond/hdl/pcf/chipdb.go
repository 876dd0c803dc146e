package pcf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// DefaultChipDBDirs are where DB looks for icestorm's chipdb-*.txt when
// DBOptions.Dirs is empty: upstream icestorm's install prefixes and Debian's
// fpga-icestorm-chipdb package.
var DefaultChipDBDirs = []string{
	"/usr/share/icestorm",
	"/usr/local/share/icestorm",
	"/usr/share/fpga-icestorm/chipdb",
}

// DBOptions configures a DB. The zero value searches DefaultChipDBDirs.
type DBOptions struct {
	// Dirs are searched in order for chipdb-<die>.txt.
	Dirs []string
}

// DB is icestorm's iCE40 chip database, read lazily: a die's file is read
// (only its header sections, up to the first .net) the first time one of its
// packages is asked for, and kept. Safe for concurrent use.
type DB struct {
	dirs []string
	mu   sync.Mutex
	dies map[string]*die
	pkgs map[[2]string]*Package
}

// NewDB returns a DB reading the files under opts.Dirs.
func NewDB(opts DBOptions) *DB {
	dirs := opts.Dirs
	if len(dirs) == 0 {
		dirs = DefaultChipDBDirs
	}
	return &DB{dirs: dirs, dies: map[string]*die{}, pkgs: map[[2]string]*Package{}}
}

var (
	defaultDBOnce sync.Once
	defaultDB     *DB
)

// DefaultDB returns the process-wide DB over DefaultChipDBDirs.
func DefaultDB() *DB {
	defaultDBOnce.Do(func() { defaultDB = NewDB(DBOptions{}) })
	return defaultDB
}

// ErrNoChipDB is wrapped by the errors of DB when no chipdb file for the die
// is installed.
var ErrNoChipDB = errors.New("icestorm chip database not installed (Debian: apt-get install fpga-icestorm-chipdb)")

// ErrUnknownDevice is wrapped by the errors of DB for a device it has no
// chip database for.
var ErrUnknownDevice = errors.New("unknown iCE40 device")

// ErrUnknownPackage is wrapped by the errors of DB for a package the device
// does not come in.
var ErrUnknownPackage = errors.New("unknown package")

// deviceDie maps nextpnr-ice40's device names to icestorm's die files and
// the suffix of the die's .pins sections for that device (the HX4K/LP4K are
// the 8k die bonded out as "tq144:4k" and so on).
var deviceDie = map[string]struct{ die, suffix string }{
	"lp384": {"384", ""},
	"lp1k":  {"1k", ""},
	"hx1k":  {"1k", ""},
	"lp4k":  {"8k", ":4k"},
	"hx4k":  {"8k", ":4k"},
	"lp8k":  {"8k", ""},
	"hx8k":  {"8k", ""},
	"up5k":  {"5k", ""},
	"u4k":   {"u4k", ""},
	"lm4k":  {"lm4k", ""},
}

// Devices lists the device names DB knows (nextpnr-ice40's flags without
// "--"), sorted. up3k, u1k and u2k, which nextpnr-ice40 also accepts, have
// no chipdb file of their own in icestorm.
func Devices() []string {
	out := make([]string, 0, len(deviceDie))
	for d := range deviceDie {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Pin is one package pin bonded to an IO block.
type Pin struct {
	// Name is the package pin: "21" (TQ/VQ/QN/SG packages) or a ball "A10".
	Name string
	// X, Y are the IO tile, Z the IO block in it (PIO_NUM, 0 or 1).
	X, Y, Z int
	// Bank is the IO bank, -1 when unknown. The chipdb has no bank column:
	// it is derived from the tile's edge as in Lattice's iCE40 LP/HX data
	// sheet (top 0, right 1, bottom 2, left 3); for dies with IO on the top
	// and bottom edges only (up5k, u4k) it is left unknown.
	Bank int
	// GlobalNet is the global network the pad drives directly (the pin is a
	// GBIN global buffer input, from the chipdb's .gbufpin), -1 if none.
	GlobalNet int
	// Functions are the hard cells wired to the pad, from the chipdb's
	// .extra_cell sections, as "CELL.KEY": "PLL.PLLOUT_A", "RGBA_DRV.RGB0",
	// "IO_I3C.PACKAGE_PIN". PLL pads are listed only for packages on which
	// the PLL is not locked (usable).
	Functions []string
}

// GBIN reports whether the pin is a global buffer input.
func (p Pin) GBIN() bool { return p.GlobalNet >= 0 }

// Edge names the die edge of the pin's IO tile: "top", "right", "bottom",
// "left", or "" for an inner tile.
func (p Pin) edge(w, h int) string {
	switch {
	case p.Y == h-1:
		return "top"
	case p.X == w-1:
		return "right"
	case p.Y == 0:
		return "bottom"
	case p.X == 0:
		return "left"
	}
	return ""
}

// Describe is a one-line summary for completion details: "bank 3, GBIN
// (global net 1)".
func (p Pin) Describe() string {
	var b strings.Builder
	if p.Bank >= 0 {
		b.WriteString("bank " + strconv.Itoa(p.Bank))
	} else {
		b.WriteString("bank ?")
	}
	if p.GBIN() {
		b.WriteString(", GBIN (global net " + strconv.Itoa(p.GlobalNet) + ")")
	}
	for _, fn := range p.Functions {
		b.WriteString(", " + fn)
	}
	b.WriteString(fmt.Sprintf(", tile %d/%d io %d", p.X, p.Y, p.Z))
	return b.String()
}

// Package is one device's package and its pins.
type Package struct {
	Device string // "hx1k"
	Name   string // "tq144"
	Die    string // icestorm's die: "1k"
	// File is the chipdb file read; Section its ".pins" section name.
	File, Section string
	// Width and Height are the die's size in tiles.
	Width, Height int
	// Pins are sorted by name, numbers numerically ("1", "2", ..., "144";
	// balls "A1", "A2", ..., "A10", "B1").
	Pins  []Pin
	index map[string]int
}

// Pin returns the pin named name (as in a .pcf: "21", "A10"; ball names
// match case-insensitively).
func (p *Package) Pin(name string) (Pin, bool) {
	i, ok := p.index[strings.ToUpper(name)]
	if !ok {
		return Pin{}, false
	}
	return p.Pins[i], true
}

type die struct {
	file          string
	width, height int
	pins          map[string][]rawPin // .pins section name -> pins
	gbuf          map[[3]int]int      // (x,y,z) -> global net
	cells         []extraCell
}

type rawPin struct {
	name    string
	x, y, z int
}

type extraCell struct {
	kind   string
	locked []string
	pads   []cellPad
}

type cellPad struct {
	key     string
	x, y, z int
}

// Packages returns the packages device comes in, sorted.
func (db *DB) Packages(device string) ([]string, error) {
	dd, d, err := db.die(device)
	if err != nil {
		return nil, err
	}
	var out []string
	for s := range d.pins {
		name, suf, _ := strings.Cut(s, ":")
		if suf != "" {
			suf = ":" + suf
		}
		if suf == dd.suffix {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Package returns device's package pkg ("hx1k", "tq144"; any case). The
// Package is built once and shared: do not modify it.
func (db *DB) Package(device, pkg string) (*Package, error) {
	device, pkg = strings.ToLower(device), strings.ToLower(pkg)
	key := [2]string{device, pkg}
	db.mu.Lock()
	p, ok := db.pkgs[key]
	db.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := db.buildPackage(device, pkg)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	db.pkgs[key] = p
	db.mu.Unlock()
	return p, nil
}

func (db *DB) buildPackage(device, pkg string) (*Package, error) {
	dd, d, err := db.die(device)
	if err != nil {
		return nil, err
	}
	section := pkg + dd.suffix
	raw, ok := d.pins[section]
	if !ok {
		have, _ := db.Packages(device)
		return nil, fmt.Errorf("package %s of %s (it comes in %s): %w", pkg, device, strings.Join(have, ", "), ErrUnknownPackage)
	}
	p := &Package{Device: device, Name: pkg, Die: dd.die, File: d.file, Section: section,
		Width: d.width, Height: d.height, Pins: make([]Pin, len(raw)), index: make(map[string]int, len(raw))}
	leftRight := false
	for _, r := range raw {
		if r.x == 0 || r.x == d.width-1 {
			leftRight = true
		}
	}
	for i, r := range raw {
		pin := Pin{Name: r.name, X: r.x, Y: r.y, Z: r.z, Bank: -1, GlobalNet: -1}
		if g, ok := d.gbuf[[3]int{r.x, r.y, r.z}]; ok {
			pin.GlobalNet = g
		}
		if leftRight {
			pin.Bank = map[string]int{"top": 0, "right": 1, "bottom": 2, "left": 3}[pin.edge(d.width, d.height)]
		}
		for _, c := range d.cells {
			if contains(c.locked, section) {
				continue
			}
			for _, cp := range c.pads {
				if cp.x == r.x && cp.y == r.y && cp.z == r.z {
					pin.Functions = append(pin.Functions, c.kind+"."+cp.key)
				}
			}
		}
		p.Pins[i] = pin
	}
	sort.Slice(p.Pins, func(i, j int) bool { return pinLess(p.Pins[i].Name, p.Pins[j].Name) })
	for i, pin := range p.Pins {
		p.index[strings.ToUpper(pin.Name)] = i
	}
	return p, nil
}

// pinLess orders pin names: a letter prefix first, then the number.
func pinLess(a, b string) bool {
	pa, na := splitPinName(a)
	pb, nb := splitPinName(b)
	if pa != pb {
		if len(pa) != len(pb) {
			return len(pa) < len(pb)
		}
		return pa < pb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

func splitPinName(s string) (string, int) {
	i := 0
	for i < len(s) && (s[i] < '0' || s[i] > '9') {
		i++
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, -1
	}
	return s[:i], n
}

func (db *DB) die(device string) (struct{ die, suffix string }, *die, error) {
	dd, ok := deviceDie[strings.ToLower(device)]
	if !ok {
		return dd, nil, fmt.Errorf("chipdb for %q (known: %s): %w", device, strings.Join(Devices(), ", "), ErrUnknownDevice)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if d, ok := db.dies[dd.die]; ok {
		return dd, d, nil
	}
	name := "chipdb-" + dd.die + ".txt"
	for _, dir := range db.dirs {
		file := filepath.Join(dir, name)
		fh, err := os.Open(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return dd, nil, fmt.Errorf("open chipdb: %w", err)
		}
		d, err := readDie(fh, file)
		fh.Close()
		if err != nil {
			return dd, nil, fmt.Errorf("read %s: %w", file, err)
		}
		db.dies[dd.die] = d
		return dd, d, nil
	}
	return dd, nil, fmt.Errorf("%s for %s not in %s: %w", name, device, strings.Join(db.dirs, ", "), ErrNoChipDB)
}

// readDie reads the header sections of a chipdb file: .device, .pins,
// .gbufpin and .extra_cell, stopping at the first .net (the routing graph,
// which is most of the file).
func readDie(fh *os.File, file string) (*die, error) {
	d := &die{file: file, pins: map[string][]rawPin{}, gbuf: map[[3]int]int{}}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	section, arg := "", ""
	var cell *extraCell
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Fields(text)
		if text[0] == '.' {
			section, arg = fields[0], ""
			if len(fields) > 1 {
				arg = fields[1]
			}
			cell = nil
			switch section {
			case ".net":
				if d.width == 0 {
					return nil, fmt.Errorf("line %d: no .device before the nets", line)
				}
				return d, nil
			case ".device":
				if len(fields) < 4 {
					return nil, fmt.Errorf("line %d: short .device", line)
				}
				w, err1 := strconv.Atoi(fields[2])
				h, err2 := strconv.Atoi(fields[3])
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("line %d: bad .device size", line)
				}
				d.width, d.height = w, h
			case ".extra_cell":
				d.cells = append(d.cells, extraCell{kind: fields[len(fields)-1]})
				cell = &d.cells[len(d.cells)-1]
			}
			continue
		}
		switch section {
		case ".pins":
			n, err := ints(fields[1:], 3)
			if err != nil || len(fields) != 4 {
				return nil, fmt.Errorf("line %d: bad pin %q", line, text)
			}
			d.pins[arg] = append(d.pins[arg], rawPin{name: fields[0], x: n[0], y: n[1], z: n[2]})
		case ".gbufpin":
			n, err := ints(fields, 4)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad gbufpin %q", line, text)
			}
			d.gbuf[[3]int{n[0], n[1], n[2]}] = n[3]
		case ".extra_cell":
			if cell == nil || len(fields) < 2 {
				continue
			}
			if fields[0] == "LOCKED" {
				cell.locked = append(cell.locked, fields[1:]...)
				continue
			}
			// KEY X Y Z: a pad of the IO block Z in tile X/Y; other
			// values name wires or config bits.
			if len(fields) == 4 {
				if n, err := ints(fields[1:], 3); err == nil {
					cell.pads = append(cell.pads, cellPad{key: fields[0], x: n[0], y: n[1], z: n[2]})
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if d.width == 0 {
		return nil, errors.New("no .device section")
	}
	return d, nil
}

func ints(fields []string, n int) ([]int, error) {
	if len(fields) < n {
		return nil, errors.New("too few fields")
	}
	out := make([]int, n)
	for i := 0; i < n; i++ {
		v, err := strconv.Atoi(fields[i])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
