package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"gatewave.dev/migrations"
)

// ErrNotEmpty is wrapped when a restore's target already holds data:
// tables in the database or repositories in the data dir. Restore never
// overwrites.
var ErrNotEmpty = errors.New("restore target is not empty")

// unpacked is a verified backup under a temporary directory.
type unpacked struct {
	dir string
	m   Manifest
}

// unpack verifies the backup at path completely (every entry's checksum,
// the dump's table of contents, each bundle's refs) into a temporary
// directory the caller removes.
func unpack(ctx context.Context, opts Options, path string) (*unpacked, error) {
	dir, err := os.MkdirTemp(opts.TempDir, "gatewave-restore-")
	if err != nil {
		return nil, err
	}
	u := &unpacked{dir: dir}
	fail := func(err error) (*unpacked, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if u.m, err = extract(path, dir); err != nil {
		return fail(err)
	}
	if _, err := run(ctx, childEnv(), dir, opts.PgRestore, "--list", filepath.Join(dir, dumpName)); err != nil {
		return fail(corrupt("the database dump is unreadable: %v", err))
	}
	for _, r := range u.m.Repos {
		if len(r.Refs) == 0 {
			continue
		}
		heads, err := run(ctx, gitEnv(), dir, opts.Git, "bundle", "list-heads", filepath.Join(dir, filepath.FromSlash(bundleName(r.Name))))
		if err != nil {
			return fail(corrupt("bundle of %s: %v", r.Name, err))
		}
		got := map[string]string{}
		for _, line := range strings.Split(heads, "\n") {
			if oid, ref, ok := strings.Cut(line, " "); ok && strings.HasPrefix(ref, "refs/") {
				got[ref] = oid
			}
		}
		if !equalRefs(got, r.Refs) {
			return fail(corrupt("bundle of %s does not hold the refs its manifest lists", r.Name))
		}
	}
	return u, nil
}

func equalRefs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Verify checks the backup at path completely without restoring it and
// returns its manifest.
func Verify(ctx context.Context, opts Options, path string) (Manifest, error) {
	if err := opts.defaults("pg_restore", "git"); err != nil {
		return Manifest{}, err
	}
	u, err := unpack(ctx, opts, path)
	if err != nil {
		return Manifest{}, err
	}
	os.RemoveAll(u.dir)
	return u.m, nil
}

// buildSchemaVersion is the newest migration this build embeds.
func buildSchemaVersion() (int64, error) {
	names, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		return 0, err
	}
	var max int64
	for _, n := range names {
		num, _, _ := strings.Cut(n, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", n, err)
		}
		max = maxInt(max, v)
	}
	return max, nil
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// Restore restores the backup at path into opts.DatabaseURL, which must
// hold no tables, and its repos into opts.DataDir/git, which must hold no
// repositories. In order: the file is verified in full; both targets are
// checked empty; the repos are rebuilt from their bundles beside the data
// dir and checked (refs as listed, git fsck); the dump is restored in one
// transaction (a failure leaves the database empty); the row counts are
// compared with the manifest; only then do the repos move into place.
// Bad input changes nothing.
func Restore(ctx context.Context, opts Options, path string) (Manifest, error) {
	if err := opts.defaults("pg_restore", "git"); err != nil {
		return Manifest{}, err
	}
	if err := opts.needDataDir(); err != nil {
		return Manifest{}, err
	}
	conn, err := parseConn(opts.DatabaseURL)
	if err != nil {
		return Manifest{}, err
	}
	u, err := unpack(ctx, opts, path)
	if err != nil {
		return Manifest{}, err
	}
	defer os.RemoveAll(u.dir)
	m := u.m
	if target, err := buildSchemaVersion(); err != nil {
		return m, err
	} else if m.SchemaVersion > target {
		return m, fmt.Errorf("the backup's schema version %d is newer than this build knows (%d): restore with the cloud binary that wrote it (%s) or a newer one", m.SchemaVersion, target, m.Version)
	}

	db, err := pgx.Connect(ctx, opts.DatabaseURL)
	if err != nil {
		return m, fmt.Errorf("connect database: %w", err)
	}
	defer db.Close(context.Background())
	if err := checkEmptyDB(ctx, db); err != nil {
		return m, err
	}
	gitRoot := filepath.Join(opts.DataDir, "git")
	if existing, err := listRepos(gitRoot); err != nil {
		return m, err
	} else if len(existing) > 0 {
		return m, fmt.Errorf("%w: %s already holds repositories (%s); restore into a data dir without any",
			ErrNotEmpty, gitRoot, strings.Join(existing, ", "))
	}
	for _, r := range m.Repos {
		if _, err := os.Lstat(filepath.Join(gitRoot, r.Name+".git")); err == nil {
			return m, fmt.Errorf("%w: %s exists", ErrNotEmpty, filepath.Join(gitRoot, r.Name+".git"))
		}
	}

	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return m, fmt.Errorf("data dir: %w", err)
	}
	staging, err := os.MkdirTemp(opts.DataDir, ".restore-")
	if err != nil {
		return m, fmt.Errorf("data dir: %w", err)
	}
	defer os.RemoveAll(staging)
	for _, r := range m.Repos {
		if err := stageRepo(ctx, opts, u.dir, staging, r); err != nil {
			return m, fmt.Errorf("repo %s: %w", r.Name, err)
		}
	}

	if _, err := run(ctx, conn.env(), u.dir, opts.PgRestore, "--single-transaction", "--exit-on-error",
		"--no-owner", "--no-privileges", "--no-password", "--dbname="+conn.dsn, filepath.Join(u.dir, dumpName)); err != nil {
		return m, fmt.Errorf("restore database (nothing was restored): %w", err)
	}
	counts, err := countRows(ctx, db)
	if err != nil {
		return m, err
	}
	if !equalCounts(counts, m.Tables) {
		return m, fmt.Errorf("the restored database's row counts differ from the manifest's (got %v, want %v); the repos were not restored", counts, m.Tables)
	}

	if err := os.MkdirAll(gitRoot, 0o700); err != nil {
		return m, err
	}
	for _, r := range m.Repos {
		dst := filepath.Join(gitRoot, r.Name+".git")
		if err := os.Rename(filepath.Join(staging, r.Name+".git"), dst); err != nil {
			return m, fmt.Errorf("move repo %s into place (the database is restored): %w", r.Name, err)
		}
	}
	if err := syncDir(gitRoot); err != nil {
		return m, err
	}
	opts.Logger.Info("backup restored", "file", path, "created", m.Created, "schema", m.SchemaVersion,
		"tables", len(m.Tables), "repos", len(m.Repos))
	return m, nil
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkEmptyDB refuses a database with any relation (table, sequence,
// view, ...) outside the system schemas, or any schema besides public.
func checkEmptyDB(ctx context.Context, db *pgx.Conn) error {
	var n int
	var some []string
	err := db.QueryRow(ctx, `
		WITH found AS (
			SELECT n.nspname || '.' || c.relname AS what FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind NOT IN ('i', 'I') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
			UNION ALL
			SELECT 'schema ' || nspname FROM pg_namespace
			WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_toast%'
			  AND nspname NOT LIKE 'pg\_temp%')
		SELECT count(*), COALESCE((SELECT array_agg(what) FROM (SELECT what FROM found ORDER BY 1 LIMIT 5) f), '{}') FROM found`).Scan(&n, &some)
	if err != nil {
		return fmt.Errorf("inspect target database: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: the database already holds %d tables, sequences or schemas (%s); restore into a new, empty database (createdb) and point DATABASE_URL at it",
			ErrNotEmpty, n, strings.Join(some, ", "))
	}
	return nil
}

// stageRepo rebuilds r under staging from its bundle and config, and
// checks it: exactly the manifest's refs, HEAD as it was, every object
// they reach present.
func stageRepo(ctx context.Context, opts Options, unpacked, staging string, r Repo) error {
	env := gitEnv()
	dst := filepath.Join(staging, r.Name+".git")
	if _, err := run(ctx, env, staging, opts.Git, "init", "--quiet", "--bare", dst); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(unpacked, filepath.FromSlash(configName(r.Name))))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dst, "config"), cfg, 0o644); err != nil {
		return err
	}
	if len(r.Refs) > 0 {
		bundle := filepath.Join(unpacked, filepath.FromSlash(bundleName(r.Name)))
		if _, err := run(ctx, env, dst, opts.Git, "fetch", "--quiet", "--no-write-fetch-head", bundle, "refs/*:refs/*"); err != nil {
			return err
		}
	}
	if r.Head != "" {
		if _, err := run(ctx, env, dst, opts.Git, "symbolic-ref", "HEAD", r.Head); err != nil {
			return err
		}
	}
	out, err := run(ctx, env, dst, opts.Git, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		return err
	}
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if oid, ref, ok := strings.Cut(line, " "); ok {
			got[ref] = oid
		}
	}
	if !equalRefs(got, r.Refs) {
		return fmt.Errorf("restored refs differ from the manifest's")
	}
	if _, err := run(ctx, env, dst, opts.Git, "fsck", "--no-progress", "--connectivity-only"); err != nil {
		return err
	}
	return nil
}
