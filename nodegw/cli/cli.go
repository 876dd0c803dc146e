// Package cli turns nodegw's flags and environment into a running gateway.
// Flags win over environment variables, which win over defaults.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/resources"
	"gatewave.dev/shared/fleetproto"
)

// Version is the gateway's version, reported at registration.
var Version = "dev"

// Env holds what the command reads from its process.
type Env struct {
	Stderr io.Writer
	Getenv func(string) string
}

type labels map[string]string

func (l labels) String() string { return fmt.Sprint(map[string]string(l)) }
func (l labels) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q: want key=value", v)
	}
	l[k] = val
	return nil
}

// Run runs nodegw with args (without the program name) until ctx ends and
// returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	fs := flag.NewFlagSet("nodegw", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cloud := fs.String("cloud", env.Getenv("NODEGW_CLOUD"), "cloud base URL, e.g. https://cloud.example.com (env NODEGW_CLOUD)")
	tokenFile := fs.String("token-file", env.Getenv("NODEGW_TOKEN_FILE"), "file holding the node token (else env NODEGW_TOKEN)")
	host, _ := os.Hostname()
	name := fs.String("name", firstNonEmpty(env.Getenv("NODEGW_NAME"), strings.ToLower(host)), "node name the token was issued for (env NODEGW_NAME)")
	diskPath := fs.String("disk-path", "/", "file system whose size is reported")
	verbose := fs.Bool("v", false, "debug logging")
	lb := labels{}
	fs.Var(lb, "label", "label key=value reported at registration (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	token := env.Getenv("NODEGW_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			log.Error("read token file", "path", *tokenFile, "err", err)
			return 1
		}
		token = strings.TrimSpace(string(b))
	}
	if *cloud == "" {
		log.Error("no cloud URL: pass --cloud or set NODEGW_CLOUD")
		return 2
	}
	g, err := gateway.New(gateway.Options{
		CloudURL: *cloud, Token: token, Name: *name, Version: Version, Labels: lb, Logger: log,
		Resources: func(ctx context.Context) (fleetproto.Resources, error) { return resources.Probe(ctx, *diskPath) },
	})
	if err != nil {
		log.Error("configuration", "err", err)
		return 2
	}
	if err := g.Run(ctx); err != nil {
		log.Error("gateway stopped", "err", err)
		return 1
	}
	return 0
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
