package flash_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatewave.dev/sessiond/flash"
	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/shared/testenv"
)

// TestBoardArgv checks the argv each board's request becomes: one
// argument per value, the programmer and its options from the board list.
func TestBoardArgv(t *testing.T) {
	sys := sysfsTree(t, iceFTDI, fomu)
	r := newRig(t, flash.Options{SysfsRoot: sys, DevRoot: devNodes(t, iceFTDI, fomu)})
	f := r.file
	tests := []struct {
		req  flash.Request
		want []string
	}{
		// openFPGALoader --help: "-f, --write-flash  write bitstream in flash (default: false)",
		// "-m, --write-sram  write bitstream in SRAM (default: true)", "--verify  Verify write operation (SPI Flash only)".
		{flash.Request{Board: "icestick"}, []string{"openFPGALoader", "--board", "ice40_generic", "--write-flash", "--verify", f}},
		{flash.Request{Board: "icebreaker", Target: "sram"}, []string{"openFPGALoader", "--board", "ice40_generic", "--write-sram", f}},
		{flash.Request{Board: "ice40hx8k-breakout", Target: "flash", Bus: 1, Address: 5}, []string{"openFPGALoader", "--board", "ice40_generic", "--busdev-num", "1:5", "--write-flash", "--verify", f}},
		{flash.Request{Board: "icestick", VIDPID: "0403:6010"}, []string{"openFPGALoader", "--board", "ice40_generic", "--vid", "0x0403", "--pid", "0x6010", "--write-flash", "--verify", f}},
		{flash.Request{Board: "upduino3"}, []string{"openFPGALoader", "--board", "ice40_generic", "--cable", "ft232", "--write-flash", "--verify", f}},
		// dfu-util --help: "-d --device <vendor>:<product>[,<vendor_dfu>:<product_dfu>]", "-p --path <bus-port. ... .port>".
		{flash.Request{Board: "fomu"}, []string{"dfu-util", "--device", "1209:5bf0", "--alt", "0", "--download", f, "--reset"}},
		{flash.Request{Board: "icebreaker-bitsy"}, []string{"dfu-util", "--device", "1d50:6147,1d50:6146", "--alt", "0", "--download", f, "--reset"}},
		{flash.Request{Board: "fomu", Bus: 2, Address: 9}, []string{"dfu-util", "--path", "2-2", "--alt", "0", "--download", f, "--reset"}},
		{flash.Request{Board: "orangecrab", VIDPID: "1209:5AF0"}, []string{"dfu-util", "--device", "1209:5af0", "--alt", "0", "--download", f, "--reset"}},
	}
	for _, tc := range tests {
		tc.req.Path = "top.bin"
		got, _, err := r.svc.Argv(tc.req)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Argv(%+v) = %q, %v; want %q", tc.req, got, err, tc.want)
		}
	}
}

func TestBadBoardRequests(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t, iceFTDI), DevRoot: devNodes(t, iceFTDI)})
	tests := []struct {
		name   string
		req    map[string]any
		status int
		code   string
		inMsg  string
	}{
		{"unknown board", map[string]any{"board": "no-such-board"}, 400, "bad_request", "known boards are icestick, icebreaker"},
		{"option as board", map[string]any{"board": "--write-flash"}, 400, "bad_request", "no board"},
		{"SRAM on an iCEstick", map[string]any{"board": "icestick", "target": "sram"}, 400, "bad_request", "cannot be programmed to sram"},
		{"bad target", map[string]any{"board": "icebreaker", "target": "eeprom"}, 400, "bad_request", `"flash" or "sram"`},
		{"bus without address", map[string]any{"board": "icestick", "bus": 1}, 400, "bad_request", "together"},
		{"address out of range", map[string]any{"board": "icestick", "bus": 1, "address": 200}, 400, "bad_request", "not a USB device address"},
		{"bus and vidpid", map[string]any{"board": "icestick", "bus": 1, "address": 5, "vidpid": "0403:6010"}, 400, "bad_request", "not both"},
		{"bad vidpid", map[string]any{"board": "icestick", "vidpid": "0403-6010"}, 400, "bad_request", "must look like"},
		{"cable with a board", map[string]any{"board": "icestick", "cable": "ft2232"}, 400, "bad_request", "cable"},
		{"target with a programmer", map[string]any{"programmer": "openfpgaloader", "board": "ice40_generic", "target": "sram"}, 400, "bad_request", "without"},
		{"DFU device not plugged in", map[string]any{"board": "fomu", "bus": 4, "address": 2}, 404, "not_found", "no USB device at bus 4 address 2"},
		{"neither", map[string]any{}, 400, "bad_request", `give "board"`},
		{"tinyprog", map[string]any{"board": "tinyfpga-bx"}, 422, "unsupported_protocol", "Web Serial"},
		{"absent file", map[string]any{"board": "icestick", "path": "nope.bin"}, 404, "not_found", "nope.bin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.req["path"]; !ok {
				tc.req["path"] = "top.bin"
			}
			var ae servertest.APIError
			code, body := r.do(t, "POST", "/api/v1/flash", tc.req, &ae)
			if code != tc.status || ae.Error.Code != tc.code || !strings.Contains(ae.Error.Message, tc.inMsg) {
				t.Errorf("got %d %s, want %d %s mentioning %q", code, body, tc.status, tc.code, tc.inMsg)
			}
		})
	}
	if n := len(r.tasks.List()); n != 0 {
		t.Errorf("refused flashes started %d task(s)", n)
	}
}

// TestFlashBoardNoDevice runs the real programmers, chosen by board, with
// nothing on the USB bus (a sysfs whose bus has no device) and checks
// their "no device" output becomes no_device end to end.
func TestFlashBoardNoDevice(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	tests := []struct {
		req    map[string]any
		binary string
		inLog  string // the tool's own words
	}{
		// openFPGALoader 0.10 via libftdi: "unable to open ftdi device: -3 (device not found)"
		{map[string]any{"board": "icestick"}, "openFPGALoader", "unable to open ftdi device: -3 (device not found)"},
		{map[string]any{"board": "icebreaker", "target": "sram"}, "openFPGALoader", "device not found"},
		{map[string]any{"board": "ice40hx8k-breakout", "bus": 1, "address": 5}, "openFPGALoader", "device not found"},
		// dfu-util 0.11: "dfu-util: No DFU capable USB device available"
		{map[string]any{"board": "fomu"}, "dfu-util", "No DFU capable USB device available"},
		{map[string]any{"board": "icebreaker-bitsy"}, "dfu-util", "No DFU capable USB device available"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.req), func(t *testing.T) {
			testenv.LookPath(t, tc.binary)
			tc.req["path"] = "top.bin"
			task, out, exit := r.flash(t, tc.req)
			if task.Argv[0] != tc.binary {
				t.Errorf("argv = %q", task.Argv)
			}
			if !strings.Contains(out, tc.inLog) {
				t.Errorf("log lacks %q:\n%s", tc.inLog, out)
			}
			if exit.State != tasks.Failed || exit.Error == nil || exit.Error.Code != "no_device" {
				t.Fatalf("exit = %+v (error %+v), want failed with no_device", exit, exit.Error)
			}
		})
	}
}

// writeTool writes a stand-in programmer (a shell script) named name into
// a new directory on PATH, so the programmer table finds it.
func writeTool(t *testing.T, name, script string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

// TestPermissionDiagnosis: the programmer cannot open a device that sysfs
// shows plugged in; the task's error says what to do.
func TestPermissionDiagnosis(t *testing.T) {
	// libftdi's ftdi_usb_open_dev: ftdi_error_return(-4, "libusb_open() failed"),
	// printed by openFPGALoader as "unable to open ftdi device: %d (%s)".
	writeTool(t, "openFPGALoader", `echo 'unable to open ftdi device: -4 (libusb_open() failed)'; echo 'Error: Failed to claim cable' >&2; exit 1`+"\n")
	devRoot := devNodes(t, iceFTDI)
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t, iceFTDI), DevRoot: devRoot, Access: denyAccess(nodePath(devRoot, iceFTDI))})
	tk, err := r.svc.Start(flash.Request{Path: "top.bin", Board: "icestick"})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := tk.Wait(testenv.Context(t, testenv.WaitLong))
	if info.State != tasks.Failed || info.Error == nil || info.Error.Code != "usb_permission" {
		t.Fatalf("task = %+v, error %+v", info, info.Error)
	}
	for _, want := range []string{"bus 1 address 5", "cannot open it", "/api/v1/flash/udev", flash.UdevRulesPath, "udevadm trigger", "replug"} {
		if !strings.Contains(info.Error.Message, want) {
			t.Errorf("message %q lacks %q", info.Error.Message, want)
		}
	}
	if !strings.Contains(string(tk.Output()), info.Error.Message) {
		t.Error("the diagnosis is not in the log")
	}

	// The same output with the device accessible is still a permission
	// problem (libusb_open failed), explained the same way.
	r2 := newRig(t, flash.Options{SysfsRoot: sysfsTree(t, iceFTDI), DevRoot: devNodes(t, iceFTDI)})
	tk, _ = r2.svc.Start(flash.Request{Path: "top.bin", Board: "icestick"})
	info, _ = tk.Wait(testenv.Context(t, testenv.WaitLong))
	if info.Error == nil || info.Error.Code != "usb_permission" || !strings.Contains(info.Error.Message, "libusb_open() failed") || !strings.Contains(info.Error.Message, "udev") {
		t.Errorf("accessible device: error %+v", info.Error)
	}

	// No device visible at all: no_device.
	writeTool(t, "openFPGALoader", `echo 'unable to open ftdi device: -3 (device not found)'; exit 1`+"\n")
	r3 := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	tk, _ = r3.svc.Start(flash.Request{Path: "top.bin", Board: "icestick"})
	info, _ = tk.Wait(testenv.Context(t, testenv.WaitLong))
	if info.Error == nil || info.Error.Code != "no_device" {
		t.Errorf("no device: error %+v", info.Error)
	}
}

// TestFlashProgressAndCancel runs a long-running stand-in programmer that
// draws openFPGALoader's progress bar (with '\r', as ProgressBar::display
// does) and leaves a child running, checks the task's progress, then
// cancels it: the whole process group goes and the task is cancelled.
func TestFlashProgressAndCancel(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	writeTool(t, "openFPGALoader", fmt.Sprintf(`sleep 300 &
echo $! > %s
printf 'Erasing: [==================================================] 100.00%%%%\r'
printf '\nDone\n'
printf 'Writing: [=====                                             ] 10.00%%%%\r'
printf 'Writing: [======================                            ] 43.75%%%%\r'
wait
`, pidFile))
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	tk, err := r.svc.Start(flash.Request{Path: "top.bin", Board: "icestick"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t, testenv.WaitLong)
	var info tasks.Info
	for {
		var task struct {
			State    string          `json:"state"`
			Progress *tasks.Progress `json:"progress"`
		}
		r.do(t, "GET", "/api/v1/tasks/"+tk.ID(), nil, &task)
		if task.Progress != nil && task.Progress.Done == 14336 {
			if task.Progress.Phase != "writing" || task.Progress.Total != 32768 || task.State != "running" {
				t.Fatalf("task = %+v %+v", task, task.Progress)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no writing progress: %+v; log %q", task.Progress, tk.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(pidFile)
	child, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("child pid %q: %v", data, err)
	}
	code, _ := r.do(t, "DELETE", "/api/v1/tasks/"+tk.ID(), nil, &info)
	if code != 200 || info.State != tasks.Cancelled || info.Error != nil {
		t.Fatalf("cancel = %d %+v", code, info)
	}
	if info.Progress == nil || info.Progress.Phase != "writing" {
		t.Errorf("progress after cancel = %+v", info.Progress)
	}
	// Signals land asynchronously: give the kernel a moment, not forever.
	for wait := testenv.Context(t, testenv.WaitShort); alive(child); {
		select {
		case <-wait.Done():
			t.Fatalf("the programmer's child %d survived the cancel", child)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestImageSize: a DFU suffix (DFU 1.1 Appendix B: bcdDevice, idProduct,
// idVendor, bcdDFU, "UFD", bLength = 16, dwCRC) is not part of the image;
// a tail that says "UFD" with another length is no suffix.
func TestImageSize(t *testing.T) {
	dir := t.TempDir()
	suffix := func(length byte) []byte {
		return []byte{0xff, 0xff, 0x46, 0x61, 0x09, 0x12, 0x00, 0x01, 'U', 'F', 'D', length, 1, 2, 3, 4}
	}
	body := strings.Repeat("\xaa", 1000)
	for _, tc := range []struct {
		name string
		data string
		want int64
	}{
		{"plain", body, 1000},
		{"suffix", body + string(suffix(16)), 1000},
		{"bad length", body + string(suffix(10)), 1016},
		{"length 255", body + string(suffix(255)), 1016},
		{"only a suffix", string(suffix(16)), 0},
		{"short", "UFD", 3},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := flash.ImageSize(p); got != tc.want {
			t.Errorf("%s: ImageSize = %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := flash.ImageSize(filepath.Join(dir, "absent")); got != 0 {
		t.Errorf("absent file: %d", got)
	}
}
