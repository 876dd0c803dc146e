package pool

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"
)

// sessiondPath is where both images keep sessiond.
const sessiondPath = "/usr/local/bin/sessiond"

// offlineSnapshot runs `sessiond snapshot` in a one-off container of the
// same image on the workspace mounted read-only: as the user, with no
// network, no capabilities and limits of its own, so neither git nor the
// workspace's own config ever runs on the node, and the dead container's
// processes (or its full pids table) cannot get in the way.
func (p *Pool) offlineSnapshot(ctx context.Context, c Container, have []string, dst io.Writer) error {
	// A few at a time: after a node reboot every dead claim is saved at
	// once, and each saver may use gigabytes.
	select {
	case p.savers <- struct{}{}:
		defer func() { <-p.savers }()
	case <-ctx.Done():
		return ctx.Err()
	}
	// git's scratch objects (every new or changed file, compressed) go to
	// a file system of the workspace's size on the node's disk, not to
	// memory: a workspace can hold more new data than a tmpfs could, and
	// nothing the saver runs (a workspace's own git filters, say) can
	// write more than that.
	size := c.DiskBytes
	if size <= 0 {
		size = 16 * gib
	}
	scratch := filepath.Join(p.opts.StateDir, "scratch", "saver-"+randomHex(6))
	if err := p.newFS(ctx, scratch+".img", scratch, size); err != nil {
		return fmt.Errorf("snapshot %s: scratch space: %w", c.Name, err)
	}
	defer func() {
		if err := dropFS(scratch+".img", scratch); err != nil {
			p.log.Warn("remove a saver's scratch space", "err", err)
		}
	}()
	cmd := []string{sessiondPath, "snapshot", "--root", "/workspace"}
	for _, h := range have {
		cmd = append(cmd, "--have", h)
	}
	pids := int64(256)
	hc := &container.HostConfig{
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Binds:          []string{scratch + ":/tmp"},
		Resources:      container.Resources{NanoCPUs: 1e9, Memory: 6 * gib, MemorySwap: 6 * gib, PidsLimit: &pids},
		LogConfig:      container.LogConfig{Type: "none"},
	}
	if c.Disk != "" {
		if _, err := p.ensureDisk(ctx, c.Name); err != nil {
			return fmt.Errorf("snapshot %s: %w", c.Name, err)
		}
		hc.Binds = append(hc.Binds, c.Disk+":/workspace:ro")
	} else {
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: c.Volume, Target: "/workspace", ReadOnly: true}}
	}
	resp, err := p.docker.ContainerCreate(ctx, &container.Config{
		Image: p.opts.Image, Entrypoint: cmd, User: fmt.Sprintf("%d:%d", UserUID, UserUID),
		Env: []string{"HOME=/tmp"}, WorkingDir: "/", AttachStdout: true, AttachStderr: true,
		Labels: map[string]string{LabelSaver: p.opts.Name},
	}, hc, nil, nil, "")
	if err != nil {
		return fmt.Errorf("snapshot %s: create saver: %w", c.Name, err)
	}
	defer p.docker.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true})
	att, err := p.docker.ContainerAttach(ctx, resp.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fmt.Errorf("snapshot %s: attach saver: %w", c.Name, err)
	}
	defer att.Close()
	waitC, waitErr := p.docker.ContainerWait(ctx, resp.ID, container.WaitConditionNextExit)
	if err := p.docker.ContainerStart(ctx, resp.ID, startOptions); err != nil {
		return fmt.Errorf("snapshot %s: start saver: %w", c.Name, err)
	}
	var stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(dst, &limited{w: &stderr, n: 8 << 10}, att.Reader); err != nil {
		return fmt.Errorf("snapshot %s: %w", c.Name, err)
	}
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			return fmt.Errorf("snapshot %s: sessiond snapshot exited %d: %s", c.Name, w.StatusCode, strings.TrimSpace(stderr.String()))
		}
	case err := <-waitErr:
		return fmt.Errorf("snapshot %s: wait for saver: %w", c.Name, err)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// cleanSavers removes one-off snapshot containers, and their scratch
// space, that a crash left behind. Only while no save runs.
func (p *Pool) cleanSavers(ctx context.Context) {
	list, err := p.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelSaver+"="+p.opts.Name))})
	if err != nil {
		return
	}
	for _, s := range list {
		_ = p.docker.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true})
	}
	imgs, _ := filepath.Glob(filepath.Join(p.opts.StateDir, "scratch", "saver-*.img"))
	for _, img := range imgs {
		if err := dropFS(img, strings.TrimSuffix(img, ".img")); err != nil {
			p.log.Warn("remove a saver's scratch space", "err", err)
		}
	}
}

// limited keeps the first n bytes written and drops the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(b []byte) (int, error) {
	if l.n > 0 {
		k := min(len(b), l.n)
		l.w.Write(b[:k])
		l.n -= k
	}
	return len(b), nil
}
