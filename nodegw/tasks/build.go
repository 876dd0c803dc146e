package tasks

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

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
	var df bytes.Buffer
	spec := a.Env.Commit + ":" + a.DockerfilePath
	if err := r.git(t.ctx, envGit, nil, &limitedWriter{w: &df, n: 1 << 20}, "cat-file", "blob", spec); err != nil {
		if t.ctx.Err() != nil {
			return t.ctx.Err()
		}
		return failf("dockerfile_path %q is not a file in env commit %s", a.DockerfilePath, a.Env.Commit)
	}
	if err := r.checkBases(t.ctx, df.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(logw, "building environment %s from %s (%s at %s)\n", t.image, a.DockerfilePath, cleanURL(a.Env.URL), a.Env.Commit)

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(r.archive(t.ctx, envGit, a.Env.Commit, pw)) }()
	defer pr.Close()
	resp, err := r.opts.Docker.ImageBuild(t.ctx, pr, build.ImageBuildOptions{
		Version:     build.BuilderV1, // dockerd's own builder: no buildx, no BuildKit
		Tags:        []string{t.image},
		Dockerfile:  a.DockerfilePath,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		NetworkMode: "none", // RUN steps get no network: nothing comes from outside
		Memory:      a.MemoryBytes,
		MemorySwap:  a.MemoryBytes,
		Labels: map[string]string{
			LabelEnvURL: cleanURL(a.Env.URL), LabelEnvCommit: a.Env.Commit, LabelEnvFile: a.DockerfilePath,
		},
	})
	if err != nil {
		if t.ctx.Err() != nil {
			return t.ctx.Err()
		}
		return failf("build environment: %v", err)
	}
	defer resp.Body.Close()
	if err := streamBuild(resp.Body, logw); err != nil {
		if t.ctx.Err() != nil {
			return t.ctx.Err()
		}
		return failf("build environment from %s: %v", a.DockerfilePath, err)
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

// checkBases refuses a Dockerfile that needs an image from a registry:
// every FROM (and COPY --from) must be scratch, an earlier stage or an
// image the node has.
func (r *Runner) checkBases(ctx context.Context, dockerfile []byte) error {
	refs, err := baseImages(dockerfile)
	if err != nil {
		return failf("Dockerfile: %v", err)
	}
	for _, ref := range refs {
		if _, err := r.opts.Docker.ImageInspect(ctx, ref.image); err != nil {
			if cerrdefs.IsNotFound(err) {
				return failf("%s %s: that image is not on this node and builds here use no registry; build FROM scratch or from an image the node has (docker images)", ref.instr, ref.image)
			}
			return fmt.Errorf("inspect image %s: %w", ref.image, err)
		}
	}
	return nil
}

type baseRef struct {
	instr string // "FROM" or "COPY --from"
	image string
}

var argRefRE = regexp.MustCompile(`\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)`)

// baseImages returns the images a Dockerfile's FROM and COPY --from lines
// take from outside the build: neither scratch nor one of its stages. An
// ADD of a URL is an error.
// ARGs declared before the first FROM are expanded with their defaults
// (builds here pass no build arguments).
func baseImages(dockerfile []byte) ([]baseRef, error) {
	args := map[string]string{}
	stages := map[string]bool{}
	var refs []baseRef
	nFrom := 0
	for _, line := range logicalLines(dockerfile) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		instr := strings.ToUpper(fields[0])
		if instr == "ONBUILD" && len(fields) > 1 {
			// A trigger runs in a later build FROM this image: check it
			// as if it were here.
			fields = fields[1:]
			instr = strings.ToUpper(fields[0])
		}
		if instr == "ADD" {
			// dockerd fetches an ADD of a URL itself, on the node's
			// network: nothing outside the build may come in.
			for _, f := range fields[1:] {
				src := strings.Trim(f, `[]",`)
				if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
					return nil, fmt.Errorf("ADD %s: builds here fetch nothing from a network; put the file in the env repo", src)
				}
			}
		}
		switch instr {
		case "ARG":
			if nFrom > 0 {
				continue
			}
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				args[k] = strings.Trim(v, `"'`)
			}
		case "FROM":
			nFrom++
			rest := fields[1:]
			for len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				return nil, fmt.Errorf("FROM without an image: %q", line)
			}
			img, err := expandArgs(rest[0], args)
			if err != nil {
				return nil, err
			}
			if !strings.EqualFold(img, "scratch") && !stages[strings.ToLower(img)] {
				refs = append(refs, baseRef{"FROM", img})
			}
			if len(rest) >= 3 && strings.EqualFold(rest[1], "AS") {
				stages[strings.ToLower(rest[2])] = true
			}
		case "COPY", "ADD":
			for _, f := range fields[1:] {
				if !strings.HasPrefix(f, "--") {
					break
				}
				from, ok := strings.CutPrefix(f, "--from=")
				if !ok {
					continue
				}
				if _, err := strconv.Atoi(from); err == nil || stages[strings.ToLower(from)] {
					continue
				}
				img, err := expandArgs(from, args)
				if err != nil {
					return nil, err
				}
				refs = append(refs, baseRef{"COPY --from", img})
			}
		}
	}
	if nFrom == 0 {
		return nil, errors.New("no FROM line")
	}
	return refs, nil
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
	if strings.ContainsAny(out, "${}") {
		return "", fmt.Errorf("%q: only $NAME and ${NAME} are understood in image names", s)
	}
	return out, nil
}

// logicalLines joins a Dockerfile's continuation lines and drops its
// comments.
func logicalLines(b []byte) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s)
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
