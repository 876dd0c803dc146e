package lsp_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/fasthttp/websocket"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/shared/testenv"
)

// TestTwoClients checks that each socket gets its own server: closing one
// client stops its server only.
func TestTwoClients(t *testing.T) {
	requireBinary(t, "clangd")
	ts := startServer(t, clangdWorkspace(), lsp.Config{})
	ctx := testenv.Context(t, testenv.WaitLong)

	before := children(t, "clangd")
	a := ts.dial("c")
	pa := waitChild(t, ctx, "clangd", before)
	b := ts.dial("c")
	pb := waitChild(t, ctx, "clangd", append(before, pa))

	var wg sync.WaitGroup
	for _, c := range []*client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.initialize(ctx)
			c.didOpen("file:///workspace/main.c", "c", mainC)
		}()
	}
	wg.Wait()

	// Each server has its own document state: a change in a is not in b.
	edited := strings.Replace(mainC, "return comp", "int only_in_a = 1;\n\treturn only", 1)
	a.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": "file:///workspace/main.c", "version": 2},
		"contentChanges": []map[string]string{{"text": edited}},
	})
	if l := a.completionLabels(ctx, "file:///workspace/main.c", edited, "return only"); !contains(l, "only_in_a") {
		t.Fatalf("a: completion after didChange lacks only_in_a: %v", l)
	}
	if l := b.completionLabels(ctx, "file:///workspace/main.c", mainC, "return comp"); !contains(l, "compute_checksum") || contains(l, "only_in_a") {
		t.Fatalf("b: %v", l)
	}

	a.conn.Close() // abruptly, without a close frame
	if !eventually(ctx, func() bool { return len(inGroups(t, map[int]bool{pa.PGID: true})) == 0 }) {
		t.Fatalf("server of the closed client is still there: %+v", inGroups(t, map[int]bool{pa.PGID: true}))
	}
	if len(inGroups(t, map[int]bool{pb.PGID: true})) == 0 {
		t.Fatal("closing one client stopped the other's server")
	}
	if l := b.completionLabels(ctx, "file:///workspace/main.c", mainC, "return comp"); !contains(l, "compute_checksum") {
		t.Fatalf("b after a left: %v", l)
	}
}

// TestMessageSize sends a 10 MiB message, which passes, and one over the
// limit, which closes the socket with 1009 and stops the server.
func TestMessageSize(t *testing.T) {
	requireBinary(t, "clangd")
	ts := startServer(t, clangdWorkspace(), lsp.Config{MaxMessageSize: 12 << 20})
	ctx := testenv.Context(t, testenv.WaitLong)
	c := ts.dial("c")
	c.initialize(ctx)

	big := "int big_marker_fn(void);\n/*" + strings.Repeat("0123456789abcdef", (10<<20)/16) + "*/\n"
	c.didOpen("file:///workspace/big.c", "c", big)
	var syms []struct {
		Name string `json:"name"`
	}
	c.result(ctx, "textDocument/documentSymbol", map[string]any{"textDocument": map[string]string{"uri": "file:///workspace/big.c"}}, &syms)
	if len(syms) == 0 || syms[0].Name != "big_marker_fn" {
		t.Fatalf("symbols of the 10 MiB file = %+v", syms)
	}

	before := children(t, "clangd")
	huge, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": map[string]any{
		"textDocument": map[string]any{"uri": "file:///workspace/huge.c", "languageId": "c", "version": 1, "text": strings.Repeat("x", 13<<20)},
	}})
	// The server may refuse the message while it is still being written: the
	// client then answers the server's close frame and the write ends with
	// ErrCloseSent. Either way the close below must be the server's 1009.
	if err := c.send(huge); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		t.Fatal(err)
	}
	ce := c.waitClosed(ctx)
	if ce == nil || ce.Code != websocket.CloseMessageTooBig || !strings.Contains(ce.Text, "limit") {
		t.Fatalf("close = %v, want 1009 naming the limit", ce)
	}
	groups := map[int]bool{}
	for _, p := range before {
		groups[p.PGID] = true
	}
	if !eventually(ctx, func() bool { return len(inGroups(t, groups)) == 0 }) {
		t.Fatalf("server still running after the oversize message: %+v", inGroups(t, groups))
	}
}

// TestNoOrphans counts processes: every language server sessiond starts,
// and everything those servers start, is gone and reaped after the client
// leaves, however it leaves, and after sessiond shuts down.
func TestNoOrphans(t *testing.T) {
	requireBinary(t, "clangd")
	requireBinary(t, "gopls")
	files := clangdWorkspace()
	files["go.mod"], files["main.go"], files["led.go"] = goMod, mainGo, ledGo
	ts := startServer(t, files, lsp.Config{})
	ctx := testenv.Context(t, testenv.WaitLong)

	baseline := children(t, "")
	groups := map[int]bool{}
	var clients []*client
	for _, lang := range []string{"c", "go", "c", "go"} {
		before := children(t, "")
		c := ts.dial(lang)
		c.initialize(ctx)
		p := waitChild(t, ctx, "", before)
		groups[p.PGID] = true
		clients = append(clients, c)
	}
	// gopls starts `go list` children in its group; let one load happen.
	clients[1].didOpen("file:///workspace/main.go", "go", mainGo)
	clients[1].completionLabels(ctx, "file:///workspace/main.go", mainGo, "fmt.Pri")

	// Leave in different ways: a clean close, an abrupt drop, the client
	// doing shutdown/exit itself; the last one is left to sessiond's own
	// shutdown.
	_ = clients[0].conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	clients[1].conn.Close()
	clients[2].result(ctx, "shutdown", nil, nil)
	clients[2].notify("exit", nil)
	if ce := clients[2].waitClosed(ctx); ce == nil || ce.Code != websocket.CloseNormalClosure {
		t.Errorf("after the client's own exit: close = %v, want 1000", ce)
	}
	shutdownCtx, cancel := context.WithTimeout(ctx, testenv.WaitShort)
	defer cancel()
	if !eventually(shutdownCtx, func() bool { return len(groupsAlive(t, groups)) == 1 }) {
		t.Fatalf("after three clients left, processes remain: %+v", groupsAlive(t, groups))
	}
	if err := ts.srv.Shutdown(shutdownCtx); err != nil {
		t.Fatal(err)
	}
	if left := inGroups(t, groups); len(left) > 0 {
		t.Fatalf("processes left in the servers' groups after shutdown: %+v", left)
	}
	after := children(t, "")
	var zombies []proc
	for _, p := range after {
		if p.State == 'Z' {
			zombies = append(zombies, p)
		}
	}
	if len(zombies) > 0 || len(after) > len(baseline) {
		t.Fatalf("children before %+v, after %+v (zombies %+v)", baseline, after, zombies)
	}
}

// groupsAlive returns the groups that still have a process.
func groupsAlive(t testing.TB, groups map[int]bool) map[int]bool {
	alive := map[int]bool{}
	for _, p := range inGroups(t, groups) {
		alive[p.PGID] = true
	}
	return alive
}
