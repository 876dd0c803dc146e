package probes

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"gatewave.dev/shared/fleetproto"
)

// maxEncodedOutput bounds the Output string once JSON-escaped. MaxProbeOutput
// bytes of text stay near their size, but control bytes and invalid UTF-8
// take six bytes each (\u0001, \ufffd), so the raw cap alone could make an
// ack larger than a control frame (fleetproto.MaxFrame) and the cloud would
// never get it.
const maxEncodedOutput = 48 << 10

// encodeResult marshals res, cutting Output (keeping its start) so the
// result fits a control frame.
func encodeResult(res fleetproto.HostProbeResult) ([]byte, error) {
	return encodeFit(res, false)
}

// encodeFit is encodeResult, keeping Output's end instead when tail is set
// (the newest log lines).
func encodeFit(res fleetproto.HostProbeResult, tail bool) ([]byte, error) {
	var cut bool
	res.Output, cut = fitJSON(res.Output, maxEncodedOutput, tail)
	res.Truncated = res.Truncated || cut
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	if len(b) > maxEncodedOutput+1024 {
		return nil, fmt.Errorf("result of %d bytes does not fit a control frame", len(b))
	}
	return b, nil
}

// jsonCost is how many bytes encoding/json writes for the rune r of byte
// length size inside a string (HTML-escaped, as json.Marshal does).
func jsonCost(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return 6 // invalid byte → \ufffd
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	}
	return size
}

// fitJSON returns the longest prefix (or, with tail, suffix) of s, cut on
// a rune boundary, whose JSON encoding takes at most budget bytes, and
// whether anything was cut.
func fitJSON(s string, budget int, tail bool) (string, bool) {
	cost := 0
	if !tail {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if cost += jsonCost(r, size); cost > budget {
				return s[:i], true
			}
			i += size
		}
		return s, false
	}
	for j := len(s); j > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		if cost += jsonCost(r, size); cost > budget {
			return s[j:], true
		}
		j -= size
	}
	return s, false
}
