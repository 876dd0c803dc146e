package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"gatewave.dev/cloud/backup"
)

const backupUsage = `usage: cloud backup <command> [flags]

  run --dir DIR                      one backup now (database and repos) into DIR
  daemon --dir DIR [--schedule HH:MM] [--every 24h] [--keep 7]
                                     a backup daily at HH:MM UTC (default 03:00) or every
                                     interval; keeps the newest N, deleting old ones only
                                     after a new one succeeded
  list --dir DIR                     the backups in DIR, oldest first
  verify FILE                        check a backup completely without restoring it
  restore FILE                       restore into an EMPTY database (DATABASE_URL) and a data
                                     dir without repos (GATEWAVE_DATA_DIR)

The database comes from DATABASE_URL only (never a flag, which ps would show); the
repos are GATEWAVE_DATA_DIR/git (or --data-dir). GATEWAVE_BACKUP_DIR is --dir's default.
`

func backupCmd(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.Stdout, backupUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("backup "+sub, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, backupUsage) }
	dataDir := fs.String("data-dir", env.Getenv("GATEWAVE_DATA_DIR"), "the cloud's data dir; repos are DATA_DIR/git (env GATEWAVE_DATA_DIR)")
	dir := fs.String("dir", env.Getenv("GATEWAVE_BACKUP_DIR"), "where backups are kept (env GATEWAVE_BACKUP_DIR)")
	schedule := fs.String("schedule", envOr(env, "GATEWAVE_BACKUP_SCHEDULE", "03:00"), "daemon: daily at HH:MM UTC (env GATEWAVE_BACKUP_SCHEDULE)")
	every := fs.Duration("every", 0, "daemon: every interval instead of daily (for example 6h)")
	keep := fs.Int("keep", 7, "daemon: how many backups to keep")
	if err := parseAnywhere(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, nil))
	opts := backup.Options{DatabaseURL: env.Getenv("DATABASE_URL"), DataDir: *dataDir, Dir: *dir, Logger: log}
	needDir := func() error {
		if *dir == "" {
			return errors.New("--dir DIR (or GATEWAVE_BACKUP_DIR) is required")
		}
		return nil
	}
	file := func() (string, error) {
		if fs.NArg() != 1 {
			return "", fmt.Errorf("usage: cloud backup %s FILE", sub)
		}
		return fs.Arg(0), nil
	}
	switch sub {
	case "run":
		if err := needDir(); err != nil {
			return err
		}
		inf, err := backup.Run(ctx, opts)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, inf.Path)
	case "daemon":
		if err := needDir(); err != nil {
			return err
		}
		s, err := backup.ParseSchedule(*schedule, *every)
		if err != nil {
			return err
		}
		return backup.Daemon(ctx, backup.DaemonOptions{Options: opts, Schedule: s, Keep: *keep})
	case "list":
		if err := needDir(); err != nil {
			return err
		}
		list, err := backup.List(*dir)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FILE\tCREATED\tSIZE\tSCHEMA\tVERSION\tROWS\tREPOS")
		for _, l := range list {
			if l.Err != nil {
				fmt.Fprintf(tw, "%s\t-\t%d\t-\t-\t-\t%v\n", l.Path, l.Size, l.Err)
				continue
			}
			var rows int64
			for _, n := range l.Manifest.Tables {
				rows += n
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\n", l.Path, l.Manifest.Created.UTC().Format(time.RFC3339),
				size(l.Size), l.Manifest.SchemaVersion, l.Manifest.Version, rows, len(l.Manifest.Repos))
		}
		tw.Flush()
	case "verify":
		f, err := file()
		if err != nil {
			return err
		}
		m, err := backup.Verify(ctx, opts, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is intact: created %s, schema %d, tables %d, repos %d\n", f,
			m.Created.UTC().Format(time.RFC3339), m.SchemaVersion, len(m.Tables), len(m.Repos))
	case "restore":
		f, err := file()
		if err != nil {
			return err
		}
		m, err := backup.Restore(ctx, opts, f)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(m.Repos))
		for _, r := range m.Repos {
			names = append(names, r.Name)
		}
		fmt.Fprintf(env.Stdout, "restored %s (created %s, schema %d): %d tables, repos %s\n"+
			"next: `cloud migrate` (brings an older schema up to this build; a no-op otherwise), then `cloud serve`\n", f,
			m.Created.UTC().Format(time.RFC3339), m.SchemaVersion, len(m.Tables), strings.Join(names, ", "))
	default:
		return fmt.Errorf("unknown backup command %q (want run, daemon, list, verify or restore)", sub)
	}
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
}
