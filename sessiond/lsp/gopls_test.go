package lsp_test

import (
	"testing"

	"go.lsp.dev/protocol"

	"gatewave.dev/sessiond/lsp"
	"gatewave.dev/shared/testenv"
)

const (
	goMod  = "module example.com/blinky\n\ngo 1.22\n"
	mainGo = `package main

import "fmt"

func main() {
	fmt.Println(ledPattern(4))
	fmt.Pri
}
`
	ledGo = `package main

func ledPattern(n int) string {
	return "on-off"
}
`
)

// TestGopls drives real gopls through sessiond: completion of a standard
// library symbol and a cross-file definition in file:///workspace space.
func TestGopls(t *testing.T) {
	requireBinary(t, "gopls")
	testenv.LookPath(t, "go") // gopls runs the go command
	ts := startServer(t, map[string]string{"go.mod": goMod, "main.go": mainGo, "led.go": ledGo}, lsp.Config{})
	ctx := testenv.Context(t, testenv.WaitLong)
	c := ts.dial("go")
	c.initialize(ctx)
	c.didOpen("file:///workspace/main.go", "go", mainGo)

	labels := c.completionLabels(ctx, "file:///workspace/main.go", mainGo, "fmt.Pri")
	if !contains(labels, "Println") || !contains(labels, "Printf") {
		t.Fatalf("completion after fmt.Pri lacks Println/Printf: %v", labels)
	}

	var locs []protocol.Location
	c.result(ctx, "textDocument/definition", map[string]any{
		"textDocument": map[string]string{"uri": "file:///workspace/main.go"},
		"position":     position(mainGo, "ledPat"),
	}, &locs)
	if len(locs) != 1 || string(locs[0].URI) != "file:///workspace/led.go" {
		t.Fatalf("definition = %+v, want file:///workspace/led.go", locs)
	}
	frames := c.drainRaw()
	for _, f := range frames {
		if anyContains([][]byte{f}, ts.Root) {
			t.Logf("leak: %s", trunc(f))
		}
	}
	if anyContains(frames, ts.Root) {
		t.Errorf("a message to the client contains the real workspace path %s", ts.Root)
	}
}
