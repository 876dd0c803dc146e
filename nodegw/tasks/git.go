package tasks

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"gatewave.dev/nodegw/gitcache"
	"gatewave.dev/shared/fleetproto"
)

// cleanURL is a repo URL without credentials: what keys the git cache and
// the image tag, and the only form given to git's argv.
func cleanURL(raw string) string { return gitcache.CleanURL(raw) }

// remote is repo's remote for git, credentials kept for the environment.
func remote(repo fleetproto.TaskRepo) gitcache.Remote {
	r := gitcache.Remote{URL: cleanURL(repo.URL), Username: repo.Username, Password: repo.Password}
	if r.Username == "" && r.Password == "" {
		// Credentials in the URL's userinfo go the same way: never argv.
		if u, err := url.Parse(repo.URL); err == nil && u.User != nil {
			r.Username = u.User.Username()
			r.Password, _ = u.User.Password()
		}
	}
	return r
}

// git runs git in dir with a scrubbed environment and extra env (the
// remote's credentials); stdout goes to out if given.
func (r *Runner) git(ctx context.Context, dir string, env []string, out io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, r.opts.Git, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "LC_ALL=C"}, env...)
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = out, &limitedWriter{w: &errb, n: 4096}
	if err := cmd.Run(); err != nil {
		return &gitcache.Error{Args: strings.Join(args, " "), Err: err, Stderr: strings.TrimSpace(errb.String())}
	}
	return nil
}

// fetch makes sure the repo's bare cache holds repo.Commit, fetching only
// that commit when it does not, and returns the cache's directory.
func (r *Runner) fetch(ctx context.Context, repo fleetproto.TaskRepo) (string, error) {
	rem := remote(repo)
	dir := filepath.Join(r.opts.StateDir, "git", rem.Key()+".git")
	unlock, err := r.locks.lock(ctx, "git:"+dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		if err := r.git(ctx, r.opts.StateDir, nil, nil, "init", "--quiet", "--bare", tmp); err != nil {
			return "", fmt.Errorf("git cache: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", fmt.Errorf("git cache: %w", err)
		}
	}
	if r.hasCommit(ctx, dir, repo.Commit) {
		return dir, nil
	}
	// Only the commit asked for: the task needs nothing else, and no
	// branch of the remote is trusted to still point at it. Protocol v2
	// lets upload-pack serve a commit by id with no server config (v0
	// needs uploadpack.allowReachableSHA1InWant on the server).
	if err := r.git(ctx, dir, rem.Env(), nil, "-c", "gc.auto=0", "-c", "protocol.version=2", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
		rem.URL, repo.Commit); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var ge *gitcache.Error
		msg := err.Error()
		if errors.As(err, &ge) {
			msg = ge.Stderr
		}
		return "", failf("fetch commit %s from %s: %s", repo.Commit, rem.URL, msg)
	}
	if !r.hasCommit(ctx, dir, repo.Commit) {
		return "", failf("fetch %s: commit %s is not a commit", rem.URL, repo.Commit)
	}
	// A ref keeps the fetched commit from being pruned as unreachable.
	if err := r.git(ctx, dir, nil, nil, "update-ref", "refs/tasks/"+repo.Commit, repo.Commit); err != nil {
		return "", fmt.Errorf("git cache: %w", err)
	}
	return dir, nil
}

func (r *Runner) hasCommit(ctx context.Context, dir, commit string) bool {
	return r.git(ctx, dir, nil, nil, "cat-file", "-e", commit+"^{commit}") == nil
}

// archive streams `git archive` of commit to w.
func (r *Runner) archive(ctx context.Context, gitDir, commit string, w io.Writer) error {
	if err := r.git(ctx, gitDir, nil, w, "archive", "--format=tar", commit); err != nil {
		return fmt.Errorf("git archive %s: %w", commit, err)
	}
	return nil
}

// checkout extracts commit into dst (which must not exist) and makes it
// read-only.
func (r *Runner) checkout(ctx context.Context, gitDir, commit, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := r.archive(ctx, gitDir, commit, pw)
		pw.CloseWithError(err)
		errc <- err
	}()
	xerr := extractTar(pr, dst)
	if xerr == nil {
		_, _ = io.Copy(io.Discard, pr) // the archive's padding
	}
	pr.CloseWithError(errors.New("extract stopped"))
	aerr := <-errc
	if xerr != nil {
		return fmt.Errorf("checkout: %w", xerr)
	}
	if aerr != nil {
		return fmt.Errorf("checkout: %w", aerr)
	}
	return makeReadOnly(dst)
}

// extractTar writes a tar stream's directories, regular files and
// symlinks beneath dst. Every entry is created relative to a directory
// opened beneath dst with no symlink followed, so no entry lands outside
// dst or through a link an earlier entry made; links are recreated as
// links, never followed.
func extractTar(rd io.Reader, dst string) error {
	root, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dst, err)
	}
	defer unix.Close(root)
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := strings.TrimSuffix(h.Name, "/")
		if err := fleetproto.ValidTaskPath(name); err != nil {
			return fmt.Errorf("archive entry: %w", err)
		}
		parent, base := filepath.Split(name)
		pfd, err := mkdirsBeneath(root, strings.TrimSuffix(parent, "/"))
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", name, err)
		}
		err = writeEntry(pfd, base, h, tr)
		if pfd != root {
			unix.Close(pfd)
		}
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", name, err)
		}
	}
}

func writeEntry(dir int, base string, h *tar.Header, rd io.Reader) error {
	switch h.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(dir, base, 0o755); err != nil && err != unix.EEXIST {
			return err
		}
		return nil
	case tar.TypeSymlink:
		return unix.Symlinkat(h.Linkname, dir, base)
	case tar.TypeReg:
		mode := uint32(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		fd, err := unix.Openat(dir, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), base)
		_, err = io.Copy(f, rd)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	default:
		return fmt.Errorf("unsupported entry type %q", h.Typeflag)
	}
}

// resolveFlags resolve a path beneath a directory with no symlink (nor
// /proc magic link) followed anywhere on it.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// mkdirsBeneath creates the directories of rel beneath root (none
// followed through a symlink) and returns the last one open; rel "" is
// root itself.
func mkdirsBeneath(root int, rel string) (int, error) {
	if rel == "" {
		return root, nil
	}
	fd := root
	for _, comp := range strings.Split(rel, "/") {
		if err := unix.Mkdirat(fd, comp, 0o755); err != nil && err != unix.EEXIST {
			closeIf(fd, root)
			return -1, err
		}
		next, err := unix.Openat2(fd, comp, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveFlags})
		closeIf(fd, root)
		if err != nil {
			return -1, fmt.Errorf("open %q: %w", comp, err)
		}
		fd = next
	}
	return fd, nil
}

func closeIf(fd, root int) {
	if fd != root {
		unix.Close(fd)
	}
}

// makeReadOnly takes the write bits off everything under dir (symlinks
// are left alone: their mode means nothing).
func makeReadOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, info.Mode().Perm()&^0o222)
	})
}

// removeTree removes a task's directory. The container could write in
// it (/out), maybe still can: nothing in it is followed. nodegw runs as
// root, whom no mode stops; only when that fails are read-only
// directories given their write bit back, through descriptors opened
// without following a symlink, never by path.
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
		makeWritable(fd, 0)
		unix.Close(fd)
	}
	_ = os.RemoveAll(dir)
}

// makeWritable gives the directory open as fd, and every directory
// beneath it, mode 0700. Entries are opened relative to their parent's
// descriptor with O_NOFOLLOW: a symlink, wherever it points and whenever
// it was swapped in, is never followed.
func makeWritable(fd int, depth int) {
	_ = unix.Fchmod(fd, 0o700)
	if depth > 256 {
		return
	}
	dup, err := unix.Dup(fd)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(dup), "dir")
	defer d.Close()
	ents, _ := d.ReadDir(-1)
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		sub, err := unix.Openat(fd, e.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone, or a symlink now
		}
		makeWritable(sub, depth+1)
		unix.Close(sub)
	}
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
