//go:build linux

package pool

import (
	"strings"
	"testing"
)

// An engine-only pool on a dockerd that remaps user namespaces: the token
// copied into the container's run volume belongs to the container's root
// (uid 0 inside, the remapped range's first uid on the node), so sessiond
// starts, reads it and answers through the engine, while the user inside
// still cannot read it.
func TestEngineOnlyPoolUnderUsernsRemap(t *testing.T) {
	dc, _ := usernsDocker(t)
	p, _ := newTestPool(t, "engine-userns", []Class{{Name: "standard", Size: Size{CPUs: 0.5, MemoryBytes: 128 * mib, Pids: 64, DiskBytes: 32 * mib}, Count: 1}}, func(o *Options) {
		o.Docker = dc
		o.EngineOnly = true
	})
	if p.ids.rootUID() == 0 {
		t.Fatal("the pool did not notice the remapping")
	}
	waitFor(t, "1 idle", func() bool { return p.Counts()[Idle] == 1 })
	c := p.Snapshot()[0]
	if code, body := sessiondGet(t, p, c, "api/v1/files?path=."); code != 200 || !strings.Contains(body, `"entries"`) {
		t.Fatalf("sessiond through the engine under userns: %d %s", code, body)
	}
	if out, exit := execAs(t, p, c.ID, "0:0", "stat", "-c", "%u:%g %a", "/run/gatewave/token"); exit != 0 || strings.TrimSpace(out) != "0:0 600" {
		t.Errorf("the token inside: exit %d, %q; want root's, 0600", exit, out)
	}
	if out, exit := execAs(t, p, c.ID, "1000:1000", "cat", "/run/gatewave/token"); exit == 0 || strings.Contains(out, c.Token) {
		t.Errorf("the user read the token: exit %d, %q", exit, out)
	}
}
