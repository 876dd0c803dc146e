package waves

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestAppendBin checks the eight-at-a-time packing against one bit at a
// time, and that any character other than 0 and 1 refuses the vector.
func TestAppendBin(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 70; n++ {
		for trial := 0; trial < 50; trial++ {
			v := make([]byte, n)
			for i := range v {
				v[i] = "01"[rng.IntN(2)]
			}
			bad := trial%3 == 0
			if bad {
				v[rng.IntN(n)] = "xz2/\x00\xb0"[rng.IntN(6)]
			}
			want := []byte{tagBin}
			for i := 0; i < n; i += 8 {
				var acc byte
				for j := 0; j < 8; j++ {
					acc <<= 1
					if i+j < n && v[i+j] == '1' {
						acc |= 1
					}
				}
				want = append(want, acc)
			}
			got, ok := appendBin([]byte("k"), v)
			if ok == bad {
				t.Fatalf("%q: ok %v", v, ok)
			}
			if !ok {
				if string(got) != "k" {
					t.Fatalf("%q refused but appended: %q", v, got)
				}
				continue
			}
			if !bytes.Equal(got[1:], want) {
				t.Fatalf("%q: %x, want %x", v, got[1:], want)
			}
		}
	}
}
