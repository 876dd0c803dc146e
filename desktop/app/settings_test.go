package app

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatewave.dev/desktop/recent"
)

// The desktop keeps the IDE's settings in one file for every folder: what
// is saved while one folder is open is there when another opens.
func TestSettingsKeptAcrossFolders(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config", "gatewave", "settings.json")
	d, err := New(Options{SettingsFile: file, Recent: recentIn(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.close() })
	call := func(method, body string) (int, string) {
		t.Helper()
		c, err := d.API().Connection()
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(method, c.BaseURL+"api/v1/settings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", WebviewOrigin())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if err := d.open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	const light = `{"theme":"light","fontSize":16,"tabSize":2}`
	if code, b := call("PUT", light); code != 200 || b != light {
		t.Fatalf("PUT: %d %s", code, b)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `"light"`) {
		t.Fatalf("settings file: %v %s", err, b)
	}
	if err := d.open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if code, b := call("GET", ""); code != 200 || b != light {
		t.Fatalf("GET in the second folder: %d %s", code, b)
	}
}

func recentIn(t *testing.T) recent.List {
	return recent.List{Path: filepath.Join(t.TempDir(), "recent.json")}
}
