package flash

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Device is a USB device on sessiond's machine that a board in the list
// (or any DFU bootloader) could be, as GET api/v1/flash/devices reports it.
type Device struct {
	VID          string `json:"vid"`
	PID          string `json:"pid"`
	BCD          string `json:"bcd,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Bus          int    `json:"bus"`
	Address      int    `json:"address"`
	// Path is the device's port path, its sysfs name ("1-1.2"), which
	// dfu-util's --path takes.
	Path string `json:"path"`
	// Boards are the ids of the boards it may be; several when the USB
	// ids cannot tell them apart (one FT2232H serves many boards).
	Boards []string `json:"boards"`
	// DFU reports a DFU interface (class 0xFE, subclass 0x01).
	DFU bool `json:"dfu,omitempty"`
	// Accessible reports whether this user can open /dev/bus/usb/BBB/DDD
	// read-write, as libusb needs.
	Accessible bool `json:"accessible"`
	// Driver is the kernel driver bound to the FPGA's interface, "" if none.
	Driver string `json:"driver"`
	// Problem says what stands in the way, "" when nothing does.
	Problem string `json:"problem,omitempty"`
}

// DeviceList is the answer of GET api/v1/flash/devices.
type DeviceList struct {
	Devices []Device `json:"devices"`
	// Note explains an empty or partial list.
	Note string `json:"note,omitempty"`
}

// noBusNote is the note when sysfs shows no USB bus at path: on Linux the
// session runs in a container without USB passthrough; elsewhere there is
// no sysfs to read.
func noBusNote(goos, path string) string {
	if goos == "linux" {
		return fmt.Sprintf("No USB bus is visible to sessiond (%s does not exist): this session runs in a container without USB passthrough; use the browser's Flash (USB) or the desktop app", path)
	}
	return fmt.Sprintf("This machine runs %s, which has no Linux sysfs for sessiond to list USB devices from: flash by board anyway (openFPGALoader and dfu-util find the device themselves), or use the browser's Flash (USB)", goos)
}

// sysfs interface classes (USB-IF class codes; DFU 1.1 §4.2.1: application
// specific class 0xFE, subclass 0x01).
const (
	classAppSpecific = "fe"
	subclassDFU      = "01"
)

// Devices scans sysfs for USB devices that match the board list or expose
// a DFU interface (Documentation/ABI/stable/sysfs-bus-usb: each device is
// a directory under /sys/bus/usb/devices with idVendor, idProduct,
// bcdDevice, busnum, devnum and, when the device has them, manufacturer,
// product and serial; each interface is a directory named
// "<device>:<config>.<interface>" with bInterfaceNumber, bInterfaceClass,
// bInterfaceSubClass and a "driver" symlink when a driver is bound).
func (s *Service) Devices() DeviceList {
	root := filepath.Join(s.opts.SysfsRoot, "bus", "usb", "devices")
	entries, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return DeviceList{Devices: []Device{}, Note: noBusNote(s.goos, filepath.Join(s.opts.SysfsRoot, "bus", "usb"))}
		}
		return DeviceList{Devices: []Device{}, Note: fmt.Sprintf("Cannot read the USB devices: %v", err)}
	}
	out := []Device{}
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if strings.Contains(name, ":") { // an interface
			continue
		}
		dir := filepath.Join(root, name)
		vid, pid := attr(dir, "idVendor"), attr(dir, "idProduct")
		if vid == "" || pid == "" {
			continue
		}
		seen++
		d := Device{
			VID: strings.ToLower(vid), PID: strings.ToLower(pid), BCD: strings.ToLower(attr(dir, "bcdDevice")),
			Manufacturer: attr(dir, "manufacturer"), Product: attr(dir, "product"), Serial: attr(dir, "serial"),
			Path: name, Boards: []string{},
		}
		d.Bus, _ = strconv.Atoi(attr(dir, "busnum"))
		d.Address, _ = strconv.Atoi(attr(dir, "devnum"))
		ifaces := interfaces(root, name)
		for _, in := range ifaces {
			if in.class == classAppSpecific && in.subclass == subclassDFU {
				d.DFU = true
			}
		}
		boards := s.candidates(d)
		if len(boards) == 0 && !d.DFU {
			continue
		}
		for _, b := range boards {
			d.Boards = append(d.Boards, b.ID)
		}
		// The driver that matters is the one on the interface wired to the
		// FPGA (FTDI interface A), else the first interface's.
		want := 0
		for _, b := range boards {
			for _, u := range b.USB {
				if u.VID == d.VID && u.PID == d.PID && u.Interface != nil {
					want = *u.Interface
				}
			}
		}
		for _, in := range ifaces {
			if in.number == want {
				d.Driver = in.driver
				break
			}
		}
		node := filepath.Join(s.opts.DevRoot, "bus", "usb", fmt.Sprintf("%03d", d.Bus), fmt.Sprintf("%03d", d.Address))
		accErr := s.opts.Access(node)
		d.Accessible = accErr == nil
		d.Problem = s.problem(d, boards, node, accErr)
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Device) int {
		if a.Bus != b.Bus {
			return a.Bus - b.Bus
		}
		return a.Address - b.Address
	})
	l := DeviceList{Devices: out}
	if len(out) == 0 {
		l.Note = fmt.Sprintf("No known FPGA board or DFU device is plugged in (%d USB devices seen); plug the board in (for DFU boards, enter the bootloader) and look again", seen)
	}
	return l
}

// candidates are the boards device d may be: those listing its vid:pid,
// narrowed by the FTDI bridge its bcdDevice reveals and by a product
// string that names a board.
func (s *Service) candidates(d Device) []Board {
	var c []Board
	for _, b := range s.opts.Boards {
		for _, u := range b.USB {
			if u.VID != d.VID || u.PID != d.PID {
				continue
			}
			if want, ok := bridgeBCD[u.Bridge]; ok && d.BCD != "" && d.BCD != want {
				continue
			}
			c = append(c, b)
			break
		}
	}
	if len(c) > 1 && d.Product != "" {
		p := squash(d.Product)
		var named []Board
		for _, b := range c {
			if strings.Contains(p, squash(b.ID)) || strings.Contains(p, squash(b.Name)) {
				named = append(named, b)
			}
		}
		if len(named) > 0 {
			c = named
		}
	}
	return c
}

// squash lower-cases s and drops everything but letters and digits, so
// "iCEBreaker V1.0e" contains "icebreaker".
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// problem is the sentence saying what stands in the way of flashing d.
func (s *Service) problem(d Device, boards []Board, node string, accErr error) string {
	var parts []string
	if accErr != nil {
		switch {
		case errors.Is(accErr, fs.ErrNotExist):
			parts = append(parts, fmt.Sprintf("its device node %s does not exist, so libusb cannot open it: on Linux, check that /dev/bus/usb is mounted (in a container, pass the device through)", node))
		case errors.Is(accErr, fs.ErrPermission):
			parts = append(parts, fmt.Sprintf("permission denied opening %s: %s", node, PermissionHelp(s.goos)))
		case errors.Is(accErr, syscall.EBUSY):
			parts = append(parts, fmt.Sprintf("its device node %s is busy (another program holds the device): close other flashers and serial terminals using the board, then try again", node))
		default:
			parts = append(parts, fmt.Sprintf("opening its device node %s failed (%v): unplug and replug the board, then try again", node, unwrapPath(accErr)))
		}
	}
	ftdi := false
	tiny := false
	for _, b := range boards {
		ftdi = ftdi || b.Protocol == ProtocolFTDISPI
		tiny = tiny || b.Protocol == ProtocolTinyprog
	}
	if ftdi && d.Driver == "ftdi_sio" {
		parts = append(parts, "the kernel's ftdi_sio driver holds the FPGA's interface (as a serial port): openFPGALoader detaches it while it flashes, but the browser's WebUSB cannot claim the interface until it is unbound")
	}
	if len(boards) > 1 {
		parts = append(parts, fmt.Sprintf("its USB ids do not tell which board it is (%s): choose yours", strings.Join(d.Boards, ", ")))
	}
	if tiny {
		parts = append(parts, "the desktop does not flash TinyFPGA boards natively (tinyprog is not a Debian package): use Flash in the browser, over Web Serial")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ")
}

// PermissionHelp says what lets this user open a USB device on goos.
func PermissionHelp(goos string) string {
	switch goos {
	case "linux":
		return "install the udev rules from GET /api/v1/flash/udev (save them as " + UdevRulesPath + ", run `sudo udevadm control --reload-rules && sudo udevadm trigger`), then unplug and replug the board"
	case "darwin":
		return "macOS needs no rules for USB access; quit any other program using the board (another flasher, a serial terminal) and try again"
	case "windows":
		return "openFPGALoader and dfu-util reach the device through libusb, which needs the WinUSB (or libusbK) driver: install it with Zadig for the board's interface (for FTDI boards \"Interface 0\"), which replaces FTDI's serial-port driver on that interface"
	default:
		return "give this user read-write access to the USB device"
	}
}

type usbInterface struct {
	number          int
	class, subclass string
	driver          string
}

// interfaces lists device name's interfaces ("1-1.2:1.0", ...).
func interfaces(root, name string) []usbInterface {
	matches, _ := filepath.Glob(filepath.Join(root, name+":*"))
	var out []usbInterface
	for _, dir := range matches {
		in := usbInterface{class: strings.ToLower(attr(dir, "bInterfaceClass")), subclass: strings.ToLower(attr(dir, "bInterfaceSubClass"))}
		n, err := strconv.ParseInt(attr(dir, "bInterfaceNumber"), 16, 32)
		if err != nil {
			continue
		}
		in.number = int(n)
		if target, err := os.Readlink(filepath.Join(dir, "driver")); err == nil {
			in.driver = filepath.Base(target)
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b usbInterface) int { return a.number - b.number })
	return out
}

// maxAttr bounds what attr reads: sysfs attributes are at most a page
// (Documentation/filesystems/sysfs.rst: "the buffer ... is always
// PAGE_SIZE bytes"), and a fixture or a bind mount could hold anything.
const maxAttr = 4096

// attr reads one sysfs attribute (at most maxAttr bytes), trimmed; ""
// when absent or unreadable.
func attr(dir, name string) string {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAttr))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// unwrapPath is err without the path an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openReadWrite is the default Options.Access: open the node read-write
// as libusb does, then close it.
func openReadWrite(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}
