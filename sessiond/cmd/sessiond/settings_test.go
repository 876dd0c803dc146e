package main

import (
	"path/filepath"
	"testing"
)

// In a container (--user or --control) sessiond keeps no settings file
// unless told to: nothing of its own lands in the user's home there.
func TestSettingsPath(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", t.TempDir())
	tests := []struct {
		flag      string
		container bool
		want      string
	}{
		{"", false, filepath.Join(cfg, "gatewave", "settings.json")},
		{"", true, ""},
		{"none", false, ""},
		{"none", true, ""},
		{"/etc/gw/settings.json", true, "/etc/gw/settings.json"},
	}
	for _, tt := range tests {
		got, err := settingsPath(tt.flag, tt.container)
		if err != nil || got != tt.want {
			t.Errorf("settingsPath(%q, %v) = %q, %v; want %q", tt.flag, tt.container, got, err, tt.want)
		}
	}
	rel, _ := settingsPath("s.json", false)
	if !filepath.IsAbs(rel) {
		t.Errorf("a relative --settings stays relative: %q", rel)
	}
}
