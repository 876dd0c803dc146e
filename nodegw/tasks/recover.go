package tasks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"gatewave.dev/shared/fleetproto"
)

// Recover cleans up after a previous run of the node (the same state
// directory: another node's containers on the same dockerd are left
// alone) that ended without its tasks (a crash, a kill, a lost power supply): their containers are
// removed, their directories deleted, and each attempt is reported lost,
// so the cloud runs it again elsewhere or here. Call it once at start,
// after Report can reach the cloud (reports made before the link is up
// are sent when it is), before any task runs.
func (r *Runner) Recover(ctx context.Context) error {
	left := map[key]bool{}
	list, err := r.opts.Docker.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelRunner+"="+r.instance))})
	if err != nil {
		return fmt.Errorf("tasks: list leftover containers: %w", err)
	}
	for _, c := range list {
		id, err1 := strconv.ParseInt(c.Labels[LabelTask], 10, 64)
		attempt, err2 := strconv.Atoi(c.Labels[LabelTaskAttempt])
		if err := r.opts.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("tasks: remove leftover container %s: %w", c.ID[:12], err)
		}
		if err1 == nil && err2 == nil && id > 0 && attempt > 0 {
			left[key{id, attempt}] = true
		}
	}
	dir := filepath.Join(r.opts.StateDir, "tasks")
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("tasks: leftover dirs: %w", err)
	}
	for _, e := range ents {
		idS, attS, ok := strings.Cut(e.Name(), "-")
		id, err1 := strconv.ParseInt(idS, 10, 64)
		attempt, err2 := strconv.Atoi(attS)
		dropOut(filepath.Join(dir, e.Name(), "out"))
		removeTree(filepath.Join(dir, e.Name()))
		if ok && err1 == nil && err2 == nil && id > 0 && attempt > 0 {
			left[key{id, attempt}] = true
		}
	}
	for k := range left {
		r.log.Warn("task left by a previous run of the node: reported lost", "task", k.id, "attempt", k.attempt)
		r.opts.Report(&fleetproto.TaskUpdate{ID: k.id, Attempt: k.attempt, State: fleetproto.TaskLost,
			Detail: "the node restarted while the task ran"})
	}
	return nil
}
