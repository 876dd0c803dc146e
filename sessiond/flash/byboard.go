package flash

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gatewave.dev/shared/apierr"
)

// boardArgv builds the argv for a flash by board (see Request): the
// programmer and its arguments come from the board list, every value the
// client sends is checked, and each becomes exactly one argument.
func (s *Service) boardArgv(r Request, file string) ([]string, Programmer, error) {
	b, ok := s.board(r.Board)
	if !ok {
		ids := s.boardIDs()
		return nil, Programmer{}, apierr.BadRequest("no board %q in the board list: known boards are %s", r.Board, strings.Join(ids, ", ")).
			WithDetails(map[string]any{"boards": ids})
	}
	target := r.Target
	if target == "" {
		target = TargetFlash
	}
	if target != TargetFlash && target != TargetSRAM {
		return nil, Programmer{}, apierr.BadRequest(`"target" must be "flash" or "sram", not %q`, r.Target)
	}
	if !slices.Contains(b.Targets, target) {
		msg := fmt.Sprintf("%s cannot be programmed to %s (it supports %s)", b.Name, target, strings.Join(b.Targets, ", "))
		if b.Notes != "" {
			msg += ": " + b.Notes
		}
		return nil, Programmer{}, apierr.BadRequest("%s", msg).WithDetails(map[string]any{"board": b.ID, "targets": b.Targets})
	}
	if (r.Bus == 0) != (r.Address == 0) {
		return nil, Programmer{}, apierr.BadRequest(`give "bus" and "address" together (as GET /api/v1/flash/devices reports them)`)
	}
	if r.Bus != 0 && (r.Bus < 1 || r.Bus > 255 || r.Address < 1 || r.Address > 127) {
		return nil, Programmer{}, apierr.BadRequest("bus %d address %d is not a USB device address (bus 1-255, address 1-127)", r.Bus, r.Address)
	}
	if r.Bus != 0 && r.VIDPID != "" {
		return nil, Programmer{}, apierr.BadRequest(`give "bus"/"address" or "vidpid", not both`)
	}
	var vid, pid string
	if r.VIDPID != "" {
		m := vidpidPattern.FindStringSubmatch(r.VIDPID)
		if m == nil {
			return nil, Programmer{}, apierr.BadRequest(`vidpid %q must look like "0403:6010"`, r.VIDPID)
		}
		vid, pid = strings.ToLower(m[1]), strings.ToLower(m[2])
	}
	if r.Cable != "" {
		return nil, Programmer{}, apierr.BadRequest(`"cable" goes with "programmer"; a board from the board list brings its own`)
	}

	switch b.Protocol {
	case ProtocolFTDISPI:
		p, ok := s.opts.Programmers["openfpgaloader"]
		if !ok {
			return nil, p, apierr.New(424, "programmer_missing", "the programmer table has no openfpgaloader entry, which %s needs", b.Name)
		}
		argv := []string{p.Binary, "--board", b.OpenFPGALoader.Board}
		if b.OpenFPGALoader.Cable != "" {
			argv = append(argv, "--cable", b.OpenFPGALoader.Cable)
		}
		switch {
		case r.Bus != 0:
			argv = append(argv, "--busdev-num", fmt.Sprintf("%d:%d", r.Bus, r.Address))
		case vid != "":
			argv = append(argv, "--vid", "0x"+vid, "--pid", "0x"+pid)
		}
		// openFPGALoader writes SRAM unless told otherwise ("-m,
		// --write-sram ... (default: true)", "-f, --write-flash"); --verify
		// reads the flash back.
		if target == TargetFlash {
			argv = append(argv, "--write-flash", "--verify")
		} else {
			argv = append(argv, "--write-sram")
		}
		return append(argv, file), p, nil
	case ProtocolDFU:
		p, ok := s.opts.Programmers["dfu-util"]
		if !ok {
			return nil, p, apierr.New(424, "programmer_missing", "the programmer table has no dfu-util entry, which %s needs", b.Name)
		}
		argv := []string{p.Binary}
		switch {
		case r.Bus != 0:
			d, ok := s.deviceAt(r.Bus, r.Address)
			if !ok && s.noUSBBus() {
				return nil, p, s.noUSBBusError()
			}
			if !ok {
				return nil, p, apierr.NotFound("no USB device at bus %d address %d (GET /api/v1/flash/devices lists them)", r.Bus, r.Address)
			}
			argv = append(argv, "--path", d.Path)
		case vid != "":
			argv = append(argv, "--device", vid+":"+pid)
		default:
			// -d <vendor>:<product>[,<vendor_dfu>:<product_dfu>]: the
			// run-time id first, then the bootloader's.
			var run, dfu string
			for _, u := range b.USB {
				if u.Runtime && run == "" {
					run = u.VID + ":" + u.PID
				} else if !u.Runtime && dfu == "" {
					dfu = u.VID + ":" + u.PID
				}
			}
			switch {
			case run != "" && dfu != "":
				argv = append(argv, "--device", run+","+dfu)
			case dfu != "":
				argv = append(argv, "--device", dfu)
			}
		}
		alt := 0
		if b.DFU != nil && b.DFU.Alt != nil {
			alt = *b.DFU.Alt
		}
		return append(argv, "--alt", strconv.Itoa(alt), "--download", file, "--reset"), p, nil
	default:
		return nil, Programmer{}, apierr.New(422, "unsupported_protocol", "%s is programmed with %s, which sessiond does not run natively: use Flash in the browser", b.Name, b.Protocol)
	}
}

// deviceAt is the USB device at bus, address.
func (s *Service) deviceAt(bus, address int) (Device, bool) {
	for _, d := range s.Devices().Devices {
		if d.Bus == bus && d.Address == address {
			return d, true
		}
	}
	return Device{}, false
}

// dfuSuffixLen is a DFU suffix's length, which its bLength holds (DFU 1.1
// Appendix B, Table B-1: bLength "16").
const dfuSuffixLen = 16

// imageSize is the size of the image a programmer writes: the file's,
// less a DFU suffix (16 bytes ending in "UFD" and bLength, which is 16;
// DFU 1.1 Appendix B) that dfu-util does not send. A tail that says "UFD"
// with another length is no suffix. 0 when unknown.
func imageSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	n := st.Size()
	if n >= dfuSuffixLen {
		f, err := os.Open(path)
		if err == nil {
			defer f.Close()
			tail := make([]byte, dfuSuffixLen)
			if _, err := f.ReadAt(tail, n-dfuSuffixLen); err == nil && bytes.Equal(tail[8:11], []byte("UFD")) && tail[11] == dfuSuffixLen {
				n -= dfuSuffixLen
			}
		}
	}
	return n
}
