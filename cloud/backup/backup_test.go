package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/backup"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/testenv"
)

func tools(t *testing.T) {
	t.Helper()
	for _, p := range []string{"pg_dump", "pg_restore", "git"} {
		testenv.LookPath(t, p)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(testenv.Context(t, testenv.WaitLong), "git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@localhost", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@localhost"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v in %s: %v\n%s", args, dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// world is a populated cloud: a migrated database and a data dir with
// repos, both filled through the cloud's own code.
type world struct {
	url     string
	pool    *pgxpool.Pool
	dataDir string
}

func populate(t *testing.T) world {
	t.Helper()
	tools(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	u, pool := dbtest.New(t)
	w := world{url: u, pool: pool, dataDir: t.TempDir()}
	acc, err := accounts.New(accounts.Options{DB: pool})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := githost.New(githost.Options{Root: filepath.Join(w.dataDir, "git"),
		Authorize: func(context.Context, string, string, string, bool) error { return githost.ErrUnauthorized }})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		usr, err := acc.AddUser(ctx, name, "correct horse "+name)
		if err != nil {
			t.Fatal(err)
		}
		if err := gh.Create(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, err := acc.CreateSession(ctx, usr); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO user_settings (user_id, settings) VALUES ($1, '{"theme": "dark", "fontSize": 15}')`, usr.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := acc.SetAdmin(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	// alice pushes work: commits on main, the autosave branch, a tag.
	clone := t.TempDir()
	git(t, clone, "clone", "--quiet", gh.RepoPath("alice"), "w")
	wd := filepath.Join(clone, "w")
	for i := range 3 {
		os.WriteFile(filepath.Join(wd, fmt.Sprintf("f%d.v", i)), []byte(fmt.Sprintf("module m%d; endmodule\n", i)), 0o644)
		git(t, wd, "add", ".")
		git(t, wd, "commit", "--quiet", "-m", fmt.Sprintf("work %d", i))
	}
	git(t, wd, "tag", "-a", "v1", "-m", "first")
	git(t, wd, "push", "--quiet", "origin", "main", "HEAD:refs/heads/ide/autosave", "v1")
	// A repo without any ref yet.
	git(t, w.dataDir, "init", "--quiet", "--bare", filepath.Join(w.dataDir, "git", "carol.git"))

	st := store.New(pool)
	for _, n := range []string{"lab-1", "lab-2"} {
		if _, _, err := st.AddNode(ctx, n, map[string]string{"site": "a"}); err != nil {
			t.Fatal(err)
		}
	}
	head := git(t, wd, "rev-parse", "HEAD")
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (id, user_id, state, base_commit)
		SELECT 'sess-0001', id, 'queued', $1 FROM users WHERE name = 'alice'`, head); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO tasks (user_id, code_repo_url, code_commit_id, env_repo_url, env_commit_id,
		dockerfile_path, command, cpus, memory_bytes, timeout_ms)
		SELECT id, 'http://x/git/alice.git', $1, 'http://x/git/alice.git', $1, 'Dockerfile', '["make"]', 1.5, 1073741824, 60000
		FROM users WHERE name = 'alice'`, head); err != nil {
		t.Fatal(err)
	}
	return w
}

// snapshot is everything compared between an original and its restore.
type snapshot struct {
	tables  map[string][]string
	columns []string
	seqs    []string
	repos   map[string][]string
}

func take(t *testing.T, url, dataDir string) snapshot {
	t.Helper()
	ctx := testenv.Context(t, testenv.WaitLong)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows := func(q string) []string {
		r, err := pool.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var out []string
		for r.Next() {
			var s *string
			if err := r.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if s == nil {
				out = append(out, "<null>")
			} else {
				out = append(out, *s)
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	s := snapshot{tables: map[string][]string{}, repos: map[string][]string{}}
	for _, tb := range rows(`SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`) {
		// The whole row as text, every row, in a total order.
		s.tables[tb] = rows(`SELECT t::text FROM ` + tb + ` t ORDER BY 1`)
	}
	s.columns = rows(`SELECT concat_ws(' ', table_schema, table_name, column_name, data_type, column_default, is_nullable, is_identity)
		FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	s.seqs = rows(`SELECT concat_ws(' ', schemaname, sequencename, last_value, start_value, increment_by) FROM pg_sequences ORDER BY 1`)
	ents, err := os.ReadDir(filepath.Join(dataDir, "git"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		repo := filepath.Join(dataDir, "git", e.Name())
		git(t, repo, "fsck", "--full", "--no-progress")
		cfg, err := os.ReadFile(filepath.Join(repo, "config"))
		if err != nil {
			t.Fatal(err)
		}
		s.repos[e.Name()] = []string{"HEAD " + git(t, repo, "symbolic-ref", "HEAD"),
			git(t, repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"), string(cfg)}
	}
	return s
}

func (s snapshot) compare(t *testing.T, got snapshot) {
	t.Helper()
	if len(s.tables) == 0 || len(s.repos) == 0 {
		t.Fatal("nothing to compare")
	}
	for tb, want := range s.tables {
		if !slices.Equal(got.tables[tb], want) {
			t.Errorf("table %s: restored\n%q\nwant\n%q", tb, got.tables[tb], want)
		}
	}
	for tb := range got.tables {
		if _, ok := s.tables[tb]; !ok {
			t.Errorf("restore has an extra table %s", tb)
		}
	}
	if !slices.Equal(got.columns, s.columns) {
		t.Errorf("columns differ:\n%q\nwant\n%q", got.columns, s.columns)
	}
	if !slices.Equal(got.seqs, s.seqs) {
		t.Errorf("sequences differ:\n%q\nwant\n%q", got.seqs, s.seqs)
	}
	for r, want := range s.repos {
		if !slices.Equal(got.repos[r], want) {
			t.Errorf("repo %s: restored %q, want %q", r, got.repos[r], want)
		}
	}
	if len(got.repos) != len(s.repos) {
		t.Errorf("restored repos %v, want %v", keys(got.repos), keys(s.repos))
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}

// The round trip: back up a populated cloud, restore into a new empty
// database and data dir, and find every table's rows, the schema, the
// sequences and every repo's refs (and objects) as they were.
func TestBackupRestoreRoundTrip(t *testing.T) {
	w := populate(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	if os.Geteuid() == 0 {
		// The backup job may run as another user than the cloud: git's
		// safe.directory check must not stop it.
		if err := chownTree(filepath.Join(w.dataDir, "git", "bob.git"), 65534); err != nil {
			t.Fatal(err)
		}
	}
	want := take(t, w.url, w.dataDir)
	for _, tb := range []string{"public.users", "public.nodes", "public.web_sessions", "public.sessions", "public.tasks", "public.user_settings"} {
		if len(want.tables[tb]) == 0 {
			t.Fatalf("populate left %s empty", tb)
		}
	}
	dir := t.TempDir()
	inf, err := backup.Run(ctx, backup.Options{DatabaseURL: w.url, DataDir: w.dataDir, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m := inf.Manifest
	if m.Tables["public.users"] != 2 || m.Tables["public.nodes"] != 2 || m.SchemaVersion < 107 || len(m.Repos) != 3 {
		t.Fatalf("manifest: %+v", m)
	}
	if m.Repos[0].Name != "alice" || m.Repos[0].Refs["refs/tags/v1"] == "" || m.Repos[0].Head != "refs/heads/main" || len(m.Repos[2].Refs) != 0 {
		t.Fatalf("manifest repos: %+v", m.Repos)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || filepath.Join(dir, ents[0].Name()) != inf.Path {
		t.Fatalf("backup dir holds %v, want only %s", ents, inf.Path)
	}
	if st, _ := os.Stat(inf.Path); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600 (it holds password hashes)", st.Mode())
	}

	target, data2 := dbtest.Empty(t, false), t.TempDir()
	got, err := backup.Restore(ctx, backup.Options{DatabaseURL: target, DataDir: data2}, inf.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Created != m.Created {
		t.Errorf("restore returned manifest of %v, want %v", got.Created, m.Created)
	}
	want.compare(t, take(t, target, data2))
	if left, _ := filepath.Glob(filepath.Join(data2, ".restore-*")); len(left) > 0 {
		t.Errorf("restore left %v", left)
	}

	// Restoring again is refused: both targets now hold data.
	_, err = backup.Restore(ctx, backup.Options{DatabaseURL: target, DataDir: t.TempDir()}, inf.Path)
	if !errors.Is(err, backup.ErrNotEmpty) || !strings.Contains(err.Error(), "public.") {
		t.Errorf("restore into a restored database: %v, want ErrNotEmpty naming a table", err)
	}
	_, err = backup.Restore(ctx, backup.Options{DatabaseURL: dbtest.Empty(t, false), DataDir: data2}, inf.Path)
	if !errors.Is(err, backup.ErrNotEmpty) || !strings.Contains(err.Error(), "alice") {
		t.Errorf("restore into a data dir with repos: %v, want ErrNotEmpty naming them", err)
	}
}

// A database that already holds the schema (migrated, no rows) is not
// empty: restore refuses it and touches neither target.
func TestRestoreRefusesNonEmptyDatabase(t *testing.T) {
	w := populate(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	inf, err := backup.Run(ctx, backup.Options{DatabaseURL: w.url, DataDir: w.dataDir, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	target, pool := dbtest.New(t)
	before := take(t, target, t.TempDir()+"/none")
	data2 := t.TempDir()
	_, err = backup.Restore(ctx, backup.Options{DatabaseURL: target, DataDir: data2}, inf.Path)
	if !errors.Is(err, backup.ErrNotEmpty) || !strings.Contains(err.Error(), "empty database") {
		t.Fatalf("restore into a migrated database: %v", err)
	}
	var users int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Errorf("users after refused restore: %d, %v", users, err)
	}
	after := take(t, target, t.TempDir()+"/none")
	if !slices.Equal(before.columns, after.columns) || !slices.Equal(before.seqs, after.seqs) {
		t.Error("a refused restore changed the database")
	}
	if ents, _ := os.ReadDir(data2); len(ents) != 0 {
		t.Errorf("a refused restore wrote into the data dir: %v", ents)
	}
}

// Every kind of damage is found before anything is touched.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	w := populate(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	inf, err := backup.Run(ctx, backup.Options{DatabaseURL: w.url, DataDir: w.dataDir, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(inf.Path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(marker string, off int) []byte {
		i := bytes.Index(good, []byte(marker))
		if i < 0 {
			t.Fatalf("no %q in the backup", marker)
		}
		b := bytes.Clone(good)
		b[i+off] ^= 0x20
		return b
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not a tar", []byte("hello, this is not a backup\n")},
		{"manifest cut", good[:700]},
		{"half", good[:len(good)/2]},
		{"last entry cut", good[:len(good)-1500]},
		{"dump byte flipped", flip("PGDMP", 300)},
		{"bundle byte flipped", flip("# v2 git bundle", 5)},
		{"manifest edited", bytes.Replace(good, []byte(`"public.users": 2`), []byte(`"public.users": 3`), 1)},
	}
	target := dbtest.Empty(t, false)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "manifest edited" && bytes.Equal(c.data, good) {
				t.Fatal("the manifest edit did not apply")
			}
			f := filepath.Join(t.TempDir(), "gatewave-20260101T000000Z.tar")
			if err := os.WriteFile(f, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			data2 := filepath.Join(t.TempDir(), "data")
			_, err := backup.Restore(ctx, backup.Options{DatabaseURL: target, DataDir: data2}, f)
			if !errors.Is(err, backup.ErrCorrupt) {
				t.Fatalf("restore: %v, want ErrCorrupt", err)
			}
			t.Log(err)
			if _, err := backup.Verify(ctx, backup.Options{}, f); !errors.Is(err, backup.ErrCorrupt) {
				t.Errorf("verify: %v, want ErrCorrupt", err)
			}
			if _, err := os.Stat(data2); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data dir was created: %v", err)
			}
			if s := take(t, target, t.TempDir()); len(s.tables) != 0 || len(s.seqs) != 0 {
				t.Errorf("the database changed: %v", keys(s.tables))
			}
		})
	}
	if _, err := backup.Verify(ctx, backup.Options{}, inf.Path); err != nil {
		t.Errorf("verify of the good backup: %v", err)
	}
}

func chownTree(root string, uid int) error {
	return filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
}
