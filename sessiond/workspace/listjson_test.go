package workspace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

type doc struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
}

// FuzzAppendListJSON checks the hand-written encoder against encoding/json:
// both must decode to the same document, for any names.
func FuzzAppendListJSON(f *testing.F) {
	for _, s := range []string{"plain.v", `q"uote\back`, "tab\tnl\nnul\x00", "ünï€😀", "bad\xff\xfeutf8", "<html>&", "\u2028\u2029"} {
		f.Add(s, int64(42), int64(1700000000000))
	}
	f.Fuzz(func(t *testing.T, name string, size, mtime int64) {
		entries := []Entry{{Name: name, Path: "d/" + name, Type: TypeFile, Size: size, MTime: mtime}, {Name: "x", Path: "d/x", Type: TypeDir}}
		var got doc
		if err := json.Unmarshal(AppendListJSON(nil, "d", entries, false), &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", name, err)
		}
		want := doc{Path: "d", Entries: entries}
		wb, _ := json.Marshal(want)
		var wantDecoded doc
		json.Unmarshal(wb, &wantDecoded)
		if !reflect.DeepEqual(got, wantDecoded) {
			t.Fatalf("got %+v, want %+v", got, wantDecoded)
		}
		var names map[string]any
		json.Unmarshal(AppendListJSON(nil, "d", entries, true), &names)
		if e := names["entries"].([]any)[0].(map[string]any); e["size"] != nil || e["mtime"] != nil {
			t.Fatalf("names-only listing carries size or mtime: %v", e)
		}
	})
}

// TestListNamesMatchesList checks the names-only path (per-type sorted
// groups merged on the way out, two arenas) against the full listing on a
// directory with every entry type, names that need escaping and enough
// files to take the parallel sort.
func TestListNamesMatchesList(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, "d", name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 20000; i > 0; i-- {
		mk(fmt.Sprintf("f%05d.v", (i*7919)%20011))
	}
	for _, n := range []string{`q"uote`, "tab\tx", "ünï", "bad\xffname", "a.link", "zz"} {
		mk(n)
	}
	for _, n := range []string{"sub", "Abc", "m0"} {
		if err := os.Mkdir(filepath.Join(dir, "d", n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"f10000.v.lnk", "0link", "zzz"} {
		if err := os.Symlink("/etc/passwd", filepath.Join(dir, "d", n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "d", "f10001.fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	full, err := w.List("d", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		full[i].Size, full[i].MTime = 0, 0
	}
	names, err := w.ListNames("d")
	if err != nil {
		t.Fatal(err)
	}
	if names.Len() != len(full) {
		t.Fatalf("ListNames has %d entries, List %d", names.Len(), len(full))
	}
	got := AppendNamesJSON(nil, names)
	if want := AppendListJSON(nil, "d", full, true); !bytes.Equal(got, want) {
		t.Fatalf("names-only JSON differs from the full listing's:\n got %.300s\nwant %.300s", got, want)
	}
	viaList, err := w.List("d", ListOptions{NamesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaList, full) {
		t.Fatal("List(NamesOnly) differs from the full listing without sizes")
	}
	var d doc
	if err := json.Unmarshal(got, &d); err != nil {
		t.Fatal(err)
	}
	rootNames, err := w.ListNames(".")
	if err != nil {
		t.Fatal(err)
	}
	if s := string(AppendNamesJSON(nil, rootNames)); s != `{"path":".","entries":[{"name":"d","path":"d","type":"dir"}]}` {
		t.Fatalf("root listing: %s", s)
	}
}
