package flash

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Protocols a board can be programmed with.
const (
	// ProtocolFTDISPI is an FTDI MPSSE bridge driving the FPGA's SPI
	// configuration flash (or its SPI slave port for SRAM): openFPGALoader.
	ProtocolFTDISPI = "ftdi-spi"
	// ProtocolDFU is a USB DFU 1.1 bootloader: dfu-util.
	ProtocolDFU = "dfu"
	// ProtocolTinyprog is the TinyFPGA bootloader's serial protocol, which
	// sessiond does not run (the browser does, over Web Serial).
	ProtocolTinyprog = "tinyprog"
)

// Targets a bitstream can be written to.
const (
	TargetFlash = "flash" // the configuration flash: kept over power cycles
	TargetSRAM  = "sram"  // the FPGA's configuration SRAM: lost at power-off
)

// Board is one entry of boards.json, the board list sessiond serves at
// GET api/v1/flash/boards and the browser's flasher reads too.
type Board struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	FPGA   string `json:"fpga"`
	Family string `json:"family"`
	// Device is the FPGA as nextpnr names it (hx1k, up5k, ...).
	Device   string            `json:"device"`
	USB      []BoardUSB        `json:"usb"`
	Protocol string            `json:"protocol"`
	Pins     map[string]string `json:"pins,omitempty"`
	Flash    *BoardFlash       `json:"flash,omitempty"`
	Targets  []string          `json:"targets"`
	PCF      string            `json:"pcf,omitempty"`
	// OpenFPGALoader names the board (and cable) as openFPGALoader knows
	// them (`openFPGALoader --list-boards`).
	OpenFPGALoader *BoardOpenFPGALoader `json:"openfpgaloader,omitempty"`
	DFU            *BoardDFU            `json:"dfu,omitempty"`
	Notes          string               `json:"notes,omitempty"`
	// Sources are where the notes' facts come from.
	Sources []string `json:"sources,omitempty"`
}

// BoardUSB is one USB identity of a board.
type BoardUSB struct {
	// VID and PID are four lower-case hex digits, as lsusb prints them.
	VID string `json:"vid"`
	PID string `json:"pid"`
	// Bridge is the FTDI chip of an ftdi-spi board: FT2232H, FT232H, FT2232D.
	Bridge string `json:"bridge,omitempty"`
	// Interface is the bridge's interface wired to the FPGA (0 = A).
	Interface *int `json:"interface,omitempty"`
	// Runtime marks a DFU run-time id that detaches into the bootloader's.
	Runtime bool `json:"runtime,omitempty"`
}

// BoardFlash is a board's configuration flash.
type BoardFlash struct {
	Chips []string `json:"chips"`
	Size  int      `json:"size"`
}

// BoardOpenFPGALoader is how openFPGALoader names a board.
type BoardOpenFPGALoader struct {
	Board string `json:"board,omitempty"`
	Cable string `json:"cable,omitempty"`
}

// BoardDFU is a DFU board's settings.
type BoardDFU struct {
	Alt *int `json:"alt,omitempty"`
}

//go:embed boards.json
var defaultBoards []byte

// DefaultBoards returns the built-in board list (boards.json).
func DefaultBoards() []Board {
	b, err := ParseBoards(defaultBoards)
	if err != nil {
		panic("flash: built-in boards.json: " + err.Error())
	}
	return b
}

var hex4 = regexp.MustCompile(`^[0-9a-f]{4}$`)

// bridgeBCD is the bcdDevice each FTDI bridge reports by default (FTDI
// datasheets, "USB Enumeration" / default descriptor tables: FT2232D
// 0x0500, FT2232H 0x0700, FT232H 0x0900), which tells boards with the same
// vid:pid but different bridges apart.
var bridgeBCD = map[string]string{"FT2232D": "0500", "FT2232H": "0700", "FT232H": "0900"}

// ParseBoards reads a boards.json document ({"boards":[...]}) and checks
// it: unique ids, hex vid/pid, a known protocol and targets, and for
// ftdi-spi boards the openFPGALoader board name.
func ParseBoards(data []byte) ([]Board, error) {
	var doc struct {
		Boards []Board `json:"boards"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse boards: %w", err)
	}
	if len(doc.Boards) == 0 {
		return nil, fmt.Errorf("parse boards: no boards")
	}
	seen := map[string]bool{}
	for i, b := range doc.Boards {
		where := fmt.Sprintf("board %d (%q)", i, b.ID)
		if !namePattern.MatchString(b.ID) {
			return nil, fmt.Errorf("%s: id must be letters, digits, _ . + -", where)
		}
		if seen[b.ID] {
			return nil, fmt.Errorf("%s: duplicate id", where)
		}
		seen[b.ID] = true
		if b.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		switch b.Protocol {
		case ProtocolFTDISPI, ProtocolDFU, ProtocolTinyprog:
		default:
			return nil, fmt.Errorf("%s: unknown protocol %q (want %s, %s or %s)", where, b.Protocol, ProtocolFTDISPI, ProtocolDFU, ProtocolTinyprog)
		}
		if len(b.USB) == 0 {
			return nil, fmt.Errorf("%s: at least one usb id is required", where)
		}
		for _, u := range b.USB {
			if !hex4.MatchString(u.VID) || !hex4.MatchString(u.PID) {
				return nil, fmt.Errorf("%s: usb id %s:%s must be four lower-case hex digits each", where, u.VID, u.PID)
			}
			if u.Bridge != "" {
				if _, ok := bridgeBCD[u.Bridge]; !ok {
					return nil, fmt.Errorf("%s: unknown bridge %q", where, u.Bridge)
				}
			}
		}
		if len(b.Targets) == 0 {
			return nil, fmt.Errorf("%s: targets are required", where)
		}
		for _, t := range b.Targets {
			if t != TargetFlash && t != TargetSRAM {
				return nil, fmt.Errorf("%s: unknown target %q (want flash or sram)", where, t)
			}
		}
		if o := b.OpenFPGALoader; o != nil {
			if (o.Board != "" && !namePattern.MatchString(o.Board)) || (o.Cable != "" && !namePattern.MatchString(o.Cable)) {
				return nil, fmt.Errorf("%s: openfpgaloader board/cable must be plain names", where)
			}
		}
		if b.Protocol == ProtocolFTDISPI && (b.OpenFPGALoader == nil || b.OpenFPGALoader.Board == "") {
			return nil, fmt.Errorf("%s: an ftdi-spi board needs openfpgaloader.board", where)
		}
	}
	return doc.Boards, nil
}

// board returns the board with id, or false.
func (s *Service) board(id string) (Board, bool) {
	i := slices.IndexFunc(s.opts.Boards, func(b Board) bool { return b.ID == id })
	if i < 0 {
		return Board{}, false
	}
	return s.opts.Boards[i], true
}

// Boards is the board list.
func (s *Service) Boards() []Board { return s.opts.Boards }

func (s *Service) boardIDs() []string {
	ids := make([]string, len(s.opts.Boards))
	for i, b := range s.opts.Boards {
		ids[i] = b.ID
	}
	return ids
}
