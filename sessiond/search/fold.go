package search

import "bytes"

// foldLiteral finds an ASCII pattern regardless of case without the
// regexp engine: it scans for the pattern's rarest letter in both cases
// (bytes.IndexByte is vectorised) and compares the window around each
// hit. It is only a prefilter: the regexp (?i) still decides, so Unicode
// folds (K, the Kelvin sign, matches k) stay right.
type foldLiteral struct {
	pat    []byte // lower case
	off    int    // index in pat of the scanned byte
	lo, up byte   // that byte in both cases
	// extra are the non-ASCII runes that fold to one of the pattern's
	// letters; a buffer holding one goes to the regexp unfiltered.
	extra [][]byte
}

// byteRank orders bytes by how common they are in source code (lower is
// rarer), the heuristic ripgrep's memchr uses to pick a byte to scan for.
func byteRank(c byte) int {
	const common = " etaoinsrhldcumfpgwybvkxjqz" // most common first
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	if i := bytes.IndexByte([]byte(common), c); i >= 0 {
		return 100 - i
	}
	if c >= '0' && c <= '9' {
		return 60
	}
	return 40 // punctuation and the rest
}

func newFoldLiteral(p string) *foldLiteral {
	if p == "" {
		return nil
	}
	f := &foldLiteral{pat: make([]byte, len(p))}
	best := 1 << 30
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 0x80 {
			return nil // non-ASCII pattern: leave it to the regexp
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		f.pat[i] = c
		if r := byteRank(c); r < best {
			best, f.off = r, i
		}
	}
	f.lo = f.pat[f.off]
	f.up = f.lo
	if f.lo >= 'a' && f.lo <= 'z' {
		f.up = f.lo - ('a' - 'A')
	}
	if bytes.IndexByte(f.pat, 'k') >= 0 {
		f.extra = append(f.extra, []byte("\u212a")) // KELVIN SIGN
	}
	if bytes.IndexByte(f.pat, 's') >= 0 {
		f.extra = append(f.extra, []byte("\u017f")) // LATIN SMALL LETTER LONG S
	}
	return f
}

func (f *foldLiteral) contains(b []byte) bool {
	for _, e := range f.extra {
		if bytes.Contains(b, e) {
			return true
		}
	}
	n := len(f.pat)
	nextLo, nextUp := -2, -2 // -2: not searched yet; -1: none left
	for from := f.off; from < len(b); {
		if nextLo != -1 && nextLo < from {
			nextLo = indexFrom(b, f.lo, from)
		}
		if f.up == f.lo {
			nextUp = -1
		} else if nextUp != -1 && nextUp < from {
			nextUp = indexFrom(b, f.up, from)
		}
		at := nextLo
		if at < 0 || (nextUp >= 0 && nextUp < at) {
			at = nextUp
		}
		if at < 0 {
			return false
		}
		start := at - f.off
		if start+n <= len(b) && equalFoldASCII(b[start:start+n], f.pat) {
			return true
		}
		from = at + 1
	}
	return false
}

func indexFrom(b []byte, c byte, from int) int {
	i := bytes.IndexByte(b[from:], c)
	if i < 0 {
		return -1
	}
	return from + i
}

// equalFoldASCII compares s with the lower-case pattern p.
func equalFoldASCII(s, p []byte) bool {
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}
