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
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gatewave.dev/shared/cliflag"

	"gatewave.dev/sessiond/cachefwd"
	"gatewave.dev/sessiond/childenv"
	"gatewave.dev/sessiond/control"
	"gatewave.dev/sessiond/hdl/langserver"
	"gatewave.dev/sessiond/privdrop"
	"gatewave.dev/sessiond/relay"
	"gatewave.dev/sessiond/server"
	"gatewave.dev/sessiond/settings"
	"gatewave.dev/sessiond/snapshot"
)

const usage = `usage: sessiond serve --root DIR [--listen ADDR] [--token-file FILE] [--allow-origin ORIGIN]...
                      [--control unix:/path] [--user UID[:GID]] [--settings FILE|none]
       sessiond snapshot --root DIR [--have COMMIT]...   (a snapshot bundle on stdout)
       sessiond relay SOCKET                             (stdin to the unix socket, it to stdout)

ADDR is host:port or unix:/path/to.sock (default 127.0.0.1:7420).
The token comes from $SESSIOND_TOKEN, else --token-file, else a random one is
generated and printed with a ready-to-open URL.
--control serves the node's control plane (workspace snapshot and restore)
on a socket of its own. --user makes sessiond drop root once its sockets are
bound and its token read: it and everything it starts then run as that user.
--settings is the JSON file keeping the IDE's settings (theme, font size, tab
size); the default is <user config dir>/gatewave/settings.json, and none in a
container (--user or --control given: the cloud keeps a user's settings).
`

func main() {
	langserver.MaybeRun()
	if len(os.Args) > 1 && os.Args[1] == childenv.ShimArg {
		err := childenv.Shim(os.Args[2:])
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		os.Exit(126)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "snapshot" {
		return runSnapshot(args[1:])
	}
	if len(args) > 0 && args[0] == "relay" {
		if len(args) != 2 {
			return errors.New("usage: sessiond relay SOCKET")
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return relay.Run(ctx, args[1], os.Stdin, os.Stdout)
	}
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("expected the serve or snapshot command")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	root := fs.String("root", "", "workspace directory to serve (required)")
	listen := fs.String("listen", "127.0.0.1:7420", "host:port or unix:/path")
	tokenFile := fs.String("token-file", "", "file holding the API token")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	controlAddr := fs.String("control", "", "unix:/path for the node's control plane (snapshot, restore); none when empty")
	user := fs.String("user", "", "UID[:GID] to run as once the sockets are bound (inside a container)")
	userProcs := fs.Int("user-procs", envInt("SESSIOND_USER_PROCS"), "cap on the user's processes and threads together (RLIMIT_NPROC); 0 means none")
	nixSocket := fs.String("nix-cache-socket", "", "the node's Nix cache socket, forwarded to "+cachefwd.DefaultListen+" for nix (none when empty or its directory is not mounted)")
	settingsFile := fs.String("settings", "", "IDE settings file, or none (default <user config dir>/gatewave/settings.json; none with --user or --control)")
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
	// Bind everything while still root (the socket directory is root's),
	// then drop before touching the workspace or starting anything.
	ln, err := server.Listen(*listen)
	if err != nil {
		return err
	}
	var cln net.Listener
	if *controlAddr != "" {
		p, ok := strings.CutPrefix(*controlAddr, "unix:")
		if !ok {
			return errors.New("--control must be unix:/path")
		}
		if cln, err = server.Listen(*controlAddr); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
	}
	if p, ok := strings.CutPrefix(*listen, "unix:"); ok && *user != "" {
		// Only the node (root outside) connects; the user never can.
		if err := os.Chmod(p, 0o600); err != nil {
			return fmt.Errorf("socket: %w", err)
		}
	}
	if *nixSocket != "" {
		o := cachefwd.Options{Socket: *nixSocket, Logger: log}
		nln, err := cachefwd.Listen(o)
		switch {
		case errors.Is(err, cachefwd.ErrNoMount):
			log.Info("no nix cache on this node", "socket", *nixSocket)
		case err != nil:
			return fmt.Errorf("nix cache forwarder: %w", err)
		default:
			go func() {
				if err := cachefwd.Serve(context.Background(), nln, o); err != nil {
					log.Error("nix cache forwarder", "err", err)
				}
			}()
		}
	}
	childenv.SetProcLimit(*userProcs)
	if *user != "" {
		uid, gid, err := privdrop.Parse(*user)
		if err != nil {
			return err
		}
		if err := privdrop.Drop(uid, gid); err != nil {
			return err
		}
		log.Info("running unprivileged", "uid", uid, "gid", gid)
	}
	sf, err := settingsPath(*settingsFile, *user != "" || *controlAddr != "")
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{Root: *root, Token: token, AllowedOrigins: origins, Logger: log, SettingsFile: sf})
	if err != nil {
		return err
	}
	announce(ln, token, generated, srv.Workspace().Dir())
	if cln != nil {
		h, err := control.New(control.Options{Snapshot: snapshot.Options{Root: *root, Env: childenv.Base()}, Token: token, Logger: log})
		if err != nil {
			return err
		}
		cs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := cs.Serve(cln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("control plane", "err", err)
			}
		}()
		defer cs.Close()
	}

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

// runSnapshot writes a snapshot bundle of --root to stdout: what the node
// runs in a one-off container to save a dead container's workspace from
// its volume.
func runSnapshot(args []string) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	root := fs.String("root", "/workspace", "workspace directory")
	var have cliflag.Strings
	fs.Var(&have, "have", "a commit the receiver has (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := snapshot.Create(ctx, snapshot.Options{Root: *root, Env: childenv.Base()}, have, os.Stdout)
	return err
}

// settingsPath resolves --settings: "none" keeps no file, empty is the
// user's config dir, except in a container, which keeps none (its
// settings live in the cloud, and nothing of sessiond's belongs in the
// user's home there).
func settingsPath(flag string, container bool) (string, error) {
	switch {
	case flag == "none":
		return "", nil
	case flag != "":
		return filepath.Abs(flag)
	case container:
		return "", nil
	}
	p, err := settings.DefaultPath()
	if err != nil {
		return "", fmt.Errorf("--settings: %w (name a file, or none)", err)
	}
	return p, nil
}

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}
