// Package cli implements the cloud command: migrate, serve, node
// add|revoke|list (on the database) and node probe|exec|audit (through a
// running cloud's operator API). Flags win over environment variables,
// which win over defaults.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gatewave.dev/shared/buildinfo"
	"gatewave.dev/shared/cliflag"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/objstore"
	"gatewave.dev/cloud/schema"
	"gatewave.dev/cloud/server"
	"gatewave.dev/cloud/sessions"
	"gatewave.dev/cloud/store"
)

// Env holds the process environment the command reads, so tests can run
// it without touching the real one.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

const usage = `usage: cloud <command> [flags]

commands:
  migrate [up|down|status]          apply (default), roll back one, or show the schema version
  serve                             run the control plane
  node add NAME [--label k=v]...    pre-issue a node token (printed once)
  node revoke NAME                  revoke a node's token and disconnect it at once
  node list                         print the nodes as a table (draining/drained in STATUS)
  node drain NAME                   no new claims; save and move its sessions to other nodes
  node undrain NAME                 end a drain: the node takes claims again
  node probe NAME PROBE             ask a node about itself: uptime, disk, docker or logs
  node exec NAME [--timeout 10s] -- ARGV...
                                    run a bounded command on a node started with --allow-exec
  node audit [NAME] [--limit N]     list probe and exec uses, newest first
                                    (probe, exec, audit: the cloud at GATEWAVE_URL, default
                                    http://127.0.0.1:8480, with GATEWAVE_ADMIN_TOKEN)
  user add NAME [--admin]           add a user (password read from stdin) with a new git repo
  nix key|push                      the Nix binary cache: its public key, uploads (cloud nix help)
  task submit|list|show|logs|cancel|upload|download
                                    batch tasks on the fleet, as a user (cloud task help)
  backup run|daemon|list|verify|restore
                                    backups of the database and the repos (cloud backup help)

environment: DATABASE_URL, GATEWAVE_ADMIN_TOKEN, GATEWAVE_URL, GATEWAVE_LISTEN, GATEWAVE_REPLICA,
             GATEWAVE_HEARTBEAT_INTERVAL, GATEWAVE_OFFLINE_AFTER, GATEWAVE_DATA_DIR,
             GATEWAVE_GIT_URL, GATEWAVE_IDLE_TIMEOUT, GATEWAVE_INTERNAL_LISTEN,
             GATEWAVE_INTERNAL_URL, GATEWAVE_INTERNAL_TOKEN, GATEWAVE_PUBLIC_URL,
             GATEWAVE_TRUSTED_PROXIES, GATEWAVE_S3_URL (the object store,
             http://ACCESS:SECRET@HOST:PORT/BUCKET)
`

// Run runs the command with args (without the program name) and returns
// the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "migrate":
		err = migrate(ctx, args[1:], env)
	case "serve":
		err = serve(ctx, args[1:], env)
	case "node":
		err = node(ctx, args[1:], env)
	case "user":
		err = user(ctx, args[1:], env)
	case "task":
		err = task(ctx, args[1:], env)
	case "nix":
		err = nixCmd(ctx, args[1:], env)
	case "backup":
		err = backupCmd(ctx, args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "cloud: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cloud %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func envOr(env Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}

func envDuration(env Env, key string, def time.Duration) (time.Duration, error) {
	v := env.Getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return d, nil
}

func newFlags(name string, env Env) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	db := fs.String("database-url", env.Getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	return fs, db
}

func migrate(ctx context.Context, args []string, env Env) error {
	fs, dbURL := newFlags("migrate", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	action := "up"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	pool, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := schema.New(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch action {
	case "up":
		v, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "schema at version %d\n", v)
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "schema at version %d\n", v)
	case "status":
		cur, target, err := m.Versions(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "schema at version %d, this build has %d\n", cur, target)
	default:
		return fmt.Errorf("unknown action %q (want up, down or status)", action)
	}
	return nil
}

func serve(ctx context.Context, args []string, env Env) error {
	fs, dbURL := newFlags("serve", env)
	listen := fs.String("listen", envOr(env, "GATEWAVE_LISTEN", "127.0.0.1:8480"), "address to listen on (env GATEWAVE_LISTEN)")
	admin := fs.String("admin-token", env.Getenv("GATEWAVE_ADMIN_TOKEN"), "operator API token (env GATEWAVE_ADMIN_TOKEN)")
	replica := fs.String("replica", env.Getenv("GATEWAVE_REPLICA"), "replica name, stable across restarts (env GATEWAVE_REPLICA; default host name)")
	hbDef, err := envDuration(env, "GATEWAVE_HEARTBEAT_INTERVAL", 15*time.Second)
	if err != nil {
		return err
	}
	offDef, err := envDuration(env, "GATEWAVE_OFFLINE_AFTER", 90*time.Second)
	if err != nil {
		return err
	}
	hb := fs.Duration("heartbeat-interval", hbDef, "heartbeat interval sent to gateways (env GATEWAVE_HEARTBEAT_INTERVAL)")
	off := fs.Duration("offline-after", offDef, "mark a node offline after this long without a heartbeat (env GATEWAVE_OFFLINE_AFTER)")
	grace := fs.Duration("grace", 0, "after start, mark nobody offline for this long (default: offline-after)")
	dataDir := fs.String("data-dir", envOr(env, "GATEWAVE_DATA_DIR", ""), "users' git repos live in DATA_DIR/git; empty serves the fleet only (env GATEWAVE_DATA_DIR)")
	gitURL := fs.String("git-url", env.Getenv("GATEWAVE_GIT_URL"), "where nodes reach the git host (env GATEWAVE_GIT_URL; default http://LISTEN/git)")
	idleDef, err := envDuration(env, "GATEWAVE_IDLE_TIMEOUT", 2*time.Hour)
	if err != nil {
		return err
	}
	idle := fs.Duration("idle-timeout", idleDef, "end sessions without traffic for this long (env GATEWAVE_IDLE_TIMEOUT)")
	internalListen := fs.String("internal-listen", envOr(env, "GATEWAVE_INTERNAL_LISTEN", "127.0.0.1:0"),
		"address for replica-to-replica calls; used only with GATEWAVE_INTERNAL_TOKEN (env GATEWAVE_INTERNAL_LISTEN; default a free 127.0.0.1 port)")
	internalURL := fs.String("internal-url", env.Getenv("GATEWAVE_INTERNAL_URL"),
		"where other replicas reach the internal listener (env GATEWAVE_INTERNAL_URL; default http://INTERNAL-LISTEN)")
	publicURL := fs.String("public-url", env.Getenv("GATEWAVE_PUBLIC_URL"),
		"the URL users open; an https:// URL marks every cookie Secure (env GATEWAVE_PUBLIC_URL)")
	proxies := fs.String("trusted-proxies", env.Getenv("GATEWAVE_TRUSTED_PROXIES"),
		"comma-separated CIDRs or addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; empty trusts none (env GATEWAVE_TRUSTED_PROXIES)")
	verbose := fs.Bool("v", false, "debug logging")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The shared secret comes from the environment only, never argv.
	internalToken := env.Getenv("GATEWAVE_INTERNAL_TOKEN")
	acc, err := accountOptions(*publicURL, *proxies)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	pool, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := schema.New(pool)
	if err != nil {
		return err
	}
	err = m.Check(ctx)
	m.Close()
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", *listen, err)
	}
	opts := server.Options{
		Pool: pool, AdminToken: *admin, Logger: log,
		Fleet: fleet.Options{Replica: *replica, HeartbeatInterval: *hb, OfflineAfter: *off, Grace: *grace},
	}
	if internalToken != "" {
		iln, err := net.Listen("tcp", *internalListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("internal listen %q: %w", *internalListen, err)
		}
		defer iln.Close()
		opts.Internal = iln
		opts.Fleet.InternalToken = internalToken
		opts.Fleet.InternalURL = *internalURL
		if opts.Fleet.InternalURL == "" {
			opts.Fleet.InternalURL = "http://" + iln.Addr().String()
		}
	} else {
		log.Info("GATEWAVE_INTERNAL_TOKEN is not set: single replica, no forwarding to other replicas")
	}
	if *dataDir != "" {
		opts.GitRoot = filepath.Join(*dataDir, "git")
		opts.NixCache = filepath.Join(*dataDir, "nix-cache")
		opts.GitURL = *gitURL
		if opts.GitURL == "" {
			opts.GitURL = "http://" + ln.Addr().String() + "/git"
		}
		opts.Sessions = sessions.Options{IdleTimeout: *idle}
		opts.Accounts = acc
		// The store's URL holds its credentials: environment only.
		if raw := env.Getenv("GATEWAVE_S3_URL"); raw != "" {
			o, err := objstore.ParseURL(raw)
			if err != nil {
				ln.Close()
				return fmt.Errorf("GATEWAVE_S3_URL: %w", err)
			}
			st, err := objstore.New(o)
			if err == nil {
				err = st.EnsureBucket(ctx)
			}
			if err != nil {
				ln.Close()
				return fmt.Errorf("object store %s: %w", o, err)
			}
			opts.Tasks.Objects = st
			log.Info("object store", "store", o.String())
		} else {
			log.Warn("GATEWAVE_S3_URL is not set: tasks can have no inputs or artifacts")
		}
	}
	srv, err := server.New(opts)
	if err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ctx, ln)
}

// accountOptions turns --public-url and --trusted-proxies into sign-in
// options.
func accountOptions(publicURL, proxies string) (accounts.Options, error) {
	var o accounts.Options
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--public-url %q: want http(s)://HOST[:PORT][/PATH]", publicURL)
		}
		o.SecureCookies = u.Scheme == "https"
	}
	p, err := accounts.ParseProxies(proxies)
	if err != nil {
		return o, fmt.Errorf("--trusted-proxies: %w", err)
	}
	o.Proxies = p
	return o, nil
}

func node(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return errors.New("want node add|revoke|list|drain|undrain|probe|exec|audit")
	}
	sub, args := args[0], args[1:]
	if sub == "probe" || sub == "exec" || sub == "audit" {
		return nodeRemote(ctx, sub, args, env)
	}
	fs, dbURL := newFlags("node "+sub, env)
	labels := cliflag.KeyValues{}
	if sub == "add" {
		fs.Var(labels, "label", "label key=value (repeatable)")
	}
	// Allow NAME before or after the flags.
	if err := parseAnywhere(fs, args); err != nil {
		return err
	}
	pos := fs.Args()
	pool, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool)
	switch sub {
	case "add":
		if len(pos) != 1 {
			return errors.New("usage: cloud node add NAME [--label k=v] (repeatable)")
		}
		n, token, err := st.AddNode(ctx, pos[0], map[string]string(labels))
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "node %q added (id %d). Its token is shown once; give it to the gateway as NODEGW_TOKEN or --token-file:\n", n.Name, n.ID)
		fmt.Fprintln(env.Stdout, token)
	case "revoke":
		if len(pos) != 1 {
			return errors.New("usage: cloud node revoke NAME")
		}
		n, err := st.Revoke(ctx, pos[0], time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "node %q revoked\n", n.Name)
	case "drain", "undrain":
		if len(pos) != 1 {
			return fmt.Errorf("usage: cloud node %s NAME", sub)
		}
		if err := st.SetDrain(ctx, pos[0], sub == "drain"); err != nil {
			return err
		}
		if sub == "drain" {
			fmt.Fprintf(env.Stdout, "node %q draining: no new claims; its sessions are saved and moved (cloud node list shows when it is drained)\n", pos[0])
		} else {
			fmt.Fprintf(env.Stdout, "node %q takes claims again\n", pos[0])
		}
	case "list":
		nodes, err := st.List(ctx)
		if err != nil {
			return err
		}
		drains, err := st.Drains(ctx)
		if err != nil {
			return err
		}
		printNodes(env.Stdout, nodes, drains, time.Now())
	default:
		return fmt.Errorf("unknown node command %q (want add, revoke, list, drain, undrain, probe, exec or audit)", sub)
	}
	return nil
}

func printNodes(w io.Writer, nodes []store.Node, drains map[string]store.Drain, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tLAST HEARTBEAT\tREPLICA\tCPUS\tMEMORY\tGPUS\tVERSION\tLABELS")
	for _, n := range nodes {
		hb, rep := "never", "-"
		if n.LastHeartbeatAt != nil {
			hb = now.Sub(*n.LastHeartbeatAt).Truncate(time.Second).String() + " ago"
		}
		if n.Replica != nil {
			rep = *n.Replica
		}
		var kv []string
		for k, v := range n.ReportedLabels {
			if _, ok := n.Labels[k]; !ok {
				kv = append(kv, k+"="+v)
			}
		}
		for k, v := range n.Labels {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		ver := n.Version
		if ver == "" {
			ver = "-"
		}
		if n.VersionMismatch {
			ver += " (MISMATCH: cloud " + buildinfo.Version + ")"
		}
		status := n.Status
		if d := drains[n.Name]; d.State() != "" {
			status += ", " + d.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.1f GiB\t%d\t%s\t%s\n", n.Name, status, hb, rep,
			n.Resources.CPUCores, float64(n.Resources.MemoryBytes)/(1<<30), len(n.Resources.GPUs), ver, strings.Join(kv, ","))
	}
	tw.Flush()
}

func user(ctx context.Context, args []string, env Env) error {
	if len(args) < 2 || args[0] != "add" {
		return errors.New("usage: cloud user add NAME  (password on stdin)")
	}
	name := args[1]
	fs, dbURL := newFlags("user add", env)
	dataDir := fs.String("data-dir", envOr(env, "GATEWAVE_DATA_DIR", ""), "where users' git repos live (DATA_DIR/git) (env GATEWAVE_DATA_DIR)")
	admin := fs.Bool("admin", false, "make the user an admin (sees every user on the home page and adds users there)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("user add: --data-dir or GATEWAVE_DATA_DIR is required (the user's repo is created there)")
	}
	in := env.Stdin
	if in == nil {
		in = os.Stdin
	}
	pw, err := accounts.ReadPassword(in)
	if err != nil {
		return err
	}
	pool, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	acc, err := accounts.New(accounts.Options{DB: pool})
	if err != nil {
		return err
	}
	git, err := githost.New(githost.Options{Root: filepath.Join(*dataDir, "git"),
		Authorize: func(context.Context, string, string, string, bool) error { return githost.ErrUnauthorized }})
	if err != nil {
		return err
	}
	u, err := acc.AddUser(ctx, name, pw)
	if err != nil {
		return err
	}
	if *admin {
		if err := acc.SetAdmin(ctx, u.Name, true); err != nil {
			return err
		}
	}
	if !git.Exists(u.Name) {
		if err := git.Create(ctx, u.Name); err != nil {
			return fmt.Errorf("user %q added, but creating the repo failed: %w", u.Name, err)
		}
	}
	fmt.Fprintf(env.Stdout, "user %q added (id %d) with repo %s\n", u.Name, u.ID, git.RepoPath(u.Name))
	return nil
}
