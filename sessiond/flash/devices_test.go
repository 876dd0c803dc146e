package flash_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"gatewave.dev/sessiond/flash"
)

func TestDevicesNoUSBBus(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: t.TempDir()}) // a sysfs without bus/usb, like this container's
	var l flash.DeviceList
	if code, body := r.do(t, "GET", "/api/v1/flash/devices", nil, &l); code != 200 || !strings.Contains(string(body), `"devices":[]`) {
		t.Fatalf("GET devices = %d %s, want 200 with an empty list", code, body)
	}
	if !strings.HasPrefix(l.Note, "No USB bus is visible") || !strings.Contains(l.Note, "without USB passthrough") || !strings.Contains(l.Note, "desktop app") {
		t.Errorf("note = %q", l.Note)
	}
}

// TestDevicesThisMachine scans the real /sys: this machine (a container)
// has no USB bus, and wherever there is one the answer is well formed.
func TestDevicesThisMachine(t *testing.T) {
	r := newRig(t, flash.Options{})
	l := r.svc.Devices()
	if l.Devices == nil {
		t.Fatal("devices is nil, want a list")
	}
	if len(l.Devices) == 0 && l.Note == "" {
		t.Error("an empty list without a note")
	}
}

func TestDevicesFixture(t *testing.T) {
	all := []usbDev{rootHub, iceFTDI, iceBreaker, ft2232d, fomu, otherDFU, keyboard}
	devRoot := devNodes(t, rootHub, iceFTDI, iceBreaker, fomu, otherDFU, keyboard) // ft2232d's node is missing
	r := newRig(t, flash.Options{
		SysfsRoot: sysfsTree(t, all...),
		DevRoot:   devRoot,
		Access:    denyAccess(nodePath(devRoot, fomu)),
	})

	var l flash.DeviceList
	if code, body := r.do(t, "GET", "/api/v1/flash/devices", nil, &l); code != 200 {
		t.Fatalf("GET devices = %d %s", code, body)
	}
	if l.Note != "" {
		t.Errorf("note = %q with devices listed", l.Note)
	}
	byPath := map[string]flash.Device{}
	var order []string
	for _, d := range l.Devices {
		byPath[d.Path] = d
		order = append(order, d.Path)
	}
	// Sorted by bus, then address; the root hub and the keyboard are not boards.
	if want := []string{"1-1", "1-2", "2-1.4", "2-2", "3-1"}; !slices.Equal(order, want) {
		t.Fatalf("devices = %v, want %v", order, want)
	}

	d := byPath["1-1"]
	if d.VID != "0403" || d.PID != "6010" || d.BCD != "0700" || d.Manufacturer != "FTDI" || d.Product != "Dual RS232-HS" || d.Bus != 1 || d.Address != 5 {
		t.Errorf("FTDI device = %+v", d)
	}
	// An FT2232H that does not say which board it is: every FT2232H board,
	// not the FT2232D one.
	if want := []string{"icestick", "icebreaker", "ice40hx8k-breakout"}; !slices.Equal(d.Boards, want) {
		t.Errorf("boards = %v, want %v", d.Boards, want)
	}
	if !d.Accessible || d.Driver != "ftdi_sio" || !strings.Contains(d.Problem, "ftdi_sio") || !strings.Contains(d.Problem, "openFPGALoader detaches it") || !strings.Contains(d.Problem, "choose yours") {
		t.Errorf("FTDI device access/driver/problem = %v %q %q", d.Accessible, d.Driver, d.Problem)
	}

	// The product string names the board.
	d = byPath["1-2"]
	if !slices.Equal(d.Boards, []string{"icebreaker"}) || d.Serial != "ib2b8c4d" || d.Driver != "" || d.Problem != "" {
		t.Errorf("iCEBreaker = %+v", d)
	}

	// bcdDevice 0x0500 is an FT2232D; its node is missing.
	d = byPath["2-1.4"]
	if !slices.Equal(d.Boards, []string{"ft2232d-ice40"}) || d.Accessible || !strings.Contains(d.Problem, "does not exist") {
		t.Errorf("FT2232D = %+v", d)
	}

	d = byPath["2-2"]
	if !slices.Equal(d.Boards, []string{"fomu"}) || !d.DFU || d.Accessible || !strings.Contains(d.Problem, "permission denied") {
		t.Errorf("Fomu = %+v", d)
	}
	if !strings.Contains(d.Problem, "/api/v1/flash/udev") || !strings.Contains(d.Problem, "udevadm control --reload-rules") || !strings.Contains(d.Problem, "replug") {
		t.Errorf("permission problem lacks what to do on Linux: %q", d.Problem)
	}

	// A DFU device of no listed board is listed, with no boards.
	d = byPath["3-1"]
	if len(d.Boards) != 0 || !d.DFU || !d.Accessible {
		t.Errorf("other DFU device = %+v", d)
	}
}

func TestDevicesNoneKnown(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t, rootHub, keyboard)})
	l := r.svc.Devices()
	if len(l.Devices) != 0 || !strings.Contains(l.Note, "2 USB devices seen") {
		t.Errorf("devices = %+v", l)
	}
}

func TestPermissionHelp(t *testing.T) {
	for goos, want := range map[string]string{
		"linux":   flash.UdevRulesPath,
		"darwin":  "needs no rules",
		"windows": "Zadig",
		"plan9":   "read-write access",
	} {
		if got := flash.PermissionHelp(goos); !strings.Contains(got, want) {
			t.Errorf("PermissionHelp(%s) = %q, want it to mention %q", goos, got, want)
		}
	}
}

// nodePath is d's node under devRoot, /dev/bus/usb/BBB/DDD.
func nodePath(devRoot string, d usbDev) string {
	return filepath.Join(devRoot, "bus", "usb", fmt.Sprintf("%03d", d.bus), fmt.Sprintf("%03d", d.dev))
}

// denyAccess is an Options.Access that refuses paths as the kernel does a
// node without rw permission for this user (the tests run as root, whom
// file modes do not stop), and otherwise opens the node.
func denyAccess(paths ...string) func(string) error {
	return func(path string) error {
		if slices.Contains(paths, path) {
			return &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
}

func TestNoBusNoteElsewhere(t *testing.T) {
	if n := flash.NoBusNote("darwin", "/sys/bus/usb"); strings.Contains(n, "container") || !strings.Contains(n, "darwin") || !strings.Contains(n, "flash by board") {
		t.Errorf("macOS note = %q", n)
	}
	if n := flash.NoBusNote("linux", "/sys/bus/usb"); !strings.Contains(n, "/sys/bus/usb does not exist") {
		t.Errorf("Linux note = %q", n)
	}
}

// TestBoardProgrammerMissing: a flash by board whose programmer is not
// installed says which package provides it.
func TestBoardProgrammerMissing(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	t.Setenv("PATH", t.TempDir())
	for board, pkg := range map[string]string{"icestick": "openfpgaloader", "fomu": "dfu-util"} {
		var ae struct {
			Error struct{ Code, Message string }
		}
		code, body := r.do(t, "POST", "/api/v1/flash", map[string]any{"path": "top.bin", "board": board}, &ae)
		if code != 424 || ae.Error.Code != "programmer_missing" || !strings.Contains(ae.Error.Message, "Debian package "+pkg) {
			t.Errorf("%s: %d %s", board, code, body)
		}
	}
}

// TestDeviceAccessErrors: only a refused open is called "permission
// denied"; a busy device or another failure says what it was.
func TestDeviceAccessErrors(t *testing.T) {
	devRoot := devNodes(t, iceBreaker)
	node := nodePath(devRoot, iceBreaker)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{syscall.EACCES, "permission denied opening " + node},
		{syscall.EPERM, "permission denied opening " + node},
		{syscall.EBUSY, node + " is busy"},
		{syscall.EIO, "opening its device node " + node + " failed (input/output error)"},
	} {
		r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t, iceBreaker), DevRoot: devRoot, Access: func(p string) error {
			if p != node {
				t.Errorf("Access(%s), want %s", p, node)
			}
			return &fs.PathError{Op: "open", Path: p, Err: tc.err}
		}})
		l := r.svc.Devices()
		if len(l.Devices) != 1 {
			t.Fatalf("devices = %+v", l)
		}
		d := l.Devices[0]
		if d.Accessible || !strings.Contains(d.Problem, tc.want) {
			t.Errorf("%v: problem %q, want it to say %q", tc.err, d.Problem, tc.want)
		}
		if permission := strings.Contains(d.Problem, "permission denied"); permission != errors.Is(tc.err, fs.ErrPermission) {
			t.Errorf("%v: problem %q", tc.err, d.Problem)
		}
	}
}

// TestDeviceAttrBounded: a sysfs attribute is read up to 4096 bytes (a
// page, the most the kernel's show() writes).
func TestDeviceAttrBounded(t *testing.T) {
	dev := iceBreaker
	dev.product = "iCEBreaker " + strings.Repeat("x", 1<<20)
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t, dev), DevRoot: devNodes(t, dev)})
	l := r.svc.Devices()
	if len(l.Devices) != 1 || len(l.Devices[0].Product) != 4096 || !strings.HasPrefix(l.Devices[0].Product, "iCEBreaker x") {
		t.Fatalf("devices = %d, product of %d bytes", len(l.Devices), len(l.Devices[0].Product))
	}
}
