package tasks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/objstore"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Spec is what a user submits: the five items that pin code and
// environment, the command, what it needs, and its files.
type Spec struct {
	// Kind is "" or "batch". Maintenance probes (host.ssh) are not
	// tasks: asking for them here is refused.
	Kind string `json:"kind,omitempty"`
	// SaveSession, when set, is the user's open IDE session: its
	// workspace is saved first (to ide/autosave) and that commit is the
	// code, and the environment too when env_commit_id is empty.
	SaveSession    string `json:"save_session,omitempty"`
	CodeRepoURL    string `json:"code_repo_url"`
	CodeCommitID   string `json:"code_commit_id"`
	EnvRepoURL     string `json:"env_repo_url"`
	EnvCommitID    string `json:"env_commit_id"`
	DockerfilePath string `json:"dockerfile_path"`
	// Command is the argv run in the environment image, in /code.
	Command   []string          `json:"command"`
	Resources Resources         `json:"resources"`
	Labels    map[string]string `json:"labels,omitempty"`
	// TimeoutSeconds bounds the run; 0 means one hour.
	TimeoutSeconds int64 `json:"timeout_seconds,omitempty"`
	Priority       int   `json:"priority,omitempty"`
	// MaxAttempts bounds runs after lost nodes; 0 means the default (3).
	MaxAttempts int     `json:"max_attempts,omitempty"`
	Inputs      []Input `json:"inputs,omitempty"`
	// Artifacts are paths under /out uploaded when the command ends.
	Artifacts []string `json:"artifacts,omitempty"`
}

// Resources are what a task asks of a node.
type Resources struct {
	CPUs        float64 `json:"cpus"`
	MemoryBytes int64   `json:"memory_bytes"`
	GPUs        int     `json:"gpus,omitempty"`
}

// Input is an object copied to /in/Path before the run: one of the
// user's uploads (users/ID/uploads/...) or an artifact of one of their
// earlier tasks (Task.ArtifactObjects: tasks/ID/ATTEMPT/out/...).
type Input struct {
	Path   string `json:"path"`
	Object string `json:"object"`
}

// pinned is a validated Spec with its refs resolved to commit ids.
type pinned struct {
	Spec
	codeOwner, envOwner string
}

const (
	defaultTimeout = time.Hour
	maxPriority    = 1000
)

func bad(format string, a ...any) error { return apierr.BadRequest(format, a...) }

// decodeSpec reads a Spec strictly.
func decodeSpec(b []byte) (Spec, error) {
	var s Spec
	if err := fleetproto.DecodeStrict(b, &s); err != nil {
		return s, bad("task: %v", err)
	}
	return s, nil
}

// repoOwner turns a repo URL of this cloud into its owner.
func (s *Service) repoOwner(field, raw string) (string, error) {
	u, err := url.Parse(raw)
	base, _ := url.Parse(s.opts.GitURL)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || base == nil ||
		u.Scheme != base.Scheme || u.Host != base.Host {
		return "", bad("%s %q: not a repository of this cloud (want %s/NAME.git, without credentials)", field, raw, s.opts.GitURL)
	}
	rest, ok := strings.CutPrefix(u.Path, strings.TrimRight(base.Path, "/")+"/")
	owner, ok2 := strings.CutSuffix(rest, ".git")
	if !ok || !ok2 || !githost.ValidOwner(owner) {
		return "", bad("%s %q: not a repository of this cloud (want %s/NAME.git)", field, raw, s.opts.GitURL)
	}
	return owner, nil
}

// validate checks spec and pins its refs; nothing is written before it
// passes. What needs no repo is checked first, so a bad spec with
// save_session does not save the workspace for nothing.
func (s *Service) validate(ctx context.Context, user User, spec Spec) (pinned, error) {
	p := pinned{Spec: spec}
	switch spec.Kind {
	case "", "batch":
	case "host.ssh", "host.probe", "host.exec":
		return p, bad("maintenance probes (host.ssh) are not tasks and cannot be scheduled: an operator runs them with `cloud node probe` or `cloud node exec`")
	default:
		return p, bad("kind %q is not a task kind (want batch)", spec.Kind)
	}
	if err := fleetproto.ValidTaskPath(spec.DockerfilePath); err != nil {
		return p, bad("dockerfile_path: %v", err)
	}
	if spec.TimeoutSeconds < 0 || spec.TimeoutSeconds > fleetproto.MaxTaskTimeoutMS/1000 {
		return p, bad("timeout_seconds must be between 1 and %d", fleetproto.MaxTaskTimeoutMS/1000)
	}
	// The command and resources as the node will check them (the repos
	// are checked below).
	placeholder := fleetproto.TaskRepo{URL: "http://repo", Commit: strings.Repeat("0", 40)}
	a := fleetproto.TaskRunArgs{ID: 1, Attempt: 1, Code: placeholder, Env: placeholder, DockerfilePath: spec.DockerfilePath,
		Command: spec.Command, CPUs: spec.Resources.CPUs, MemoryBytes: spec.Resources.MemoryBytes, GPUs: spec.Resources.GPUs,
		TimeoutMS: p.timeout().Milliseconds()}
	if err := a.Validate(); err != nil {
		return p, bad("%s", strings.TrimPrefix(err.Error(), "task: "))
	}
	if spec.Resources.CPUs > 1024 || spec.Resources.GPUs > 64 {
		return p, bad("resources: at most 1024 cpus and 64 gpus")
	}
	if spec.Priority < -maxPriority || spec.Priority > maxPriority {
		return p, bad("priority must be between %d and %d", -maxPriority, maxPriority)
	}
	if spec.Priority > 0 && !user.Admin {
		// The queue is everyone's: anyone may let others go first, only
		// an admin may go ahead of them.
		return p, apierr.New(403, "forbidden", "only an admin can give a task a priority above 0 (a negative one lets others go first)")
	}
	if spec.MaxAttempts < 0 || spec.MaxAttempts > 10 {
		return p, bad("max_attempts must be between 1 and 10")
	}
	if err := fleetproto.ValidateLabels(spec.Labels); err != nil {
		return p, bad("labels: %v", err)
	}
	if len(spec.Inputs) > fleetproto.MaxTaskObjects || len(spec.Artifacts) > fleetproto.MaxTaskObjects {
		return p, bad("at most %d inputs and %d artifacts", fleetproto.MaxTaskObjects, fleetproto.MaxTaskObjects)
	}
	seen := map[string]bool{}
	for _, in := range spec.Inputs {
		if err := fleetproto.ValidTaskPath(in.Path); err != nil {
			return p, bad("input: %v", err)
		}
		if seen[in.Path] {
			return p, bad("input %q named twice", in.Path)
		}
		seen[in.Path] = true
		if err := s.ownsObject(ctx, user, in.Object); err != nil {
			return p, err
		}
	}
	seen = map[string]bool{}
	for _, a := range spec.Artifacts {
		if err := fleetproto.ValidTaskPath(a); err != nil {
			return p, bad("artifact: %v", err)
		}
		if seen[a] {
			return p, bad("artifact %q named twice", a)
		}
		seen[a] = true
	}
	if spec.SaveSession != "" {
		if s.opts.SaveSession == nil {
			return p, bad("save_session: this cloud runs no IDE sessions")
		}
		if p.CodeCommitID != "" {
			return p, bad("give code_commit_id or save_session, not both")
		}
		c, err := s.opts.SaveSession(ctx, user.ID, spec.SaveSession)
		if err != nil {
			return p, err
		}
		p.CodeCommitID = c
		if p.CodeRepoURL == "" {
			p.CodeRepoURL = s.opts.GitURL + "/" + user.Name + ".git"
		}
		if p.EnvRepoURL == "" {
			p.EnvRepoURL = p.CodeRepoURL
		}
		if p.EnvCommitID == "" {
			p.EnvCommitID = c
		}
	}
	var err error
	if p.codeOwner, err = s.repoOwner("code_repo_url", p.CodeRepoURL); err != nil {
		return p, err
	}
	if p.envOwner, err = s.repoOwner("env_repo_url", p.EnvRepoURL); err != nil {
		return p, err
	}
	for _, o := range []string{p.codeOwner, p.envOwner} {
		if o != user.Name {
			return p, apierr.New(403, "forbidden", "%s.git is not your repository: tasks run code and environments from your own", o)
		}
	}
	for _, r := range []struct {
		field, owner string
		rev          *string
	}{{"code_commit_id", p.codeOwner, &p.CodeCommitID}, {"env_commit_id", p.envOwner, &p.EnvCommitID}} {
		if *r.rev == "" {
			return p, bad("%s is required (a commit id, branch or tag; it is pinned to a commit id now)", r.field)
		}
		c, err := s.opts.Git.ResolveCommit(ctx, r.owner, *r.rev)
		if err != nil {
			return p, bad("%s: %v", r.field, err)
		}
		*r.rev = c
	}
	ok, err := s.opts.Git.FileAt(ctx, p.envOwner, p.EnvCommitID, spec.DockerfilePath)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, bad("dockerfile_path %q: no such file in %s.git at %s", spec.DockerfilePath, p.envOwner, p.EnvCommitID[:12])
	}
	return p, nil
}

func (p pinned) timeout() time.Duration {
	if p.TimeoutSeconds == 0 {
		return defaultTimeout
	}
	return time.Duration(p.TimeoutSeconds) * time.Second
}

func (p pinned) maxAttempts() int {
	if p.MaxAttempts == 0 {
		return 3
	}
	return p.MaxAttempts
}

// ownsObject checks that key is one of the user's uploads or an artifact
// of one of their tasks, and that it exists.
func (s *Service) ownsObject(ctx context.Context, user User, key string) error {
	if s.opts.Objects == nil {
		return bad("inputs need the object store, which this cloud is not configured with (GATEWAVE_S3_URL)")
	}
	var ok bool
	switch {
	case strings.HasPrefix(key, fmt.Sprintf("users/%d/uploads/", user.ID)):
		k, err := objstore.UploadKey(user.ID, strings.TrimPrefix(key, fmt.Sprintf("users/%d/uploads/", user.ID)))
		ok = err == nil && k == key
	case strings.HasPrefix(key, "tasks/"):
		var id int64
		var attempt int
		var rest string
		if n, _ := fmt.Sscanf(key, "tasks/%d/%d/out/%s", &id, &attempt, &rest); n == 3 {
			// Only a key exactly as the task's own would be.
			prefix := fmt.Sprintf("tasks/%d/%d/out/", id, attempt)
			if k, err := objstore.TaskArtifactKey(id, attempt, strings.TrimPrefix(key, prefix)); err != nil || k != key {
				break
			}
			err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND user_id = $2)`, id, user.ID).Scan(&ok)
			if err != nil {
				return err
			}
		}
	}
	if !ok {
		return apierr.New(403, "forbidden", "input object %q: not one of your uploads (users/%d/uploads/...) or an artifact of your tasks (its artifact_objects)", key, user.ID)
	}
	if _, err := s.opts.Objects.Stat(ctx, key); err != nil {
		if errors.Is(err, ErrNoObject) {
			return bad("input object %q does not exist", key)
		}
		return fmt.Errorf("input object %q: %w", key, err)
	}
	return nil
}
