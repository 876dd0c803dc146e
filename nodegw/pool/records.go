package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// record is what the node remembers of one container, in its own state
// directory (never in anything the container can reach): which container
// it is, its token, and whose work is in it. Adoption trusts only this.
type record struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Class  string `json:"class"`
	Token  string `json:"token"`
	Owner  string `json:"owner,omitempty"`
	Disk   string `json:"disk,omitempty"`
	Volume string `json:"volume,omitempty"`
	// DiskBytes is the workspace's size (0: no quota).
	DiskBytes int64 `json:"disk_bytes,omitempty"`
}

func (p *Pool) recordPath(name string) string {
	return filepath.Join(p.opts.StateDir, "records", suffix(name)+".json")
}

func (p *Pool) writeRecord(c Container) error {
	b, err := json.Marshal(record{ID: c.ID, Name: c.Name, Class: c.Class, Token: c.Token, Owner: c.Owner, Disk: c.Disk, Volume: c.Volume, DiskBytes: c.DiskBytes})
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(p.recordPath(c.Name), b); err != nil {
		return fmt.Errorf("record %s: %w", c.Name, err)
	}
	return nil
}

// WriteFileAtomic replaces path with b durably: a temp file, fsynced,
// renamed over path, and the directory fsynced, so that after a crash or
// power loss the file is either the old or the new one, never torn.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (p *Pool) readRecord(name string) (record, bool) {
	var r record
	b, err := os.ReadFile(p.recordPath(name))
	if err != nil || json.Unmarshal(b, &r) != nil || r.Name != name {
		return r, false
	}
	return r, true
}

// adopt takes over this pool's containers from an earlier nodegw, by the
// node's own records: running, answering ones come back idle or claimed;
// stopped or silent ones that held someone's work are recovered (saved
// from their disk, then removed); the rest are removed. A record whose
// container is gone but whose disk remains is recovered too.
func (p *Pool) adopt(ctx context.Context) error {
	p.cleanSavers(ctx)
	list, err := p.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelPool+"="+p.opts.Name))})
	if err != nil {
		return fmt.Errorf("list pool containers: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range list {
		name := trimSlash(s.Names)
		seen[name] = true
		rec, ok := p.readRecord(name)
		if !ok && p.opts.Claimed != nil {
			if owner, claimed := p.opts.Claimed(s.ID); claimed {
				p.log.Warn("a claimed container from an older nodegw: saving it from its volume", "container", name)
				p.adoptOne(ctx, record{ID: s.ID, Name: name, Class: s.Labels[LabelClass], Owner: owner, Volume: name + "-ws"}, false)
				continue
			}
		}
		if !ok || rec.ID != s.ID {
			p.log.Info("removing a container the node has no record of", "container", name)
			if err := p.remove(ctx, Container{ID: s.ID, Name: name, Volume: name + "-ws"}); err != nil {
				p.log.Warn("remove unknown container", "container", name, "err", err)
			}
			continue
		}
		p.adoptOne(ctx, rec, s.State == "running")
	}
	// Records without a container: removed behind the node's back (or a
	// crash between create and record). Their disk may hold work.
	ents, _ := os.ReadDir(filepath.Join(p.opts.StateDir, "records"))
	for _, e := range ents {
		sfx, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		var rec record
		b, err := os.ReadFile(filepath.Join(p.opts.StateDir, "records", e.Name()))
		if err != nil || json.Unmarshal(b, &rec) != nil || rec.Name == "" || suffix(rec.Name) != sfx ||
			!strings.HasPrefix(rec.Name, p.opts.Name+"-") || seen[rec.Name] {
			continue
		}
		p.adoptOne(ctx, rec, false)
	}
	p.changed()
	return nil
}

func (p *Pool) adoptOne(ctx context.Context, rec record, running bool) {
	c := Container{ID: rec.ID, Name: rec.Name, Class: rec.Class, Token: rec.Token, Owner: rec.Owner, Disk: rec.Disk, Volume: rec.Volume, DiskBytes: rec.DiskBytes}
	if c.Disk != "" {
		if _, err := p.ensureDisk(ctx, c.Name); err != nil {
			p.log.Error("workspace disk of an adopted container", "container", c.Name, "err", err)
		}
	}
	healthy := running && p.probe(ctx, c) == nil
	e := &entry{Container: c}
	switch {
	case healthy && c.Owner != "":
		p.setState(e, Claimed)
	case healthy:
		p.setState(e, Idle)
	case c.Owner != "":
		p.setState(e, Recovering)
	default:
		p.log.Info("removing a stale container", "container", c.Name)
		if err := p.remove(ctx, c); err != nil {
			p.log.Warn("remove stale container", "container", c.Name, "err", err)
		}
		return
	}
	p.mu.Lock()
	p.containers[c.ID] = e
	p.mu.Unlock()
	p.log.Info("adopted container", "container", c.Name, "state", e.State, "owner", c.Owner)
	if e.State == Recovering {
		p.retire(e.Container, "found stopped or silent after a nodegw restart")
	}
}
