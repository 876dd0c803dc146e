package objstore

import (
	"strings"
	"testing"
)

func TestKeyHelpers(t *testing.T) {
	for _, tc := range []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return TaskArtifactKey(7, 2, "build/top.bin") }, "tasks/7/2/out/build/top.bin"},
		{func() (string, error) { return UploadKey(3, "board.pcf") }, "users/3/uploads/board.pcf"},
		{func() (string, error) { return TaskPrefix(12) }, "tasks/12/"},
	} {
		got, err := tc.got()
		if err != nil || got != tc.want {
			t.Errorf("got %q, %v; want %q", got, err, tc.want)
		}
	}
}

// badPaths escape their prefix, or would name a different object on
// another server or file system.
var badPaths = []string{
	"", ".", "..", "../2/out/x", "a/../../2/out/x", "a/..", "/etc/passwd", "/a", "a//b", "a/", "./a", "a/./b",
	`a\b`, "a\x00b", "a\nb", "a\x7fb", "\xff", strings.Repeat("a", 513),
}

func TestKeyHelpersRefuseBadParts(t *testing.T) {
	for _, p := range badPaths {
		if k, err := TaskArtifactKey(1, 1, p); err == nil {
			t.Errorf("TaskArtifactKey(1, 1, %q) = %q", p, k)
		}
		if k, err := UploadKey(1, p); err == nil {
			t.Errorf("UploadKey(1, %q) = %q", p, k)
		}
	}
	for _, id := range []int64{0, -1} {
		if k, err := TaskArtifactKey(id, 1, "a"); err == nil {
			t.Errorf("TaskArtifactKey(%d) = %q", id, k)
		}
		if k, err := TaskArtifactKey(1, int(id), "a"); err == nil {
			t.Errorf("TaskArtifactKey(1, attempt %d) = %q", id, k)
		}
		if k, err := UploadKey(id, "a"); err == nil {
			t.Errorf("UploadKey(%d) = %q", id, k)
		}
		if k, err := TaskPrefix(id); err == nil {
			t.Errorf("TaskPrefix(%d) = %q", id, k)
		}
	}
}

func TestValidKey(t *testing.T) {
	long := strings.Repeat(strings.Repeat("d", 100)+"/", 10) + "f" // 1011 bytes, components within limits
	for _, k := range []string{"tasks/1/in/a", "users/2/uploads/x y.v", long} {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q): %v", k, err)
		}
	}
	for _, k := range append(badPaths, "tasks/1/in/"+strings.Repeat("d/", 507)+"f") {
		if err := ValidKey(k); err == nil {
			t.Errorf("ValidKey(%q) accepted it", k)
		}
	}
}
