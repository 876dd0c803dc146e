package problems

// StripANSI removes ANSI escape sequences (CSI "ESC [ ... final", OSC
// "ESC ] ... BEL/ST" and two-byte escapes) from b. It returns b itself when
// there are none.
func StripANSI(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] != 0x1b {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:i]...)
	for i < len(b) {
		ch := b[i]
		if ch != 0x1b {
			out = append(out, ch)
			i++
			continue
		}
		i++
		if i >= len(b) {
			break
		}
		switch b[i] {
		case '[': // CSI: parameters and intermediates, then a final byte 0x40-0x7e
			i++
			for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
				i++
			}
			i++
		case ']': // OSC: until BEL or ESC \
			i++
			for i < len(b) {
				if b[i] == 0x07 {
					i++
					break
				}
				if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
					i += 2
					break
				}
				i++
			}
		default:
			i++
		}
	}
	return out
}
