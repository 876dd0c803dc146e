package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/tasks"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/cliflag"
)

const taskUsage = `usage: cloud task <command> [flags]

  submit --dockerfile PATH [flags] -- COMMAND...   queue a task; prints its id
      --code-repo URL --code-commit REV   the code (default: your repo at main)
      --env-repo URL --env-commit REV     the environment repo (default: the code's)
      --cpus N --memory SIZE --gpus N     what it needs (default 1 cpu, 1GiB)
      --timeout D --priority N --max-attempts N
      --label k=v (repeatable)            node labels it needs
      --input PATH=OBJECT (repeatable)    an upload or an earlier artifact, copied to /in/PATH
      --artifact PATH (repeatable)        a file under /out to keep
      --follow                            then print its log until it ends
  list [--all]                      your newest tasks (--all: everyone's, for admins)
  show ID                           a task and its events
  logs ID [--follow] [--tail N] [--attempt N]  its output (following it into a retry)
  cancel ID                         stop it
  upload FILE [NAME]                upload an input; prints the object to pass to --input
  download ID PATH [-o FILE]        an artifact

The cloud is GATEWAVE_URL (default http://127.0.0.1:8480); you are GATEWAVE_USER
with the password in GATEWAVE_PASSWORD.
`

// userClient calls the cloud's user API with basic credentials.
type userClient struct {
	base, user, password string
	http                 *http.Client
}

func newUserClient(env Env) (*userClient, error) {
	c := &userClient{base: strings.TrimRight(envOr(env, "GATEWAVE_URL", "http://127.0.0.1:8480"), "/"),
		user: env.Getenv("GATEWAVE_USER"), password: env.Getenv("GATEWAVE_PASSWORD"),
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if c.user == "" || c.password == "" {
		return nil, errors.New("set GATEWAVE_USER and GATEWAVE_PASSWORD (your Gatewave sign-in)")
	}
	if u, err := url.Parse(c.base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("GATEWAVE_URL %q: want http(s)://host[:port]", c.base)
	}
	return c, nil
}

// do sends a request and returns the response; a non-2xx answer becomes
// the API's error message.
func (c *userClient) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set(accounts.ClientHeader, "cli")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var e struct {
			Error apierr.Error `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("%s", e.Error.Message)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return resp, nil
}

func (c *userClient) json(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

func task(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.Stdout, taskUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	c, err := newUserClient(env)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("task "+sub, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	switch sub {
	case "submit":
		return taskSubmit(ctx, c, fs, args, env)
	case "list":
		all := fs.Bool("all", false, "everyone's tasks (admins)")
		if err := parseAnywhere(fs, args); err != nil {
			return err
		}
		var out struct {
			Tasks []tasks.Task `json:"tasks"`
		}
		if err := c.json(ctx, "GET", "/api/v1/tasks?all="+strconv.FormatBool(*all), nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tSTATE\tNODE\tCOMMAND\tCREATED")
		for _, t := range out.Tasks {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.State, dash(t.Node), short(strings.Join(t.Command, " "), 40), t.CreatedAt.Local().Format(time.DateTime))
		}
		return tw.Flush()
	case "show", "cancel":
		if err := parseAnywhere(fs, args); err != nil {
			return err
		}
		id, err := idArg(fs)
		if err != nil {
			return err
		}
		if sub == "cancel" {
			var t tasks.Task
			if err := c.json(ctx, "POST", "/api/v1/tasks/"+id+"/cancel", struct{}{}, &t); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "task %d %s\n", t.ID, t.State)
			return nil
		}
		var out struct {
			Task   tasks.Task    `json:"task"`
			Events []tasks.Event `json:"events"`
		}
		if err := c.json(ctx, "GET", "/api/v1/tasks/"+id, nil, &out); err != nil {
			return err
		}
		printTask(env.Stdout, out.Task, out.Events)
		return nil
	case "logs":
		follow := fs.Bool("follow", false, "keep printing until the attempt ends")
		fs.BoolVar(follow, "f", false, "the same as --follow")
		attempt := fs.Int("attempt", 0, "which attempt (default the latest)")
		tail := fs.Int("tail", 0, "only the last N lines (then, with --follow, what comes)")
		if err := parseAnywhere(fs, args); err != nil {
			return err
		}
		id, err := idArg(fs)
		if err != nil {
			return err
		}
		return taskLogs(ctx, c, id, *attempt, *tail, *follow, env.Stdout)
	case "upload":
		if err := parseAnywhere(fs, args); err != nil {
			return err
		}
		if fs.NArg() < 1 || fs.NArg() > 2 {
			return errors.New("want upload FILE [NAME]")
		}
		return taskUpload(ctx, c, fs.Arg(0), fs.Arg(1), env.Stdout)
	case "download":
		out := fs.String("o", "", "write to this file (default: the artifact's base name)")
		if err := parseAnywhere(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 2 {
			return errors.New("want download ID PATH [-o FILE]")
		}
		return taskDownload(ctx, c, fs.Arg(0), fs.Arg(1), *out, env.Stdout)
	}
	return fmt.Errorf("unknown task command %q (want submit, list, show, logs, cancel, upload or download)", sub)
}

// parseAnywhere parses flags given before, between or after the
// positional arguments (`logs 7 --follow`), which flag.Parse alone stops
// at; the positionals are then fs.Args().
func parseAnywhere(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

func idArg(fs *flag.FlagSet) (string, error) {
	if fs.NArg() != 1 {
		return "", errors.New("want one task id")
	}
	if _, err := strconv.ParseInt(fs.Arg(0), 10, 64); err != nil {
		return "", fmt.Errorf("task id %q is not a number", fs.Arg(0))
	}
	return fs.Arg(0), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func taskSubmit(ctx context.Context, c *userClient, fs *flag.FlagSet, args []string, env Env) error {
	spec := tasks.Spec{}
	fs.StringVar(&spec.CodeRepoURL, "code-repo", "", "code repo URL (default: your repo)")
	fs.StringVar(&spec.CodeCommitID, "code-commit", "main", "code commit id, branch or tag")
	fs.StringVar(&spec.EnvRepoURL, "env-repo", "", "environment repo URL (default: the code repo)")
	fs.StringVar(&spec.EnvCommitID, "env-commit", "", "environment commit (default: the code commit)")
	fs.StringVar(&spec.DockerfilePath, "dockerfile", "", "the Dockerfile in the env repo (required)")
	cpus := fs.Float64("cpus", 1, "cores")
	mem := fs.String("memory", "1GiB", "memory, e.g. 512MiB")
	fs.IntVar(&spec.Resources.GPUs, "gpus", 0, "GPUs")
	timeout := fs.Duration("timeout", time.Hour, "stop it after this long")
	fs.IntVar(&spec.Priority, "priority", 0, "higher runs first")
	fs.IntVar(&spec.MaxAttempts, "max-attempts", 0, "runs after lost nodes (default 3)")
	labels := cliflag.KeyValues{}
	fs.Var(labels, "label", "node label k=v it needs (repeatable)")
	inputs := cliflag.KeyValues{}
	fs.Var(inputs, "input", "PATH=OBJECT copied to /in/PATH (repeatable)")
	var arts stringList
	fs.Var(&arts, "artifact", "a path under /out to keep (repeatable)")
	follow := fs.Bool("follow", false, "print the log until the task ends")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec.Command = fs.Args()
	if len(spec.Command) == 0 {
		return errors.New("want the command after --, e.g. cloud task submit --dockerfile Dockerfile -- make")
	}
	if spec.DockerfilePath == "" {
		return errors.New("--dockerfile is required")
	}
	m, err := units.RAMInBytes(*mem)
	if err != nil {
		return fmt.Errorf("--memory %q: %w", *mem, err)
	}
	spec.Resources.CPUs, spec.Resources.MemoryBytes = *cpus, m
	spec.TimeoutSeconds = int64(timeout.Round(time.Second) / time.Second)
	if spec.CodeRepoURL == "" {
		spec.CodeRepoURL = c.base + "/git/" + c.user + ".git"
	}
	if spec.EnvRepoURL == "" {
		spec.EnvRepoURL = spec.CodeRepoURL
	}
	if spec.EnvCommitID == "" {
		spec.EnvCommitID = spec.CodeCommitID
	}
	if len(labels) > 0 {
		spec.Labels = labels
	}
	spec.Artifacts = arts
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.Inputs = append(spec.Inputs, tasks.Input{Path: k, Object: inputs[k]})
	}
	var t tasks.Task
	if err := c.json(ctx, "POST", "/api/v1/tasks", spec, &t); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "task %d %s (code %s, env %s %s)\n", t.ID, t.State, t.CodeCommitID[:12], t.EnvCommitID[:12], t.DockerfilePath)
	if !*follow {
		return nil
	}
	return taskLogs(ctx, c, strconv.FormatInt(t.ID, 10), 0, 0, true, env.Stdout)
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// taskLogs prints a task's output (the last tail lines of it when tail >
// 0); following, it waits for the task to start, prints until it ends
// (following it into a new attempt when one was lost), then its final
// state, and fails unless it succeeded.
func taskLogs(ctx context.Context, c *userClient, id string, attempt, tail int, follow bool, w io.Writer) error {
	get := func() (tasks.Task, error) {
		var out struct {
			Task tasks.Task `json:"task"`
		}
		err := c.json(ctx, "GET", "/api/v1/tasks/"+id, nil, &out)
		return out.Task, err
	}
	for {
		t, err := get()
		if err != nil {
			return err
		}
		if follow && t.Attempt == 0 && !isFinal(t.State) {
			select { // queued: nothing to print yet
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		n := attempt
		if n == 0 {
			n = t.Attempt
		}
		q := url.Values{}
		q.Set("attempt", strconv.Itoa(n))
		q.Set("follow", strconv.FormatBool(follow))
		if tail > 0 {
			q.Set("tail", strconv.Itoa(tail))
		}
		resp, err := c.do(ctx, "GET", "/api/v1/tasks/"+id+"/logs?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, resp.Body)
		resp.Body.Close()
		if err != nil || !follow {
			return err
		}
		if t, err = get(); err != nil {
			return err
		}
		if !isFinal(t.State) && attempt == 0 {
			// That attempt ended without the task: it runs again.
			fmt.Fprintf(w, "\n[attempt %d ended: %s]\n", n, t.Detail)
			tail = 0
			continue
		}
		fmt.Fprintf(w, "\ntask %d %s", t.ID, t.State)
		if t.ExitCode != nil {
			fmt.Fprintf(w, " (exit %d)", *t.ExitCode)
		}
		if t.Detail != "" {
			fmt.Fprintf(w, ": %s", t.Detail)
		}
		fmt.Fprintln(w)
		if t.State != "succeeded" {
			return fmt.Errorf("task %d %s", t.ID, t.State)
		}
		return nil
	}
}

func isFinal(state string) bool {
	switch state {
	case "succeeded", "failed", "cancelled", "lost":
		return true
	}
	return false
}

func printTask(w io.Writer, t tasks.Task, ev []tasks.Event) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%d (%s)\n", t.ID, t.User)
	fmt.Fprintf(tw, "state\t%s", t.State)
	if t.ExitCode != nil {
		fmt.Fprintf(tw, " (exit %d)", *t.ExitCode)
	}
	if t.Position > 0 {
		fmt.Fprintf(tw, " (place %d in the queue)", t.Position)
	}
	fmt.Fprintln(tw)
	if t.Detail != "" {
		fmt.Fprintf(tw, "detail\t%s\n", t.Detail)
	}
	fmt.Fprintf(tw, "code\t%s @ %s\n", t.CodeRepoURL, t.CodeCommitID)
	fmt.Fprintf(tw, "env\t%s @ %s : %s\n", t.EnvRepoURL, t.EnvCommitID, t.DockerfilePath)
	if t.Image != "" {
		cached := ""
		if t.ImageCached {
			cached = " (cached)"
		}
		fmt.Fprintf(tw, "image\t%s%s\n", t.Image, cached)
	}
	fmt.Fprintf(tw, "command\t%s\n", strings.Join(t.Command, " "))
	fmt.Fprintf(tw, "needs\t%.3g cpus, %s, %d GPUs, %s\n", t.Resources.CPUs, units.BytesSize(float64(t.Resources.MemoryBytes)), t.Resources.GPUs, time.Duration(t.TimeoutSeconds)*time.Second)
	fmt.Fprintf(tw, "attempt\t%d of %d on %s\n", t.Attempt, t.MaxAttempts, dash(t.Node))
	paths := make([]string, 0, len(t.Artifacts))
	for p := range t.Artifacts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(tw, "artifact\t%s (%s)\n", p, units.BytesSize(float64(t.Artifacts[p])))
	}
	for _, e := range ev {
		fmt.Fprintf(tw, "  %s\t#%d %s %s %s\n", e.At.Local().Format("15:04:05.000"), e.Attempt, e.State, e.Node, e.Detail)
	}
	_ = tw.Flush()
}

func taskUpload(ctx context.Context, c *userClient, file, name string, w io.Writer) error {
	if name == "" {
		name = filepath.Base(file)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var up struct {
		Object string `json:"object"`
		URL    string `json:"url"`
	}
	if err := c.json(ctx, "POST", "/api/v1/uploads", map[string]string{"name": name}, &up); err != nil {
		return err
	}
	// Straight to the object store: the cloud is not in the data path.
	req, err := http.NewRequestWithContext(ctx, "PUT", up.URL, f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("upload %s: %w", file, withoutURL(err))
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload %s: the object store answered %s", file, resp.Status)
	}
	fmt.Fprintln(w, up.Object)
	return nil
}

func taskDownload(ctx context.Context, c *userClient, id, path, out string, w io.Writer) error {
	resp, err := c.do(ctx, "GET", "/api/v1/tasks/"+url.PathEscape(id)+"/artifacts/"+url.PathEscape(path), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	link := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || link == "" {
		return fmt.Errorf("download: the cloud answered %s without a link", resp.Status)
	}
	get, err := http.NewRequestWithContext(ctx, "GET", link, nil)
	if err != nil {
		return err
	}
	r, err := http.DefaultClient.Do(get)
	if err != nil {
		return fmt.Errorf("download %s: %w", path, withoutURL(err))
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: the object store answered %s", path, r.Status)
	}
	if out == "" {
		out = filepath.Base(path)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, r.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("download %s: %w", path, err)
	}
	fmt.Fprintf(w, "%s: %s\n", out, units.BytesSize(float64(n)))
	return nil
}

// withoutURL drops the URL from an HTTP client error: a presigned link is
// a credential, not something to print.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
