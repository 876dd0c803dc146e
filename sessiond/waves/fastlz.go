package waves

import "errors"

var errFastLZ = errors.New("fastlz: corrupt input")

// fastlzDecompress decodes a FastLZ (level 1 or 2) block into dst, which
// must have the exact decompressed size. FST writes value chains with it
// when a dump was made with vcd2fst -F.
func fastlzDecompress(src, dst []byte) error {
	if len(src) == 0 {
		if len(dst) == 0 {
			return nil
		}
		return errFastLZ
	}
	level := src[0]>>5 + 1
	if level != 1 && level != 2 {
		return errFastLZ
	}
	ip, op := 0, 0
	ctrl := int(src[ip] & 31)
	ip++
	for {
		if ctrl >= 32 {
			length := ctrl>>5 - 1
			ofs := (ctrl & 31) << 8
			if length == 6 {
				if level == 1 {
					if ip >= len(src) {
						return errFastLZ
					}
					length += int(src[ip])
					ip++
				} else {
					for {
						if ip >= len(src) {
							return errFastLZ
						}
						code := int(src[ip])
						ip++
						length += code
						if code != 255 {
							break
						}
					}
				}
			}
			if ip >= len(src) {
				return errFastLZ
			}
			code := int(src[ip])
			ip++
			dist := ofs + code + 1
			if level == 2 && code == 255 && ofs == 31<<8 {
				if ip+1 >= len(src) {
					return errFastLZ
				}
				dist = (int(src[ip])<<8 | int(src[ip+1])) + 8191 + 1
				ip += 2
			}
			n := length + 3
			ref := op - dist
			if ref < 0 || op+n > len(dst) {
				return errFastLZ
			}
			for i := 0; i < n; i++ { // overlapping copy, byte by byte
				dst[op] = dst[ref]
				op++
				ref++
			}
		} else {
			n := ctrl + 1
			if ip+n > len(src) || op+n > len(dst) {
				return errFastLZ
			}
			copy(dst[op:], src[ip:ip+n])
			ip += n
			op += n
		}
		if ip >= len(src) {
			break
		}
		ctrl = int(src[ip])
		ip++
	}
	if op != len(dst) {
		return errFastLZ
	}
	return nil
}
