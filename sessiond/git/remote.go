package git

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"gatewave.dev/shared/apierr"
)

// RemoteRequest is the body of POST /api/v1/git/push and /pull.
type RemoteRequest struct {
	// Remote; empty means the branch's upstream remote, else "origin".
	Remote string `json:"remote"`
	// Branch; empty means the current branch.
	Branch string `json:"branch"`
}

// MergeRequest is the body of POST /api/v1/git/merge.
type MergeRequest struct {
	// Ref is a ref already in the repository ("refs/remotes/origin/main").
	Ref string `json:"ref"`
}

// SyncResult is the answer of push, pull and merge: git's output, and the
// files a pull or merge left in conflict (a conflict is not an error).
type SyncResult struct {
	Output    string   `json:"output"`
	Conflicts []string `json:"conflicts"`
}

// remoteAndBranch fills the defaults of req and checks both names.
func (s *Service) remoteAndBranch(ctx context.Context, req RemoteRequest) (string, string, error) {
	branch := req.Branch
	if branch == "" {
		out, err := s.git(ctx, "symbolic-ref", "-q", "--short", "HEAD")
		if err != nil {
			return "", "", apierr.Conflict("HEAD is detached: switch to a branch first")
		}
		branch = strings.TrimSpace(string(out))
	}
	if err := s.checkBranch(ctx, branch); err != nil {
		return "", "", err
	}
	remote := req.Remote
	if remote == "" {
		out, _ := s.git(ctx, "config", "--get", "branch."+branch+".remote")
		remote = strings.TrimSpace(string(out))
		if remote == "" || remote == "." {
			remote = "origin"
		}
	}
	if err := checkValue("remote", remote); err != nil {
		return "", "", err
	}
	out, err := s.git(ctx, "remote")
	if err != nil {
		return "", "", gitErr(err)
	}
	found := false
	for _, r := range strings.Fields(string(out)) {
		found = found || r == remote
	}
	if !found {
		return "", "", apierr.NotFound("the repository has no remote named %q", remote)
	}
	return remote, branch, nil
}

// Push pushes branch to the same name on remote, setting it as the
// branch's upstream when it has none. A non-fast-forward is 409 rejected.
func (s *Service) Push(ctx context.Context, req RemoteRequest) (*SyncResult, error) {
	remote, branch, err := s.remoteAndBranch(ctx, req)
	if err != nil {
		return nil, err
	}
	if !s.refExists(ctx, "refs/heads/"+branch) {
		return nil, apierr.NotFound("no local branch %q to push", branch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	args := []string{"push", "--porcelain"}
	if up, _ := s.git(ctx, "config", "--get", "branch."+branch+".merge"); len(bytes.TrimSpace(up)) == 0 {
		args = append(args, "--set-upstream")
	}
	ref := "refs/heads/" + branch
	out, err := s.exec(ctx, run{args: append(args, "--", remote, ref+":"+ref), timeout: s.o.RemoteTimeout, combined: true})
	var ce *CmdError
	if errors.As(err, &ce) {
		o := ce.Output()
		if strings.Contains(o, "[rejected]") || strings.Contains(o, "non-fast-forward") || strings.Contains(o, "fetch first") {
			return nil, apierr.New(409, "rejected", "the remote has commits this branch lacks: pull first, then push").WithDetails(map[string]string{"output": o})
		}
		return nil, apierr.New(502, "remote_failed", "git push %s %s: %s", remote, branch, o).WithDetails(map[string]string{"output": o})
	}
	if err != nil {
		return nil, err
	}
	return &SyncResult{Output: strings.TrimSpace(string(out)), Conflicts: []string{}}, nil
}

// Pull fetches branch from remote and merges it into the current branch.
func (s *Service) Pull(ctx context.Context, req RemoteRequest) (*SyncResult, error) {
	remote, branch, err := s.remoteAndBranch(ctx, req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.exec(ctx, run{args: []string{"pull", "--no-rebase", "--no-edit", "--", remote, "refs/heads/" + branch}, timeout: s.o.RemoteTimeout, combined: true})
	return s.afterMerge(ctx, "pull", out, err)
}

// Merge merges a ref already in the repository into the current branch
// (the cloud's pull: the node fetched, then this).
func (s *Service) Merge(ctx context.Context, req MergeRequest) (*SyncResult, error) {
	if err := checkValue("ref", req.Ref); err != nil {
		return nil, err
	}
	if _, err := s.git(ctx, "rev-parse", "-q", "--verify", "--end-of-options", req.Ref+"^{commit}"); err != nil {
		if ae, ok := err.(*apierr.Error); ok {
			return nil, ae
		}
		return nil, apierr.NotFound("%q is not a commit in the repository", req.Ref)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.exec(ctx, run{args: []string{"merge", "--no-edit", "--end-of-options", req.Ref}, combined: true})
	return s.afterMerge(ctx, "merge", out, err)
}

// afterMerge answers a pull or merge: conflicts it left are a result,
// any other failure an error.
func (s *Service) afterMerge(ctx context.Context, op string, out []byte, err error) (*SyncResult, error) {
	conflicts, cerr := s.conflicted(ctx)
	if cerr != nil {
		return nil, cerr
	}
	var ce *CmdError
	if errors.As(err, &ce) {
		if len(conflicts) > 0 {
			return &SyncResult{Output: ce.Output(), Conflicts: conflicts}, nil
		}
		e := gitErr(err)
		if ae, ok := e.(*apierr.Error); ok && ae.Code == "git_failed" && op == "pull" {
			return nil, apierr.New(502, "remote_failed", "git pull: %s", ce.Output()).WithDetails(map[string]string{"output": ce.Output()})
		}
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	return &SyncResult{Output: strings.TrimSpace(string(out)), Conflicts: conflicts}, nil
}

// conflicted lists the unmerged paths.
func (s *Service) conflicted(ctx context.Context) ([]string, error) {
	out, err := s.git(ctx, "diff", "--name-only", "--diff-filter=U", "-z")
	if err != nil {
		return nil, gitErr(err)
	}
	list := []string{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			list = append(list, p)
		}
	}
	return list, nil
}
