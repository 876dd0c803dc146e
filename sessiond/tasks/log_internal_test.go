package tasks

import (
	"bytes"
	"strings"
	"testing"
)

// readAll drains l from offset 0 the way a late-joining client does.
func readAll(l *outputLog) string {
	var out []byte
	var off int64
	for {
		data, next, _, _ := l.readFrom(off)
		if next == off {
			return string(out)
		}
		out = append(out, data...)
		off = next
	}
}

func TestOutputLogBounded(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		max    int
		want   string // exact, or a prefix…suffix pair split on "|"
	}{
		{"fits", []string{"abc", "def"}, 64, "abcdef"},
		{"exactly full", []string{strings.Repeat("a", 32), strings.Repeat("b", 32)}, 64, strings.Repeat("a", 32) + strings.Repeat("b", 32)},
		{"middle dropped", []string{strings.Repeat("h", 40), strings.Repeat("m", 1000), strings.Repeat("t", 32)}, 64,
			strings.Repeat("h", 32) + "|" + strings.Repeat("t", 32)},
		{"many small writes", append(append([]string{"HEAD"}, strings.Split(strings.Repeat("x", 5000), "")...), "TAIL"), 64, "HEAD|xTAIL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newOutputLog(tc.max)
			total := 0
			for _, w := range tc.writes {
				l.Write([]byte(w))
				total += len(w)
			}
			l.finish()
			got := readAll(l)
			if l.size() != int64(total) {
				t.Errorf("size = %d, want %d", l.size(), total)
			}
			head, tail, split := strings.Cut(tc.want, "|")
			if !split {
				if got != tc.want {
					t.Errorf("log = %q, want %q", got, tc.want)
				}
				return
			}
			if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) || !strings.Contains(got, "bytes of output dropped") {
				t.Errorf("log = %q, want %q…note…%q", got, head, tail)
			}
			if len(l.head)+cap(l.tail) > tc.max*3/2+len(tc.writes[len(tc.writes)-1]) {
				t.Errorf("holds %d+%d bytes for a %d-byte cap", len(l.head), cap(l.tail), tc.max)
			}
		})
	}
}

func TestCompleteUTF8(t *testing.T) {
	s := []byte("añb€")
	for i := 0; i <= len(s); i++ {
		n := completeUTF8(s[:i])
		if !bytes.HasPrefix(s, s[:n]) || (n < i && !strings.HasPrefix("añb€", string(s[:n]))) {
			t.Errorf("completeUTF8(%q) = %d", s[:i], n)
		}
		if n != i && (i == 1 || i == 3 || i == 4 || i == 7) {
			t.Errorf("completeUTF8(%q) = %d, want %d (whole runes)", s[:i], n, i)
		}
	}
}
