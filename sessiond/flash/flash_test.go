package flash_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gatewave.dev/sessiond/flash"
	"gatewave.dev/sessiond/server/servertest"
	"gatewave.dev/sessiond/tasks"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/testenv"
)

// bitstream is a stand-in image; with no board attached the programmers
// fail before they read it.
var files = map[string]string{"build/top.bin": strings.Repeat("\xff\x00\x7e\xaa", 8192), "build/dir/.keep": ""}

// TestNoBoardAttached runs the real programmers with nothing on the USB bus
// (a sysfs whose bus has no device, since this machine has no FPGA board)
// and checks the failure is explained.
func TestNoBoardAttached(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	tests := []struct {
		name     string
		req      map[string]string
		binary   string
		inLog    string
		wantCode string
	}{
		{"openFPGALoader board", map[string]string{"programmer": "openfpgaloader", "board": "ice40_generic"}, "openFPGALoader", "device not found", "no_device"},
		{"openFPGALoader cable", map[string]string{"programmer": "openfpgaloader", "cable": "ft2232"}, "openFPGALoader", "unable to open ftdi device", "no_device"},
		{"openFPGALoader vidpid", map[string]string{"programmer": "openfpgaloader", "vidpid": "0403:6010"}, "openFPGALoader", "unable to open ftdi device", "no_device"},
		{"openFPGALoader unknown board", map[string]string{"programmer": "openfpgaloader", "board": "no_such_board"}, "openFPGALoader", "cannot find board", "unknown_board"},
		{"dfu-util", map[string]string{"programmer": "dfu-util", "vidpid": "1d50:6146"}, "dfu-util", "No DFU capable USB device", "no_device"},
		{"dfu-util any device", map[string]string{"programmer": "dfu-util"}, "dfu-util", "No DFU capable USB device", "no_device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testenv.LookPath(t, tc.binary)
			req := map[string]any{"path": "top.bin"}
			for k, v := range tc.req {
				req[k] = v
			}
			task, out, exit := r.flash(t, req)
			if task.Name != "flash" || task.Argv[0] != tc.binary || !slices.Contains(task.Argv, r.file) {
				t.Errorf("task = %+v", task)
			}
			if !strings.Contains(out, tc.inLog) {
				t.Errorf("log lacks the programmer's %q:\n%s", tc.inLog, out)
			}
			if exit.State != tasks.Failed || exit.Error == nil || exit.Error.Code != tc.wantCode {
				t.Fatalf("exit = %+v (error %+v), want failed with %s", exit, exit.Error, tc.wantCode)
			}
			if !strings.Contains(out, exit.Error.Message) {
				t.Errorf("the diagnosis %q is not in the log", exit.Error.Message)
			}
		})
	}
}

func TestProgrammerMissing(t *testing.T) {
	e := servertest.Start(t, files)
	var list struct {
		Programmers []struct {
			ID        string `json:"id"`
			Binary    string `json:"binary"`
			Available bool   `json:"available"`
		} `json:"programmers"`
	}
	e.Do("GET", "api/v1/flash/programmers", nil, &list)
	if len(list.Programmers) != 2 || list.Programmers[0].ID != "dfu-util" || list.Programmers[1].Binary != "openFPGALoader" {
		t.Fatalf("programmers = %+v", list.Programmers)
	}
	t.Setenv("PATH", t.TempDir()) // nothing installed
	e.Do("GET", "api/v1/flash/programmers", nil, &list)
	for _, p := range list.Programmers {
		if p.Available {
			t.Errorf("%s reported available with an empty PATH", p.ID)
		}
	}
	// A machine with a USB bus (this one has none, which is refused
	// first: TestFlashNoUSBBus).
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	var ae servertest.APIError
	code, body := r.do(t, "POST", "/api/v1/flash", map[string]string{"path": "top.bin", "programmer": "openfpgaloader", "board": "icebreaker"}, &ae)
	if code != http.StatusFailedDependency || ae.Error.Code != "programmer_missing" || !strings.Contains(ae.Error.Message, "openfpgaloader") {
		t.Errorf("flash without the programmer: %d %s, want 424 programmer_missing naming the package", code, body)
	}
}

func TestBadFlashRequests(t *testing.T) {
	e := servertest.Start(t, files)
	tests := []struct {
		name   string
		req    map[string]string
		status int
		code   string
	}{
		{"no programmer", map[string]string{"path": "build/top.bin"}, 400, "bad_request"},
		{"unknown programmer", map[string]string{"path": "build/top.bin", "programmer": "iceprog"}, 404, "not_found"},
		{"no path", map[string]string{"programmer": "dfu-util"}, 400, "bad_request"},
		{"absent file", map[string]string{"path": "nope.bin", "programmer": "dfu-util"}, 404, "not_found"},
		{"outside", map[string]string{"path": "../../etc/passwd", "programmer": "dfu-util"}, 403, "forbidden"},
		{"directory", map[string]string{"path": "build/dir", "programmer": "dfu-util"}, 400, "bad_request"},
		{"option injection", map[string]string{"path": "build/top.bin", "programmer": "openfpgaloader", "board": "--write-flash"}, 400, "bad_request"},
		{"shell injection", map[string]string{"path": "build/top.bin", "programmer": "openfpgaloader", "cable": "ft2232; rm -rf ~"}, 400, "bad_request"},
		{"bad vidpid", map[string]string{"path": "build/top.bin", "programmer": "dfu-util", "vidpid": "1d50:61467"}, 400, "bad_request"},
		{"two targets", map[string]string{"path": "build/top.bin", "programmer": "openfpgaloader", "board": "icebreaker", "cable": "ft2232"}, 400, "bad_request"},
		{"no target", map[string]string{"path": "build/top.bin", "programmer": "openfpgaloader"}, 400, "bad_request"},
		{"unsupported target", map[string]string{"path": "build/top.bin", "programmer": "dfu-util", "board": "icebreaker"}, 400, "bad_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ae servertest.APIError
			if code := e.Do("POST", "api/v1/flash", tc.req, &ae); code != tc.status || ae.Error.Code != tc.code || ae.Error.Message == "" {
				t.Errorf("got %d %+v, want %d %s", code, ae, tc.status, tc.code)
			}
		})
	}
	var list struct{ Tasks []any }
	e.Do("GET", "api/v1/tasks", nil, &list)
	if len(list.Tasks) != 0 {
		t.Errorf("refused flashes started %d task(s)", len(list.Tasks))
	}
}

// TestArgv checks the templates expand to exactly the argv expected, one
// argument per value.
func TestArgv(t *testing.T) {
	dir := t.TempDir()
	ws, err := workspace.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, err := ws.Write("out/top.bin", strings.NewReader("x"), workspace.WriteOptions{MakeParents: true}); err != nil {
		t.Fatal(err)
	}
	tk, _ := tasks.New(tasks.Options{Workspace: ws})
	defer tk.Close()
	svc, err := flash.New(flash.Options{Workspace: ws, Tasks: tk})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(ws.Dir(), "out/top.bin")
	tests := []struct {
		req  flash.Request
		want []string
	}{
		{flash.Request{Programmer: "openfpgaloader", Board: "icebreaker"}, []string{"openFPGALoader", "--board", "icebreaker", file}},
		{flash.Request{Programmer: "openfpgaloader", Cable: "ft2232"}, []string{"openFPGALoader", "--cable", "ft2232", file}},
		{flash.Request{Programmer: "openfpgaloader", VIDPID: "0403:6010"}, []string{"openFPGALoader", "--vid", "0x0403", "--pid", "0x6010", file}},
		{flash.Request{Programmer: "dfu-util", VIDPID: "0x1D50:0x6146"}, []string{"dfu-util", "--device", "1d50:6146", "--alt", "0", "--download", file, "--reset"}},
		{flash.Request{Programmer: "dfu-util"}, []string{"dfu-util", "--alt", "0", "--download", file, "--reset"}},
	}
	for _, tc := range tests {
		tc.req.Path = "out/top.bin"
		got, _, err := svc.Argv(tc.req)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Argv(%+v) = %q, %v; want %q", tc.req, got, err, tc.want)
		}
	}
}

// noUSBBusMessage is the refusal's message, as the UI shows it.
const noUSBBusMessage = "This session runs in a container with no USB devices (sessiond sees no USB bus), so it cannot reach a board: use Flash in the browser (Chrome, Chromium or Edge) or the Gatewave desktop app."

// TestFlashNoUSBBus: in a container without USB (sysfs has no bus/usb, as
// on this machine) a flash is refused at once, before any programmer runs.
func TestFlashNoUSBBus(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	for _, tool := range []string{"openFPGALoader", "dfu-util"} {
		writeTool(t, tool, "touch "+marker+"\nexit 1\n")
	}
	sys := t.TempDir() // a sysfs without bus/usb
	r := newRig(t, flash.Options{SysfsRoot: sys})
	reqs := []map[string]any{
		{"board": "icestick"},
		{"board": "icebreaker", "target": "sram", "bus": 1, "address": 5},
		{"board": "fomu"},
		{"board": "fomu", "bus": 2, "address": 9}, // a DFU device by bus: the bus is what is missing
		{"programmer": "openfpgaloader", "cable": "ft2232"},
		{"programmer": "dfu-util"},
	}
	check := func(req map[string]any) {
		t.Helper()
		req["path"] = "top.bin"
		var ae struct {
			Error struct {
				Code    string         `json:"code"`
				Message string         `json:"message"`
				Details map[string]any `json:"details"`
			} `json:"error"`
		}
		code, body := r.do(t, "POST", "/api/v1/flash", req, &ae)
		if code != http.StatusFailedDependency || ae.Error.Code != "no_usb_bus" || ae.Error.Message != noUSBBusMessage {
			t.Errorf("POST flash %v = %d %s, want 424 no_usb_bus", req, code, body)
		}
		if ae.Error.Details["sysfs"] != filepath.Join(sys, "bus", "usb") {
			t.Errorf("details = %v", ae.Error.Details)
		}
	}
	for _, req := range reqs {
		check(req)
	}
	// Installing the programmer would not help, so that is not what the
	// refusal says.
	path := os.Getenv("PATH")
	t.Setenv("PATH", t.TempDir())
	check(map[string]any{"board": "icestick"})
	t.Setenv("PATH", path)

	if n := len(r.tasks.List()); n != 0 {
		t.Errorf("refused flashes started %d task(s)", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a programmer ran")
	}
	// A bad request is still a bad request.
	var ae servertest.APIError
	if code, body := r.do(t, "POST", "/api/v1/flash", map[string]any{"path": "top.bin", "board": "no-such-board"}, &ae); code != 400 || ae.Error.Code != "bad_request" {
		t.Errorf("unknown board without a bus = %d %s, want 400", code, body)
	}

	// The same condition makes the devices note.
	var l flash.DeviceList
	r.do(t, "GET", "/api/v1/flash/devices", nil, &l)
	if !strings.HasPrefix(l.Note, "No USB bus is visible to sessiond ("+filepath.Join(sys, "bus", "usb")+" does not exist)") {
		t.Errorf("note = %q", l.Note)
	}

	// An empty bus is not a missing one: the programmer runs and finds no
	// device (TestNoBoardAttached runs the real ones).
	r2 := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	if _, _, ended := r2.flash(t, map[string]any{"path": "top.bin", "board": "icestick"}); ended.State != tasks.Failed {
		t.Errorf("with an empty bus: task = %+v", ended)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("with an empty bus the programmer did not run: %v", err)
	}

	// Other systems have no sysfs at all; there the programmers find the
	// device themselves, so nothing is refused.
	os.Remove(marker)
	r3 := newRig(t, flash.Options{SysfsRoot: t.TempDir()})
	flash.SetGOOS(r3.svc, "darwin")
	if _, _, ended := r3.flash(t, map[string]any{"path": "top.bin", "board": "icestick"}); ended.State != tasks.Failed {
		t.Errorf("on darwin: task = %+v", ended)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("on darwin the programmer did not run: %v", err)
	}
	if l := r3.svc.Devices(); !strings.HasPrefix(l.Note, "This machine runs darwin") {
		t.Errorf("darwin note = %q", l.Note)
	}
}

// TestArgvLiteralPlaceholder: a value that contains a placeholder's text
// (a file named "${BOARD}.bin") goes into argv as is; templates are
// expanded in one pass.
func TestArgvLiteralPlaceholder(t *testing.T) {
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t)})
	for _, name := range []string{"${BOARD}.bin", "d/${CABLE}/${FILE}$VID.bin"} {
		if _, err := r.ws.Write(name, strings.NewReader("x"), workspace.WriteOptions{MakeParents: true}); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(r.ws.Dir(), name)
		for _, tc := range []struct {
			req  flash.Request
			want []string
		}{
			{flash.Request{Programmer: "openfpgaloader", Board: "icebreaker"}, []string{"openFPGALoader", "--board", "icebreaker", file}},
			{flash.Request{Programmer: "openfpgaloader", Cable: "ft2232"}, []string{"openFPGALoader", "--cable", "ft2232", file}},
			{flash.Request{Programmer: "openfpgaloader", VIDPID: "0403:6010"}, []string{"openFPGALoader", "--vid", "0x0403", "--pid", "0x6010", file}},
			{flash.Request{Board: "icestick"}, []string{"openFPGALoader", "--board", "ice40_generic", "--write-flash", "--verify", file}},
		} {
			tc.req.Path = name
			// Map order is random: repeat so an order-dependent expansion
			// would show.
			for range 20 {
				got, _, err := r.svc.Argv(tc.req)
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("Argv(%+v) = %q, %v; want %q", tc.req, got, err, tc.want)
				}
			}
		}
	}
}

// TestProgrammerPlaceholders: a template may use only the placeholders its
// place sets.
func TestProgrammerPlaceholders(t *testing.T) {
	for _, doc := range []string{
		`{"x":{"binary":"x","args":["${FILE}","${NOPE}"],"targets":{"":[]}}}`,
		`{"x":{"binary":"x","args":["${TARGET}","${FILE}"],"targets":{"cable":["--board","${BOARD}"]}}}`,
		`{"x":{"binary":"x","args":["--t=${TARGET}","${FILE}"],"targets":{"":[]}}}`,
		`{"x":{"binary":"x","args":["${FILE}","$HOME"],"targets":{"":[]}}}`,
	} {
		if _, err := flash.ParseProgrammers([]byte(doc)); err == nil || !strings.Contains(err.Error(), "unknown placeholder") {
			t.Errorf("ParseProgrammers(%s) = %v, want an unknown placeholder error", doc, err)
		}
	}
	if _, err := flash.ParseProgrammers([]byte(`{"x":{"binary":"x","args":["${TARGET}","--in","${FILE}"],"targets":{"vidpid":["-d","${VID}:${PID}"],"board":["-b","${BOARD}"]}}}`)); err != nil {
		t.Errorf("a good table: %v", err)
	}

	// A table built in code is checked when it is used.
	r := newRig(t, flash.Options{SysfsRoot: sysfsTree(t), Programmers: map[string]flash.Programmer{
		"x": {Binary: "x", Args: []string{"${TARGET}", "${FILE}"}, Targets: map[string][]string{"cable": {"--board", "${BOARD}"}}},
	}})
	_, _, err := r.svc.Argv(flash.Request{Path: "top.bin", Programmer: "x", Cable: "c"})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != 500 || !strings.Contains(ae.Message, "unknown placeholder ${BOARD}") {
		t.Errorf("Argv with a bad template = %v", err)
	}
}
