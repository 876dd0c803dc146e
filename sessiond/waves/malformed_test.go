package waves

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

const hdr = "$scope module a $end\n$var wire 1 ! x $end\n$var wire 4 # v $end\n$upscope $end\n$enddefinitions $end\n"

func TestMalformedVCD(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no enddefinitions", "$scope module a $end\n", "line 2 (byte 21): no $enddefinitions"},
		{"unterminated var", "$var wire 1 ! x\n", "$var without $end"},
		{"bad size", "$scope module a $end\n$var wire q ! x $end\n", `line 2 (byte 37): $var x: bad size "q"`},
		{"upscope", "$upscope $end\n", "line 1 (byte 9): $upscope without $scope"},
		{"open scope", "$scope module a $end\n$enddefinitions $end\n", "1 $scope without $upscope"},
		{"timescale", "$timescale 3 parsecs $end\n", `bad $timescale "3parsecs"`},
		{"unknown id", hdr + "#0\n1?\n", `line 7 (byte 101): unknown identifier "?"`},
		{"bad time", hdr + "#1x\n", `line 6 (byte 98): bad time "#1x"`},
		{"backwards", hdr + "#5\n#3\n", "line 7 (byte 101): time goes backwards: #3 after #5"},
		{"bad bit", hdr + "#0\nb1q #\n", `bad bit 'q' in vector "1q"`},
		{"no id", hdr + "#0\nb101", `value "b101" has no identifier`},
		{"junk", hdr + "#0\nhello\n", `line 7 (byte 101): unknown identifier "ello"`},
		{"junk2", hdr + "#0\n?\n", `unexpected "?" among value changes`},
		{"bad real", "$scope module a $end\n$var real 64 ! r $end\n$upscope $end\n$enddefinitions $end\nr1.2.3 !\n", `bad real "1.2.3"`},
	}
	for _, tc := range tests {
		err := newVCDReader(strings.NewReader(tc.in), nil).read(&collector{})
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestMalformedFST(t *testing.T) {
	vcd := simulate(t)
	fst := vcd + ".fst"
	runTool(t, t.TempDir(), "vcd2fst", vcd, fst)
	good, err := os.ReadFile(fst)
	if err != nil {
		t.Fatal(err)
	}
	read := func(b []byte) error {
		return readFST(context.Background(), bytes.NewReader(b), int64(len(b)), t.TempDir(), nil, &collector{})
	}
	if err := read(good); err != nil {
		t.Fatal(err)
	}
	// Every truncation and a flipped byte everywhere: an error or a clean
	// read, never a panic; truncations are always errors.
	for n := 0; n < len(good); n++ {
		if err := read(good[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
		bad := bytes.Clone(good)
		bad[n] ^= 0x55
		_ = read(bad)
	}
	if err := read([]byte("$date hello $end")); err == nil || !strings.Contains(err.Error(), "fst: byte 0:") {
		t.Errorf("a VCD read as FST: %v", err)
	}
}

func FuzzVCD(f *testing.F) {
	f.Add([]byte(synth))
	f.Add([]byte(hdr + "#0\n1!\nb1x #\n#5\nr1.5 !\n$dumpoff\nx!\n$end\n"))
	if b, err := os.ReadFile("testdata/counter_tb.vcd"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tm := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("slow input %q", in[:min(len(in), 2000)])) })
		defer tm.Stop()
		c := &collector{}
		err := newVCDReader(bytes.NewReader(in), nil).read(c)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("not a SyntaxError: %v", err)
			}
			return
		}
		for h, l := range c.changes {
			hd := c.meta.Handles[h]
			for i, ch := range l {
				if hd.Kind == KindBits && len(ch.v) != hd.Width {
					t.Fatalf("handle %d: value %q for width %d", h, ch.v, hd.Width)
				}
				if i > 0 && ch.t < l[i-1].t {
					t.Fatal("times go backwards")
				}
			}
		}
	})
}

func FuzzFST(f *testing.F) {
	if b, err := os.ReadFile("testdata/counter_tb.fst"); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile("testdata/counter_tb.zlib.fst"); err == nil {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		tm := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("slow input %q", in[:min(len(in), 2000)])) })
		defer tm.Stop()
		_ = readFST(context.Background(), bytes.NewReader(in), int64(len(in)), dir, nil, &collector{})
	})
}
