package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gatewave.dev/nodegw/loopdisk"
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
	if err := loopdisk.Create(ctx, img, mnt, size, p.ids.userUID(), p.ids.userGID()); err != nil {
		return fmt.Errorf("workspace %w; set a negative DiskBytes to use plain volumes", err)
	}
	return nil
}

// dropFS unmounts and removes a file system made by newFS.
func dropFS(img, mnt string) error { return loopdisk.Drop(img, mnt) }

func (p *Pool) mountDisk(ctx context.Context, img, mnt string) error {
	if err := loopdisk.Mount(ctx, img, mnt); err != nil {
		return fmt.Errorf("workspace %w", err)
	}
	return nil
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
