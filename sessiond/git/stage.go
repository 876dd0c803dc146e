package git

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"gatewave.dev/shared/apierr"
)

// HunkRef names one hunk of one file's diff, by the ID Diff gave it.
type HunkRef struct {
	Path string `json:"path"`
	ID   string `json:"id"`
}

// Stage adds whole files (new, changed or deleted) to the index; staging
// a conflicted file marks it resolved.
func (s *Service) Stage(ctx context.Context, paths []string) error {
	paths, err := cleanPaths(paths)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.exec(ctx, run{args: append([]string{"add", "--all", "--"}, paths...)})
	return gitErr(err)
}

// Unstage puts the index entries of paths back to HEAD's (removes them
// from the index before the first commit); the working tree keeps them.
func (s *Service) Unstage(ctx context.Context, paths []string) error {
	paths, err := cleanPaths(paths)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.exec(ctx, run{args: append([]string{"reset", "-q", "--"}, paths...)})
	var ce *CmdError
	if errors.As(err, &ce) && ce.ExitCode == 1 && strings.TrimSpace(ce.Stderr) == "" {
		err = nil // reset says 1 when files stay modified
	}
	return gitErr(err)
}

// Discard throws away the working tree's changes of paths: a tracked file
// goes back to its index content, an untracked one is deleted.
func (s *Service) Discard(ctx context.Context, paths []string) error {
	paths, err := cleanPaths(paths)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var tracked []string
	for _, p := range paths {
		out, err := s.git(ctx, "ls-files", "-z", "--", p)
		if err != nil {
			return gitErr(err)
		}
		if len(out) > 0 {
			tracked = append(tracked, p)
			continue
		}
		// untracked: delete it, confined to the workspace
		if err := s.o.Workspace.Root().Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return apierr.Conflict("discard %s: %v", p, err)
		}
	}
	if len(tracked) > 0 {
		_, err = s.exec(ctx, run{args: append([]string{"checkout", "-q", "--"}, tracked...)})
		return gitErr(err)
	}
	return nil
}

// hunkOp applies one hunk of path's diff: staged=false stages a hunk of
// the working tree's changes, staged=true unstages a hunk of the index's,
// discard reverts a working-tree hunk in the file itself.
func (s *Service) hunkOp(ctx context.Context, ref HunkRef, staged, discard bool) error {
	path, err := cleanPath(ref.Path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fd, err := s.fileDiff(ctx, path, staged)
	if err != nil {
		return err
	}
	h, ok := fd.Find(ref.ID)
	if !ok {
		return apierr.New(409, "stale", "%s changed since its diff was shown: that hunk is no longer there (reload the diff)", path)
	}
	args := []string{"apply", "--recount", "--whitespace=nowarn"}
	switch {
	case discard:
		args = append(args, "-R")
	case staged:
		args = append(args, "--cached", "-R")
	default:
		args = append(args, "--cached")
	}
	_, err = s.exec(ctx, run{args: append(args, "-"), stdin: strings.NewReader(fd.Patch(h))})
	return gitErr(err)
}

// StageHunk stages one hunk of the working tree's changes.
func (s *Service) StageHunk(ctx context.Context, ref HunkRef) error {
	return s.hunkOp(ctx, ref, false, false)
}

// UnstageHunk takes one hunk of the staged changes out of the index.
func (s *Service) UnstageHunk(ctx context.Context, ref HunkRef) error {
	return s.hunkOp(ctx, ref, true, false)
}

// DiscardHunk reverts one hunk of the working tree's changes in the file.
func (s *Service) DiscardHunk(ctx context.Context, ref HunkRef) error {
	return s.hunkOp(ctx, ref, false, true)
}
