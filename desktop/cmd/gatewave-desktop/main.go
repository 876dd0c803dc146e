// Command gatewave-desktop is the Gatewave IDE as a desktop app, with
// sessiond running inside it. Build with
//
//	go build -tags desktop,production ./cmd/gatewave-desktop
//
// (add webkit2_41 where only webkit2gtk-4.1 is installed).
//
// Usage: gatewave-desktop [-log-level LEVEL] [FOLDER]
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"gatewave.dev/desktop/app"
	"gatewave.dev/sessiond/hdl/langserver"
)

// App is the struct the page sees as window.go.main.App; its methods are
// app.API's (Connection, OpenFolder, RecentFolders, OpenRecent, SetUnsaved,
// TrustFolder).
type App struct{ *app.API }

func main() {
	// sessiond starts the HDL language server as a child of this very
	// executable.
	langserver.MaybeRun()
	level := flag.String("log-level", "info", "log level: debug, info, warn or error")
	testReport := flag.Bool("test-report", false, "tests only: write JSON reports, including the token, to stdout and read commands from stdin")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [FOLDER]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintln(os.Stderr, "gatewave-desktop:", err)
		os.Exit(2)
	}
	opts := app.Options{
		Folder: flag.Arg(0),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})),
	}
	if *testReport {
		opts.Probe, opts.Control = os.Stdout, os.Stdin
	}
	d, err := app.New(opts)
	if err == nil {
		err = d.Run(&App{d.API()})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewave-desktop:", err)
		os.Exit(1)
	}
}
