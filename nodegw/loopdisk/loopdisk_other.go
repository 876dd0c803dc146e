//go:build !linux

package loopdisk

import "context"

// Create fails: loop disks need Linux.
func Create(ctx context.Context, img, mnt string, size int64, uid, gid int) error {
	return ErrUnsupported
}

// Mount fails: loop disks need Linux.
func Mount(ctx context.Context, img, mnt string) error { return ErrUnsupported }

// Drop fails: loop disks need Linux.
func Drop(img, mnt string) error { return ErrUnsupported }

// Mounted is false: nothing is ever loop-mounted here.
func Mounted(dir string) bool { return false }
