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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gatewave.dev/cloud/server"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// The maintenance commands (node probe, exec, audit) go through a running
// cloud's operator API, since only the replica holding a node's link can
// reach it: GATEWAVE_URL, with GATEWAVE_ADMIN_TOKEN in the Authorization
// header (never in the URL, never a flag: argv is visible to every user of
// the machine).

const defaultCloudURL = "http://127.0.0.1:8480"

type apiClient struct {
	base, token string
	hc          *http.Client
}

func newAPIClient(env Env) (*apiClient, error) {
	base := strings.TrimRight(envOr(env, "GATEWAVE_URL", defaultCloudURL), "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("GATEWAVE_URL=%q: want http(s)://HOST[:PORT]", base)
	}
	token := env.Getenv("GATEWAVE_ADMIN_TOKEN")
	if token == "" {
		return nil, errors.New("GATEWAVE_ADMIN_TOKEN is not set: the cloud's operator API needs the admin token")
	}
	return &apiClient{base: base, token: token, hc: &http.Client{}}, nil
}

// do sends a request with the admin token and decodes a 200's JSON into
// out; any other status becomes an error with the API's message.
func (a *apiClient) do(ctx context.Context, method, path string, body any, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("cloud at %s: %w", a.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("cloud at %s: %w", a.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apierr.Body
		if json.Unmarshal(b, &e) == nil && e.Error != nil {
			return fmt.Errorf("%s (HTTP %d %s)", e.Error.Message, resp.StatusCode, e.Error.Code)
		}
		return fmt.Errorf("cloud at %s: HTTP %s", a.base, resp.Status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("cloud at %s: decode answer: %w", a.base, err)
	}
	return nil
}

// nodeRemote runs `cloud node probe|exec|audit`.
func nodeRemote(ctx context.Context, sub string, args []string, env Env) error {
	fs := flag.NewFlagSet("node "+sub, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	timeout := fs.Duration("timeout", 10*time.Second, "exec: kill the command after this long (at most 1m)")
	limit := fs.Int("limit", 20, "audit: rows to show, newest first")
	// NAME (and PROBE) may come before or after the flags; exec's argv
	// follows --.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		// Parse drops a "--" terminator: all after it is positional.
		afterDashes := len(args) > len(rest) && args[len(args)-len(rest)-1] == "--"
		if len(rest) == 0 || afterDashes || (sub == "exec" && len(pos) == 1) {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	api, err := newAPIClient(env)
	if err != nil {
		return err
	}
	switch sub {
	case "probe":
		if len(pos) != 2 {
			return fmt.Errorf("usage: cloud node probe NAME PROBE (PROBE is one of %s)", strings.Join(fleetproto.Probes, ", "))
		}
		var res fleetproto.HostProbeResult
		if err := api.do(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(pos[0])+"/probe",
			fleetproto.HostProbeArgs{Probe: pos[1]}, time.Minute, &res); err != nil {
			return err
		}
		return printResult(env, res, "probe")
	case "exec":
		if len(pos) < 2 {
			return errors.New("usage: cloud node exec NAME [--timeout 10s] -- ARGV (a command and its arguments)")
		}
		ms := timeout.Milliseconds()
		if ms <= 0 || ms > fleetproto.MaxExecTimeoutMS {
			return fmt.Errorf("--timeout %v: want more than 0 and at most %v", *timeout, time.Duration(fleetproto.MaxExecTimeoutMS)*time.Millisecond)
		}
		var res fleetproto.HostProbeResult
		if err := api.do(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(pos[0])+"/exec",
			fleetproto.HostExecArgs{Argv: pos[1:], TimeoutMS: ms}, *timeout+time.Minute, &res); err != nil {
			return err
		}
		return printResult(env, res, "exec")
	case "audit":
		if len(pos) > 1 {
			return errors.New("usage: cloud node audit [NAME] [--limit N]")
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if len(pos) == 1 {
			q.Set("node", pos[0])
		}
		var body struct {
			Audit []server.ProbeAudit `json:"audit"`
		}
		if err := api.do(ctx, http.MethodGet, "/api/v1/probes/audit?"+q.Encode(), nil, time.Minute, &body); err != nil {
			return err
		}
		printAudit(env.Stdout, body.Audit)
		return nil
	}
	return fmt.Errorf("unknown node command %q", sub)
}

// printResult writes the node's output; a non-zero exit or a timeout is
// an error, so the command's status says how it went.
func printResult(env Env, res fleetproto.HostProbeResult, kind string) error {
	fmt.Fprint(env.Stdout, res.Output)
	if res.Output != "" && !strings.HasSuffix(res.Output, "\n") {
		fmt.Fprintln(env.Stdout)
	}
	if res.Truncated {
		fmt.Fprintf(env.Stderr, "(output truncated: the node sends at most %d bytes)\n", fleetproto.MaxProbeOutput)
	}
	switch {
	case res.TimedOut:
		return fmt.Errorf("timed out: the node killed the command (exit code %d)", res.ExitCode)
	case res.ExitCode != 0:
		return fmt.Errorf("%s exited with code %d", kind, res.ExitCode)
	}
	return nil
}

func printAudit(w io.Writer, rows []server.ProbeAudit) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tNODE\tKIND\tREQUEST\tFROM\tOUTCOME")
	for _, a := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.At.UTC().Format(time.DateTime), a.Node, a.Kind,
			auditRequest(a), a.RemoteAddr, auditOutcome(a))
	}
	tw.Flush()
}

func auditRequest(a server.ProbeAudit) string {
	var r struct {
		Probe     string   `json:"probe"`
		Argv      []string `json:"argv"`
		TimeoutMS int64    `json:"timeout_ms"`
	}
	if json.Unmarshal(a.Request, &r) != nil {
		return string(a.Request)
	}
	if a.Kind == "probe" {
		return r.Probe
	}
	q := make([]string, len(r.Argv))
	for i, s := range r.Argv {
		q[i] = s
		if s == "" || strings.ContainsAny(s, " \t\n\"'\\$;&|<>()*?`") || !strconv.CanBackquote(s) {
			q[i] = strconv.Quote(s)
		}
	}
	return fmt.Sprintf("%s (timeout %v)", strings.Join(q, " "), time.Duration(r.TimeoutMS)*time.Millisecond)
}

func auditOutcome(a server.ProbeAudit) string {
	switch {
	case a.OK == nil:
		return "unfinished"
	case !*a.OK:
		msg := a.Error
		if len(msg) > 100 {
			msg = msg[:100] + "…"
		}
		return "failed: " + msg
	case a.TimedOut:
		return "timed out (killed)"
	case a.ExitCode != nil:
		out := ""
		if a.OutputBytes != nil {
			out = fmt.Sprintf(", %d bytes", *a.OutputBytes)
		}
		return fmt.Sprintf("exit %d%s", *a.ExitCode, out)
	}
	return "ok"
}
