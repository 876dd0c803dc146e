package backup

import (
	"slices"
	"strings"
	"testing"
)

func TestParseConnMovesThePasswordOutOfTheURL(t *testing.T) {
	tests := []struct {
		raw, dsn, password string
	}{
		{"postgres://gw:s3cret@127.0.0.1:5432/gatewave?sslmode=disable", "postgres://gw@127.0.0.1:5432/gatewave?sslmode=disable", "s3cret"},
		{"postgresql://gw:p%40ss@db/gatewave", "postgresql://gw@db/gatewave", "p@ss"},
		{"postgres://gw@db/gatewave?password=inquery&sslmode=require", "postgres://gw@db/gatewave?sslmode=require", "inquery"},
		// The compose file's: a unix socket, no password.
		{"postgres://gatewave@/gatewave?host=/run/postgresql&sslmode=disable", "postgres://gatewave@/gatewave?host=/run/postgresql&sslmode=disable", ""},
	}
	for _, tc := range tests {
		c, err := parseConn(tc.raw)
		if err != nil {
			t.Fatalf("parseConn(%q): %v", tc.raw, err)
		}
		if c.dsn != tc.dsn || c.password != tc.password {
			t.Errorf("parseConn(%q) = %q, %q; want %q, %q", tc.raw, c.dsn, c.password, tc.dsn, tc.password)
		}
		env := c.env()
		if tc.password != "" && !slices.Contains(env, "PGPASSWORD="+tc.password) {
			t.Errorf("env %q lacks PGPASSWORD", env)
		}
		for _, kv := range env {
			k, _, _ := strings.Cut(kv, "=")
			if !slices.Contains([]string{"PATH", "LC_ALL", "PGAPPNAME", "PGCONNECT_TIMEOUT", "PGPASSWORD"}, k) {
				t.Errorf("child env has %s", k)
			}
		}
	}
	for _, bad := range []string{"", "mysql://u:hunter2@db/x", "host=db password=hunter2", "postgres://u:hunter2@[::1",
		// Pairs Go's query parser skips would keep the password in the DSN.
		"postgres://u@db/x?password=hunter2%ZZ", "postgres://u@db/x?sslmode=disable;password=hunter2"} {
		_, err := parseConn(bad)
		if err == nil {
			t.Errorf("parseConn(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseConn(%q) error shows the password: %v", bad, err)
		}
	}
}
