package pool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-units"
)

// UserUID is the uid (and gid) inside the container that runs everything
// the user starts; the images' sessiond drops to it (--user 1000:1000).
const UserUID = 1000

var startOptions = container.StartOptions{}

// idmap is how container uids appear on the node: identical without
// dockerd's user-namespace remapping, shifted by the remap range's start
// with it (--userns-remap).
type idmap struct {
	uid, gid int // node uid/gid of the container's root
}

func (m idmap) rootUID() int { return m.uid }
func (m idmap) userUID() int { return m.uid + UserUID }
func (m idmap) userGID() int { return m.gid + UserUID }

// detectIDs asks dockerd whether it remaps user namespaces and, if so,
// finds the range of its remap user in /etc/subuid and /etc/subgid.
func detectIDs(ctx context.Context, dc *client.Client) (idmap, error) {
	info, err := dc.Info(ctx)
	if err != nil {
		return idmap{}, fmt.Errorf("docker info: %w", err)
	}
	if !slices.ContainsFunc(info.SecurityOptions, func(s string) bool { return strings.Contains(s, "name=userns") }) {
		return idmap{}, nil
	}
	// dockerd --userns-remap=default creates and uses "dockremap".
	user := os.Getenv("NODEGW_USERNS_USER")
	if user == "" {
		user = "dockremap"
	}
	uid, err := subidStart("/etc/subuid", user)
	if err != nil {
		return idmap{}, err
	}
	gid, err := subidStart("/etc/subgid", user)
	if err != nil {
		return idmap{}, err
	}
	return idmap{uid: uid, gid: gid}, nil
}

func subidStart(file, user string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("userns remap: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) == 3 && parts[0] == user {
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				return 0, fmt.Errorf("userns remap: %s: bad line %q", file, sc.Text())
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("userns remap: no range for %q in %s", user, file)
}

// create makes the container. Every hardening flag is here, each with the
// reason for what it keeps.
func (p *Pool) create(ctx context.Context, c Container, cl Class) (string, error) {
	labels := map[string]string{LabelPool: p.opts.Name, LabelClass: cl.Name}
	pids := cl.pids()
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(p.opts.Network),
		Resources: container.Resources{
			NanoCPUs:   int64(cl.CPUs * 1e9),
			Memory:     cl.MemoryBytes,
			MemorySwap: cl.MemoryBytes, // no swap beyond the limit
			PidsLimit:  &pids,          // a fork bomb stops here
		},
		SecurityOpt: []string{"no-new-privileges"}, // no setuid binary gives root back
		LogConfig:   container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "2"}},
	}
	if p.opts.NixDir != "" {
		// The node's cache socket and nix.conf: read-only, the node's.
		hc.Binds = append(hc.Binds, p.opts.NixDir+":/run/gatewave-nix:ro")
	}
	if c.Disk != "" {
		hc.Binds = append(hc.Binds, c.Disk+":/workspace")
	} else {
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: c.Volume, Target: "/workspace"}}
	}
	p.mountRunDir(hc, c)
	if !p.opts.Unhardened {
		// sessiond starts as the container's root only to bind its
		// sockets in /run/gatewave and read its token; it then drops to
		// uid 1000 for good. That drop is all root does, so root keeps
		// just the two capabilities it needs for it. Nothing else in the
		// container ever has a capability: processes of uid 1000 have
		// none, and no-new-privileges stops setuid binaries.
		hc.CapDrop = []string{"ALL"}
		hc.CapAdd = []string{
			"CAP_SETUID", // setresuid(1000) in sessiond's privilege drop
			"CAP_SETGID", // setgroups/setresgid(1000) in the same drop
		}
		// Only the workspace, /tmp, the user's home and /nix are writable.
		hc.ReadonlyRootfs = true
		hc.Tmpfs = map[string]string{
			"/tmp":      fmt.Sprintf("rw,nosuid,nodev,size=%d,mode=1777", tmpfsSize(cl)),
			"/home/dev": fmt.Sprintf("rw,nosuid,nodev,size=%d,uid=%d,gid=%d,mode=0755", tmpfsSize(cl)/2, UserUID, UserUID),
			// The user's single-user Nix store (images/debian): memory, like
			// /tmp, but exec (Docker mounts a tmpfs noexec unless told).
			"/nix": fmt.Sprintf("rw,exec,nosuid,nodev,size=%d,uid=%d,gid=%d,mode=0755", tmpfsSize(cl), UserUID, UserUID),
		}
		hc.Ulimits = []*units.Ulimit{{Name: "nofile", Soft: 8192, Hard: 8192}}
	}
	cfg := &container.Config{Image: p.opts.Image, Labels: labels, Hostname: "workspace"}
	if !p.opts.Unhardened {
		// The user's processes stop a little under the pids limit, so a
		// fork bomb leaves sessiond room for its threads (see
		// sessiond/childenv.SetProcLimit).
		cfg.Env = []string{fmt.Sprintf("SESSIOND_USER_PROCS=%d", max(pids-32, 16))}
	}
	resp, err := p.docker.ContainerCreate(ctx, cfg, hc, nil, nil, c.Name)
	if err != nil {
		return "", err
	}
	if err := p.deliverRunFiles(ctx, resp.ID, c); err != nil {
		return "", err
	}
	return resp.ID, nil
}

// tmpfsSize bounds /tmp (it is memory, charged to the container): a
// quarter of the memory limit, at least 64 MiB.
func tmpfsSize(cl Class) int64 {
	n := cl.MemoryBytes / 4
	if n < 64*mib {
		n = 64 * mib
	}
	return n
}

// stop stops the container (sessiond gets SIGTERM, then SIGKILL), so its
// workspace no longer changes while it is saved.
func (p *Pool) stop(ctx context.Context, c Container) {
	timeout := 5
	if err := p.docker.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &timeout}); err != nil && !isNotFound(err) {
		p.log.Warn("stop container", "container", c.Name, "err", err)
	}
}

// remove deletes the container, its workspace, its socket directory and
// its record.
func (p *Pool) remove(ctx context.Context, c Container) error {
	var errs []error
	if c.ID != "" {
		if err := p.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.Name, err))
		}
	}
	if c.Name != "" {
		if err := p.dropWorkspace(ctx, c); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(p.runDir(c.Name)); err != nil {
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			os.Remove(p.recordPath(c.Name))
		}
	}
	return errors.Join(errs...)
}

// removeUnknown removes this pool's containers that are not in the pool's
// map (nothing recorded them: never claimed, so no user's work).
func (p *Pool) removeUnknown(ctx context.Context) error {
	list, err := p.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelPool+"="+p.opts.Name))})
	if err != nil {
		return fmt.Errorf("list pool containers: %w", err)
	}
	var errs []error
	for _, s := range list {
		if _, ok := p.Get(s.ID); ok {
			continue
		}
		name := trimSlash(s.Names)
		if rec, ok := p.readRecord(name); ok && rec.Owner != "" {
			continue // someone's work: the next nodegw saves it
		}
		if err := p.remove(ctx, Container{ID: s.ID, Name: name, Volume: name + "-ws", Disk: p.diskMount(name)}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Pool) createVolume(ctx context.Context, name, class string) (string, error) {
	vol, err := p.docker.VolumeCreate(ctx, volume.CreateOptions{Name: name + "-ws", Labels: map[string]string{LabelPool: p.opts.Name, LabelClass: class}})
	if err != nil {
		return "", fmt.Errorf("create volume: %w", err)
	}
	return vol.Name, nil
}

func trimSlash(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return strings.TrimPrefix(names[0], "/")
}

func isNotFound(err error) bool {
	return err != nil && cerrdefs.IsNotFound(err)
}
