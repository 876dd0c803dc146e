package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
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

// TestReadETagFollowsChanges checks the hash cache never serves a stale
// ETag: after a write through the workspace and after one behind its back.
func TestReadETagFollowsChanges(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	etagOf := func(content string) string {
		t.Helper()
		f, err := w.Read("f.v")
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Data) != content {
			t.Fatalf("read %q, want %q", f.Data, content)
		}
		s := sha256.Sum256(f.Data)
		if f.Sum != hex.EncodeToString(s[:]) {
			t.Fatalf("ETag %s does not describe %q", f.Sum, f.Data)
		}
		return f.Sum
	}
	if _, err := w.Write("f.v", strings.NewReader("one"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	etagOf("one")
	etagOf("one") // from the cache
	if _, err := w.Write("f.v", strings.NewReader("two"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	etagOf("two")
	// Same size, changed in place by another program.
	if err := os.WriteFile(filepath.Join(w.Dir(), "f.v"), []byte("six"), 0o644); err != nil {
		t.Fatal(err)
	}
	etagOf("six")
}
