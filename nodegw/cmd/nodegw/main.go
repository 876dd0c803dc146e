// Command nodegw is the node gateway: it dials out to the Gatewave cloud,
// registers this machine and keeps the link up. Token from NODEGW_TOKEN or
// --token-file.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"gatewave.dev/nodegw/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
