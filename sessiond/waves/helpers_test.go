package waves

import (
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/shared/testenv"
)

// collector is a sink that keeps every change, deduplicated the way the
// builder does it.
type collector struct {
	meta    *Meta
	changes [][]tv
}

type tv struct {
	t uint64
	v string
}

func (c *collector) header(m *Meta) error {
	c.meta = m
	c.changes = make([][]tv, len(m.Handles))
	return nil
}

func (c *collector) change(h int, t uint64, v []byte) error {
	l := c.changes[h]
	if n := len(l); n > 0 && l[n-1].v == string(v) {
		return nil
	}
	c.changes[h] = append(l, tv{t, string(v)})
	return nil
}

func readVCDFile(t testing.TB, path string) *collector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &collector{}
	if err := newVCDReader(f, nil).read(c); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return c
}

func readFSTFile(t testing.TB, path string) *collector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	c := &collector{}
	if err := readFST(context.Background(), f, fi.Size(), t.TempDir(), nil, c); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return c
}

// tool finds a program the test needs (a failure under CI=true).
func tool(t testing.TB, name string) string {
	t.Helper()
	return testenv.LookPath(t, name)
}

func runTool(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := osexec.Command(tool(t, name), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
}

// simulate runs testdata/counter_tb.v with iverilog and returns the VCD.
func simulate(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	src, err := filepath.Abs("testdata/counter_tb.v")
	if err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "iverilog", "-o", "sim", src)
	runTool(t, dir, "vvp", "-n", "sim")
	return filepath.Join(dir, "tb.vcd")
}

// describe renders a tree with the alias structure, for comparisons.
func describe(m *Meta) string {
	var b strings.Builder
	first := map[int]int{}
	var walk func([]*Scope, string)
	walk = func(ss []*Scope, ind string) {
		for _, s := range ss {
			fmt.Fprintf(&b, "%s%s %s\n", ind, s.Kind, s.Name)
			for _, sig := range s.Signals {
				alias := ""
				if f, ok := first[sig.Handle]; ok {
					alias = fmt.Sprintf(" = #%d", f)
				} else {
					first[sig.Handle] = sig.ID
				}
				fmt.Fprintf(&b, "%s  #%d %s %s w%d [%d:%d]%s\n", ind, sig.ID, sig.Type, sig.Name, sig.Width, sig.MSB, sig.LSB, alias)
			}
			walk(s.Scopes, ind+"  ")
		}
	}
	walk(m.Scopes, "")
	return b.String()
}

// signalChanges lists each signal's changes by path.
func signalChanges(c *collector) map[string][]tv {
	out := map[string][]tv{}
	for _, sig := range c.meta.Signals {
		out[sig.Path] = c.changes[sig.Handle]
	}
	return out
}

func diffChanges(t *testing.T, what string, a, b *collector) {
	t.Helper()
	ca, cb := signalChanges(a), signalChanges(b)
	for p, la := range ca {
		lb := cb[p]
		if fmt.Sprint(la) != fmt.Sprint(lb) {
			t.Errorf("%s: %s differs:\n  %v\n  %v", what, p, la, lb)
		}
	}
	if len(ca) != len(cb) {
		t.Errorf("%s: %d signals vs %d", what, len(ca), len(cb))
	}
}

func exec(t testing.TB, dir, name string, args ...string) *osexec.Cmd {
	t.Helper()
	cmd := osexec.Command(tool(t, name), args...)
	cmd.Dir = dir
	return cmd
}
