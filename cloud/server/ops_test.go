package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// The dashboard is for admins only: a signed-out browser is sent to sign
// in, an API client gets 401, a user who is not an admin 403, on the page,
// its live part and the JSON alike; only an admin's home page links it.
func TestOpsDashboardAdminOnly(t *testing.T) {
	c := startFullCloud(t)
	anon := newBrowser(t, c)
	for _, p := range []string{"/admin/ops", "/admin/ops/live"} {
		resp, _ := anon.do("GET", p, "", nil)
		wantRedirect(t, resp, "/signin")
	}
	if resp, body := anon.do("GET", "/api/v1/admin/ops", "application/json", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("signed out JSON = %d %s", resp.StatusCode, body)
	}
	b := newBrowser(t, c)
	b.signIn("alice", "alice-password")
	for _, p := range []string{"/admin/ops", "/admin/ops/live", "/api/v1/admin/ops"} {
		for _, accept := range []string{"", "application/json"} {
			resp, body := b.do("GET", p, accept, nil)
			if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Nodes") {
				t.Fatalf("non-admin GET %s (%q) = %d %s", p, accept, resp.StatusCode, body)
			}
		}
	}
	if page, _ := b.home(); strings.Contains(page, "/admin/ops") {
		t.Error("a user who is not an admin is offered the dashboard")
	}
	if err := c.srv.Accounts.SetAdmin(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	if page, _ := b.home(); !strings.Contains(page, `href="/admin/ops"`) {
		t.Error("the admin's home page does not link the dashboard")
	}
	resp, page := b.do("GET", "/admin/ops", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Operator dashboard") || !strings.Contains(page, "No nodes yet") || !strings.Contains(page, "/web/ops.js") {
		t.Fatalf("admin GET /admin/ops = %d\n%s", resp.StatusCode, page)
	}
	if resp, body := b.do("GET", "/web/ops.js", "*/*", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "/admin/ops/live") {
		t.Fatalf("GET /web/ops.js = %d", resp.StatusCode)
	}
}

// A node's stats reach the dashboard (page, live part and JSON) and the
// metrics from whichever replica reads them, escaped and bounded; the
// metrics follow the fleet's state as it changes.
func TestOpsLiveStatsAndMetrics(t *testing.T) {
	c := startFullCloud(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	if err := c.srv.Accounts.SetAdmin(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, c)
	b.signIn("alice", "alice-password")

	m := scrape(t, c)
	if m[`gatewave_nodes{state="online"}`] != 0 || m[`gatewave_session_queue_length`] != 0 || m[`gatewave_fleet_scrape_ok`] != 1 {
		t.Fatalf("fresh metrics: %v", m)
	}
	if _, ok := m[`gatewave_tasks{state="queued"}`]; !ok {
		t.Fatal("no gatewave_tasks{state=queued}")
	}
	addNode(t, c.srv.Store, "n1", nil)
	if m := scrape(t, c); m[`gatewave_nodes{state="new"}`] != 1 {
		t.Fatalf("a new node is not counted new: %v", m[`gatewave_nodes{state="new"}`])
	}
	_, tok := addNode(t, c.srv.Store, "n2", nil)
	g, err := gateway.New(gateway.Options{CloudURL: c.URL(), Token: tok, Name: "n2", Version: "other-release", Logger: logger(t),
		Resources: func(context.Context) (fleetproto.Resources, error) {
			return fleetproto.Resources{CPUCores: 8, MemoryBytes: 16 << 30, PoolCPUs: 2, PoolMemoryBytes: 1 << 30}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	gctx, gcancel := context.WithCancel(ctx)
	gdone := make(chan error, 1)
	go func() { gdone <- g.Run(gctx) }()
	t.Cleanup(func() { gcancel(); <-gdone })
	eventually(t, ctx, "n2 online in the metrics", func() bool { return scrape(t, c)[`gatewave_nodes{state="online"}`] == 1 })

	g.ReportPool(&fleetproto.Pool{Containers: []fleetproto.PoolContainer{
		{ID: "aaaaaaaaaaaa", Name: "p1", Class: "standard", State: fleetproto.PoolIdle},
		{ID: "bbbbbbbbbbbb", Name: "p2", Class: "standard", State: fleetproto.PoolIdle},
		{ID: "cccccccccccc", Name: "p3", Class: "standard", State: fleetproto.PoolFailed},
	}})
	evil := `<script>alert(1)</script>`
	send := func(cpu float64) {
		t.Helper()
		st := &fleetproto.Stats{Node: fleetproto.Usage{CPUCores: cpu, CPULimit: 8, MemoryBytes: 3 << 30, MemoryLimitBytes: 16 << 30},
			Containers: []fleetproto.ContainerStats{{ID: "aaaaaaaaaaaa", Name: evil, Kind: fleetproto.StatsSession,
				Usage: fleetproto.Usage{CPUCores: 0.5, CPULimit: 1, MemoryBytes: 100 << 20, MemoryLimitBytes: 512 << 20}}}}
		if err := g.Send(st); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, ctx, "the link up for stats", func() bool { return g.Send(&fleetproto.Stats{Containers: []fleetproto.ContainerStats{}}) == nil })
	send(1.5)
	eventually(t, ctx, "stats and pool in the metrics", func() bool {
		m := scrape(t, c)
		return m[`gatewave_node_cpu_usage_cores{node="n2"}`] == 1.5 && m[`gatewave_pool_containers{node="n2",state="idle"}`] == 2 &&
			m[`gatewave_pool_containers{node="n2",state="failed"}`] == 1
	})
	if m := scrape(t, c); m[`gatewave_node_memory_usage_bytes{node="n2"}`] != 3<<30 || m[`gatewave_node_cpu_cores{node="n2"}`] != 8 {
		t.Fatalf("memory and cores: %v", m)
	}
	// Values change with the node's next sample.
	send(6.25)
	eventually(t, ctx, "the next sample in the metrics", func() bool { return scrape(t, c)[`gatewave_node_cpu_usage_cores{node="n2"}`] == 6.25 })

	var snap struct {
		Nodes []struct {
			Name            string         `json:"name"`
			State           string         `json:"state"`
			Linked          bool           `json:"linked"`
			Version         string         `json:"version"`
			VersionMismatch bool           `json:"version_mismatch"`
			Pool            map[string]int `json:"pool"`
			Used            struct {
				PoolCPUs float64 `json:"pool_cpus"`
			} `json:"used"`
			Stats *struct {
				Node       fleetproto.Usage            `json:"node"`
				Containers []fleetproto.ContainerStats `json:"containers"`
			} `json:"stats"`
		} `json:"nodes"`
	}
	resp, body := b.do("GET", "/api/v1/admin/ops", "application/json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/admin/ops = %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Nodes) != 2 || snap.Nodes[1].Name != "n2" {
		t.Fatalf("nodes: %s", body)
	}
	n2 := snap.Nodes[1]
	if n2.State != "online" || !n2.Linked || n2.Version != "other-release" || n2.Pool["idle"] != 2 || n2.Pool["failed"] != 1 ||
		n2.Used.PoolCPUs != 2 || n2.Stats == nil || n2.Stats.Node.CPUCores != 6.25 || len(n2.Stats.Containers) != 1 || n2.Stats.Containers[0].Name != evil {
		t.Fatalf("n2: %+v", n2)
	}
	// Unstamped test builds are "dev", which matches anything.
	if n2.VersionMismatch {
		t.Error("a dev cloud marks a mismatch")
	}

	// The node's text is escaped on the page and in the live part.
	for _, p := range []string{"/admin/ops", "/admin/ops/live"} {
		resp, page := b.do("GET", p, "", nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(page, evil) || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") ||
			!strings.Contains(page, "6.25 of 8 cores") || !strings.Contains(page, `data-node="n2" data-state="online"`) {
			t.Fatalf("GET %s = %d\n%s", p, resp.StatusCode, page)
		}
	}

	// Requests are counted by code, the 403 of a user who is not an admin too.
	before := scrape(t, c)[`gatewave_http_requests_total{code="403"}`]
	if _, err := c.srv.Accounts.AddUser(ctx, "bob", "bob-password"); err != nil {
		t.Fatal(err)
	}
	bob := newBrowser(t, c)
	bob.signIn("bob", "bob-password")
	bob.do("GET", "/api/v1/admin/ops", "application/json", nil)
	if after := scrape(t, c)[`gatewave_http_requests_total{code="403"}`]; after != before+1 {
		t.Fatalf("403s counted %v → %v", before, after)
	}

	// Draining (cloud node drain) shows as its own state.
	if err := c.srv.Store.SetDrain(ctx, "n2", true); err != nil {
		t.Fatal(err)
	}
	if m := scrape(t, c); m[`gatewave_nodes{state="draining"}`] != 1 || m[`gatewave_nodes{state="online"}`] != 0 {
		t.Fatalf("draining: %v", m)
	}
	if resp, page := b.do("GET", "/admin/ops/live", "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-node="n2" data-state="draining"`) {
		t.Fatalf("draining on the page: %s", page)
	}

	// Revoked: the metrics say so at once.
	if _, err := c.srv.Store.Revoke(ctx, "n2", time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, "n2 revoked in the metrics", func() bool {
		m := scrape(t, c)
		return m[`gatewave_nodes{state="revoked"}`] == 1 && m[`gatewave_nodes{state="online"}`] == 0
	})

	// The metrics need the admin token.
	req, _ := http.NewRequest("GET", c.URL()+"/metrics", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /metrics without a token = %d", r.StatusCode)
	}
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// scrape reads the cloud's /metrics with the admin token and parses the
// text exposition into "name{labels}" → value, checking every line.
func scrape(t testing.TB, c *cloud) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics = %d %s", resp.StatusCode, b)
	}
	return parseExposition(t, resp.Body)
}

func parseExposition(t testing.TB, r io.Reader) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		if _, dup := out[m[1]]; dup {
			t.Fatalf("sample %s twice", m[1])
		}
		out[m[1]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(fmt.Errorf("read exposition: %w", err))
	}
	return out
}
