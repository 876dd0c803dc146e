package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/sessiond/server"
	"gatewave.dev/sessiond/settings"
)

func TestSettingsRoutes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gatewave", "settings.json")
	ts := start(t, func(o *server.Options) { o.SettingsFile = file })
	json := []string{"Content-Type", "application/json"}

	if r := ts.get("/api/v1/settings"); r.Status != 200 || string(r.Body) != `{"theme":"dark","fontSize":13,"tabSize":4}` || r.Header.Get(settings.NotStoredHeader) != "" {
		t.Fatalf("GET before any save: %d %v %s", r.Status, r.Header, r.Body)
	}
	body := `{"theme":"light","fontSize":18,"tabSize":2}`
	if r := ts.do("PUT", "/api/v1/settings", []byte(body), json...); r.Status != 200 || string(r.Body) != body {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if r := ts.get("/api/v1/settings"); r.Status != 200 || string(r.Body) != body {
		t.Fatalf("GET after PUT: %d %s", r.Status, r.Body)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), `"fontSize": 18`) {
		t.Fatalf("settings file: %v %s", err, b)
	}

	bad := []struct {
		name, body string
		hdr        []string
		status     int
		says       string
	}{
		{"unknown field", `{"theme":"light","fontSize":18,"tabSize":2,"evil":1}`, json, 400, `unknown setting "evil"`},
		{"missing field", `{"theme":"light"}`, json, 400, `"fontSize" is missing`},
		{"bad theme", `{"theme":"neon","fontSize":18,"tabSize":2}`, json, 400, `theme "neon"`},
		{"font size", `{"theme":"light","fontSize":64,"tabSize":2}`, json, 400, "fontSize 64 is not between 8 and 32"},
		{"tab size", `{"theme":"light","fontSize":18,"tabSize":0}`, json, 400, "tabSize 0"},
		{"not JSON", `theme=light`, json, 400, "one JSON object"},
		{"form content type", body, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"too large", `{"theme":"light","fontSize":18,"tabSize":2,"x":"` + strings.Repeat("a", 8<<10) + `"}`, json, 413, "larger than"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("PUT", "/api/v1/settings", []byte(tt.body), tt.hdr...)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if e := r.err(t); !strings.Contains(e.Error.Message, tt.says) {
				t.Fatalf("message %q does not say %q", e.Error.Message, tt.says)
			}
		})
	}
	// Nothing refused reached the file.
	if r := ts.get("/api/v1/settings"); string(r.Body) != body {
		t.Fatalf("GET after refused PUTs: %s", r.Body)
	}
	if r := ts.do("PUT", "/api/v1/settings", []byte(body), "Authorization", "Bearer wrong", "Content-Type", "application/json"); r.Status != 401 {
		t.Fatalf("PUT with a wrong token: %d", r.Status)
	}
}

// Without a settings file (a cloud container) GET answers the defaults, says
// in a header that nothing is kept, and PUT says the settings are not kept, rather than pretending to save them.
func TestSettingsNotKept(t *testing.T) {
	ts := start(t)
	r := ts.get("/api/v1/settings")
	if r.Status != 200 || string(r.Body) != `{"theme":"dark","fontSize":13,"tabSize":4}` {
		t.Fatalf("GET: %d %s", r.Status, r.Body)
	}
	// Said before any PUT, so the dialog tells the user up front.
	if why := r.Header.Get(settings.NotStoredHeader); !strings.Contains(why, "keeps no settings") {
		t.Fatalf("GET's %s header: %q", settings.NotStoredHeader, why)
	}
	r = ts.do("PUT", "/api/v1/settings", []byte(`{"theme":"light","fontSize":18,"tabSize":2}`), "Content-Type", "application/json")
	if r.Status != 501 || r.err(t).Error.Code != "not_stored" {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
}
