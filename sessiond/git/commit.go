package git

import (
	"context"
	"errors"
	"strings"

	"gatewave.dev/shared/apierr"
)

// CommitRequest is the body of POST /api/v1/git/commit.
type CommitRequest struct {
	Message string `json:"message"`
	// Amend replaces the last commit; an empty message then keeps its.
	Amend bool `json:"amend"`
}

// CommitResult is what a commit made.
type CommitResult struct {
	Commit  string `json:"commit"`
	Summary string `json:"summary"`
}

// Commit commits the index.
func (s *Service) Commit(ctx context.Context, req CommitRequest) (*CommitResult, error) {
	msg := strings.TrimSpace(req.Message)
	if msg == "" && !req.Amend {
		return nil, apierr.New(400, "empty_message", "a commit needs a message")
	}
	if strings.IndexByte(msg, 0) >= 0 {
		return nil, apierr.BadRequest("the commit message holds a NUL byte")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	args := []string{"commit", "--cleanup=whitespace"}
	if req.Amend {
		args = append(args, "--amend")
	}
	var r run
	if msg == "" {
		r = run{args: append(args, "--no-edit")}
	} else {
		r = run{args: append(args, "-F", "-"), stdin: strings.NewReader(msg + "\n")}
	}
	_, err := s.exec(ctx, r)
	var ce *CmdError
	if errors.As(err, &ce) {
		out := ce.Output()
		if strings.Contains(out, "nothing to commit") || strings.Contains(out, "nothing added to commit") || strings.Contains(out, "no changes added to commit") {
			return nil, apierr.New(409, "nothing_to_commit", "nothing is staged: stage the changes to commit first")
		}
	}
	if err != nil {
		return nil, gitErr(err)
	}
	out, err := s.git(ctx, "log", "-1", "--format=%H%x00%s")
	if err != nil {
		return nil, gitErr(err)
	}
	h, sum, _ := strings.Cut(strings.TrimSpace(string(out)), "\x00")
	return &CommitResult{Commit: h, Summary: sum}, nil
}
