package lsp

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

// TestStderrRateLimited checks that a server flooding stderr cannot flood
// sessiond's log: a burst gets through, the rest is counted as dropped.
func TestStderrRateLimited(t *testing.T) {
	var buf bytes.Buffer
	ss := &session{
		log:      slog.New(slog.NewTextHandler(&buf, nil)),
		logLimit: rate.NewLimiter(rate.Limit(20), 50),
	}
	for range 10000 {
		ss.logLine("language server stderr", []byte("E[12:00:00] something failed\n"))
	}
	lines := strings.Count(buf.String(), "\n")
	if lines < 50 || lines > 60 {
		t.Fatalf("%d log lines for 10000 stderr lines; want about the burst of 50", lines)
	}
	if ss.dropped.Load() < 9000 {
		t.Fatalf("dropped = %d, want the rest counted", ss.dropped.Load())
	}
	ss.logLimit = rate.NewLimiter(rate.Inf, 1)
	ss.logLine("language server stderr", []byte("after the flood"))
	if !strings.Contains(buf.String(), "dropped_lines=") {
		t.Fatalf("no report of the dropped lines:\n%s", buf.String())
	}
}
