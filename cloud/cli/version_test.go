package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/cli"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/fleetproto"
)

// A node whose gateway registered with another release than the cloud's is
// marked in `cloud node list` and carries version_mismatch in the node JSON
// the operator API and dashboard serve; a matching one and one that never
// registered are not.
func TestNodeListShowsVersionMismatch(t *testing.T) {
	u := dbtest.Empty(t, false)
	ctx := t.Context()
	var out bytes.Buffer
	if code := cli.Run(ctx, []string{"migrate"}, env(u, &out)); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, out.String())
	}
	prev := buildinfo.Version
	buildinfo.Version = "0.17.0"
	t.Cleanup(func() { buildinfo.Version = prev })

	pool, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	for name, ver := range map[string]string{"same": "0.17.0", "old": "0.16.2", "never": ""} {
		n, _, err := st.AddNode(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ver == "" {
			continue
		}
		if err := st.Connect(ctx, n.ID, "r1", &fleetproto.Register{Name: name, Version: ver}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	out.Reset()
	if code := cli.Run(ctx, []string{"node", "list"}, env(u, &out)); code != 0 {
		t.Fatalf("node list: exit %d: %s", code, out.String())
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	if !strings.Contains(lines["NAME"], "VERSION") {
		t.Fatalf("no VERSION column:\n%s", out.String())
	}
	if l := lines["old"]; !strings.Contains(l, "0.16.2 (MISMATCH: cloud 0.17.0)") {
		t.Fatalf("old node not marked:\n%s", out.String())
	}
	for _, n := range []string{"same", "never"} {
		if strings.Contains(lines[n], "MISMATCH") {
			t.Fatalf("%s marked as a mismatch:\n%s", n, out.String())
		}
	}

	nodes, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Version         *string `json:"version"`
			VersionMismatch *bool   `json:"version_mismatch"`
		}
		if err := json.Unmarshal(b, &m); err != nil || m.Version == nil || m.VersionMismatch == nil {
			t.Fatalf("node JSON %s lacks version/version_mismatch (%v)", b, err)
		}
		if want := n.Name == "old"; *m.VersionMismatch != want {
			t.Fatalf("%s: version_mismatch %v, want %v (%s)", n.Name, *m.VersionMismatch, want, b)
		}
	}
}
