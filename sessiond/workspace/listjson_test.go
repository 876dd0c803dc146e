package workspace

import (
	"encoding/json"
	"reflect"
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
