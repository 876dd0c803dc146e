package pool

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

// The workspace's disk. The storage drivers here (overlay2 on ext4) cannot
// cap a volume, so each workspace is an ext4 file system of its own in a
// sparse image file, loop-mounted on the node and bind-mounted at
// /workspace. A full workspace ends at its size while the node's disk
// stays free. The image outlives the container until the work in it is
// saved, and survives a node reboot (adoption mounts it again).

func (p *Pool) diskImage(name string) string {
	return filepath.Join(p.opts.StateDir, "disks", suffix(name)+".img")
}

func (p *Pool) diskMount(name string) string {
	return filepath.Join(p.opts.StateDir, "disks", suffix(name))
}

// makeWorkspace creates the container's workspace: a disk, or a Docker
// volume when the class has no quota.
func (p *Pool) makeWorkspace(ctx context.Context, name string, cl Class) (disk, volume string, err error) {
	size := cl.disk()
	if size < 0 {
		v, err := p.createVolume(ctx, name, cl.Name)
		return "", v, err
	}
	if p.opts.Unhardened {
		v, err := p.createVolume(ctx, name, cl.Name)
		return "", v, err
	}
	mnt := p.diskMount(name)
	if err := p.newFS(ctx, p.diskImage(name), mnt, size); err != nil {
		return "", "", fmt.Errorf("workspace disk: %w", err)
	}
	return mnt, "", nil
}

// newFS makes a file system of size bytes in the sparse image img, owned
// by the user, and mounts it at mnt.
func (p *Pool) newFS(ctx context.Context, img, mnt string, size int64) error {
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
		"-E", fmt.Sprintf("root_owner=%d:%d,lazy_itable_init=1,lazy_journal_init=1", p.ids.userUID(), p.ids.userGID()), img).CombinedOutput(); err != nil {
		os.Remove(img)
		return fmt.Errorf("mkfs.ext4: %w: %s", err, bytes.TrimSpace(out))
	}
	if err := p.mountDisk(ctx, img, mnt); err != nil {
		os.Remove(img)
		return err
	}
	// lost+found is root's: the user could never remove it.
	os.Remove(filepath.Join(mnt, "lost+found"))
	return nil
}

// dropFS unmounts and removes a file system made by newFS.
func dropFS(img, mnt string) error {
	if mounted(mnt) {
		if err := unix.Unmount(mnt, 0); err != nil {
			// Busy (a saver still running): detach it now, the kernel
			// frees it when the last user goes.
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

func (p *Pool) mountDisk(ctx context.Context, img, mnt string) error {
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		return fmt.Errorf("workspace disk: %w", err)
	}
	if mounted(mnt) {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "mount", "-o", "loop,nosuid,nodev,noatime", img, mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("workspace disk: mount %s: %w: %s (loop devices are needed; set a negative DiskBytes to use plain volumes)",
			img, err, bytes.TrimSpace(out))
	}
	return nil
}

// mounted reports whether dir is a mount point (its device differs from
// its parent's).
func mounted(dir string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(dir, &a) != nil || unix.Lstat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// ensureDisk mounts an existing disk again (after a node reboot).
func (p *Pool) ensureDisk(ctx context.Context, name string) (string, error) {
	img, mnt := p.diskImage(name), p.diskMount(name)
	if _, err := os.Stat(img); err != nil {
		return "", err
	}
	return mnt, p.mountDisk(ctx, img, mnt)
}

// dropWorkspace removes the workspace: the disk (unmounted first) or the
// volume.
func (p *Pool) dropWorkspace(ctx context.Context, c Container) error {
	var errs []error
	if c.Volume != "" {
		if err := p.docker.VolumeRemove(ctx, c.Volume, true); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", c.Volume, err))
		}
	}
	if err := dropFS(p.diskImage(c.Name), p.diskMount(c.Name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
