package schema

import (
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"
)

// gooseFS presents the NNNNNN_name.up.sql / .down.sql pairs of src (the
// layout golang-migrate and most tools use, and what the migrations module
// holds) as goose's one-file-per-version form with -- +goose Up/Down
// annotations. Each up file needs a matching down file.
func gooseFS(src fs.FS) (fs.FS, error) {
	ups, err := fs.Glob(src, "*.up.sql")
	if err != nil {
		return nil, err
	}
	downs, _ := fs.Glob(src, "*.down.sql")
	if len(ups) != len(downs) {
		return nil, fmt.Errorf("migrations: %d up files but %d down files", len(ups), len(downs))
	}
	out := fstest.MapFS{}
	for _, up := range ups {
		base := strings.TrimSuffix(up, ".up.sql")
		u, err := fs.ReadFile(src, up)
		if err != nil {
			return nil, err
		}
		d, err := fs.ReadFile(src, base+".down.sql")
		if err != nil {
			return nil, fmt.Errorf("migration %s has no down file: %w", base, err)
		}
		body := "-- +goose Up\n" + string(u) + "\n-- +goose Down\n" + string(d) + "\n"
		out[base+".sql"] = &fstest.MapFile{Data: []byte(body), Mode: 0o444}
	}
	return out, nil
}
