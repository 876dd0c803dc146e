package git

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Hunk is one @@ section of a unified diff of one file.
type Hunk struct {
	// ID names the hunk by its content (the header and lines), so a
	// request to stage it finds it again only while the file still has it.
	ID       string `json:"id"`
	Header   string `json:"header"`
	OldStart int    `json:"oldStart"`
	OldLines int    `json:"oldLines"`
	NewStart int    `json:"newStart"`
	NewLines int    `json:"newLines"`
	// Lines are the hunk's lines as git wrote them: ' ' context, '-'
	// removed, '+' added, '\' "No newline at end of file".
	Lines []string `json:"lines"`
}

// FileDiff is a parsed `git diff` of one path.
type FileDiff struct {
	// Head is everything before the first hunk (diff --git, mode and
	// index lines, ---/+++), kept verbatim for building a patch.
	Head   string
	Binary bool
	Hunks  []Hunk
}

// ParseDiff reads the unified diff of one file (`git diff -- PATH`). An
// empty diff gives a FileDiff with no hunks.
func ParseDiff(diff string) FileDiff {
	var fd FileDiff
	lines := strings.SplitAfter(diff, "\n")
	i := 0
	var head strings.Builder
	for ; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "@@ ") {
			break
		}
		if strings.HasPrefix(lines[i], "Binary files ") || strings.HasPrefix(lines[i], "GIT binary patch") {
			fd.Binary = true
		}
		head.WriteString(lines[i])
	}
	fd.Head = head.String()
	var cur *Hunk
	for ; i < len(lines); i++ {
		l := strings.TrimSuffix(lines[i], "\n")
		if lines[i] == "" {
			continue
		}
		if strings.HasPrefix(l, "@@ ") {
			if cur != nil {
				fd.Hunks = append(fd.Hunks, finish(*cur))
			}
			h, ok := parseHeader(l)
			if !ok {
				cur = nil
				continue
			}
			cur = &h
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(l, "diff --git ") {
			// a second file: not ours
			break
		}
		cur.Lines = append(cur.Lines, l)
	}
	if cur != nil {
		fd.Hunks = append(fd.Hunks, finish(*cur))
	}
	return fd
}

func finish(h Hunk) Hunk {
	sum := sha256.New()
	sum.Write([]byte(h.Header))
	for _, l := range h.Lines {
		sum.Write([]byte{'\n'})
		sum.Write([]byte(l))
	}
	h.ID = hex.EncodeToString(sum.Sum(nil))[:16]
	return h
}

// parseHeader reads "@@ -a,b +c,d @@ section".
func parseHeader(l string) (Hunk, bool) {
	h := Hunk{Header: l}
	rest := strings.TrimPrefix(l, "@@ ")
	end := strings.Index(rest, " @@")
	if end < 0 {
		return h, false
	}
	parts := strings.Fields(rest[:end])
	if len(parts) != 2 || parts[0][0] != '-' || parts[1][0] != '+' {
		return h, false
	}
	var ok1, ok2 bool
	h.OldStart, h.OldLines, ok1 = parseRange(parts[0][1:])
	h.NewStart, h.NewLines, ok2 = parseRange(parts[1][1:])
	return h, ok1 && ok2
}

func parseRange(s string) (start, n int, ok bool) {
	a, b, has := strings.Cut(s, ",")
	start, err := strconv.Atoi(a)
	if err != nil {
		return 0, 0, false
	}
	n = 1
	if has {
		if n, err = strconv.Atoi(b); err != nil {
			return 0, 0, false
		}
	}
	return start, n, true
}

// Patch is a patch of one hunk of fd: the file's head and the hunk, which
// `git apply --cached --recount` applies to the index (or -R, removes).
func (fd FileDiff) Patch(h Hunk) string {
	var b strings.Builder
	b.WriteString(fd.Head)
	b.WriteString(h.Header)
	b.WriteByte('\n')
	for _, l := range h.Lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// Find returns the hunk with id.
func (fd FileDiff) Find(id string) (Hunk, bool) {
	for _, h := range fd.Hunks {
		if h.ID == id {
			return h, true
		}
	}
	return Hunk{}, false
}
