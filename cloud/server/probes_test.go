package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/server"
	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/probes"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// probeNode is a gateway answering host.probe and host.exec with the real
// probes, counting the commands it receives and checking that each one's
// audit row was written before it arrived.
type probeNode struct {
	received   atomic.Int64
	unaudited  atomic.Int64 // commands that arrived with no open audit row
	ring       *probes.LogRing
	gatewayLog *slog.Logger
}

func startProbeNode(t *testing.T, c *cloud, name, token string, dc *client.Client, allowExec bool) *probeNode {
	t.Helper()
	pn := &probeNode{ring: probes.NewLogRing(0, 0)}
	pn.gatewayLog = slog.New(slog.NewJSONHandler(pn.ring, nil))
	p := probes.New(probes.Options{Docker: dc, DiskPaths: []string{"/", t.TempDir()}, Logs: pn.ring, AllowExec: allowExec, Logger: pn.gatewayLog})
	cmds := map[string]gateway.CommandHandler{}
	for k, h := range p.Commands() {
		cmds[k] = func(ctx context.Context, cmd *fleetproto.Command) ([]byte, error) {
			pn.received.Add(1)
			var open int
			if err := c.srv.Store.Pool.QueryRow(ctx, `SELECT count(*) FROM host_probe_audit
				WHERE node_name = $1 AND finished_at IS NULL`, name).Scan(&open); err != nil || open == 0 {
				pn.unaudited.Add(1)
			}
			return h(ctx, cmd)
		}
	}
	g := startGateway(t, c.URL(), name, token, func(o *gateway.Options) {
		o.Commands = cmds
		o.Logger = pn.gatewayLog
	})
	g.waitEvent(t, testenv.Context(t, testenv.WaitShort), "connected")
	return pn
}

type apiResp struct {
	status int
	body   []byte
	hdr    http.Header
}

func call(t *testing.T, method, url, auth, body string) apiResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{resp.StatusCode, b, resp.Header}
}

func (r apiResp) result(t *testing.T) fleetproto.HostProbeResult {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("HTTP %d: %s", r.status, r.body)
	}
	var res fleetproto.HostProbeResult
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&res); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return res
}

func (r apiResp) errorMessage(t *testing.T, status int) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if r.status != status || json.Unmarshal(r.body, &e) != nil || e.Error.Message == "" {
		t.Fatalf("want HTTP %d with an error, got %d: %s", status, r.status, r.body)
	}
	return e.Error.Message
}

func auditRows(t *testing.T, c *cloud, query string) []server.ProbeAudit {
	t.Helper()
	r := call(t, "GET", c.URL()+"/api/v1/probes/audit"+query, "Bearer "+adminToken, "")
	if r.status != 200 {
		t.Fatalf("audit: HTTP %d: %s", r.status, r.body)
	}
	var body struct{ Audit []server.ProbeAudit }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Audit
}

// auditRow returns the row whose id an answer's header names.
func auditRow(t *testing.T, c *cloud, r apiResp) server.ProbeAudit {
	t.Helper()
	id, err := strconv.ParseInt(r.hdr.Get("X-Gatewave-Audit-Id"), 10, 64)
	if err != nil {
		t.Fatalf("answer without an audit id (HTTP %d %s)", r.status, r.body)
	}
	for _, a := range auditRows(t, c, "?limit=1000") {
		if a.ID == id {
			if a.FinishedAt == nil || a.OK == nil {
				t.Fatalf("audit row %d is not finished: %+v", id, a)
			}
			return a
		}
	}
	t.Fatalf("no audit row %d", id)
	return server.ProbeAudit{}
}

// The maintenance probes end to end: a real cloud on Postgres, real
// gateways over loopback running the real probes, dockerd for the docker
// probe; exec refused where not allowed, bounded where it is, every use
// audited, nothing sent without the admin token.
func TestHostProbes(t *testing.T) {
	docker := testenv.Docker(t)
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	_, pool, st := newDB(t)
	_, tokA := addNode(t, st, "probe-a", nil)
	_, tokB := addNode(t, st, "probe-b", nil)
	addNode(t, st, "probe-off", nil)
	// What the gateway process holds must never reach a command it runs.
	t.Setenv("NODEGW_TOKEN", tokB)
	t.Setenv("GATEWAVE_PROBE_CANARY", "canary-7f3a")
	c := startCloud(t, pool, "", fast)
	a := startProbeNode(t, c, "probe-a", tokA, dc, false)
	b := startProbeNode(t, c, "probe-b", tokB, nil, true)
	admin := "Bearer " + adminToken
	probe := func(node, body string) apiResp {
		return call(t, "POST", c.URL()+"/api/v1/nodes/"+node+"/probe", admin, body)
	}
	exec := func(node string, timeoutMS int64, argv ...string) apiResp {
		body, _ := json.Marshal(fleetproto.HostExecArgs{Argv: argv, TimeoutMS: timeoutMS})
		return call(t, "POST", c.URL()+"/api/v1/nodes/"+node+"/exec", admin, string(body))
	}

	t.Run("each probe answers", func(t *testing.T) {
		r := probe("probe-a", `{"probe":"uptime"}`)
		if res := r.result(t); !regexp.MustCompile(`^up \d+d \d+h \d+m .*\nload average: `).MatchString(res.Output) || res.ExitCode != 0 {
			t.Errorf("uptime: %+v", res)
		}
		if row := auditRow(t, c, r); !*row.OK || row.Kind != "probe" || string(row.Request) != `{"probe":"uptime"}` ||
			row.Actor != "admin-token" || row.RemoteAddr != "127.0.0.1" || row.Node != "probe-a" {
			t.Errorf("audit row: %+v %s", row, row.Request)
		}
		if res := probe("probe-a", `{"probe":"disk"}`).result(t); !regexp.MustCompile(`(?m)^/ +[\d.]+ GiB +[\d.]+ GiB +[\d.]+%$`).MatchString(res.Output) {
			t.Errorf("disk: %q", res.Output)
		}
		ver, err := execCommand(docker, "version", "--format", "{{.Server.Version}}")
		if err != nil {
			t.Fatal(err)
		}
		if res := probe("probe-a", `{"probe":"docker"}`).result(t); !strings.Contains(res.Output, "server version: "+ver+"\n") ||
			!strings.Contains(res.Output, "storage driver: ") || !strings.Contains(res.Output, "cgroup driver: ") {
			t.Errorf("docker: %q", res.Output)
		}
		if res := probe("probe-b", `{"probe":"docker"}`).result(t); !strings.Contains(res.Output, "dockerd is not used") {
			t.Errorf("docker without a pool: %q", res.Output)
		}
		// The gateway's own log: its connection and the probes it ran.
		res := probe("probe-a", `{"probe":"logs"}`).result(t)
		if !strings.Contains(res.Output, `"msg":"connected"`) || !strings.Contains(res.Output, `"msg":"host probe","probe":"docker"`) {
			t.Errorf("logs: %q", res.Output)
		}
	})

	t.Run("bad probes are refused, and audited", func(t *testing.T) {
		before := a.received.Load()
		r := probe("probe-a", `{"probe":"shell"}`)
		if msg := r.errorMessage(t, 400); !strings.Contains(msg, "uptime, disk, docker, logs") {
			t.Errorf("unknown probe: %s", msg)
		}
		if row := auditRow(t, c, r); *row.OK || !strings.Contains(row.Error, "unknown probe") {
			t.Errorf("audit: %+v", row)
		}
		probe("probe-a", `{"probe":"uptime","argv":["sh"]}`).errorMessage(t, 400)
		probe("probe-a", `not json`).errorMessage(t, 400)
		if a.received.Load() != before {
			t.Errorf("a refused probe reached the node")
		}
	})

	t.Run("unknown, offline and revoked nodes", func(t *testing.T) {
		r := probe("no-such-node", `{"probe":"uptime"}`)
		r.errorMessage(t, 404)
		if row := auditRow(t, c, r); *row.OK || row.Node != "no-such-node" || !strings.Contains(row.Error, "no node named") {
			t.Errorf("audit: %+v", row)
		}
		r = exec("probe-off", 1000, "true")
		if msg := r.errorMessage(t, 409); !strings.Contains(msg, "not connected") {
			t.Errorf("offline: %s", msg)
		}
		if row := auditRow(t, c, r); *row.OK || row.Kind != "exec" || !strings.Contains(row.Error, "not connected") {
			t.Errorf("audit: %+v", row)
		}
		if _, err := st.Revoke(context.Background(), "probe-off", time.Now()); err != nil {
			t.Fatal(err)
		}
		if msg := probe("probe-off", `{"probe":"uptime"}`).errorMessage(t, 409); !strings.Contains(msg, "revoked") {
			t.Errorf("revoked: %s", msg)
		}
	})

	t.Run("exec is refused where not allowed", func(t *testing.T) {
		before := a.received.Load()
		r := exec("probe-a", 5000, "touch", "/tmp/should-not-exist-probe-a")
		if msg := r.errorMessage(t, 403); !strings.Contains(msg, "host.exec is not allowed on this node") || !strings.Contains(msg, "--allow-exec") {
			t.Errorf("refused exec: %s", msg)
		}
		if a.received.Load() != before+1 {
			t.Errorf("the node was not asked")
		}
		if _, err := os.Stat("/tmp/should-not-exist-probe-a"); err == nil {
			t.Errorf("the refused command ran")
		}
		if row := auditRow(t, c, r); *row.OK || !strings.Contains(row.Error, "not allowed") ||
			!strings.Contains(string(row.Request), `"argv":["touch","/tmp/should-not-exist-probe-a"]`) {
			t.Errorf("audit: %+v %s", row, row.Request)
		}
		// Bad arguments are refused by the cloud, never sent.
		for _, r := range []apiResp{exec("probe-b", fleetproto.MaxExecTimeoutMS+1, "true"), exec("probe-b", 1000)} {
			r.errorMessage(t, 400)
			if row := auditRow(t, c, r); *row.OK || !strings.Contains(row.Error, "host.exec:") {
				t.Errorf("audit: %+v", row)
			}
		}
	})

	t.Run("exec: output and exit code", func(t *testing.T) {
		r := exec("probe-b", 5000, "sh", "-c", "echo out; echo err >&2; exit 7")
		if res := r.result(t); res.Output != "out\nerr\n" || res.ExitCode != 7 || res.TimedOut || res.Truncated {
			t.Errorf("%+v", res)
		}
		if row := auditRow(t, c, r); !*row.OK || *row.ExitCode != 7 || row.TimedOut || *row.OutputBytes != 8 {
			t.Errorf("audit: %+v", row)
		}
	})

	t.Run("exec: a timeout kills the command and its group", func(t *testing.T) {
		start := time.Now()
		r := exec("probe-b", 500, "sleep", "30")
		res := r.result(t)
		if !res.TimedOut || res.ExitCode != 137 || time.Since(start) > 10*time.Second {
			t.Errorf("%+v after %v", res, time.Since(start))
		}
		if row := auditRow(t, c, r); !*row.OK || !row.TimedOut || *row.ExitCode != 137 {
			t.Errorf("audit: %+v", row)
		}
		res = exec("probe-b", 500, "sh", "-c", "sleep 30 & echo $!; wait").result(t)
		pid, err := strconv.Atoi(strings.TrimSpace(res.Output))
		if !res.TimedOut || err != nil {
			t.Fatalf("%+v", res)
		}
		waitGone(t, pid)
	})

	t.Run("exec: output over the cap is truncated", func(t *testing.T) {
		r := exec("probe-b", 10000, "sh", "-c", "yes 0123456789 | head -c 200000")
		res := r.result(t)
		if !res.Truncated || len(res.Output) != fleetproto.MaxProbeOutput || !strings.HasPrefix(res.Output, "0123456789\n") {
			t.Errorf("truncated %v, %d bytes", res.Truncated, len(res.Output))
		}
		if row := auditRow(t, c, r); *row.OutputBytes != fleetproto.MaxProbeOutput {
			t.Errorf("audit: %+v", row)
		}
		// Bytes that escape to six in JSON still make an answer that fits.
		if res := exec("probe-b", 10000, "head", "-c", "100000", "/dev/zero").result(t); !res.Truncated || len(res.Output) == 0 {
			t.Errorf("NULs: truncated %v, %d bytes", res.Truncated, len(res.Output))
		}
	})

	t.Run("exec: nothing of the gateway's environment", func(t *testing.T) {
		res := exec("probe-b", 5000, "env").result(t)
		if res.Output != "PATH="+probes.ExecPath+"\n" || strings.Contains(res.Output, tokB) || strings.Contains(res.Output, "canary-7f3a") {
			t.Errorf("env: %q", res.Output)
		}
		if res := exec("probe-b", 5000, "sh", "-c", "cat /proc/$$/environ | tr '\\0' '\\n'; cat </dev/stdin | wc -c").result(t); res.Output != "PATH="+probes.ExecPath+"\n0\n" {
			t.Errorf("environ/stdin: %q", res.Output)
		}
	})

	t.Run("non-admins are refused and nothing reaches the node", func(t *testing.T) {
		beforeA, beforeB := a.received.Load(), b.received.Load()
		rows := len(auditRows(t, c, "?limit=1000"))
		for _, tc := range []struct{ name, auth, query string }{
			{"no token", "", ""},
			{"wrong token", "Bearer wrong-token-0123456789abc", ""},
			{"basic auth", "Basic " + adminToken, ""},
			{"token in the query", "", "?token=" + adminToken},
			{"access_token in the query", "", "?access_token=" + adminToken},
			{"token in the query as well", admin, "?token=" + adminToken},
		} {
			for _, req := range []struct{ method, path, body string }{
				{"POST", "/api/v1/nodes/probe-b/exec", `{"argv":["touch","/tmp/probe-pwned"],"timeout_ms":1000}`},
				{"POST", "/api/v1/nodes/probe-a/probe", `{"probe":"uptime"}`},
				{"GET", "/api/v1/probes/audit", ""},
			} {
				if r := call(t, req.method, c.URL()+req.path+tc.query, tc.auth, req.body); r.status != 401 {
					t.Errorf("%s: %s %s = %d %s", tc.name, req.method, req.path, r.status, r.body)
				}
			}
		}
		if a.received.Load() != beforeA || b.received.Load() != beforeB {
			t.Errorf("a refused request reached a node")
		}
		if got := len(auditRows(t, c, "?limit=1000")); got != rows {
			t.Errorf("refused requests wrote %d audit rows", got-rows)
		}
		if _, err := os.Stat("/tmp/probe-pwned"); err == nil {
			t.Errorf("an unauthenticated exec ran")
		}
	})

	t.Run("the audit lists every use with its outcome", func(t *testing.T) {
		all := auditRows(t, c, "?limit=1000")
		for _, row := range all {
			if row.FinishedAt == nil || row.OK == nil || row.FinishedAt.Before(row.At) {
				t.Errorf("unfinished row: %+v", row)
			}
		}
		onB := auditRows(t, c, "?node=probe-b&limit=1000")
		var sentToB int
		for _, row := range onB {
			if row.Node != "probe-b" {
				t.Errorf("node filter: %+v", row)
			}
			if *row.OK || !strings.Contains(row.Error, "host.exec:") { // the cloud refused the invalid ones
				sentToB++
			}
		}
		if int64(sentToB) != b.received.Load() {
			t.Errorf("%d audited uses reached probe-b, it received %d", sentToB, b.received.Load())
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first: %d then %d", all[i-1].ID, all[i].ID)
			}
		}
		if got := auditRows(t, c, "?limit=2"); len(got) != 2 || got[0].ID != all[0].ID {
			t.Errorf("limit: %d rows", len(got))
		}
		call(t, "GET", c.URL()+"/api/v1/probes/audit?limit=0", admin, "").errorMessage(t, 400)
		if n := a.unaudited.Load() + b.unaudited.Load(); n != 0 {
			t.Errorf("%d commands reached a node before their audit row was written", n)
		}
	})

	t.Run("cloud node probe, exec and audit", func(t *testing.T) {
		ctx := testenv.Context(t, testenv.WaitLong)
		run := func(token string, args ...string) (int, string, string) {
			var out, errb bytes.Buffer
			code := cli.Run(ctx, args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
				switch k {
				case "GATEWAVE_URL":
					return c.URL()
				case "GATEWAVE_ADMIN_TOKEN":
					return token
				}
				return ""
			}})
			return code, out.String(), errb.String()
		}
		if code, out, errs := run(adminToken, "node", "probe", "probe-a", "uptime"); code != 0 || !strings.Contains(out, "load average: ") {
			t.Errorf("probe: %d %q %q", code, out, errs)
		}
		if code, out, errs := run(adminToken, "node", "exec", "probe-b", "--timeout", "5s", "--", "sh", "-c", "echo from-cli; exit 3"); code != 1 ||
			out != "from-cli\n" || !strings.Contains(errs, "exited with code 3") {
			t.Errorf("exec: %d %q %q", code, out, errs)
		}
		if code, out, errs := run(adminToken, "node", "exec", "probe-b", "--", "echo", "-n", "ok"); code != 0 || out != "ok\n" {
			t.Errorf("exec -n: %d %q %q", code, out, errs)
		}
		if code, _, errs := run(adminToken, "node", "exec", "probe-b", "--timeout", "300ms", "--", "sleep", "10"); code != 1 || !strings.Contains(errs, "timed out") {
			t.Errorf("exec timeout: %d %q", code, errs)
		}
		if code, _, errs := run(adminToken, "node", "exec", "probe-a", "--", "true"); code != 1 || !strings.Contains(errs, "not allowed") || !strings.Contains(errs, "403") {
			t.Errorf("refused exec: %d %q", code, errs)
		}
		if code, _, errs := run(adminToken, "node", "probe", "nope", "uptime"); code != 1 || !strings.Contains(errs, "no node named") {
			t.Errorf("unknown node: %d %q", code, errs)
		}
		if code, _, errs := run("wrong-token-0123456789", "node", "probe", "probe-a", "uptime"); code != 1 || !strings.Contains(errs, "invalid token") {
			t.Errorf("wrong token: %d %q", code, errs)
		}
		if code, _, errs := run("", "node", "audit"); code != 1 || !strings.Contains(errs, "GATEWAVE_ADMIN_TOKEN") {
			t.Errorf("no token: %d %q", code, errs)
		}
		code, out, errs := run(adminToken, "node", "audit", "probe-b", "--limit", "3")
		if code != 0 || !strings.Contains(out, "sleep 10 (timeout 300ms)") || !strings.Contains(out, "timed out (killed)") ||
			!strings.Contains(out, `sh -c "echo from-cli; exit 3" (timeout 5s)`) || !strings.Contains(out, "exit 3, 9 bytes") ||
			strings.Contains(out, "probe-a") || strings.Count(out, "\n") != 4 {
			t.Errorf("audit: %d %q\n%s", code, errs, out)
		}
		if code, out, _ := run(adminToken, "node", "audit", "probe-a"); code != 0 || !strings.Contains(out, "failed: node \"probe-a\": host.exec is not allowed") {
			t.Errorf("audit probe-a:\n%s", out)
		}
	})
}

func execCommand(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitShort)
	defer cancel()
	out, err := osexec.CommandContext(ctx, name, args...).Output()
	return strings.TrimSpace(string(out)), err
}

// waitGone waits until pid runs no more (a zombie left for init counts).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitShort)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs after the timeout: %s", pid, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startReplica runs a cloud replica with an internal listener, so replicas
// forward node commands to the one holding the link.
func startReplica(t *testing.T, pool *pgxpool.Pool, replica, internalToken string) *cloud {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fo := fleet.Options{Replica: replica, InternalToken: internalToken, InternalURL: "http://" + iln.Addr().String()}
	fast(&fo)
	srv, err := server.New(server.Options{Pool: pool, AdminToken: adminToken, Fleet: fo, Internal: iln, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	c := &cloud{srv: srv, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// A probe or exec asked of a replica that does not hold the node's link is
// forwarded to the one that does, refusals included, and audited on the
// replica that was asked.
func TestHostProbesAcrossReplicas(t *testing.T) {
	_, pool, st := newDB(t)
	_, tokA := addNode(t, st, "far-a", nil)
	_, tokB := addNode(t, st, "far-b", nil)
	const internal = "internal-token-0123456789abcdef"
	ra := startReplica(t, pool, "replica-a", internal)
	rb := startReplica(t, pool, "replica-b", internal)
	a := startProbeNode(t, ra, "far-a", tokA, nil, false)
	b := startProbeNode(t, ra, "far-b", tokB, nil, true)
	ctx := testenv.Context(t, testenv.WaitShort)
	eventually(t, ctx, "both nodes are held by replica-a", func() bool {
		for _, n := range []string{"far-a", "far-b"} {
			if got, err := st.Get(ctx, n); err != nil || got.Replica == nil || *got.Replica != "replica-a" {
				return false
			}
		}
		return true
	})
	admin := "Bearer " + adminToken
	r := call(t, "POST", rb.URL()+"/api/v1/nodes/far-a/probe", admin, `{"probe":"uptime"}`)
	if res := r.result(t); !strings.Contains(res.Output, "load average: ") {
		t.Errorf("forwarded probe: %+v", res)
	}
	if row := auditRow(t, rb, r); !*row.OK {
		t.Errorf("audit: %+v", row)
	}
	r = call(t, "POST", rb.URL()+"/api/v1/nodes/far-a/exec", admin, `{"argv":["true"],"timeout_ms":1000}`)
	if msg := r.errorMessage(t, 403); !strings.Contains(msg, "host.exec is not allowed on this node") {
		t.Errorf("forwarded refusal: %s", msg)
	}
	r = call(t, "POST", rb.URL()+"/api/v1/nodes/far-b/exec", admin, `{"argv":["sh","-c","echo far; exit 4"],"timeout_ms":5000}`)
	if res := r.result(t); res.Output != "far\n" || res.ExitCode != 4 {
		t.Errorf("forwarded exec: %+v", res)
	}
	if a.received.Load() != 2 || b.received.Load() != 1 || a.unaudited.Load()+b.unaudited.Load() != 0 {
		t.Errorf("received %d and %d, %d unaudited", a.received.Load(), b.received.Load(), a.unaudited.Load()+b.unaudited.Load())
	}
}
