package git

import (
	"context"
	"strconv"
	"strings"

	"gatewave.dev/shared/apierr"
)

// Commit is one entry of a log.
type Commit struct {
	Hash    string   `json:"hash"`
	Short   string   `json:"short"`
	Author  string   `json:"author"`
	Email   string   `json:"email"`
	Date    string   `json:"date"` // ISO 8601, the author's
	Subject string   `json:"subject"`
	Parents []string `json:"parents"`
}

// LogPage is the answer of GET /api/v1/git/log.
type LogPage struct {
	Commits []Commit `json:"commits"`
	// More: there are older commits (ask again with skip+len(commits)).
	More bool `json:"more"`
}

// MaxLogLimit caps one page.
const MaxLogLimit = 500

// Log lists commits of HEAD, newest first, or those touching path
// (following renames).
func (s *Service) Log(ctx context.Context, path string, skip, limit int) (*LogPage, error) {
	if limit <= 0 || limit > MaxLogLimit {
		return nil, apierr.BadRequest("limit must be from 1 to %d", MaxLogLimit)
	}
	if skip < 0 {
		return nil, apierr.BadRequest("skip must not be negative")
	}
	page := &LogPage{Commits: []Commit{}}
	if !s.hasHead(ctx) {
		return page, nil
	}
	args := []string{"log", "--format=%H%x1f%h%x1f%an%x1f%ae%x1f%aI%x1f%P%x1f%s%x1e",
		"--skip=" + strconv.Itoa(skip), "-n", strconv.Itoa(limit + 1), "HEAD"}
	if path != "" {
		p, err := cleanPath(path)
		if err != nil {
			return nil, err
		}
		args = append(args, "--follow", "--", p)
	} else {
		args = append(args, "--")
	}
	out, err := s.git(ctx, args...)
	if err != nil {
		return nil, gitErr(err)
	}
	for _, rec := range strings.Split(string(out), "\x1e") {
		f := strings.Split(strings.TrimLeft(rec, "\n"), "\x1f")
		if len(f) != 7 {
			continue
		}
		page.Commits = append(page.Commits, Commit{Hash: f[0], Short: f[1], Author: f[2], Email: f[3], Date: f[4],
			Parents: strings.Fields(f[5]), Subject: f[6]})
	}
	if len(page.Commits) > limit {
		page.Commits, page.More = page.Commits[:limit], true
	}
	return page, nil
}

// Blame is who last changed one line.
type Blame struct {
	Line    int    `json:"line"`
	Hash    string `json:"hash"`
	Author  string `json:"author"`
	Email   string `json:"email"`
	Date    string `json:"date"` // Unix seconds as ISO 8601 UTC
	Time    int64  `json:"time"` // Unix seconds
	Summary string `json:"summary"`
	// Uncommitted: the line is changed in the working tree.
	Uncommitted bool `json:"uncommitted"`
}

// BlameLine runs `git blame -L n,n --porcelain` on the working tree's file.
func (s *Service) BlameLine(ctx context.Context, path string, line int) (*Blame, error) {
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	if line < 1 {
		return nil, apierr.BadRequest("line must be 1 or more")
	}
	n := strconv.Itoa(line)
	out, err := s.git(ctx, "blame", "--porcelain", "-L", n+","+n, "--", p)
	if err != nil {
		if ce, ok := err.(*CmdError); ok {
			if strings.Contains(ce.Stderr, "has only") {
				return nil, apierr.BadRequest("%s has no line %d", p, line)
			}
			if strings.Contains(ce.Stderr, "no such path") {
				return nil, apierr.NotFound("%s is not in the repository", p)
			}
		}
		return nil, gitErr(err)
	}
	return ParseBlame(string(out), line), nil
}

// ParseBlame reads the porcelain blame of one line.
func ParseBlame(out string, line int) *Blame {
	b := &Blame{Line: line}
	for i, l := range strings.Split(out, "\n") {
		if i == 0 {
			b.Hash, _, _ = strings.Cut(l, " ")
			b.Uncommitted = strings.Trim(b.Hash, "0") == ""
			continue
		}
		if strings.HasPrefix(l, "\t") {
			break
		}
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "author":
			b.Author = v
		case "author-mail":
			b.Email = strings.Trim(v, "<>")
		case "author-time":
			b.Time, _ = strconv.ParseInt(v, 10, 64)
		case "summary":
			b.Summary = v
		}
	}
	if b.Time > 0 {
		b.Date = isoUTC(b.Time)
	}
	return b
}
