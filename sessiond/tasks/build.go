package tasks

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"gatewave.dev/sessiond/problems"
	"gatewave.dev/sessiond/report"
)

// teeWriter feeds the problem matchers, then the log.
type teeWriter struct {
	probs *problems.Collector
	log   io.Writer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	_, _ = w.probs.Write(p)
	return w.log.Write(p)
}

// buildReport makes the report of a task whose output shows it ran nextpnr
// with --report, when that file was written during the task.
func (s *Service) buildReport(t *Task) *report.Report {
	var pnr, yosys *problems.Command
	for _, c := range t.probs.Commands() {
		switch {
		case strings.HasPrefix(c.Tool, "nextpnr") && c.Flag("--report") != "":
			pnr = &c
		case c.Tool == "yosys":
			yosys = &c
		}
	}
	if pnr == nil {
		return nil
	}
	dir := s.opts.Workspace.Abs(pnr.Dir)
	rp := pnr.Flag("--report")
	abs := rp
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(dir, rp)
	}
	if fi, err := os.Stat(abs); err != nil || fi.ModTime().Before(t.started) {
		return nil
	}
	opts := report.Options{
		Root: s.opts.Workspace.Abs("."), Dir: dir, NextpnrReport: rp, Netlist: pnr.Flag("--json"),
		Package: pnr.Flag("--package"), Device: deviceFlag(pnr.Argv),
	}
	if yosys != nil && yosys.Dir == pnr.Dir {
		if st := statFile(yosys.Argv); st != "" {
			if fi, err := os.Stat(filepath.Join(dir, st)); err == nil && !fi.ModTime().Before(t.started) {
				opts.Stat = st
			}
		}
	}
	r, err := report.Build(opts)
	if err != nil {
		s.log.Warn("build report", "task", t.id, "err", err)
		return nil
	}
	return r
}

// deviceFlag finds nextpnr-ice40's device option (--hx1k, --up5k, ...).
func deviceFlag(argv []string) string {
	for _, a := range argv[1:] {
		if d, ok := strings.CutPrefix(a, "--"); ok {
			switch {
			case strings.HasPrefix(d, "hx"), strings.HasPrefix(d, "lp"), strings.HasPrefix(d, "up"), strings.HasPrefix(d, "u4k"):
				return d
			}
		}
	}
	return ""
}

// statFile finds "tee -q -o FILE stat -json" in a yosys script (-p).
func statFile(argv []string) string {
	for i, a := range argv {
		if a != "-p" || i+1 >= len(argv) {
			continue
		}
		for _, cmd := range strings.Split(argv[i+1], ";") {
			f := strings.Fields(cmd)
			if len(f) == 0 || f[0] != "tee" || !strings.Contains(cmd, "stat") || !strings.Contains(cmd, "-json") {
				continue
			}
			for j := 1; j+1 < len(f); j++ {
				if f[j] == "-o" || f[j] == "-a" {
					return f[j+1]
				}
			}
		}
	}
	return ""
}
