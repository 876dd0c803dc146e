package settings

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	shared "gatewave.dev/shared/settings"
)

func TestFileMissingIsDefaults(t *testing.T) {
	f := &File{Path: filepath.Join(t.TempDir(), "none", "settings.json")}
	s, err := f.Load()
	if err != nil || s != shared.Defaults() {
		t.Fatalf("Load = %+v, %v; want the defaults", s, err)
	}
}

func TestFileSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "gatewave")
	f := &File{Path: filepath.Join(dir, "settings.json")}
	want := shared.Settings{Theme: shared.HighContrast, FontSize: 20, TabSize: 2}
	if err := f.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := f.Load()
	if err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}
	// Nothing but the file: the temp file was renamed, not left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only settings.json", len(ents))
	}
	b, _ := os.ReadFile(f.Path)
	if !strings.Contains(string(b), `"theme": "high-contrast"`) {
		t.Errorf("file is %s", b)
	}
}

func TestFileSaveRefusesInvalid(t *testing.T) {
	f := &File{Path: filepath.Join(t.TempDir(), "settings.json")}
	if err := f.Save(shared.Settings{Theme: "neon", FontSize: 13, TabSize: 4}); err == nil {
		t.Fatal("Save took an unknown theme")
	}
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("an invalid Save wrote the file: %v", err)
	}
}

// A rename replaces the file: a reader never sees half of it, and
// concurrent saves leave one whole object.
func TestFileConcurrentSaves(t *testing.T) {
	f := &File{Path: filepath.Join(t.TempDir(), "settings.json")}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := f.Save(shared.Settings{Theme: shared.Light, FontSize: 8 + i, TabSize: 1 + i%8}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := f.Load(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(f.Path)
	if _, err := shared.Parse(b); err != nil {
		t.Fatalf("file after concurrent saves: %v: %s", err, b)
	}
}

func TestFileCorruptOrHostile(t *testing.T) {
	dir := t.TempDir()
	t.Run("corrupt", func(t *testing.T) {
		p := filepath.Join(dir, "corrupt.json")
		os.WriteFile(p, []byte(`{"theme": "light", "fontSize": 999`), 0o600)
		s, err := (&File{Path: p}).Load()
		if err == nil || s != shared.Defaults() {
			t.Fatalf("Load = %+v, %v; want the defaults and an error", s, err)
		}
	})
	t.Run("one bad field", func(t *testing.T) {
		p := filepath.Join(dir, "field.json")
		os.WriteFile(p, []byte(`{"theme": "light", "fontSize": 999, "tabSize": 2}`), 0o600)
		s, err := (&File{Path: p}).Load()
		want := shared.Settings{Theme: shared.Light, FontSize: shared.Defaults().FontSize, TabSize: 2}
		if err == nil || s != want {
			t.Fatalf("Load = %+v, %v; want %+v and an error", s, err, want)
		}
	})
	t.Run("huge", func(t *testing.T) {
		p := filepath.Join(dir, "huge.json")
		os.WriteFile(p, []byte(strings.Repeat(" ", 1<<20)), 0o600)
		if _, err := (&File{Path: p}).Load(); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Fatalf("Load of 1 MiB: %v", err)
		}
	})
	t.Run("not a file", func(t *testing.T) {
		if _, err := (&File{Path: "/dev/zero"}).Load(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("Load of /dev/zero: %v", err)
		}
	})
}
