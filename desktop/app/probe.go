package app

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

// probe writes test-mode reports as JSON lines. A nil probe does nothing.
type probe struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *probe) emit(v map[string]any) {
	if p == nil {
		return
	}
	v["elapsed_ms"] = time.Since(p.start).Milliseconds()
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.w.Write(append(b, '\n'))
}

// dom receives the page's reports (see probe.js).
func (p *probe) dom(data ...any) {
	if len(data) == 0 {
		return
	}
	s, ok := data[0].(string)
	if !ok || !json.Valid([]byte(s)) {
		return
	}
	p.emit(map[string]any{"event": "dom", "report": json.RawMessage(s)})
}

// probeConfirm stands in for the native dialog in test mode: it reports
// the question and waits for the test's "answer yes" or "answer no".
func (d *Desktop) probeConfirm(q question) bool {
	d.probe.emit(map[string]any{"event": "question", "title": q.Title, "message": q.Message})
	select {
	case a := <-d.answers:
		return a
	case <-d.done:
		return false
	}
}

// control obeys test commands: "quit" closes the window through the Wails
// runtime as the window's close button does; "open PATH" clicks PATH in the
// IDE's file tree; "click TESTID" clicks the element with that data-testid;
// "type TEXT" types into the focused editor; "answer yes|no" answers the
// pending question.
func (d *Desktop) control(ctx context.Context, r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch cmd {
		case "quit":
			d.quit()
		case "answer":
			select {
			case d.answers <- arg == "yes":
			default:
				d.probe.emit(map[string]any{"event": "error", "message": "an answer is already waiting"})
			}
		case "click":
			wruntime.WindowExecJS(ctx, `(() => {
  const el = document.querySelector('[data-testid=' + JSON.stringify(`+strconv.Quote(arg)+`) + ']');
  if (el) el.click();
})();`)
		case "type":
			// execCommand goes through the editor's own input handling, as
			// typing does.
			wruntime.WindowExecJS(ctx, `(() => {
  const el = document.querySelector('.cm-editor:not([hidden]) .cm-content, .cm-content');
  if (el) { el.focus(); document.execCommand("insertText", false, `+strconv.Quote(arg)+`); }
})();`)
		case "open":
			wruntime.WindowExecJS(ctx, `(() => {
  const row = document.querySelector('[role="treeitem"][data-path=' + JSON.stringify(`+strconv.Quote(arg)+`) + ']');
  if (row) row.click();
})();`)
		default:
			d.probe.emit(map[string]any{"event": "error", "message": "unknown command " + strconv.Quote(cmd)})
		}
	}
}
