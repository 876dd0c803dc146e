package flash_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"gatewave.dev/sessiond/flash"
	"gatewave.dev/sessiond/server/servertest"
)

func TestBoardsRoute(t *testing.T) {
	e := servertest.Start(t, nil)
	var got struct {
		Boards []flash.Board `json:"boards"`
	}
	if code := e.Do("GET", "api/v1/flash/boards", nil, &got); code != 200 {
		t.Fatalf("GET boards = %d", code)
	}
	want := flash.DefaultBoards()
	if len(got.Boards) != len(want) || got.Boards[0].ID != "icestick" {
		t.Fatalf("boards = %+v", got.Boards)
	}
	// What is served is boards.json itself: every field survives.
	raw, err := os.ReadFile("boards.json")
	if err != nil {
		t.Fatal(err)
	}
	var file, served any
	json.Unmarshal(raw, &file)
	b, _ := json.Marshal(map[string]any{"boards": got.Boards})
	json.Unmarshal(b, &served)
	fb, _ := json.Marshal(file)
	sb, _ := json.Marshal(served)
	if string(fb) != string(sb) {
		t.Errorf("served boards differ from boards.json:\n%s\n%s", sb, fb)
	}
	for _, b := range got.Boards {
		if b.Notes != "" && len(b.Sources) == 0 {
			t.Errorf("board %s has notes without sources", b.ID)
		}
	}
}

func TestParseBoardsRejects(t *testing.T) {
	good := `{"id":"a","name":"A","fpga":"x","family":"ice40","device":"hx1k","usb":[{"vid":"0403","pid":"6010"}],"protocol":"dfu","targets":["flash"]}`
	tests := []struct{ doc, want string }{
		{`{"boards":[` + good + `,` + good + `]}`, "duplicate id"},
		{`{"boards":[` + strings.Replace(good, `"vid":"0403"`, `"vid":"403"`, 1) + `]}`, "hex"},
		{`{"boards":[` + strings.Replace(good, `"pid":"6010"`, `"pid":"60G0"`, 1) + `]}`, "hex"},
		{`{"boards":[` + strings.Replace(good, `"dfu"`, `"jtag"`, 1) + `]}`, "unknown protocol"},
		{`{"boards":[` + strings.Replace(good, `["flash"]`, `["eeprom"]`, 1) + `]}`, "unknown target"},
		{`{"boards":[` + strings.Replace(good, `"dfu"`, `"ftdi-spi"`, 1) + `]}`, "openfpgaloader.board"},
		{`{"boards":[` + strings.Replace(good, `"id":"a"`, `"id":"-a"`, 1) + `]}`, "id must be"},
		{`{"boards":[` + strings.Replace(good, `"fpga"`, `"fgpa"`, 1) + `]}`, "unknown field"},
		{`{"boards":[]}`, "no boards"},
	}
	for _, tc := range tests {
		if _, err := flash.ParseBoards([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBoards(%s) = %v, want an error about %q", tc.doc, err, tc.want)
		}
	}
	if _, err := flash.ParseBoards([]byte(`{"boards":[` + good + `]}`)); err != nil {
		t.Errorf("a good list: %v", err)
	}
}

func TestUdevRules(t *testing.T) {
	// Through a real sessiond: the route is mounted and answers text.
	e := servertest.Start(t, nil)
	req, _ := http.NewRequest("GET", e.Base+"api/v1/flash/udev", nil)
	req.Header.Set("Authorization", "Bearer "+servertest.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET udev = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rules := string(body)
	for _, want := range []string{
		"# Save this file as /etc/udev/rules.d/70-gatewave-fpga.rules",
		"#   sudo udevadm control --reload-rules && sudo udevadm trigger",
		"replug",
		"# Lattice iCEstick, 1BitSquared iCEBreaker, Lattice iCE40-HX8K Breakout Board, iCE40 board with an FT2232D (full-speed) (0403:6010)\n" +
			`SUBSYSTEM=="usb", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6010", MODE="0660", TAG+="uaccess"` + "\n",
		`SUBSYSTEM=="usb", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6014", MODE="0660", TAG+="uaccess"`,
		`SUBSYSTEM=="usb", ATTRS{idVendor}=="1d50", ATTRS{idProduct}=="6147", MODE="0660", TAG+="uaccess"`,
		`SUBSYSTEM=="usb", ATTRS{idVendor}=="1209", ATTRS{idProduct}=="5af0", MODE="0660", TAG+="uaccess"`,
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %q:\n%s", want, rules)
		}
	}
	// One rule per vid:pid, every line a comment, blank or a rule.
	n := 0
	ids := map[string]bool{}
	for _, b := range flash.DefaultBoards() {
		for _, u := range b.USB {
			ids[u.VID+":"+u.PID] = true
		}
	}
	for _, line := range strings.Split(rules, "\n") {
		switch {
		case line == "", strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, `SUBSYSTEM=="usb", ATTRS{idVendor}==`):
			n++
		default:
			t.Errorf("stray line %q", line)
		}
	}
	if n != len(ids) {
		t.Errorf("%d rules for %d vid:pid pairs", n, len(ids))
	}
}
