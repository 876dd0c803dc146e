package lsp_test

import (
	"os"
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"gatewave.dev/sessiond/hdl/langserver"
	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/shared/testenv"
)

// TestMain lets the test binary be the built-in HDL server too: sessiond
// starts its own executable with langserver.Arg.
func TestMain(m *testing.M) {
	langserver.MaybeRun()
	os.Exit(m.Run())
}

const (
	fifoV = "// A small FIFO.\nmodule fifo #(parameter WIDTH = 8) (\n  input wire clk,\n  input wire [WIDTH-1:0] din,\n  output wire [WIDTH-1:0] dout\n);\n  assign dout = din;\nendmodule\n"
	topV  = "module top (input wire clk, input wire [15:0] a, output wire [15:0] y);\n  fifo #(.WIDTH(16)) u_f (\n    .clk(clk),\n    .\n  );\nendmodule\n"
)

// TestHDLServer drives the built-in HDL language server through sessiond's
// proxy: it is listed as available, completes the named ports of a module
// from another file, and answers in file:///workspace space.
func TestHDLServer(t *testing.T) {
	ts := startServer(t, map[string]string{"rtl/fifo.v": fifoV, "rtl/top.v": topV}, lsp.Config{})
	status, body := ts.get("/api/v1/lsp", true)
	if status != 200 || !strings.Contains(string(body), `"id":"hdl","command":"gatewave-hdl"`) || !strings.Contains(string(body), `"available":true`) {
		t.Fatalf("GET api/v1/lsp: %d %s", status, body)
	}
	ctx := testenv.Context(t, testenv.WaitLong)
	c := ts.dial("hdl")
	c.initialize(ctx)
	c.didOpen("file:///workspace/rtl/top.v", "verilog", topV)
	var labels []string
	for _, l := range c.completionLabels(ctx, "file:///workspace/rtl/top.v", topV, ",\n    .") {
		if l != "" {
			labels = append(labels, l)
		}
	}
	if strings.Join(labels, ",") != "din,dout" {
		t.Fatalf("port completion = %v, want the unconnected din,dout", labels)
	}
	var locs []protocol.Location
	c.result(ctx, "textDocument/definition", map[string]any{
		"textDocument": map[string]string{"uri": "file:///workspace/rtl/top.v"},
		"position":     position(topV, "  fif"),
	}, &locs)
	if len(locs) != 1 || string(locs[0].URI) != "file:///workspace/rtl/fifo.v" {
		t.Fatalf("definition = %+v, want file:///workspace/rtl/fifo.v", locs)
	}
	var hover struct {
		Contents struct{ Value string } `json:"contents"`
	}
	c.result(ctx, "textDocument/hover", map[string]any{
		"textDocument": map[string]string{"uri": "file:///workspace/rtl/top.v"},
		"position":     position(topV, "  fif"),
	}, &hover)
	if !strings.Contains(hover.Contents.Value, "A small FIFO.") {
		t.Errorf("hover on fifo: %q", hover.Contents.Value)
	}
	if anyContains(c.drainRaw(), ts.Root) {
		t.Errorf("a message to the client contains the real workspace path %s", ts.Root)
	}
}
