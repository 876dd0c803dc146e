package pool

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// A container's run directory, /run/gatewave, holds sessiond's token and
// the sockets it binds as root. On a Linux node it is the node's own
// directory, bind-mounted, and the node dials the sockets in it directly
// (dialSocket). Engine-only (Options.EngineOnly, and always on Windows,
// where Docker Desktop's file sharing shows host folders to containers as
// world-writable and ignores ownership) nothing of the node's is mounted
// there: it is an anonymous volume of the container's (Linux ownership,
// a copy of the image's root-only directory, removed with the container),
// the token is copied in before the container starts, and sessiond is
// dialled through the engine (dialExec).

func (p *Pool) engineOnly() bool { return p.opts.EngineOnly || runtime.GOOS == "windows" }

// prepareRunDir makes the node's run directory for c, unless engine-only.
func (p *Pool) prepareRunDir(c Container) error {
	if p.engineOnly() {
		return nil
	}
	return p.prepareNodeRunDir(c)
}

// mountRunDir mounts c's run directory at /run/gatewave.
func (p *Pool) mountRunDir(hc *container.HostConfig, c Container) {
	if p.engineOnly() {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Target: "/run/gatewave"})
		return
	}
	hc.Binds = append(hc.Binds, p.runDir(c.Name)+":/run/gatewave")
}

// deliverRunFiles copies the token into the created container's
// /run/gatewave (root's, mode 0600) when engine-only; otherwise it is in
// the bind-mounted directory already.
func (p *Pool) deliverRunFiles(ctx context.Context, id string, c Container) error {
	if !p.engineOnly() {
		return nil
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tok := []byte(c.Token + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "token", Mode: 0o600, Size: int64(len(tok)), Uid: p.ids.rootUID(), Gid: p.ids.gid}); err != nil {
		return err
	}
	if _, err := tw.Write(tok); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := p.docker.CopyToContainer(ctx, id, "/run/gatewave", &b, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("token into %s: %w", c.Name, err)
	}
	return nil
}

// dialContainer connects to one of c's sockets.
func (p *Pool) dialContainer(ctx context.Context, c Container, sock string) (net.Conn, error) {
	if p.engineOnly() {
		return p.dialExec(ctx, c, sock)
	}
	return dialSocket(ctx, p.runDir(c.Name), sock, uint32(p.ids.rootUID()))
}
