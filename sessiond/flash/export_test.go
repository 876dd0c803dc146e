package flash

import "gatewave.dev/sessiond/tasks"

// NewProgressParser exposes the progress parser to the tests: a parser for
// an image of total bytes.
func NewProgressParser(total int64) func(line []byte) (tasks.Progress, bool) {
	return (&progressParser{total: total}).Line
}

// NoBusNote exposes the note for a machine without a USB bus in sysfs.
var NoBusNote = noBusNote

// SetGOOS makes s behave as on goos (runtime.GOOS by default).
func SetGOOS(s *Service, goos string) { s.goos = goos }

// ImageSize exposes the size of the image a programmer writes from path.
var ImageSize = imageSize
