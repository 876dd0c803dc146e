package flash_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/flash"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/testenv"
)

// rig is a flash service over a temporary workspace holding top.bin,
// mounted on a Fiber app as sessiond mounts it.
type rig struct {
	svc   *flash.Service
	tasks *tasks.Service
	ws    *workspace.Workspace
	app   *fiber.App
	file  string // top.bin's absolute path
}

func newRig(t *testing.T, opts flash.Options) *rig {
	t.Helper()
	ws, err := workspace.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if _, err := ws.Write("top.bin", bytes.NewReader(bytes.Repeat([]byte{0xff, 0x00, 0x7e, 0xaa}, 8192)), workspace.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tk, err := tasks.New(tasks.Options{Workspace: ws, Logger: slog.New(slog.DiscardHandler), KillGrace: 500e6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Close() })
	opts.Workspace, opts.Tasks = ws, tk
	svc, err := flash.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(slog.New(slog.DiscardHandler))})
	api := app.Group("/api/v1")
	svc.Mount(api)
	tk.Mount(api)
	return &rig{svc: svc, tasks: tk, ws: ws, app: app, file: filepath.Join(ws.Dir(), "top.bin")}
}

// do sends a request to the rig's app and decodes a JSON answer into out.
func (r *rig) do(t *testing.T, method, path string, body any, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := r.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return res.StatusCode, data
}

// flash posts req to POST /api/v1/flash, wants 202, waits for the task and
// returns its JSON as it started, its log, and its JSON (GET
// /api/v1/tasks/ID) once it ended.
func (r *rig) flash(t *testing.T, req map[string]any) (started tasks.Info, log string, ended tasks.Info) {
	t.Helper()
	if code, body := r.do(t, "POST", "/api/v1/flash", req, &started); code != http.StatusAccepted {
		t.Fatalf("POST flash %v = %d %s, want 202", req, code, body)
	}
	tk, err := r.tasks.Get(started.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Wait(testenv.Context(t, testenv.WaitLong)); err != nil {
		t.Fatal(err)
	}
	if code, body := r.do(t, "GET", "/api/v1/tasks/"+started.ID, nil, &ended); code != http.StatusOK {
		t.Fatalf("GET task = %d %s", code, body)
	}
	return started, string(tk.Output()), ended
}

// usbDev is one device of a fixture sysfs tree.
type usbDev struct {
	name                          string // "1-1.2"
	vid, pid, bcd                 string
	manufacturer, product, serial string
	bus, dev                      int
	ifaces                        []usbIface
}

type usbIface struct {
	num             int
	class, subclass string
	driver          string // "" = none bound
}

// sysfsTree builds a sysfs tree laid out as the kernel's
// Documentation/ABI/stable/sysfs-bus-usb describes it: the device
// directories live under devices/ (below their host controller) and
// bus/usb/devices/ holds a symlink per device and per interface; device
// attributes are idVendor, idProduct, bcdDevice (four hex digits),
// busnum, devnum (decimal), and the string descriptors manufacturer,
// product and serial when the device has them; interface directories are
// "<device>:<config>.<interface>" with bInterfaceNumber, bInterfaceClass
// and bInterfaceSubClass (two hex digits) and a driver symlink into
// bus/usb/drivers/ when a driver is bound.
func sysfsTree(t *testing.T, devs ...usbDev) string {
	t.Helper()
	root := t.TempDir()
	links := filepath.Join(root, "bus", "usb", "devices")
	mkdir(t, links)
	put := func(dir, name, value string) {
		if value == "" {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range devs {
		dir := filepath.Join(root, "devices", "pci0000:00", "0000:00:14.0", fmt.Sprintf("usb%d", d.bus), d.name)
		mkdir(t, dir)
		put(dir, "idVendor", d.vid)
		put(dir, "idProduct", d.pid)
		put(dir, "bcdDevice", d.bcd)
		put(dir, "manufacturer", d.manufacturer)
		put(dir, "product", d.product)
		put(dir, "serial", d.serial)
		put(dir, "busnum", fmt.Sprint(d.bus))
		put(dir, "devnum", fmt.Sprint(d.dev))
		symlink(t, dir, filepath.Join(links, d.name))
		for _, in := range d.ifaces {
			name := fmt.Sprintf("%s:1.%d", d.name, in.num)
			idir := filepath.Join(dir, name)
			mkdir(t, idir)
			put(idir, "bInterfaceNumber", fmt.Sprintf("%02x", in.num))
			put(idir, "bInterfaceClass", in.class)
			put(idir, "bInterfaceSubClass", in.subclass)
			if in.driver != "" {
				drv := filepath.Join(root, "bus", "usb", "drivers", in.driver)
				mkdir(t, drv)
				symlink(t, drv, filepath.Join(idir, "driver"))
			}
			symlink(t, idir, filepath.Join(links, name))
		}
	}
	return root
}

// devNodes creates /dev/bus/usb/BBB/DDD for devs under a new directory.
func devNodes(t *testing.T, devs ...usbDev) string {
	root := t.TempDir()
	for _, d := range devs {
		dir := filepath.Join(root, "bus", "usb", fmt.Sprintf("%03d", d.bus))
		mkdir(t, dir)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d", d.dev)), nil, 0o664); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// Devices as they enumerate (the FTDI figures are the FT2232H's and
// FT2232D's defaults: FTDI datasheets, default descriptors; interface
// class 0xFF vendor specific; a DFU interface is class 0xFE subclass 0x01,
// DFU 1.1 §4.2.1).
var (
	iceFTDI = usbDev{name: "1-1", vid: "0403", pid: "6010", bcd: "0700", manufacturer: "FTDI", product: "Dual RS232-HS", bus: 1, dev: 5,
		ifaces: []usbIface{{0, "ff", "ff", "ftdi_sio"}, {1, "ff", "ff", "ftdi_sio"}}}
	iceBreaker = usbDev{name: "1-2", vid: "0403", pid: "6010", bcd: "0700", manufacturer: "1BitSquared", product: "iCEBreaker V1.0e", serial: "ib2b8c4d", bus: 1, dev: 7,
		ifaces: []usbIface{{0, "ff", "ff", ""}, {1, "ff", "ff", "ftdi_sio"}}}
	ft2232d = usbDev{name: "2-1.4", vid: "0403", pid: "6010", bcd: "0500", product: "Dual RS232", bus: 2, dev: 3,
		ifaces: []usbIface{{0, "ff", "ff", "ftdi_sio"}}}
	fomu = usbDev{name: "2-2", vid: "1209", pid: "5bf0", bcd: "0101", manufacturer: "Foosn", product: "Fomu PVT running DFU Bootloader v2.0.3", bus: 2, dev: 9,
		ifaces: []usbIface{{0, "fe", "01", ""}}}
	otherDFU = usbDev{name: "3-1", vid: "0483", pid: "df11", bcd: "2200", product: "STM32  BOOTLOADER", bus: 3, dev: 2,
		ifaces: []usbIface{{0, "fe", "01", ""}}}
	keyboard = usbDev{name: "3-2", vid: "046d", pid: "c31c", bcd: "6400", product: "USB Keyboard", bus: 3, dev: 4,
		ifaces: []usbIface{{0, "03", "01", "usbhid"}}}
	rootHub = usbDev{name: "usb1", vid: "1d6b", pid: "0002", bcd: "0601", product: "xHCI Host Controller", bus: 1, dev: 1,
		ifaces: []usbIface{{0, "09", "00", "hub"}}}
)
