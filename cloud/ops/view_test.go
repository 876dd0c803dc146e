package ops

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/web"
	"gatewave.dev/shared/fleetproto"
)

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{Age(-1), "never"}, {Age(3.4), "3 s ago"}, {Age(600), "10 min ago"}, {Age(7200), "2.0 h ago"}, {Age(3 * 86400), "3 days ago"},
		{Bytes(512), "512 B"}, {Bytes(4 << 20), "4 MiB"}, {Bytes(3 << 29), "1.5 GiB"},
		{Cores(0.5), "0.5"}, {Cores(2), "2"}, {Cores(0.333333), "0.33"},
		{CPU(fleetproto.Usage{CPUCores: 0.25, CPULimit: 0.5}), "0.25 of 0.5 cores (50%)"},
		{CPU(fleetproto.Usage{CPUCores: 1.5}), "1.50 cores"},
		{Memory(fleetproto.Usage{MemoryBytes: 256 << 20, MemoryLimitBytes: 1 << 30}), "256 MiB of 1.0 GiB (25%)"},
		{printable("a\x00b\xffc\u202ed"), "a\ufffdb\ufffdc\ufffdd"},
		{Node{State: "online"}.StateLabel(), "online (link lost)"},
		{Node{State: "draining", Linked: true}.StateLabel(), "draining"},
		{Node{Used: Held{PoolCPUs: 2, PoolMemoryBytes: 1 << 30}}.Held(), "pool 2 cores, 1.0 GiB; no tasks"},
		{Node{Used: Held{Tasks: 2, TaskCPUs: 3, TaskMemoryBytes: 2 << 30}}.Held(), "pool 0 cores, 0 B; 2 tasks 3 cores, 2.0 GiB"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if p := Percent(5, 4); p != 100 {
		t.Errorf("Percent over the limit = %v", p)
	}
	if !(Node{State: "offline", Stats: &Live{}}).StaleStats() || (Node{State: "online", Linked: true, Stats: &Live{AgeSeconds: 5}}).StaleStats() {
		t.Error("StaleStats")
	}
}

// What a node wrote itself (the version it registered with, the error a
// failed save quoted in the drain's detail) reaches the page escaped and
// printable: no markup, no bidi overrides or control characters that
// would make one node's row read like another's.
func TestLivePartShowsANodesTextPrintable(t *testing.T) {
	v := &View{Snapshot: &Snapshot{Nodes: []Node{{
		Name: "n1", State: "draining", Linked: true,
		Version:     "1.0\u202e<b>x</b>\x1b[2J",
		DrainDetail: "session s1 not moved: save failed: \u2066evil\u2069<script>",
	}}}}
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error { return web.RenderFragment(c, "ops-live", v) })
	resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, bad := range []string{"\u202e", "\u2066", "\u2069", "\x1b", "<b>", "<script>"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page holds %q from the node:\n%s", bad, body)
		}
	}
	if !strings.Contains(body, "1.0\ufffd&lt;b&gt;x&lt;/b&gt;\ufffd[2J") || !strings.Contains(body, "save failed: \ufffdevil\ufffd&lt;script&gt;") {
		t.Errorf("the node's text is not shown, made printable:\n%s", body)
	}
}
