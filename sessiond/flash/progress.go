package flash

import (
	"bytes"
	"strconv"

	"gatewave.dev/sessiond/tasks"
)

// Phases reported in a flash task's progress (the browser flashers use the
// same words, frontend/src/flash/types.ts FlashPhase).
const (
	PhaseDetaching   = "detaching"
	PhaseErasing     = "erasing"
	PhaseWriting     = "writing"
	PhaseVerifying   = "verifying"
	PhaseConfiguring = "configuring"
	PhaseManifesting = "manifesting"
)

// progressParser turns openFPGALoader's and dfu-util's progress output
// into tasks.Progress, one line at a time (the task splits the output at
// both '\r' and '\n', since both tools redraw their bar with '\r').
//
// openFPGALoader (src/progressBar.cpp, ProgressBar::display) prints
//
//	printInfo("\r" + _mess + ": [", false); ... '=' per 2% ... snprintf(perc_str, sizeof(perc_str), "] %3.2f%%", percent);
//
// so "\rWriting: [=====      ] 45.00%", with the messages "Erasing"
// (SPIFlash::sectors_erase), "Writing" (SPIFlash::erase_and_prog),
// "Read flash " after "Verifying write (May take time)" (SPIFlash::verify)
// and "Loading to CRAM" (Ice40::program_cram, SRAM), then "Wait for CDONE ".
// Only a percentage is printed, so done is that share of total, the
// bitstream's size.
//
// dfu-util 0.11 (src/dfu_file.c, dfu_progress_bar) prints
//
//	printf("\r%s\t[%s] %3lld%% %12lld bytes", desc, buf, (100ULL * curr) / max, curr);
//
// with desc "Download", "Upload" or "Erase   " (DfuSe), and "\n%s done.\n"
// at the end; "Device really in Run-Time Mode, send DFU detach request..."
// before a detach, and the state names ("dfuMANIFEST") after a download.
type progressParser struct {
	total     int64 // the image's size in bytes
	verifying bool  // openFPGALoader said "Verifying write": "Read flash" is a verify
}

// ansiSGR strips the colour codes openFPGALoader adds when stdout is a
// terminal (src/display.cpp), in case a wrapper gives it one.
func stripANSI(b []byte) []byte {
	if bytes.IndexByte(b, 0x1b) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// Line reports the progress line shows, if it shows any.
func (p *progressParser) Line(line []byte) (tasks.Progress, bool) {
	line = bytes.TrimSpace(stripANSI(line))
	if len(line) == 0 {
		return tasks.Progress{}, false
	}
	// openFPGALoader: "<mess>: [<bar>] <pct>%"
	if i := bytes.Index(line, []byte(": [")); i > 0 {
		if pct, ok := percentAfterBar(line[i+2:]); ok {
			phase := ""
			switch mess := string(bytes.TrimSpace(line[:i])); mess {
			case "Erasing":
				phase = PhaseErasing
			case "Writing", "Loading to CRAM":
				phase = PhaseWriting
			case "Read flash":
				if p.verifying {
					phase = PhaseVerifying
				}
			}
			if phase != "" {
				return tasks.Progress{Phase: phase, Done: int64(pct / 100 * float64(p.total)), Total: p.total}, true
			}
		}
	}
	// dfu-util: "<desc>\t[<bar>] <pct>% <n> bytes"
	if i := bytes.Index(line, []byte("\t[")); i > 0 && bytes.HasSuffix(line, []byte(" bytes")) {
		phase := ""
		switch string(bytes.TrimSpace(line[:i])) {
		case "Download":
			phase = PhaseWriting
		case "Erase":
			phase = PhaseErasing
		case "Upload":
			phase = PhaseVerifying
		}
		fields := bytes.Fields(line[bytes.LastIndexByte(line, ']')+1:])
		if phase != "" && len(fields) == 3 {
			if n, err := strconv.ParseInt(string(fields[1]), 10, 64); err == nil && n >= 0 {
				total := p.total
				if total < n {
					total = n
				}
				return tasks.Progress{Phase: phase, Done: n, Total: total}, true
			}
		}
	}
	switch {
	case bytes.HasPrefix(line, []byte("Verifying write")):
		p.verifying = true
		return tasks.Progress{Phase: PhaseVerifying, Done: 0, Total: p.total}, true
	case bytes.HasPrefix(line, []byte("Wait for CDONE")):
		return tasks.Progress{Phase: PhaseConfiguring}, true
	case bytes.HasPrefix(line, []byte("Device really in Run-Time Mode")):
		return tasks.Progress{Phase: PhaseDetaching}, true
	case bytes.Equal(line, []byte("Download done.")):
		return tasks.Progress{Phase: PhaseWriting, Done: p.total, Total: p.total}, true
	case bytes.Contains(line, []byte("dfuMANIFEST")):
		return tasks.Progress{Phase: PhaseManifesting}, true
	}
	return tasks.Progress{}, false
}

// percentAfterBar parses "[====   ] 45.00%".
func percentAfterBar(b []byte) (float64, bool) {
	if len(b) == 0 || b[0] != '[' {
		return 0, false
	}
	end := bytes.IndexByte(b, ']')
	if end < 0 {
		return 0, false
	}
	for _, c := range b[1:end] {
		if c != '=' && c != ' ' {
			return 0, false
		}
	}
	rest := bytes.TrimSpace(b[end+1:])
	if !bytes.HasSuffix(rest, []byte("%")) {
		return 0, false
	}
	pct, err := strconv.ParseFloat(string(rest[:len(rest)-1]), 64)
	if err != nil || pct < 0 || pct > 100 {
		return 0, false
	}
	return pct, true
}
