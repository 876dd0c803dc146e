// Package backup writes and restores Gatewave backups: one tar file per
// backup holding a manifest, a pg_dump of the database (custom format) and
// a git bundle of every user's repository. Restore goes only into an empty
// database and a data directory without repositories, after the whole file
// has been checked against its manifest. Daemon takes one a day (or every
// interval) and keeps the last N.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/cloud/githost"
	"gatewave.dev/shared/buildinfo"
)

// Options configure Run, Verify and Restore.
type Options struct {
	// DatabaseURL is the postgres:// URL to dump or restore into
	// (required). Its password reaches pg_dump and pg_restore through
	// PGPASSWORD only, never their argv.
	DatabaseURL string
	// DataDir is the cloud's GATEWAVE_DATA_DIR; the repos are
	// DataDir/git/OWNER.git (required).
	DataDir string
	// Dir is where Run writes backups (required for Run; created 0700).
	Dir string
	// TempDir is where Verify and Restore unpack a backup; "" means
	// os.TempDir().
	TempDir string
	// Now is the clock naming a backup; nil means time.Now.
	Now func() time.Time
	// PgDump, PgRestore and Git are the programs; "" means the one on $PATH.
	PgDump, PgRestore, Git string
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults(need ...string) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	for _, p := range []struct {
		bin  *string
		name string
	}{{&o.PgDump, "pg_dump"}, {&o.PgRestore, "pg_restore"}, {&o.Git, "git"}} {
		if *p.bin != "" || !contains(need, p.name) {
			continue
		}
		path, err := exec.LookPath(p.name)
		if err != nil {
			return fmt.Errorf("%s not found (apt-get install postgresql-client git): %w", p.name, err)
		}
		*p.bin = path
	}
	return nil
}

func (o *Options) needDataDir() error {
	if o.DataDir == "" {
		return errors.New("no data dir: set GATEWAVE_DATA_DIR or --data-dir (the users' repos are in DATA_DIR/git)")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Info is one backup file.
type Info struct {
	Path     string
	Size     int64
	Manifest Manifest
}

// Prefix and Suffix frame a backup's file name around its UTC time,
// gatewave-20261203T030000Z.tar, so names sort by age.
const (
	Prefix     = "gatewave-"
	Suffix     = ".tar"
	timeLayout = "20060102T150405Z"
)

// Run takes one backup now and returns it. The file appears under its
// final name only once complete and synced; a failed run removes its
// temporary files and leaves no backup. The database is dumped first (one
// snapshot), then the repos, so every commit the database names (bases,
// autosaves) is in the repos.
func Run(ctx context.Context, opts Options) (Info, error) {
	if err := opts.defaults("pg_dump", "git"); err != nil {
		return Info{}, err
	}
	if err := opts.needDataDir(); err != nil {
		return Info{}, err
	}
	if opts.Dir == "" {
		return Info{}, errors.New("no backup dir: set --dir")
	}
	conn, err := parseConn(opts.DatabaseURL)
	if err != nil {
		return Info{}, err
	}
	created := opts.Now().UTC().Truncate(time.Second)
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return Info{}, fmt.Errorf("backup dir: %w", err)
	}
	final := filepath.Join(opts.Dir, Prefix+created.Format(timeLayout)+Suffix)
	if _, err := os.Lstat(final); err == nil {
		return Info{}, fmt.Errorf("%s already exists", final)
	}
	work, err := os.MkdirTemp(opts.Dir, ".work-")
	if err != nil {
		return Info{}, fmt.Errorf("backup dir: %w", err)
	}
	defer os.RemoveAll(work)

	m := Manifest{Format: Format, FormatVersion: FormatVersion, Version: buildinfo.Version, Created: created}
	if err := dumpDatabase(ctx, opts, conn, filepath.Join(work, dumpName), &m); err != nil {
		return Info{}, err
	}
	if err := os.Mkdir(filepath.Join(work, "repos"), 0o700); err != nil {
		return Info{}, err
	}
	repos, err := listRepos(filepath.Join(opts.DataDir, "git"))
	if err != nil {
		return Info{}, err
	}
	for _, name := range repos {
		r, err := bundleRepo(ctx, opts, filepath.Join(opts.DataDir, "git", name+".git"), name, work)
		if err != nil {
			return Info{}, fmt.Errorf("repo %s: %w", name, err)
		}
		m.Repos = append(m.Repos, r)
	}

	tmp, err := os.CreateTemp(opts.Dir, ".gatewave-*.tmp")
	if err != nil {
		return Info{}, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := writeArchive(tmp, work, &m, created); err != nil {
		return Info{}, fmt.Errorf("write backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("sync backup: %w", err)
	}
	st, err := tmp.Stat()
	if err != nil {
		return Info{}, err
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("close backup: %w", err)
	}
	// A hard link never replaces an existing file (two runs in the same
	// second); where links are not supported, rename.
	if err := os.Link(tmp.Name(), final); errors.Is(err, fs.ErrExist) {
		return Info{}, fmt.Errorf("%s already exists", final)
	} else if err != nil {
		if err := os.Rename(tmp.Name(), final); err != nil {
			return Info{}, fmt.Errorf("rename backup: %w", err)
		}
	} else {
		os.Remove(tmp.Name())
	}
	ok = true
	if err := syncDir(opts.Dir); err != nil {
		return Info{}, err
	}
	opts.Logger.Info("backup written", "file", final, "bytes", st.Size(), "schema", m.SchemaVersion,
		"tables", len(m.Tables), "repos", len(m.Repos))
	return Info{Path: final, Size: st.Size(), Manifest: m}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// dumpDatabase counts every table and runs pg_dump in one exported
// snapshot, so the manifest's counts are exactly the dump's.
func dumpDatabase(ctx context.Context, opts Options, c pgConn, file string, m *Manifest) error {
	db, err := pgx.Connect(ctx, opts.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect database: %w", err)
	}
	defer db.Close(context.Background())
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.Background())
	var snap string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snap); err != nil {
		return fmt.Errorf("export snapshot: %w", err)
	}
	if m.Tables, err = countRows(ctx, tx); err != nil {
		return err
	}
	var goose *string
	if err := tx.QueryRow(ctx, `SELECT to_regclass('public.goose_db_version')::text`).Scan(&goose); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if goose == nil {
		return errors.New("the database has no schema (goose_db_version is missing): is DATABASE_URL the cloud's database?")
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version_id), 0) FROM goose_db_version`).Scan(&m.SchemaVersion); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if _, err := run(ctx, c.env(), "", opts.PgDump, "--format=custom", "--no-password",
		"--snapshot="+snap, "--file="+file, "--dbname="+c.dsn); err != nil {
		return fmt.Errorf("dump database: %w", err)
	}
	return nil
}

// countRows returns every user table's row count.
func countRows(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var tables [][2]string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		tables = append(tables, [2]string{s, n})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	counts := map[string]int64{}
	for _, t := range tables {
		var n int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t[0], t[1]}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", t[0], t[1], err)
		}
		counts[t[0]+"."+t[1]] = n
	}
	return counts, nil
}

// listRepos returns the owners with a repository under root, sorted.
// Anything else there (a repo being created, stray files) is skipped.
func listRepos(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list repos: %w", err)
	}
	var names []string
	for _, e := range ents {
		owner, ok := strings.CutSuffix(e.Name(), ".git")
		if !ok || !e.IsDir() || !githost.ValidOwner(owner) {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), "HEAD")); err != nil {
			continue
		}
		names = append(names, owner)
	}
	sort.Strings(names)
	return names, nil
}

// bundleRepo writes repo's bundle and config under work. A bundle holds
// the refs git read when it started and every object they reach; a push
// writes its objects before it moves a ref, so a concurrent push cannot
// leave a ref in the bundle without its objects. The manifest's refs are
// the bundle's own (git bundle list-heads), not a second reading.
func bundleRepo(ctx context.Context, opts Options, repo, name, work string) (Repo, error) {
	r := Repo{Name: name, Refs: map[string]string{}}
	env := gitEnv()
	head, err := run(ctx, env, repo, opts.Git, "symbolic-ref", "-q", "HEAD")
	if err == nil {
		r.Head = head
	}
	first, err := run(ctx, env, repo, opts.Git, "for-each-ref", "--count=1", "--format=%(refname)")
	if err != nil {
		return r, err
	}
	if first != "" {
		bundle := filepath.Join(work, filepath.FromSlash(bundleName(name)))
		if _, err := run(ctx, env, repo, opts.Git, "bundle", "create", "--quiet", bundle, "--all"); err != nil {
			return r, err
		}
		heads, err := run(ctx, env, work, opts.Git, "bundle", "list-heads", bundle)
		if err != nil {
			return r, err
		}
		for _, line := range strings.Split(heads, "\n") {
			oid, ref, ok := strings.Cut(line, " ")
			if ok && strings.HasPrefix(ref, "refs/") {
				r.Refs[ref] = oid
			}
		}
	}
	cfg, err := os.ReadFile(filepath.Join(repo, "config"))
	if err != nil {
		return r, fmt.Errorf("read config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(configName(name))), cfg, 0o600); err != nil {
		return r, err
	}
	return r, nil
}
