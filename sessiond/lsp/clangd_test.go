package lsp_test

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"

	"go.lsp.dev/protocol"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/shared/testenv"
)

const (
	mainC = `#include "util.h"

int main(void) {
	int total = compute_checksum(3);
	return comp
}
`
	utilH = `#ifndef UTIL_H
#define UTIL_H
int compute_checksum(int seed);
#endif
`
	badC = `int broken(void) {
	return undeclared_thing + 1;
}
`
)

func clangdWorkspace() map[string]string {
	return map[string]string{"util.h": utilH, "main.c": mainC, "bad.c": badC}
}

// TestClangd drives real clangd through sessiond as the browser editor does:
// completion, diagnostics and definition, all in file:///workspace space.
func TestClangd(t *testing.T) {
	requireBinary(t, "clangd")
	ts := startServer(t, clangdWorkspace(), lsp.Config{})
	ctx := testenv.Context(t, testenv.WaitLong)
	c := ts.dial("c")

	var init protocol.InitializeResult
	if err := protocol.Unmarshal(c.initialize(ctx), &init); err != nil {
		t.Fatalf("initialize result: %v", err)
	}
	if init.Capabilities.CompletionProvider == nil {
		t.Fatal("clangd announced no completion provider")
	}

	t.Run("completion", func(t *testing.T) {
		c.didOpen("file:///workspace/main.c", "c", mainC)
		labels := c.completionLabels(ctx, "file:///workspace/main.c", mainC, "return comp")
		if !contains(labels, "compute_checksum") {
			t.Fatalf("completion at `return comp` lacks compute_checksum; got %v", labels)
		}
	})

	t.Run("diagnostics", func(t *testing.T) {
		c.didOpen("file:///workspace/bad.c", "c", badC)
		raw := c.waitNote(ctx, "textDocument/publishDiagnostics", func(p json.RawMessage) bool {
			var d protocol.PublishDiagnosticsParams
			return protocol.Unmarshal(p, &d) == nil && d.URI == "file:///workspace/bad.c" && len(d.Diagnostics) > 0
		})
		var d protocol.PublishDiagnosticsParams
		_ = protocol.Unmarshal(raw, &d)
		msg, _ := d.Diagnostics[0].Message.(protocol.String)
		if !strings.Contains(string(msg), "undeclared_thing") {
			t.Errorf("diagnostic %q does not name the undeclared identifier", msg)
		}
	})

	t.Run("definition", func(t *testing.T) {
		var locs []protocol.Location
		c.result(ctx, "textDocument/definition", map[string]any{
			"textDocument": map[string]string{"uri": "file:///workspace/main.c"},
			"position":     position(mainC, "compute_che"),
		}, &locs)
		if len(locs) == 0 {
			t.Fatal("no definition for compute_checksum")
		}
		if got := string(locs[0].URI); got != "file:///workspace/util.h" {
			t.Fatalf("definition URI = %q, want file:///workspace/util.h", got)
		}
	})

	// Nothing the client received may reveal where the workspace really is.
	if frames := c.drainRaw(); anyContains(frames, ts.Root) {
		t.Errorf("a message to the client contains the real workspace path %s", ts.Root)
	}
}

// TestServerKilled checks that a dying server is reported with
// window/showMessage and close code 4001, and that reconnecting starts a
// fresh server.
func TestServerKilled(t *testing.T) {
	requireBinary(t, "clangd")
	ts := startServer(t, clangdWorkspace(), lsp.Config{})
	ctx := testenv.Context(t, testenv.WaitLong)

	before := children(t, "clangd")
	c := ts.dial("c")
	c.initialize(ctx)
	p := waitChild(t, ctx, "clangd", before)
	if p.PGID != p.PID {
		t.Errorf("clangd runs in group %d, not its own (%d)", p.PGID, p.PID)
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	raw := c.waitNote(ctx, "window/showMessage", nil)
	var m protocol.ShowMessageParams
	if err := protocol.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != protocol.MessageTypeError || !strings.Contains(m.Message, "clangd") {
		t.Errorf("showMessage = %+v, want an error naming clangd", m)
	}
	ce := c.waitClosed(ctx)
	if ce == nil || ce.Code != lsp.CloseServerDied {
		t.Fatalf("close = %v, want code %d", ce, lsp.CloseServerDied)
	}

	c2 := ts.dial("c")
	c2.initialize(ctx)
	p2 := waitChild(t, ctx, "clangd", []proc{p})
	if p2.PID == p.PID {
		t.Fatal("reconnect reused the dead server")
	}
	c2.didOpen("file:///workspace/main.c", "c", mainC)
	if labels := c2.completionLabels(ctx, "file:///workspace/main.c", mainC, "return comp"); !contains(labels, "compute_checksum") {
		t.Fatalf("fresh server: completion lacks compute_checksum: %v", labels)
	}
}
