package tasks

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
)

// EnvImageTag is the tag of the image built from envURL's dockerfilePath
// at commit: the same environment is built once per node.
func EnvImageTag(envURL, commit, dockerfilePath string) string {
	h := sha256.Sum256([]byte(cleanURL(envURL) + "\x00" + commit + "\x00" + dockerfilePath))
	return "gatewave-env:" + hex.EncodeToString(h[:])[:32]
}

// ensureImage finds or builds the task's environment image.
func (r *Runner) ensureImage(t *task, envGit string, logw io.Writer) error {
	a := &t.args
	unlock, err := r.locks.lock(t.ctx, "image:"+t.image)
	if err != nil {
		return err
	}
	defer unlock()
	r.touchImage(t.image)
	if _, err := r.opts.Docker.ImageInspect(t.ctx, t.image); err == nil {
		t.cached = true
		r.wg.Go(func() { r.pruneImages(context.Background()) })
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", t.image, err)
	}
	// The context goes to dockerd as a file, and the Dockerfile checked is
	// read from that very file: what is checked is what is built (git
	// archive applies the repo's export-subst and export-ignore, and a
	// Dockerfile that is a symlink would be followed by dockerd).
	ctxPath := filepath.Join(t.dir, "env-context.tar")
	df, err := r.spoolContext(t.ctx, envGit, a.Env.Commit, a.DockerfilePath, ctxPath)
	if err != nil {
		return err
	}
	defer os.Remove(ctxPath)
	if err := r.checkBases(t.ctx, df); err != nil {
		return err
	}
	fmt.Fprintf(logw, "building environment %s from %s (%s at %s)\n", t.image, a.DockerfilePath, cleanURL(a.Env.URL), a.Env.Commit)

	body, err := os.Open(ctxPath)
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	defer body.Close()
	// Cancelling the request stops the build: dockerd kills the step's
	// container.
	bctx, bcancel := context.WithTimeoutCause(t.ctx, r.opts.BuildTimeout, errBuildTimeout)
	defer bcancel()
	buildErr := func(format string, err error) error {
		if t.ctx.Err() != nil {
			return t.ctx.Err()
		}
		if errors.Is(context.Cause(bctx), errBuildTimeout) {
			return failf("the environment build took longer than %v", r.opts.BuildTimeout)
		}
		return failf(format, a.DockerfilePath, err)
	}
	const cpuPeriod = 100_000
	resp, err := r.opts.Docker.ImageBuild(bctx, body, build.ImageBuildOptions{
		Version:     build.BuilderV1, // dockerd's own builder: no buildx, no BuildKit
		Tags:        []string{t.image},
		Dockerfile:  a.DockerfilePath,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		NetworkMode: "none", // RUN steps get no network: nothing comes from outside
		CPUPeriod:   cpuPeriod,
		CPUQuota:    max(int64(a.CPUs*cpuPeriod), 1000),
		Memory:      a.MemoryBytes,
		MemorySwap:  a.MemoryBytes,
		Labels: map[string]string{
			LabelEnvURL: cleanURL(a.Env.URL), LabelEnvCommit: a.Env.Commit, LabelEnvFile: a.DockerfilePath,
		},
	})
	if err != nil {
		return buildErr("build environment from %s: %v", err)
	}
	defer resp.Body.Close()
	if err := streamBuild(resp.Body, logw); err != nil {
		return buildErr("build environment from %s: %v", err)
	}
	if bctx.Err() != nil {
		return buildErr("build environment from %s: %v", bctx.Err())
	}
	if _, err := r.opts.Docker.ImageInspect(t.ctx, t.image); err != nil {
		return failf("build environment from %s: no image %s after the build", a.DockerfilePath, t.image)
	}
	r.wg.Go(func() { r.pruneImages(context.Background()) })
	return nil
}

// streamBuild copies a build's progress to w and returns the error it
// ends with, if any.
func streamBuild(body io.Reader, w io.Writer) error {
	dec := json.NewDecoder(body)
	for {
		var m struct {
			Stream      string `json:"stream"`
			Status      string `json:"status"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return errors.New(m.Error)
		case m.Stream != "":
			io.WriteString(w, m.Stream)
		case m.Status != "":
			io.WriteString(w, m.Status+"\n")
		}
	}
}

// spoolContext writes the env commit's archive, the build context, to
// dst and returns the Dockerfile in it.
func (r *Runner) spoolContext(ctx context.Context, envGit, commit, dockerfilePath, dst string) ([]byte, error) {
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	defer f.Close()
	if err := r.archive(ctx, envGit, commit, f); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("build context: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, failf("dockerfile_path %q is not a file in env commit %s", dockerfilePath, commit)
		}
		if err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		if path.Clean(h.Name) != path.Clean(dockerfilePath) {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, failf("dockerfile_path %q is not a file in env commit %s", dockerfilePath, commit)
		}
		if h.Size > maxDockerfile {
			return nil, failf("Dockerfile %s is %d bytes, over the limit of %d (1 MiB)", dockerfilePath, h.Size, maxDockerfile)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		return b, nil
	}
}

// checkBases refuses a Dockerfile that could bring in anything from
// outside (see baseImages) and checks that every image it starts from
// or copies from is on this node.
func (r *Runner) checkBases(ctx context.Context, dockerfile []byte) error {
	refs, err := baseImages(dockerfile)
	if err != nil {
		return failf("Dockerfile: %v", err)
	}
	for i := 0; i < len(refs); i++ {
		ref := refs[i]
		ins, err := r.opts.Docker.ImageInspect(ctx, ref.image)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return failf("%s %s: that image is not on this node and builds here use no registry; build FROM scratch or from an image the node has (docker images)", ref.instr, ref.image)
			}
			return fmt.Errorf("inspect image %s: %w", ref.image, err)
		}
		if ref.instr != "FROM" || ins.Config == nil {
			continue
		}
		// A base image's ONBUILD triggers run in this build: they are
		// held to the same rules.
		for _, trig := range ins.Config.OnBuild {
			more, err := baseImages([]byte("FROM scratch\n" + trig + "\n"))
			if err != nil {
				return failf("FROM %s: the image's trigger ONBUILD %s: %v", ref.image, trig, err)
			}
			for _, m := range more {
				m.instr = "ONBUILD " + m.instr
				refs = append(refs, m)
			}
		}
	}
	return nil
}

type baseRef struct {
	instr string // "FROM" or "COPY --from"
	image string
}

// maxDockerfile is the largest Dockerfile accepted; maxDockerfileLine
// its longest line.
const (
	maxDockerfile     = 1 << 20
	maxDockerfileLine = 512 << 10
)

var (
	argRefRE = regexp.MustCompile(`\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)`)
	// directiveRE is a parser directive that changes how dockerd reads
	// the rest (escape) or who reads it (syntax).
	directiveRE = regexp.MustCompile(`(?i)^#[ \t]*(escape|syntax)[ \t]*=`)
	// continuationRE is dockerd's line continuation with the default
	// escape character.
	continuationRE = regexp.MustCompile(`\\[ \t]*$`)
	// heredocRE is a heredoc as dockerd's parser finds one.
	heredocRE = regexp.MustCompile(`<<-?\s*["']?[A-Za-z0-9_]`)
)

// baseImages checks a Dockerfile for what would reach outside the build
// and returns the images its FROM and COPY --from lines take: neither
// scratch nor one of its stages. Refused: every ADD (dockerd fetches an
// ADD's URL itself, on the node's network; RUN's "none" does not cover
// it), also under ONBUILD; the escape and syntax parser directives;
// heredocs; FROM flags; a variable in COPY --from; a file or a line over
// 1 MiB. ARGs declared before the first FROM are expanded with their
// defaults (builds here pass no build arguments).
func baseImages(dockerfile []byte) ([]baseRef, error) {
	lines, err := logicalLines(dockerfile)
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	stages := map[string]bool{}
	var refs []baseRef
	nFrom := 0
	for _, ln := range lines {
		fields := strings.Fields(ln.text)
		if len(fields) == 0 {
			continue
		}
		instr := strings.ToUpper(fields[0])
		// A trigger runs in a later build FROM this image: check it as
		// if it were here.
		for instr == "ONBUILD" && len(fields) > 1 {
			fields = fields[1:]
			instr = strings.ToUpper(fields[0])
		}
		switch instr {
		case "ADD":
			return nil, fmt.Errorf("line %d: ADD is not allowed: use COPY; ADD fetches URLs on the node's network", ln.n)
		case "RUN", "COPY":
			if heredocRE.MatchString(ln.text) {
				return nil, fmt.Errorf("line %d: heredocs (<<) are not supported here: put the script in a file of the env repo", ln.n)
			}
		}
		switch instr {
		case "ARG":
			if nFrom > 0 {
				continue
			}
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				args[k] = unquote(v)
			}
		case "FROM":
			nFrom++
			rest := fields[1:]
			if len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
				return nil, fmt.Errorf("line %d: FROM %s is not allowed: builds here use the node's images as they are", ln.n, rest[0])
			}
			if len(rest) == 0 {
				return nil, fmt.Errorf("line %d: FROM without an image: %q", ln.n, ln.text)
			}
			img, err := expandArgs(rest[0], args)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", ln.n, err)
			}
			if !strings.EqualFold(img, "scratch") && !stages[strings.ToLower(img)] {
				refs = append(refs, baseRef{"FROM", img})
			}
			if len(rest) >= 3 && strings.EqualFold(rest[1], "AS") {
				stages[strings.ToLower(rest[2])] = true
			}
		case "COPY":
			for _, f := range fields[1:] {
				if !strings.HasPrefix(f, "--") {
					break
				}
				if !strings.HasPrefix(strings.ToLower(f), "--from") {
					continue
				}
				if !strings.HasPrefix(strings.ToLower(f), "--from=") {
					return nil, fmt.Errorf("line %d: %s: write --from=NAME", ln.n, f)
				}
				from := f[len("--from="):]
				if strings.ContainsAny(from, `$\"'`) {
					return nil, fmt.Errorf("line %d: COPY --from=%s: name the stage or image itself, without variables or quotes", ln.n, from)
				}
				// An index names an earlier stage; any other number is
				// an image name to dockerd.
				if i, err := strconv.Atoi(from); err == nil && i >= 0 && i < nFrom-1 {
					continue
				}
				if stages[strings.ToLower(from)] {
					continue
				}
				refs = append(refs, baseRef{"COPY --from", from})
			}
		}
	}
	if nFrom == 0 {
		return nil, errors.New("no FROM line")
	}
	return refs, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func expandArgs(s string, args map[string]string) (string, error) {
	var bad string
	out := argRefRE.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m[1:], "{}")
		v, ok := args[name]
		if !ok || v == "" {
			bad = name
		}
		return v
	})
	if bad != "" {
		return "", fmt.Errorf("%q uses build argument %s, which has no default", s, bad)
	}
	if strings.ContainsAny(out, `${}\"'`) {
		return "", fmt.Errorf("%q: only $NAME and ${NAME} of ARGs with plain defaults are understood in image names", s)
	}
	return out, nil
}

type dfLine struct {
	n    int // the line it starts on
	text string
}

// logicalLines splits a Dockerfile into instructions as dockerd's parser
// does with the default escape character: continuation lines joined
// (with nothing in between), comments and blank lines dropped. It
// refuses what would make dockerd read the file otherwise.
func logicalLines(b []byte) ([]dfLine, error) {
	if len(b) > maxDockerfile {
		return nil, fmt.Errorf("%d bytes, over the limit of %d (1 MiB)", len(b), maxDockerfile)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var out []dfLine
	var cur strings.Builder
	continuing := false
	start, n := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxDockerfileLine)
	for sc.Scan() {
		n++
		raw := sc.Text()
		if strings.ContainsRune(raw, '\r') {
			return nil, fmt.Errorf("line %d: a carriage return inside a line", n)
		}
		trimmed := strings.TrimLeftFunc(raw, unicode.IsSpace)
		if strings.HasPrefix(trimmed, "#") {
			if directiveRE.MatchString(trimmed) {
				return nil, fmt.Errorf("line %d: parser directives (# escape=, # syntax=) are not allowed: %q", n, truncate(trimmed, 80))
			}
			continue
		}
		if !continuing {
			if trimmed == "" {
				continue
			}
			start, raw = n, trimmed
		} else if strings.TrimSpace(raw) == "" {
			continue
		}
		if loc := continuationRE.FindStringIndex(raw); loc != nil {
			cur.WriteString(raw[:loc[0]])
			continuing = true
			continue
		}
		cur.WriteString(raw)
		out = append(out, dfLine{start, cur.String()})
		cur.Reset()
		continuing = false
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d is longer than %d bytes (512 KiB)", n+1, maxDockerfileLine)
		}
		return nil, fmt.Errorf("read: %w", err)
	}
	if continuing {
		out = append(out, dfLine{start, cur.String()})
	}
	return out, nil
}
