package cli

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestAccountOptions(t *testing.T) {
	tests := []struct {
		publicURL, proxies string
		secure             bool
		trusted, untrusted string
		bad                bool
	}{
		{publicURL: "", secure: false},
		{publicURL: "http://127.0.0.1:8480/", secure: false},
		{publicURL: "https://ide.example.com/", secure: true},
		{proxies: "10.0.0.0/8, 192.0.2.7", trusted: "10.3.4.5", untrusted: "192.0.2.8"},
		{publicURL: "ide.example.com", bad: true},
		{publicURL: "ftp://ide.example.com", bad: true},
		{proxies: "10.0.0.0/40", bad: true},
		{proxies: "proxy.internal", bad: true},
	}
	for _, tt := range tests {
		o, err := accountOptions(tt.publicURL, tt.proxies)
		if (err != nil) != tt.bad {
			t.Errorf("accountOptions(%q, %q): %v, want error %v", tt.publicURL, tt.proxies, err, tt.bad)
			continue
		}
		if tt.bad {
			continue
		}
		if o.SecureCookies != tt.secure {
			t.Errorf("public URL %q: SecureCookies %v", tt.publicURL, o.SecureCookies)
		}
		if tt.trusted == "" {
			continue
		}
		contains := func(a string) bool {
			for _, pf := range o.Proxies {
				if pf.Contains(netip.MustParseAddr(a)) {
					return true
				}
			}
			return false
		}
		if !contains(tt.trusted) || contains(tt.untrusted) {
			t.Errorf("proxies %q = %v: want %s trusted and %s not", tt.proxies, o.Proxies, tt.trusted, tt.untrusted)
		}
	}
}

// A bad option stops `cloud serve` before it opens anything.
func TestServeRefusesBadProxyList(t *testing.T) {
	var out bytes.Buffer
	code := Run(t.Context(), []string{"serve"}, Env{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		if k == "GATEWAVE_TRUSTED_PROXIES" {
			return "10.0.0.0/8,not-an-address"
		}
		return ""
	}})
	if code != 1 || !strings.Contains(out.String(), "trusted proxy") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}
