package git

import (
	"context"
	"strings"

	"gatewave.dev/shared/apierr"
)

// Branch is one local or remote-tracking branch.
type Branch struct {
	// Name is "main" for a local branch, "origin/main" for a remote one.
	Name     string `json:"name"`
	Commit   string `json:"commit"`
	Subject  string `json:"subject"`
	Remote   bool   `json:"remote"`
	Current  bool   `json:"current"`
	Upstream string `json:"upstream,omitempty"`
	// Track is git's "[ahead 1, behind 2]" (without brackets), or "gone".
	Track string `json:"track,omitempty"`
}

// Branches lists local branches, then remote-tracking ones.
func (s *Service) Branches(ctx context.Context) ([]Branch, error) {
	out, err := s.git(ctx, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(HEAD)%00%(upstream:short)%00%(upstream:track,nobracket)%00%(subject)", "refs/heads", "refs/remotes")
	if err != nil {
		return nil, gitErr(err)
	}
	bs := []Branch{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 6 {
			continue
		}
		b := Branch{Commit: f[1], Current: f[2] == "*", Upstream: f[3], Track: f[4], Subject: f[5]}
		if n, ok := strings.CutPrefix(f[0], "refs/heads/"); ok {
			b.Name = n
		} else if n, ok := strings.CutPrefix(f[0], "refs/remotes/"); ok {
			if strings.HasSuffix(n, "/HEAD") {
				continue
			}
			b.Name, b.Remote = n, true
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// checkBranch refuses a name git would not take as a branch, or could read
// as an option or a refspec.
func (s *Service) checkBranch(ctx context.Context, name string) error {
	if err := checkValue("branch name", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "+") || strings.Contains(name, ":") {
		return apierr.BadRequest("branch name %q is not valid", name)
	}
	if _, err := s.git(ctx, "check-ref-format", "--branch", name); err != nil {
		if _, ok := err.(*apierr.Error); ok {
			return err
		}
		return apierr.BadRequest("branch name %q is not valid", name)
	}
	return nil
}

// refExists reports whether ref (full name) exists.
func (s *Service) refExists(ctx context.Context, ref string) bool {
	_, err := s.git(ctx, "rev-parse", "-q", "--verify", "--end-of-options", ref)
	return err == nil
}

// CreateBranch creates name at from (HEAD when empty) and, if checkout,
// switches to it.
func (s *Service) CreateBranch(ctx context.Context, name, from string, checkout bool) error {
	if err := s.checkBranch(ctx, name); err != nil {
		return err
	}
	start := "HEAD"
	if from != "" {
		if err := checkValue("start point", from); err != nil {
			return err
		}
		out, err := s.git(ctx, "rev-parse", "-q", "--verify", "--end-of-options", from+"^{commit}")
		if err != nil {
			return apierr.BadRequest("start point %q is not a commit", from)
		}
		start = strings.TrimSpace(string(out))
	}
	if s.refExists(ctx, "refs/heads/"+name) {
		return apierr.Conflict("a branch named %q already exists", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if checkout {
		_, err = s.exec(ctx, run{args: []string{"switch", "-c", name, start}})
	} else {
		_, err = s.exec(ctx, run{args: []string{"branch", name, start}})
	}
	return gitErr(err)
}

// Switch checks out a local branch, or for a remote-tracking one
// ("origin/x") a new local branch tracking it. git refuses when local
// changes would be overwritten (409 local_changes with its message).
func (s *Service) Switch(ctx context.Context, name string) error {
	if err := checkValue("branch", name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch {
	case s.refExists(ctx, "refs/heads/"+name):
		if err := s.checkBranch(ctx, name); err != nil {
			return err
		}
		_, err = s.exec(ctx, run{args: []string{"switch", "--no-guess", name}})
	case s.refExists(ctx, "refs/remotes/"+name):
		_, local, ok := strings.Cut(name, "/")
		if !ok {
			return apierr.BadRequest("remote branch %q has no remote name", name)
		}
		if err := s.checkBranch(ctx, local); err != nil {
			return err
		}
		if s.refExists(ctx, "refs/heads/"+local) {
			_, err = s.exec(ctx, run{args: []string{"switch", "--no-guess", local}})
		} else {
			_, err = s.exec(ctx, run{args: []string{"switch", "-c", local, "--track", "refs/remotes/" + name}})
		}
	default:
		return apierr.NotFound("no branch named %q", name)
	}
	return gitErr(err)
}
