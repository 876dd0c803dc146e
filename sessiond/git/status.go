package git

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxStatusEntries caps the files one status lists.
const MaxStatusEntries = 5000

// File is one path in a status section.
type File struct {
	Path string `json:"path"`
	// Status is git's letter for the section: M modified, A added, D
	// deleted, R renamed, C copied, T type changed, ? untracked; for a
	// conflict the two letters (UU, AA, DU, UD, AU, UA, DD).
	Status string `json:"status"`
	// OrigPath is where a rename or copy came from.
	OrigPath string `json:"origPath,omitempty"`
}

// Status is the answer of GET /api/v1/git/status.
type Status struct {
	// Repo is false when the workspace holds no repository; nothing else
	// is set then.
	Repo bool `json:"repo"`
	// Branch is the current branch ("" when detached).
	Branch   string `json:"branch"`
	Detached bool   `json:"detached"`
	// Commit is HEAD ("" before the first commit).
	Commit string `json:"commit"`
	// Upstream is the branch's upstream ("origin/main"), Ahead and Behind
	// how far the branch is from it.
	Upstream string `json:"upstream,omitempty"`
	Ahead    int    `json:"ahead"`
	Behind   int    `json:"behind"`
	// Merging: a merge is in progress (MERGE_HEAD exists).
	Merging   bool   `json:"merging"`
	Staged    []File `json:"staged"`
	Changes   []File `json:"changes"`
	Untracked []File `json:"untracked"`
	Conflicts []File `json:"conflicts"`
	// Truncated: more than MaxStatusEntries files changed.
	Truncated bool `json:"truncated"`
}

// Status runs one `git status --porcelain=v2 -z --branch`.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	out, err := s.git(ctx, "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all", "--renames")
	if errors.Is(err, ErrNoRepo) {
		return &Status{Repo: false, Staged: []File{}, Changes: []File{}, Untracked: []File{}, Conflicts: []File{}}, nil
	}
	if err != nil {
		return nil, gitErr(err)
	}
	st := ParseStatus(out)
	if dir, err := s.gitDir(ctx); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "MERGE_HEAD")); err == nil {
			st.Merging = true
		}
	}
	return st, nil
}

// ParseStatus reads `git status --porcelain=v2 -z --branch` output.
func ParseStatus(out []byte) *Status {
	st := &Status{Repo: true, Staged: []File{}, Changes: []File{}, Untracked: []File{}, Conflicts: []File{}}
	n := 0
	add := func(list *[]File, f File) {
		if n >= MaxStatusEntries {
			st.Truncated = true
			return
		}
		n++
		*list = append(*list, f)
	}
	fields := bytes.Split(out, []byte{0})
	for i := 0; i < len(fields); i++ {
		line := string(fields[i])
		if line == "" {
			continue
		}
		switch line[0] {
		case '#':
			key, val, _ := strings.Cut(strings.TrimPrefix(line, "# "), " ")
			switch key {
			case "branch.oid":
				if val != "(initial)" {
					st.Commit = val
				}
			case "branch.head":
				if val == "(detached)" {
					st.Detached = true
				} else {
					st.Branch = val
				}
			case "branch.upstream":
				st.Upstream = val
			case "branch.ab":
				for _, f := range strings.Fields(val) {
					v, _ := strconv.Atoi(f[1:])
					if f[0] == '+' {
						st.Ahead = v
					} else {
						st.Behind = v
					}
				}
			}
		case '1', '2':
			// 1 XY sub mH mI mW hH hI path
			// 2 XY sub mH mI mW hH hI Xscore path NUL origPath
			nf := 9
			if line[0] == '2' {
				nf = 10
			}
			parts := strings.SplitN(line, " ", nf)
			if len(parts) < nf {
				continue
			}
			xy, p := parts[1], parts[nf-1]
			orig := ""
			if line[0] == '2' && i+1 < len(fields) {
				i++
				orig = string(fields[i])
			}
			if xy[0] != '.' {
				f := File{Path: p, Status: xy[:1]}
				if xy[0] == 'R' || xy[0] == 'C' {
					f.OrigPath = orig
				}
				add(&st.Staged, f)
			}
			if xy[1] != '.' {
				add(&st.Changes, File{Path: p, Status: xy[1:]})
			}
		case 'u':
			// u XY sub m1 m2 m3 mW h1 h2 h3 path
			parts := strings.SplitN(line, " ", 11)
			if len(parts) == 11 {
				add(&st.Conflicts, File{Path: parts[10], Status: parts[1]})
			}
		case '?':
			add(&st.Untracked, File{Path: line[2:], Status: "?"})
		}
	}
	return st
}
