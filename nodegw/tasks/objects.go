package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"

	"golang.org/x/sys/unix"

	"gatewave.dev/shared/fleetproto"
)

// httpErr is err without the request's URL: a presigned URL carries its
// signature and is never logged or reported.
func httpErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// fetchInputs downloads every input into inDir (a directory only the
// node writes; the container sees it read-only).
func (r *Runner) fetchInputs(ctx context.Context, inputs []fleetproto.TaskObject, inDir string) error {
	if err := os.Mkdir(inDir, 0o755); err != nil {
		return fmt.Errorf("in dir: %w", err)
	}
	root, err := unix.Open(inDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("in dir: %w", err)
	}
	defer unix.Close(root)
	for _, in := range inputs {
		if err := r.fetchInput(ctx, root, in); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
	return nil
}

func (r *Runner) fetchInput(ctx context.Context, root int, in fleetproto.TaskObject) error {
	dir, base := path.Split(in.Path)
	dfd, err := mkdirsBeneath(root, path.Clean("/" + dir)[1:])
	if err != nil {
		return failf("input %q: %v", in.Path, err)
	}
	defer closeIf(dfd, root)
	fd, err := unix.Openat(dfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return failf("input %q: %v", in.Path, err)
	}
	f := os.NewFile(uintptr(fd), in.Path)
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
	if err != nil {
		return failf("input %q: %v", in.Path, httpErr(err))
	}
	resp, err := r.opts.HTTP.Do(req)
	if err != nil {
		return failf("input %q: GET: %v", in.Path, httpErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return failf("input %q: GET answered %s", in.Path, resp.Status)
	}
	limit := r.opts.MaxInputBytes
	if resp.ContentLength > limit {
		return failf("input %q: %d bytes, over the limit of %d bytes", in.Path, resp.ContentLength, limit)
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return failf("input %q: download: %v", in.Path, httpErr(err))
	}
	if n > limit {
		return failf("input %q: over the limit of %d bytes", in.Path, limit)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("input %q: %w", in.Path, err)
	}
	return nil
}

// openArtifact opens p beneath outDir without following any symlink on
// the way, and requires a regular file. The container made everything
// under outDir: nothing there is trusted.
func openArtifact(outDir, p string) (*os.File, int64, error) {
	root, err := unix.Open(outDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("out dir: %w", err)
	}
	defer unix.Close(root)
	// O_NONBLOCK: a FIFO must not hang the node.
	fd, err := unix.Openat2(root, p, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: resolveFlags,
	})
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, 0, failf("artifact %q: the task did not write it (no such file in /out)", p)
	case errors.Is(err, unix.ELOOP):
		return nil, 0, failf("artifact %q: is a symlink or under one; artifacts must be regular files written in /out", p)
	case errors.Is(err, unix.EXDEV):
		return nil, 0, failf("artifact %q: leaves /out", p)
	case err != nil:
		return nil, 0, failf("artifact %q: %v", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("artifact %q: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, failf("artifact %q: is not a regular file (%s)", p, st.Mode().Type())
	}
	return f, st.Size(), nil
}

// upload PUTs every artifact to its presigned URL and returns their
// sizes. All of them are checked before the first byte leaves.
func (r *Runner) upload(ctx context.Context, arts []fleetproto.TaskObject, outDir string) (map[string]int64, error) {
	type open struct {
		obj  fleetproto.TaskObject
		f    *os.File
		size int64
	}
	var files []open
	defer func() {
		for _, o := range files {
			o.f.Close()
		}
	}()
	for _, a := range arts {
		f, size, err := openArtifact(outDir, a.Path)
		if err != nil {
			return nil, err
		}
		files = append(files, open{a, f, size})
		// The size is the open file's (fstat): a sparse file is as big as
		// it says, and the upload sends no more than this.
		if size > r.opts.MaxArtifactBytes {
			return nil, failf("artifact %q: %d bytes, over the limit of %d bytes", a.Path, size, r.opts.MaxArtifactBytes)
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].obj.Path < files[j].obj.Path })
	sizes := map[string]int64{}
	for _, o := range files {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, o.obj.URL, io.LimitReader(o.f, o.size))
		if err != nil {
			return nil, failf("artifact %q: %v", o.obj.Path, httpErr(err))
		}
		req.ContentLength = o.size
		if o.size == 0 {
			req.Body = http.NoBody
		}
		resp, err := r.opts.HTTP.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, failf("artifact %q: PUT: %v", o.obj.Path, httpErr(err))
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, failf("artifact %q: PUT answered %s", o.obj.Path, resp.Status)
		}
		sizes[o.obj.Path] = o.size
	}
	return sizes, nil
}
