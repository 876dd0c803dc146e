package workspace

import (
	"errors"
	"strings"
	"testing"

	"gatewave.dev/shared/apierr"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in, want string
		status   int
	}{
		{"", ".", 0},
		{".", ".", 0},
		{"/", ".", 0},
		{"a/b/../c", "", 403}, // any ".." is refused, even one that stays inside
		{"a//b/", "a/b", 0},
		{"./x.v", "x.v", 0},
		{"..", "", 403},
		{"a/../../b", "", 403},
		{"/etc/passwd", "", 403},
		{"a\x00b", "", 400},
		{strings.Repeat("x/", 2049), "", 414},
		{strings.Repeat("n", 256), "", 414},
	}
	for _, tc := range tests {
		got, err := Clean(tc.in)
		if tc.status == 0 {
			if err != nil || got != tc.want {
				t.Errorf("Clean(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Status != tc.status {
			t.Errorf("Clean(%q) error = %v; want status %d", tc.in, err, tc.status)
		}
	}
}
