package recent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAddLoad(t *testing.T) {
	base := t.TempDir()
	dirs := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d"} {
		dirs[n] = filepath.Join(base, n)
		if err := os.Mkdir(dirs[n], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		add  []string // names in dirs; "gone" is added then removed from disk
		want []string
	}{
		{"most recent first", []string{"a", "b", "c"}, []string{"c", "b", "a"}},
		{"re-adding moves to front without duplicates", []string{"a", "b", "a"}, []string{"a", "b"}},
		{"capped at Max", []string{"a", "b", "c", "d"}, []string{"d", "c", "b"}},
		{"vanished folders are dropped", []string{"a", "gone", "b"}, []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := List{Path: filepath.Join(t.TempDir(), "cfg", "recent.json"), Max: 3}
			gone := filepath.Join(t.TempDir(), "gone")
			for _, n := range tt.add {
				d := dirs[n]
				if n == "gone" {
					d = gone
					os.Mkdir(d, 0o755)
				}
				if _, err := l.Add(d); err != nil {
					t.Fatal(err)
				}
			}
			os.Remove(gone)
			got, err := l.Load()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range tt.want {
				want = append(want, dirs[n])
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			fi, err := os.Stat(l.Path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	l := List{Path: filepath.Join(t.TempDir(), "recent.json")}
	if got, err := l.Load(); err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v; want empty, nil", got, err)
	}
	if _, err := l.Add("relative/dir"); err == nil {
		t.Fatal("Add accepted a relative path")
	}
	if err := os.WriteFile(l.Path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Load(); err == nil {
		t.Fatal("Load accepted a corrupt file")
	}
	dir := t.TempDir()
	got, err := l.Add(dir)
	if err != nil || !slices.Equal(got, []string{dir}) {
		t.Fatalf("Add over a corrupt file: %v, %v", got, err)
	}
}

func TestDefaultPathFollowsXDG(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cfg, "gatewave", "recent-folders.json"); p != want {
		t.Fatalf("DefaultPath = %q, want %q", p, want)
	}
}
