package nixcache

import (
	"errors"
	"strings"
)

// nix32Alphabet is Nix's base-32 alphabet: digits and letters without e,
// o, u and t.
const nix32Alphabet = "0123456789abcdfghijklmnpqrsvwxyz"

// nix32 encodes b as Nix does in store paths and hashes (least
// significant bits first, the output reversed).
func nix32(b []byte) string {
	n := (len(b)*8-1)/5 + 1
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		bit := i * 5
		j, k := bit/8, uint(bit%8)
		c := b[j] >> k
		if j+1 < len(b) {
			c |= b[j+1] << (8 - k)
		}
		out[n-1-i] = nix32Alphabet[c&0x1f]
	}
	return string(out)
}

// decodeNix32 decodes s into size bytes.
func decodeNix32(s string, size int) ([]byte, error) {
	if len(s) != (size*8-1)/5+1 {
		return nil, errors.New("wrong length for a nix32 hash")
	}
	out := make([]byte, size)
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(nix32Alphabet, s[len(s)-1-i])
		if d < 0 {
			return nil, errors.New("not a nix32 character")
		}
		bit := i * 5
		j, k := bit/8, uint(bit%8)
		out[j] |= byte(d) << k
		if j+1 < size {
			out[j+1] |= byte(d) >> (8 - k)
		} else if byte(d)>>(8-k) != 0 {
			return nil, errors.New("nix32 hash out of range")
		}
	}
	return out, nil
}
