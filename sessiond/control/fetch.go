package control

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gatewave.dev/shared/savefmt"
)

// PathFetch is where the node brings the user's repo into the workspace
// for a pull in the cloud (the container has no network and never holds
// the git credential):
//
//	GET  /v1/fetch → {"have": [commits]}: the tips of the workspace's
//	     branches, tags and refs/remotes/origin/*, which the node leaves
//	     out of the pack it sends.
//	POST /v1/fetch, a resume stream (savefmt) of the repo's branches as
//	     refs/heads/NAME, a pack and its index → {"updated": [refs]}: the
//	     pack goes into .git/objects/pack and each branch becomes
//	     refs/remotes/origin/NAME. Nothing else in the workspace changes.
//
// The node also sends one branch with no pack after a push, so the
// workspace's origin/BRANCH shows what was pushed.
const PathFetch = "/v1/fetch"

// maxHave bounds the commits GET /v1/fetch reports.
const maxHave = 10000

// fetchRefRE is what a branch name in a fetch stream may look like
// (check-ref-format's characters; its rarer rules are checked below and
// by update-ref itself).
var fetchRefRE = regexp.MustCompile(`^refs/heads/[^\x00-\x20\x7f~^:?*\[\\]+$`)

func validFetchRef(ref string) bool {
	name := strings.TrimPrefix(ref, "refs/heads/")
	return fetchRefRE.MatchString(ref) && !strings.Contains(ref, "..") && !strings.Contains(ref, "@{") &&
		!strings.Contains(ref, "//") && !strings.HasSuffix(ref, "/") && !strings.HasSuffix(ref, ".") &&
		!strings.HasSuffix(ref, ".lock") && !strings.Contains(ref, "/.") && !strings.Contains(ref, ".lock/") &&
		!strings.HasPrefix(name, "-") && name != "HEAD"
}

// fetchGit runs git in the workspace as sessiond's user (this process),
// reading nothing but the workspace's own repository, with hooks off.
func (h *handler) fetchGit(ctx context.Context, root string, stdin io.Reader, args ...string) (string, error) {
	g := h.o.Snapshot.Git
	if g == "" {
		g = "git"
	}
	safe := []string{"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "gc.auto=0", "-c", "maintenance.auto=false"}
	cmd := exec.CommandContext(ctx, g, append(safe, args...)...)
	cmd.Dir = root
	env := h.o.Snapshot.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string(nil), env...), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
		"GIT_DIR="+filepath.Join(root, ".git"), "GIT_CEILING_DIRECTORIES="+filepath.Dir(root))
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// fetchRoot is the workspace, which must hold a repository of its own: a
// .git directory (not a symlink or a gitdir file leading elsewhere).
func (h *handler) fetchRoot() (string, error) {
	root, err := filepath.Abs(h.o.Snapshot.Root)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(filepath.Join(root, ".git"))
	if err != nil || !fi.IsDir() {
		return "", errors.New("the workspace has no git repository of its own (its .git is not a directory)")
	}
	return root, nil
}

func (h *handler) fetchHave(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	root, err := h.fetchRoot()
	if err != nil {
		fail(w, http.StatusConflict, "no_repo", err.Error())
		return
	}
	out, err := h.fetchGit(ctx, root, nil, "for-each-ref", "--format=%(objectname)", "refs/heads", "refs/tags", "refs/remotes/origin")
	if err != nil {
		fail(w, http.StatusUnprocessableEntity, "git_failed", err.Error())
		return
	}
	seen := map[string]bool{}
	have := []string{}
	for _, sha := range strings.Fields(out) {
		if savefmt.ValidCommit(sha) && !seen[sha] && len(have) < maxHave {
			seen[sha] = true
			have = append(have, sha)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string][]string{"have": have})
}

func (h *handler) fetch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	root, err := h.fetchRoot()
	if err != nil {
		fail(w, http.StatusConflict, "no_repo", err.Error())
		return
	}
	updated, err := h.receive(ctx, root, r.Body)
	if err != nil {
		h.o.Logger.Warn("fetch", "err", err)
		fail(w, http.StatusUnprocessableEntity, "fetch_failed", err.Error())
		return
	}
	h.o.Logger.Info("fetched", "refs", len(updated))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string][]string{"updated": updated})
}

// receive writes the stream's pack into the repository (through an
// os.Root on .git, so a symlinked objects/pack cannot send it elsewhere)
// and moves refs/remotes/origin/* to the stream's branches.
func (h *handler) receive(ctx context.Context, root string, body io.Reader) ([]string, error) {
	rs, err := savefmt.ReadResume(body)
	if err != nil {
		return nil, err
	}
	dot, err := os.OpenRoot(filepath.Join(root, ".git"))
	if err != nil {
		return nil, fmt.Errorf("open .git: %w", err)
	}
	defer dot.Close()
	tag := make([]byte, 8)
	rand.Read(tag)
	tmp := "objects/pack/tmp_gatewave_" + hex.EncodeToString(tag)
	var written []string
	defer func() {
		for _, f := range written {
			dot.Remove(f)
		}
	}()
	var packLen int64
	var trailer []byte
	for i, ext := range []string{".pack", ".idx"} {
		sec, n, err := rs.Section(1 << 40)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			packLen = n
		}
		if n == 0 {
			continue
		}
		if packLen == 0 {
			return nil, errors.New("fetch stream: an index without a pack")
		}
		f, err := dot.OpenFile(tmp+ext, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		written = append(written, tmp+ext)
		tail := &tailWriter{}
		_, err = io.Copy(io.MultiWriter(f, tail), sec)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("fetch: write the pack: %w", err)
		}
		if i == 0 {
			trailer = tail.last(20)
		}
	}
	if packLen > 0 {
		if len(written) != 2 || len(trailer) != 20 {
			return nil, errors.New("fetch stream: a pack without its index")
		}
		// A pack is named by its checksum, its last bytes, as git names them.
		name := "objects/pack/pack-" + hex.EncodeToString(trailer)
		for _, ext := range []string{".pack", ".idx"} {
			if _, err := dot.Lstat(name + ext); err == nil {
				continue // the same pack is there already
			}
			if err := dot.Rename(tmp+ext, name+ext); err != nil {
				return nil, fmt.Errorf("fetch: %w", err)
			}
		}
	}
	refs := make([]string, 0, len(rs.Refs))
	for ref := range rs.Refs {
		if !validFetchRef(ref) {
			return nil, fmt.Errorf("fetch stream: %q is not a branch", ref)
		}
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	if len(refs) == 0 {
		return []string{}, nil
	}
	var in strings.Builder
	for _, ref := range refs {
		in.WriteString(rs.Refs[ref] + "\n")
	}
	// Every commit must be in the repository now, or no ref moves.
	out, err := h.fetchGit(ctx, root, strings.NewReader(in.String()), "cat-file", "--batch-check=%(objecttype)")
	if err != nil {
		return nil, err
	}
	for i, typ := range strings.Split(out, "\n") {
		if typ != "commit" && i < len(refs) {
			return nil, fmt.Errorf("fetch stream: %s: %s is not a commit in the repository", refs[i], rs.Refs[refs[i]])
		}
	}
	var upd strings.Builder
	updated := make([]string, 0, len(refs))
	for _, ref := range refs {
		remote := "refs/remotes/origin/" + strings.TrimPrefix(ref, "refs/heads/")
		fmt.Fprintf(&upd, "update %s %s\n", remote, rs.Refs[ref])
		updated = append(updated, remote)
	}
	if _, err := h.fetchGit(ctx, root, strings.NewReader(upd.String()), "update-ref", "--stdin"); err != nil {
		return nil, fmt.Errorf("fetch: update the remote branches: %w", err)
	}
	return updated, nil
}

// tailWriter keeps the last bytes written through it.
type tailWriter struct{ b []byte }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 64 {
		t.b = append(t.b[:0], t.b[len(t.b)-64:]...)
	}
	return len(p), nil
}

func (t *tailWriter) last(n int) []byte {
	if len(t.b) < n {
		return nil
	}
	return t.b[len(t.b)-n:]
}
