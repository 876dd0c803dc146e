package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// flashRoutes asks the app's own sessiond for the board list, the USB
// devices it sees and the udev rules: the desktop flashes natively
// (openFPGALoader, dfu-util), so these routes must answer through the app.
func flashRoutes(ctx context.Context, t *testing.T, conn event) {
	t.Helper()
	code, body := get(ctx, t, conn.BaseURL, "api/v1/flash/boards", conn.Token)
	var boards struct {
		Boards []struct {
			ID       string `json:"id"`
			Protocol string `json:"protocol"`
		} `json:"boards"`
	}
	if err := json.Unmarshal(body, &boards); code != http.StatusOK || err != nil || len(boards.Boards) == 0 || boards.Boards[0].ID != "icestick" {
		t.Fatalf("GET api/v1/flash/boards: %d %s", code, body)
	}
	code, body = get(ctx, t, conn.BaseURL, "api/v1/flash/devices", conn.Token)
	var devices struct {
		Devices []json.RawMessage `json:"devices"`
		Note    string            `json:"note"`
	}
	if err := json.Unmarshal(body, &devices); code != http.StatusOK || err != nil || devices.Devices == nil {
		t.Fatalf("GET api/v1/flash/devices: %d %s", code, body)
	}
	if len(devices.Devices) == 0 && devices.Note == "" {
		t.Errorf("no devices and no note saying why: %s", body)
	}
	t.Logf("devices: %d; note: %q", len(devices.Devices), devices.Note)
	code, body = get(ctx, t, conn.BaseURL, "api/v1/flash/udev", conn.Token)
	if code != http.StatusOK || !bytes.Contains(body, []byte(`ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6010"`)) {
		t.Fatalf("GET api/v1/flash/udev: %d %s", code, body)
	}
}
