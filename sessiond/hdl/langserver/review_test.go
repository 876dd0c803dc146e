package langserver_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type reviewEdit struct {
	Changes map[string][]struct {
		Range   rng    `json:"range"`
		NewText string `json:"newText"`
	} `json:"changes"`
}

// A name passed to a macro (`SOC_IDX_W(NUM_M)) is a Ref whose span is the
// whole macro use, once per time the body uses the argument: rename
// replaces the macro call with the new name, twice (overlapping edits).
func TestReviewRenameThroughMacroArgument(t *testing.T) {
	c := newClient(t, copyProject(t, "soc_sv"), clientOptions{})
	rel := "rtl/arbiter.sv"
	c.open(rel)
	p := c.at(rel, "NUM_M = 2", 0, 1)
	var edit reviewEdit
	if err := json.Unmarshal(c.request("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri(rel)}, "position": p, "newName": "N_MASTERS"}), &edit); err != nil {
		t.Fatal(err)
	}
	for uri, es := range edit.Changes {
		seen := map[rng]bool{}
		for _, e := range es {
			if got := c.textAt(c.relOf(uri), e.Range); got != "NUM_M" {
				t.Errorf("rename edit in %s replaces %q, not NUM_M", c.relOf(uri), got)
			}
			if seen[e.Range] {
				t.Errorf("rename edit in %s at %v twice (overlapping edits)", c.relOf(uri), e.Range)
			}
			seen[e.Range] = true
		}
	}
}

// A for loop's genvar is reported twice by references, so rename sends
// two identical edits, which editors reject as overlapping.
func TestReviewRenameGenvarNoDuplicateEdits(t *testing.T) {
	c := newClient(t, copyProject(t, "soc_sv"), clientOptions{})
	rel := "rtl/arbiter.sv"
	c.open(rel)
	p := c.at(rel, "genvar m", 0, 7)
	var edit reviewEdit
	if err := json.Unmarshal(c.request("textDocument/rename", map[string]any{"textDocument": map[string]any{"uri": c.uri(rel)}, "position": p, "newName": "mi"}), &edit); err != nil {
		t.Fatal(err)
	}
	for uri, es := range edit.Changes {
		for i := 1; i < len(es); i++ {
			a, b := es[i-1].Range, es[i].Range
			if a.Start.Line == b.Start.Line && b.Start.Character < a.End.Character {
				t.Errorf("rename edits in %s overlap: %v and %v", c.relOf(uri), a, b)
			}
		}
	}
}

// Editing one file changes the project diagnostics of files that
// instantiate it, but only the edited file and the open ones are
// re-published: a closed top.v keeps showing what was true before.
func TestReviewDependentClosedFileDiagnostics(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	rel := "rtl/uart_tx.v"
	c.open(rel)
	c.waitDiags(rel, "none", func(ds []diag) bool { return len(ds) == 0 })
	text := strings.Replace(c.read(rel), "output wire                 busy", "output wire                 busy_o", 1)
	seq := c.diagSeq(rel)
	c.change(rel, text)
	c.waitSeq(rel, seq)
	time.Sleep(300 * time.Millisecond)
	c.mu.Lock()
	ds := c.diags["rtl/top.v"]
	c.mu.Unlock()
	if hasCode(ds, "unknown-port", "") == nil {
		t.Errorf("top.v connects .busy, which uart_tx no longer has, but its diagnostics are %s", dump(ds))
	}
	// The server does know: opening top.v shows it.
	c.open("rtl/top.v")
	c.waitDiags("rtl/top.v", "unknown-port once open", func(ds []diag) bool { return hasCode(ds, "unknown-port", "") != nil })
}

// A second initialize replaces the project the timer and background
// goroutines read without a lock (and never closes the first one); LSP
// says the server must refuse it.
func TestReviewSecondInitialize(t *testing.T) {
	root := copyProject(t, "uart")
	c := newClient(t, root, clientOptions{})
	c.open("rtl/top.v")
	time.Sleep(100 * time.Millisecond)
	_, e := c.call("initialize", map[string]any{"rootUri": "file://" + c.root, "capabilities": map[string]any{}})
	c.open("rtl/uart_tx.v")
	time.Sleep(100 * time.Millisecond)
	if e == "" {
		t.Errorf("a second initialize was accepted")
	}
}

// After shutdown only exit is accepted (LSP 3.17).
func TestRequestsAfterShutdownAreRefused(t *testing.T) {
	c := newClient(t, copyProject(t, "uart"), clientOptions{})
	c.request("shutdown", nil)
	if _, e := c.call("textDocument/hover", c.docPos("rtl/top.v", pos{0, 0})); !strings.Contains(e, "shutting down") {
		t.Errorf("hover after shutdown: %q", e)
	}
}
