// Command cloud is Gatewave's fleet control plane: `cloud migrate`,
// `cloud serve`, `cloud node add|revoke|list`, `cloud user add`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"gatewave.dev/cloud/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
