package langserver

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Arg, as the first argument of sessiond (or the desktop app), makes the
// process the HDL language server on stdin/stdout instead: sessiond's LSP
// proxy starts its own executable this way, so the server ships inside
// every binary that carries sessiond.
const Arg = "__gatewave_hdl_ls"

// MaybeRun runs the server and exits when os.Args asks for it; mains call
// it first.
func MaybeRun() {
	if len(os.Args) < 2 || os.Args[1] != Arg {
		return
	}
	os.Exit(Main(os.Stdin, os.Stdout, os.Stderr))
}

// Main serves one client and returns the exit code.
func Main(in io.Reader, out, errw io.Writer) int {
	level := slog.LevelWarn
	if os.Getenv("GATEWAVE_HDL_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: level}))
	if err := New(Options{In: in, Out: out, Logger: log}).Run(); err != nil {
		fmt.Fprintln(errw, Name+":", err)
		return 1
	}
	return 0
}
