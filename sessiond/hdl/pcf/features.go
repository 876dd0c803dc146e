package pcf

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gatewave.dev/sessiond/hdl/design"
)

// Diagnostic codes, stable for the editor and tests.
const (
	CodeSyntax        = "syntax"         // error: a statement nextpnr would reject
	CodeUnknownPort   = "unknown-port"   // error: not a port (or bus bit) of the top module
	CodeUnknownPin    = "unknown-pin"    // error: not a pin of the package
	CodePinTwice      = "pin-used-twice" // error: a second port on the same pin
	CodePortTwice     = "port-twice"     // warning: a port given a pin twice
	CodeUnconstrained = "unconstrained"  // warning: a top-level port or bus bit without a pin
	CodeNoChipDB      = "no-chipdb"      // information: pins not checked (device, package or database unknown)
)

// Port is a port of the top module. A bus is Width bits named
// Name[LSB] .. Name[LSB+Width-1], as nextpnr names the bits of a yosys
// netlist port (LSB is the lower index of the range, so [7:4] and [4:7]
// both have LSB 4); Width 0 or 1 is a scalar named Name.
type Port struct {
	Name  string
	Dir   design.Dir
	Width int
	LSB   int
}

// bits returns the names nextpnr gives the port's bits.
func (p Port) bits() []string {
	if p.Width <= 1 {
		return []string{p.Name}
	}
	out := make([]string, p.Width)
	for i := range out {
		out[i] = p.Name + "[" + strconv.Itoa(p.LSB+i) + "]"
	}
	return out
}

func (p Port) describe() string {
	d := p.Dir.String()
	if d == "" {
		d = "port"
	}
	if p.Width <= 1 {
		return d + " " + p.Name + " (1 bit)"
	}
	return fmt.Sprintf("%s %s[%d:%d] (%d bits)", d, p.Name, p.LSB+p.Width-1, p.LSB, p.Width)
}

// Context is what the features check a file against. The zero value checks
// syntax only.
type Context struct {
	// Ports are the top module's ports; nil when the top is unknown, which
	// turns the port checks and completions off (an empty non-nil slice
	// means a top with no ports).
	Ports []Port
	// Target is the device and package (DetectTarget). Pins are checked
	// and completed only for .pcf files with a device and package the DB
	// knows.
	Target Target
	// DB is the chip database; nil means DefaultDB().
	DB *DB
}

// pkg returns the package of the context, or nil and why not.
func (c Context) pkg(f *File) (*Package, error) {
	if f.Syntax != SyntaxPCF || c.Target.Device == "" || c.Target.Package == "" {
		return nil, nil
	}
	db := c.DB
	if db == nil {
		db = DefaultDB()
	}
	return db.Package(c.Target.Device, c.Target.Package)
}

// portIndex maps every constrainable name (scalar ports and bus bits) to
// its port.
type portIndex struct {
	byBit  map[string]int // bit or scalar name -> index in ports
	byName map[string]int // port name -> index
	ports  []Port
}

func indexPorts(ports []Port) portIndex {
	ix := portIndex{byBit: map[string]int{}, byName: map[string]int{}, ports: ports}
	for i, p := range ports {
		ix.byName[p.Name] = i
		for _, b := range p.bits() {
			ix.byBit[b] = i
		}
	}
	return ix
}

func diag(sp design.Span, sev design.Severity, code, msg string) design.Diag {
	return design.Diag{Span: sp, Severity: sev, Code: code, Message: msg}
}

// Diagnose returns f's syntax errors and what is wrong with its statements
// against the top module's ports and the package's pins, in source order:
// unknown-port, unknown-pin, pin-used-twice (on each later use), port-twice,
// and, for each port with bits left unconstrained, one unconstrained
// warning at the start of the line after the last pin assignment (at the
// file start when there is none). Only statements that assign pins
// (set_io, LOCATE, IO_LOC) count towards "constrained"; set_frequency,
// IOBUF, FREQUENCY and IO_PORT names are checked to be ports. When the
// package cannot be loaded a single no-chipdb information diagnostic at the
// file start says why and pins go unchecked.
func Diagnose(f *File, c Context) []design.Diag {
	out := append([]design.Diag(nil), f.Diags...)
	pkg, err := c.pkg(f)
	if err != nil {
		out = append(out, diag(f.span(0, 0), design.Information, CodeNoChipDB, "pins not checked: "+err.Error()))
	}
	var ix portIndex
	if c.Ports != nil {
		ix = indexPorts(c.Ports)
	}
	pinUse := map[string]int{}  // pin (upper case) -> statement
	portUse := map[string]int{} // constrained name -> statement
	lastAssign := -1
	for si, st := range f.Stmts {
		if st.Kind == KindOther {
			continue
		}
		if st.Kind.AssignsPin() {
			lastAssign = si
		}
		if c.Ports != nil && st.Port.Valid() && st.Port.Text != "" {
			if msg := ix.unknown(st.Port.Text); msg != "" {
				out = append(out, diag(st.Port.Span, design.Error, CodeUnknownPort, msg))
			} else if st.Kind.AssignsPin() {
				if prev, ok := portUse[st.Port.Text]; ok {
					out = append(out, diag(st.Port.Span, design.Warning, CodePortTwice,
						fmt.Sprintf("%s already has a pin on line %d", st.Port.Text, f.Line(f.Stmts[prev].Span.Start))))
				} else {
					portUse[st.Port.Text] = si
				}
			}
		}
		if !st.Kind.AssignsPin() || !st.Pin.Valid() || st.Pin.Text == "" {
			continue
		}
		if pkg != nil {
			if _, ok := pkg.Pin(st.Pin.Text); !ok {
				out = append(out, diag(st.Pin.Span, design.Error, CodeUnknownPin,
					fmt.Sprintf("%s %s has no pin %s", pkg.Device, pkg.Name, st.Pin.Text)))
				continue
			}
		}
		key := strings.ToUpper(st.Pin.Text)
		if prev, ok := pinUse[key]; ok {
			p := f.Stmts[prev]
			out = append(out, diag(st.Pin.Span, design.Error, CodePinTwice,
				fmt.Sprintf("pin %s is already used by %s on line %d", st.Pin.Text, p.Port.Text, f.Line(p.Span.Start))))
			continue
		}
		pinUse[key] = si
	}
	if c.Ports != nil {
		at := 0
		if lastAssign >= 0 {
			at = f.lineAfter(f.Stmts[lastAssign].Span.End)
		}
		for _, p := range c.Ports {
			var missing []string
			bits := p.bits()
			for _, b := range bits {
				if _, ok := portUse[b]; !ok {
					missing = append(missing, b)
				}
			}
			if len(missing) == 0 {
				continue
			}
			var msg string
			switch {
			case len(bits) == 1:
				msg = fmt.Sprintf("%s has no pin", p.describe())
			case len(missing) == len(bits):
				msg = fmt.Sprintf("%s has no pins: constrain %s .. %s", p.describe(), bits[0], bits[len(bits)-1])
			default:
				msg = fmt.Sprintf("%s: %s without a pin", p.describe(), strings.Join(missing, ", "))
			}
			out = append(out, diag(f.span(at, at), design.Warning, CodeUnconstrained, msg))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Span.Start < out[j].Span.Start })
	return out
}

// unknown returns why name is not a constrainable port name, or "".
func (ix portIndex) unknown(name string) string {
	if _, ok := ix.byBit[name]; ok {
		return ""
	}
	if i, ok := ix.byName[name]; ok {
		p := ix.ports[i]
		b := p.bits()
		return fmt.Sprintf("%s is a %d-bit bus: constrain its bits %s .. %s", name, p.Width, b[0], b[len(b)-1])
	}
	if base, bit, ok := SplitBit(name); ok {
		if i, found := ix.byName[base]; found {
			p := ix.ports[i]
			if p.Width <= 1 {
				return fmt.Sprintf("%s is a scalar %s: constrain it as %s", base, p.Dir, base)
			}
			return fmt.Sprintf("bit %d is not in %s", bit, p.describe())
		}
	}
	return name + " is not a port of the top module"
}

// Line returns the 1-based line of offset off.
func (f *File) Line(off int) int {
	return sort.SearchInts(f.newlines, off) + 1
}

// lineAfter returns the start of the line after the one holding off, or
// the end of the file.
func (f *File) lineAfter(off int) int {
	for i := off; i < len(f.Src); i++ {
		if f.Src[i] == '\n' {
			return i + 1
		}
	}
	return len(f.Src)
}

// ItemKind is what a completion item is.
type ItemKind uint8

const (
	ItemPort    ItemKind = iota + 1 // a top-level port or bus bit
	ItemPin                         // a package pin
	ItemKeyword                     // a command, keyword or option
	ItemValue                       // an option's value
)

// Item is one completion.
type Item struct {
	Label  string
	Kind   ItemKind
	Detail string // "output, bit 0 of led[4:0]"; "bank 3, GBIN (global net 1), tile 0/8 io 1"
	// Edit is the text the item replaces: the word at the cursor (for a
	// quoted name, its content), or an empty span at the cursor.
	Edit design.Span
}

// slot is where a cursor is in a statement.
type slot uint8

const (
	slotNone slot = iota
	slotCommand
	slotPort
	slotPin
	slotOption
	slotPullup
	slotResistor
	slotKeyword // lpf second word (COMP, PORT, NET, SITE)
)

// at finds the statement slot at offset and the span of the word there.
func (f *File) at(off int) (slot, design.Span, *Stmt) {
	if off < 0 || off > len(f.Src) {
		return slotNone, design.Span{}, nil
	}
	var st *Stmt
	for i := range f.Stmts {
		s := &f.Stmts[i]
		if s.Span.Start <= off && off <= s.Span.End {
			st = s
			break
		}
	}
	if f.Syntax == SyntaxPCF {
		start := off
		for start > 0 && f.Src[start-1] != '\n' {
			start--
		}
		cend, _ := pcfLineEnd(f.Src, start)
		if off > cend {
			return slotNone, design.Span{}, nil // in a comment
		}
		words := pcfWords(f.Src, start, off, nil)
		edit := f.span(off, off)
		if n := len(words); n > 0 && words[n-1][1] == off {
			edit = f.span(words[n-1][0], off)
			words = words[:n-1]
		}
		for edit.End < len(f.Src) && !isBlank(f.Src[edit.End]) && f.Src[edit.End] != '\n' && f.Src[edit.End] != '#' {
			edit.End++
		}
		if len(words) == 0 {
			return slotCommand, edit, st
		}
		st = nil
		for i := range f.Stmts {
			if f.Stmts[i].Span.Start == words[0][0] {
				st = &f.Stmts[i]
			}
		}
		cmd := string(f.Src[words[0][0]:words[0][1]])
		typed := string(f.Src[edit.Start:off])
		pos := 0
		prevOpt := ""
		for _, w := range words[1:] {
			text := string(f.Src[w[0]:w[1]])
			if prevOpt != "" {
				prevOpt = ""
				continue
			}
			if cmd == "set_io" && strings.HasPrefix(text, "-") {
				if _, takes := pcfOptionTakesValue(text); takes {
					prevOpt = text
				}
				continue
			}
			pos++
		}
		switch {
		case prevOpt == "-pullup":
			return slotPullup, edit, st
		case prevOpt == "-pullup_resistor":
			return slotResistor, edit, st
		case cmd == "set_io" && strings.HasPrefix(typed, "-"):
			return slotOption, edit, st
		case cmd == "set_io" && pos == 0 || cmd == "set_frequency" && pos == 0:
			return slotPort, edit, st
		case cmd == "set_io" && pos == 1:
			return slotPin, edit, st
		}
		return slotNone, edit, st
	}
	// lpf/cst: re-lex from the statement's start (or the end of the one
	// before the cursor) to the cursor.
	start := 0
	if st != nil {
		start = st.Span.Start
	} else {
		for i := range f.Stmts {
			if f.Stmts[i].Span.End <= off {
				start = f.Stmts[i].Span.End
			}
		}
	}
	toks := lexSemi(f.Src, start, off, nil)
	if n := len(toks); n > 0 && toks[n-1].kind == tokSemi {
		toks = lexSemi(f.Src, toks[n-1].end, off, nil)
	}
	edit := f.span(off, off)
	if n := len(toks); n > 0 && toks[n-1].end == off && (toks[n-1].kind == tokWord || toks[n-1].open) {
		edit = f.span(toks[n-1].start, off)
		toks = toks[:n-1]
		for edit.End < len(f.Src) && isWordByte(f.Src[edit.End]) {
			edit.End++
		}
	}
	var words []string
	for _, t := range toks {
		if t.kind == tokWord || t.kind == tokString {
			words = append(words, strings.ToUpper(string(f.Src[t.start:t.end])))
		}
	}
	if len(words) == 0 {
		return slotCommand, edit, st
	}
	switch words[0] {
	case "LOCATE":
		switch {
		case len(words) == 1:
			return slotKeyword, edit, st
		case len(words) == 2 && words[1] == "COMP":
			return slotPort, edit, st
		case len(words) == 3:
			return slotKeyword, edit, st
		case len(words) == 4 && words[3] == "SITE":
			return slotPin, edit, st
		}
	case "IOBUF", "FREQUENCY":
		switch {
		case len(words) == 1:
			return slotKeyword, edit, st
		case len(words) == 2 && (words[1] == "PORT" || words[1] == "NET"):
			return slotPort, edit, st
		}
	case "IO_LOC":
		switch len(words) {
		case 1:
			return slotPort, edit, st
		case 2:
			return slotPin, edit, st
		}
	case "IO_PORT":
		if len(words) == 1 {
			return slotPort, edit, st
		}
	}
	return slotNone, edit, st
}

var commands = map[Syntax][]string{
	SyntaxPCF: {"set_io", "set_frequency"},
	SyntaxLPF: {"LOCATE", "IOBUF", "FREQUENCY"},
	SyntaxCST: {"IO_LOC", "IO_PORT"},
}

// Complete returns the completions at offset: at a port position (set_io's
// and set_frequency's first word, LOCATE COMP, IOBUF PORT, FREQUENCY PORT,
// IO_LOC, IO_PORT) the top module's ports, bus bits expanded, that no other
// statement gives a pin yet (for set_frequency and FREQUENCY, every input);
// at a pin position (set_io's second word) the package's pins no other
// statement uses, with bank and function in Detail; the commands at a
// statement's start; set_io's options and their values. The statement at
// the cursor does not count as using its own port or pin.
func Complete(f *File, offset int, c Context) []Item {
	sl, edit, st := f.at(offset)
	var items []Item
	switch sl {
	case slotCommand:
		for _, k := range commands[f.Syntax] {
			items = append(items, Item{Label: k, Kind: ItemKeyword, Edit: edit})
		}
	case slotKeyword:
		for _, k := range []string{"COMP", "PORT", "NET", "SITE"} {
			items = append(items, Item{Label: k, Kind: ItemKeyword, Edit: edit})
		}
	case slotOption:
		for _, k := range []string{"-nowarn", "-pullup", "-pullup_resistor"} {
			items = append(items, Item{Label: k, Kind: ItemKeyword, Edit: edit})
		}
	case slotPullup, slotResistor:
		vals := pullupValues
		if sl == slotResistor {
			vals = resistorValues
		}
		for _, v := range vals {
			items = append(items, Item{Label: v, Kind: ItemValue, Edit: edit})
		}
	case slotPort:
		freq := st != nil && (st.Kind == KindSetFrequency || st.Kind == KindFrequency)
		used := map[string]bool{}
		for i := range f.Stmts {
			s := &f.Stmts[i]
			if s != st && s.Kind.AssignsPin() {
				used[s.Port.Text] = true
			}
		}
		for _, p := range c.Ports {
			if freq && p.Dir != design.DirInput && p.Dir != design.DirInout {
				continue
			}
			bits := p.bits()
			for i, b := range bits {
				if used[b] && !freq {
					continue
				}
				detail := p.describe()
				if len(bits) > 1 {
					detail = fmt.Sprintf("%s, bit %d of %s[%d:%d]", p.Dir, p.LSB+i, p.Name, p.LSB+p.Width-1, p.LSB)
				}
				items = append(items, Item{Label: b, Kind: ItemPort, Detail: detail, Edit: edit})
			}
		}
	case slotPin:
		pkg, err := c.pkg(f)
		if err != nil || pkg == nil {
			return nil
		}
		used := map[string]bool{}
		for i := range f.Stmts {
			s := &f.Stmts[i]
			if s != st && s.Kind.AssignsPin() {
				used[strings.ToUpper(s.Pin.Text)] = true
			}
		}
		for _, p := range pkg.Pins {
			if used[strings.ToUpper(p.Name)] {
				continue
			}
			items = append(items, Item{Label: p.Name, Kind: ItemPin, Detail: p.Describe(), Edit: edit})
		}
	}
	return items
}

// HoverInfo is the text to show for the word at a position.
type HoverInfo struct {
	Text string      // Markdown
	Span design.Span // the word described
}

// Hover describes the port or pin at offset: for a pin its package, bank,
// IO tile and block, whether it is a global buffer input and its hard-cell
// functions; for a port its direction and width (and which bit). ok is
// false elsewhere, and for pins when the package is unknown.
func Hover(f *File, offset int, c Context) (h HoverInfo, ok bool) {
	var st *Stmt
	for i := range f.Stmts {
		s := &f.Stmts[i]
		if s.Span.Start <= offset && offset <= s.Span.End {
			st = s
			break
		}
	}
	if st == nil {
		return HoverInfo{}, false
	}
	switch {
	case st.Pin.Valid() && st.Pin.Span.Contains(f.Path, offset) && st.Kind.AssignsPin():
		pkg, err := c.pkg(f)
		if err != nil || pkg == nil {
			if err != nil && !errors.Is(err, ErrUnknownPackage) {
				return HoverInfo{Text: "pin " + st.Pin.Text + ": " + err.Error(), Span: st.Pin.Span}, true
			}
			return HoverInfo{}, false
		}
		p, found := pkg.Pin(st.Pin.Text)
		if !found {
			return HoverInfo{Text: fmt.Sprintf("**%s** is not a pin of %s %s", st.Pin.Text, pkg.Device, pkg.Name), Span: st.Pin.Span}, true
		}
		return HoverInfo{Text: PinText(pkg, p), Span: st.Pin.Span}, true
	case st.Port.Valid() && st.Port.Span.Contains(f.Path, offset) && c.Ports != nil:
		ix := indexPorts(c.Ports)
		name := st.Port.Text
		if i, found := ix.byBit[name]; found {
			p := ix.ports[i]
			text := "**" + name + "**: " + p.describe()
			if _, bit, isBit := SplitBit(name); isBit && p.Width > 1 {
				text = fmt.Sprintf("**%s**: bit %d of %s", name, bit, p.describe())
			}
			return HoverInfo{Text: text, Span: st.Port.Span}, true
		}
		return HoverInfo{Text: "**" + name + "**: " + ix.unknown(name), Span: st.Port.Span}, true
	}
	return HoverInfo{}, false
}

// PinText is the hover text for a pin: bank, IO tile and block, global
// buffer input, hard-cell functions.
func PinText(pkg *Package, p Pin) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**pin %s** of iCE40 %s %s\n\n", p.Name, strings.ToUpper(pkg.Device), strings.ToUpper(pkg.Name))
	if p.Bank >= 0 {
		fmt.Fprintf(&b, "- bank %d (%s edge)\n", p.Bank, p.edge(pkg.Width, pkg.Height))
	} else {
		fmt.Fprintf(&b, "- bank: not in the chip database (%s edge)\n", p.edge(pkg.Width, pkg.Height))
	}
	fmt.Fprintf(&b, "- IO tile x=%d y=%d, IO block %d\n", p.X, p.Y, p.Z)
	if p.GBIN() {
		fmt.Fprintf(&b, "- global buffer input: yes, drives global net %d\n", p.GlobalNet)
	} else {
		b.WriteString("- global buffer input: no\n")
	}
	for _, fn := range p.Functions {
		fmt.Fprintf(&b, "- %s\n", fn)
	}
	return b.String()
}
