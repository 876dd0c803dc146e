package search

import (
	"bytes"
	"errors"
	"net/http"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

// FileRef names a file as a search saw it.
type FileRef struct {
	Path string `json:"path"`
	// Sum is FileMatches.Sum: the replace applies only while the file still
	// has exactly these bytes.
	Sum string `json:"sha256"`
}

// Replace statuses.
const (
	StatusReplaced  = "replaced"  // written; Sum is the new content's
	StatusChanged   = "changed"   // the file changed since the search: not touched
	StatusUnchanged = "unchanged" // no match left: not touched
	StatusFailed    = "failed"    // see Error; not touched
)

// ReplaceResult is the outcome for one file.
type ReplaceResult struct {
	Path         string `json:"path"`
	Status       string `json:"status"`
	Replacements int    `json:"replacements"`
	Sum          string `json:"sha256,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Replace replaces every match of q in each file with repl (for a regex,
// $1 and ${name} expand), one file at a time, each through the
// workspace's conflict-safe write: the file is written (atomically, by
// rename) only if it still has the content the search saw (f.Sum), and is
// otherwise reported as changed and left alone.
func Replace(ws *workspace.Workspace, q Query, repl string, files []FileRef) ([]ReplaceResult, error) {
	m, err := compile(q)
	if err != nil {
		return nil, err
	}
	out := make([]ReplaceResult, 0, len(files))
	for _, f := range files {
		out = append(out, replaceOne(ws, m, repl, f))
	}
	return out, nil
}

func replaceOne(ws *workspace.Workspace, m *matcher, repl string, ref FileRef) ReplaceResult {
	res := ReplaceResult{Path: ref.Path}
	fail := func(status string, err error) ReplaceResult {
		res.Status = status
		if err != nil {
			res.Error = err.Error()
		}
		return res
	}
	rel, err := workspace.Clean(ref.Path)
	if err != nil {
		return fail(StatusFailed, err)
	}
	fi, err := ws.Stat(rel)
	if err != nil {
		return fail(StatusFailed, err)
	}
	if fi.Type != "file" {
		return fail(StatusFailed, apierr.BadRequest("replace %q: not a regular file", rel))
	}
	if fi.Size > DefaultMaxFileSize {
		return fail(StatusFailed, apierr.BadRequest("replace %q: over %d bytes", rel, DefaultMaxFileSize))
	}
	f, err := ws.Read(rel)
	if err != nil {
		return fail(StatusFailed, err)
	}
	if f.Reader != nil {
		f.Reader.Close()
		return fail(StatusFailed, apierr.BadRequest("replace %q: too large", rel))
	}
	if f.Sum != ref.Sum {
		return fail(StatusChanged, nil)
	}
	if bytes.IndexByte(f.Data[:min(len(f.Data), binaryProbe)], 0) >= 0 {
		return fail(StatusFailed, apierr.BadRequest("replace %q: binary file", rel))
	}
	data, n := m.replaceAll(f.Data, repl)
	if n == 0 || bytes.Equal(data, f.Data) {
		return fail(StatusUnchanged, nil)
	}
	w, err := ws.Write(rel, bytes.NewReader(data), workspace.WriteOptions{IfMatch: workspace.ETag(ref.Sum)})
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Status == http.StatusPreconditionFailed {
			return fail(StatusChanged, nil)
		}
		return fail(StatusFailed, err)
	}
	res.Status = StatusReplaced
	res.Replacements = n
	res.Sum = w.Sum
	return res
}
