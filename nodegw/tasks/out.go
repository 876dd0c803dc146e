package tasks

import (
	"context"
	"fmt"
	"os"

	"gatewave.dev/nodegw/loopdisk"
)

// defaultOutBytes is the size of a task's /out.
const defaultOutBytes = 8 << 30

// makeOut makes the task's output directory, owned by the task's user: a
// file system of Options.OutBytes (or a plain directory when negative).
func (r *Runner) makeOut(ctx context.Context, dir string) error {
	size := r.opts.OutBytes
	if size == 0 {
		size = defaultOutBytes
	}
	if size < 0 {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("out dir: %w", err)
		}
		if err := os.Lchown(dir, r.opts.UserUID, r.opts.UserGID); err != nil {
			return fmt.Errorf("out dir: %w", err)
		}
		return nil
	}
	if err := loopdisk.Create(ctx, dir+".img", dir, size, r.opts.UserUID, r.opts.UserGID); err != nil {
		return fmt.Errorf("out %w", err)
	}
	return os.Chmod(dir, 0o755)
}

// dropOut unmounts and removes a task's output disk, if it has one.
func dropOut(dir string) {
	if loopdisk.Mounted(dir) || fileExists(dir+".img") {
		_ = loopdisk.Drop(dir+".img", dir)
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
