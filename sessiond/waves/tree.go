package waves

import (
	"strconv"
	"strings"
)

// Scope is one level of a dump's hierarchy.
type Scope struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Scopes  []*Scope  `json:"scopes"`
	Signals []*Signal `json:"signals"`
}

// Signal is one declared variable. Aliases (two names for one VCD
// identifier or one FST handle) are separate Signals sharing a Handle.
type Signal struct {
	// ID numbers the signals of one dump densely in declaration order.
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Width  int    `json:"width"`
	Type   string `json:"type"`
	MSB    int    `json:"msb"`
	LSB    int    `json:"lsb"`
	Path   string `json:"-"`
	Handle int    `json:"-"`
}

// Kind is how a handle's values are represented.
type Kind uint8

// Value kinds.
const (
	KindBits   Kind = iota // 4-state (or 9-state) bits, MSB first, Width characters
	KindReal               // a float64, formatted as decimal text
	KindString             // arbitrary bytes
)

// Handle describes the storage shared by a signal and its aliases.
type Handle struct {
	Width int
	Kind  Kind
}

// Meta is everything about a dump except its value changes.
type Meta struct {
	Format    string
	Timescale string
	Start     uint64
	End       uint64
	Scopes    []*Scope
	Signals   []*Signal // by ID
	Handles   []Handle
}

// treeBuilder assembles scopes and signals while a header is parsed.
type treeBuilder struct {
	meta  Meta
	stack []*Scope
}

func (b *treeBuilder) push(name, kind string) {
	s := &Scope{Name: name, Kind: kind, Scopes: []*Scope{}, Signals: []*Signal{}}
	if n := len(b.stack); n > 0 {
		p := b.stack[n-1]
		p.Scopes = append(p.Scopes, s)
	} else {
		b.meta.Scopes = append(b.meta.Scopes, s)
	}
	b.stack = append(b.stack, s)
}

func (b *treeBuilder) pop() bool {
	if len(b.stack) == 0 {
		return false
	}
	b.stack = b.stack[:len(b.stack)-1]
	return true
}

// add declares a signal in the current scope. A reference such as
// "data [7:0]" is split into the name and its range.
func (b *treeBuilder) add(ref, typ string, width, handle int) *Signal {
	name, msb, lsb, ok := splitRange(ref)
	if !ok {
		msb, lsb = width-1, 0
		if width <= 0 {
			msb = 0
		}
	}
	var path strings.Builder
	for _, s := range b.stack {
		path.WriteString(s.Name)
		path.WriteByte('.')
	}
	path.WriteString(name)
	sig := &Signal{ID: len(b.meta.Signals), Name: name, Width: width, Type: typ, MSB: msb, LSB: lsb, Path: path.String(), Handle: handle}
	b.meta.Signals = append(b.meta.Signals, sig)
	if n := len(b.stack); n > 0 {
		p := b.stack[n-1]
		p.Signals = append(p.Signals, sig)
	} else {
		// A variable outside every scope: give it a nameless root scope.
		b.push("", "module")
		b.stack[0].Signals = append(b.stack[0].Signals, sig)
		b.pop()
	}
	return sig
}

// splitRange splits "name [7:0]" or "name[3]" into its parts.
func splitRange(ref string) (name string, msb, lsb int, ok bool) {
	ref = strings.TrimSpace(ref)
	if !strings.HasSuffix(ref, "]") || strings.HasPrefix(ref, `\`) && !strings.Contains(ref, " ") {
		return ref, 0, 0, false
	}
	open := strings.LastIndexByte(ref, '[')
	if open <= 0 {
		return ref, 0, 0, false
	}
	inner := ref[open+1 : len(ref)-1]
	hi, lo, found := strings.Cut(inner, ":")
	m, err1 := strconv.Atoi(strings.TrimSpace(hi))
	l := m
	var err2 error
	if found {
		l, err2 = strconv.Atoi(strings.TrimSpace(lo))
	}
	if err1 != nil || err2 != nil {
		return ref, 0, 0, false
	}
	return strings.TrimRight(ref[:open], " \t"), m, l, true
}

// fstTimescale renders an FST timescale exponent as VCD text ("1ns").
func fstTimescale(exp int) string {
	units := []string{"s", "ms", "us", "ns", "ps", "fs", "as", "zs"}
	// exp = -3k + {0,1,2} selects unit k with multiplier 1, 10 or 100.
	k := 0
	for exp < 0 {
		exp += 3
		k++
	}
	mult := []string{"1", "10", "100"}
	if exp > 2 || k >= len(units) {
		return "1s"
	}
	return mult[exp] + units[k]
}
