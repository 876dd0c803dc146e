package tasks

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// DefaultKeepImages is how many environment images a node keeps.
const DefaultKeepImages = 32

// usedDir records when each environment image was last used, one empty
// file per image whose modification time is that moment.
func (r *Runner) usedDir() string { return filepath.Join(r.opts.StateDir, "images") }

func usedFile(dir, tag string) string {
	return filepath.Join(dir, strings.TrimPrefix(tag, "gatewave-env:"))
}

// touchImage records that tag was used now.
func (r *Runner) touchImage(tag string) {
	dir := r.usedDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.log.Warn("record image use", "err", err)
		return
	}
	f := usedFile(dir, tag)
	now := time.Now()
	err := os.Chtimes(f, now, now)
	if os.IsNotExist(err) {
		err = os.WriteFile(f, nil, 0o600)
	}
	if err != nil {
		r.log.Warn("record image use", "err", err)
	}
}

// pruneImages removes the least recently used environment images of this
// node beyond Options.KeepImages, never one a running task uses (dockerd refuses to
// remove an image a container holds, too), so a node's disk does not fill
// with the environments of every commit it ever ran.
func (r *Runner) pruneImages(ctx context.Context) {
	list, err := r.opts.Docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "gatewave-env"))})
	if err != nil {
		r.log.Warn("list environment images", "err", err)
		return
	}
	type img struct {
		tag  string
		used time.Time
	}
	inUse := map[string]bool{}
	r.mu.Lock()
	for _, t := range r.running {
		inUse[t.image] = true
	}
	r.mu.Unlock()
	var imgs []img
	for _, im := range list {
		for _, tag := range im.RepoTags {
			if !strings.HasPrefix(tag, "gatewave-env:") || inUse[tag] {
				continue
			}
			// Only images this node recorded using: another node's or a
			// person's on the same dockerd are not this node's to remove.
			st, err := os.Stat(usedFile(r.usedDir(), tag))
			if err != nil {
				continue
			}
			imgs = append(imgs, img{tag, st.ModTime()})
		}
	}
	keep := r.opts.KeepImages - len(inUse)
	if len(imgs) <= keep {
		return
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].used.After(imgs[j].used) })
	for _, im := range imgs[max(keep, 0):] {
		if _, err := r.opts.Docker.ImageRemove(ctx, im.tag, image.RemoveOptions{PruneChildren: true}); err != nil {
			r.log.Warn("remove environment image", "image", im.tag, "err", err)
			continue
		}
		os.Remove(usedFile(r.usedDir(), im.tag))
		r.log.Info("removed an environment image unused the longest", "image", im.tag, "last_used", im.used)
	}
}
