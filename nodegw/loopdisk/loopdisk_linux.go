//go:build linux

package loopdisk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Create makes a file system of size bytes in the sparse image img, its
// root owned by uid:gid, and mounts it at mnt (nosuid, nodev).
func Create(ctx context.Context, img, mnt string, size int64, uid, gid int) error {
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	f.Close()
	if err != nil {
		os.Remove(img)
		return err
	}
	// The root directory belongs to the user; nothing is reserved for root.
	if out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-m", "0",
		"-E", fmt.Sprintf("root_owner=%d:%d,lazy_itable_init=1,lazy_journal_init=1", uid, gid), img).CombinedOutput(); err != nil {
		os.Remove(img)
		return fmt.Errorf("mkfs.ext4: %w: %s", err, bytes.TrimSpace(out))
	}
	if err := Mount(ctx, img, mnt); err != nil {
		os.Remove(img)
		return err
	}
	// lost+found is root's: the user could never remove it.
	os.Remove(filepath.Join(mnt, "lost+found"))
	return nil
}

// Mount mounts the image img at mnt unless something is mounted there.
func Mount(ctx context.Context, img, mnt string) error {
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	if Mounted(mnt) {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "mount", "-o", "loop,nosuid,nodev,noatime", img, mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("disk: mount %s: %w: %s (loop devices are needed)", img, err, bytes.TrimSpace(out))
	}
	return nil
}

// Drop unmounts and removes a file system made by Create.
func Drop(img, mnt string) error {
	if Mounted(mnt) {
		if err := unix.Unmount(mnt, 0); err != nil {
			// Busy: detach it now, the kernel frees it when the last
			// user goes.
			if err2 := unix.Unmount(mnt, unix.MNT_DETACH); err2 != nil {
				return fmt.Errorf("unmount %s: %w", mnt, err)
			}
		}
	}
	var errs []error
	// Only the empty mount point is left (rmdir never removes contents).
	if err := unix.Rmdir(mnt); err != nil && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, fmt.Errorf("remove %s: %w", mnt, err))
	}
	if err := os.Remove(img); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Mounted reports whether dir is a mount point (its device differs from
// its parent's).
func Mounted(dir string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(dir, &a) != nil || unix.Lstat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}
