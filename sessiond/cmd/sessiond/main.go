// Command sessiond is the Gatewave session service: it serves one workspace
// (files, telemetry, language servers, terminals, builds, bitstreams) over
// HTTP and WebSockets behind a token.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"gatewave.dev/shared/cliflag"

	"gatewave.dev/sessiond/server"
)

const usage = `usage: sessiond serve --root DIR [--listen ADDR] [--token-file FILE] [--allow-origin ORIGIN]...

ADDR is host:port or unix:/path/to.sock (default 127.0.0.1:7420).
The token comes from $SESSIOND_TOKEN, else --token-file, else a random one is
generated and printed with a ready-to-open URL.
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("expected the serve command")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	root := fs.String("root", "", "workspace directory to serve (required)")
	listen := fs.String("listen", "127.0.0.1:7420", "host:port or unix:/path")
	tokenFile := fs.String("token-file", "", "file holding the API token")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var origins cliflag.Strings
	fs.Var(&origins, "allow-origin", "extra browser origin allowed for WebSockets and CORS (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *root == "" {
		fs.Usage()
		return errors.New("--root is required")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	token, generated, err := loadToken(*tokenFile)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Root: *root, Token: token, AllowedOrigins: origins, Logger: log})
	if err != nil {
		return err
	}
	ln, err := server.Listen(*listen)
	if err != nil {
		return err
	}
	announce(ln, token, generated, srv.Workspace().Dir())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func loadToken(file string) (token string, generated bool, err error) {
	if t := strings.TrimSpace(os.Getenv("SESSIOND_TOKEN")); t != "" {
		return t, false, nil
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", false, fmt.Errorf("read token file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
		return "", false, fmt.Errorf("token file %s is empty", file)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", false, fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), true, nil
}

func announce(ln net.Listener, token string, generated bool, dir string) {
	addr := ln.Addr()
	fmt.Printf("sessiond serving %s\n", dir)
	if addr.Network() == "unix" {
		fmt.Printf("listening on unix:%s\n", addr.String())
	} else {
		host := addr.String()
		if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
			host = net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
		}
		fmt.Printf("open:  http://%s/#token=%s\n", host, token)
		fmt.Printf("try:   curl -H 'Authorization: Bearer %s' 'http://%s/api/v1/files?path=.'\n", token, host)
	}
	if generated {
		fmt.Printf("token: %s (generated; set SESSIOND_TOKEN or --token-file to choose one)\n", token)
	}
}
