package backup_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatewave.dev/cloud/backup"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/testenv"
)

func TestSchedule(t *testing.T) {
	day := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		at    string
		every time.Duration
		now   time.Time
		want  string
	}{
		{"03:00", 0, day("2026-12-03T02:59:59Z"), "2026-12-03T03:00:00Z"},
		{"03:00", 0, day("2026-12-03T03:00:00Z"), "2026-12-04T03:00:00Z"}, // strictly after
		{"03:00", 0, day("2026-12-03T14:50:00Z"), "2026-12-04T03:00:00Z"},
		{"00:00", 0, day("2026-12-31T23:59:00Z"), "2027-01-01T00:00:00Z"},
		{"23:30", 0, day("2027-02-28T23:45:00Z"), "2027-03-01T23:30:00Z"},
		{"03:00", 0, time.Date(2026, 12, 3, 3, 30, 0, 0, berlin), "2026-12-03T03:00:00Z"}, // 02:30 UTC: UTC decides
		{"", 6 * time.Hour, day("2026-12-03T14:50:00Z"), "2026-12-03T20:50:00Z"},
	}
	for _, tc := range tests {
		s, err := backup.ParseSchedule(tc.at, tc.every)
		if err != nil {
			t.Fatalf("ParseSchedule(%q, %v): %v", tc.at, tc.every, err)
		}
		if got := s.Next(tc.now).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("%v Next(%v) = %s, want %s", s, tc.now, got, tc.want)
		}
	}
	for _, bad := range []string{"", "3pm", "25:00", "03:60", "03:00:00"} {
		if _, err := backup.ParseSchedule(bad, 0); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
	if _, err := backup.ParseSchedule("03:00", 10*time.Second); err == nil {
		t.Error("--every 10s accepted")
	}
}

// Nine daily backups with keep 7 leave the newest seven; a failed backup
// deletes none.
func TestRotationKeepsNewestAfterSuccessOnly(t *testing.T) {
	w := populate(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	dir := t.TempDir()
	base := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	var clock time.Time
	opts := backup.DaemonOptions{Options: backup.Options{DatabaseURL: w.url, DataDir: w.dataDir, Dir: dir,
		Now: func() time.Time { return clock }}, Keep: 7}
	var made []string
	for i := range 9 {
		clock = base.AddDate(0, 0, i)
		inf, err := backup.Once(ctx, opts)
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		made = append(made, inf.Path)
		list, err := backup.List(dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i+1, 7); len(list) != want {
			t.Fatalf("after %d backups: %d kept, want %d", i+1, len(list), want)
		}
	}
	list, _ := backup.List(dir)
	var kept []string
	for _, l := range list {
		if l.Err != nil {
			t.Errorf("%s: %v", l.Path, l.Err)
		}
		kept = append(kept, l.Path)
	}
	if !slices.Equal(kept, made[2:]) {
		t.Fatalf("kept %v, want the newest seven %v", kept, made[2:])
	}
	if got := list[6].Manifest.Created; !got.Equal(base.AddDate(0, 0, 8)) {
		t.Errorf("newest created %v", got)
	}

	// A second backup in the same second never replaces the first.
	if _, err := backup.Once(ctx, opts); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second backup at the same time: %v", err)
	}

	// A failing backup (its database is gone) keeps all seven and leaves
	// no temporary file.
	clock = base.AddDate(0, 0, 9)
	bad := opts
	bad.DatabaseURL = dbURLFor(t, w.url, "no_such_database_x")
	if _, err := backup.Once(ctx, bad); err == nil {
		t.Fatal("a backup of a missing database succeeded")
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	if !slices.Equal(names, made[2:]) {
		t.Fatalf("after a failed backup the dir holds %v, want %v", names, made[2:])
	}
}

func dbURLFor(t *testing.T, raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

// The daemon cleans up after a crashed run, says when it runs next, and
// stops at once when its context ends (SIGTERM in cmd/cloud).
func TestDaemonStartsAndStops(t *testing.T) {
	tools(t)
	dir := t.TempDir()
	for _, n := range []string{".gatewave-123.tmp", ".work-456"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, "gatewave-20260101T000000Z.tar")
	os.WriteFile(keep, []byte("x"), 0o600)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	s, _ := backup.ParseSchedule("03:00", 0)
	done := make(chan error, 1)
	go func() {
		done <- backup.Daemon(ctx, backup.DaemonOptions{Schedule: s, Options: backup.Options{
			DatabaseURL: "postgres://u:pw@127.0.0.1:1/db", DataDir: t.TempDir(), Dir: dir,
			Logger: slog.New(slog.NewJSONHandler(&logs, nil))}})
	}()
	wait := testenv.Context(t, testenv.WaitShort)
	for !strings.Contains(logs.String(), "next backup") {
		select {
		case <-wait.Done():
			t.Fatalf("no schedule logged: %s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-wait.Done():
		t.Fatal("the daemon did not stop")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != filepath.Base(keep) {
		t.Errorf("dir after start: %v, want only %s", ents, keep)
	}
	if !strings.Contains(logs.String(), "backup daemon stopped") || strings.Contains(logs.String(), ":pw@") {
		t.Errorf("logs: %s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The password reaches pg_dump and pg_restore through PGPASSWORD only:
// never their argv (which ps shows), never a log line; and the cloud's
// other secrets are not in their environment at all.
func TestPasswordOnlyInChildEnvironment(t *testing.T) {
	w := populate(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	u, _ := url.Parse(w.url)
	pw, _ := u.User.Password()
	if pw == "" {
		t.Fatal("the test database URL has no password to protect")
	}
	t.Setenv("GATEWAVE_ADMIN_TOKEN", "admin-secret-token-1234")
	t.Setenv("GATEWAVE_S3_URL", "http://ak:s3-secret-5678@127.0.0.1:1/b")
	t.Setenv("DATABASE_URL", w.url)
	bin := t.TempDir()
	record := filepath.Join(bin, "record.log")
	wrap := func(name string) string {
		real := testenv.LookPath(t, name)
		p := filepath.Join(bin, name)
		script := "#!/bin/sh\n{ echo \"argv: $*\"; env | sed 's/^/env: /'; } >> " + record + "\nexec " + real + " \"$@\"\n"
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	inf, err := backup.Run(ctx, backup.Options{DatabaseURL: w.url, DataDir: w.dataDir, Dir: t.TempDir(), PgDump: wrap("pg_dump"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	target := dbtest.Empty(t, false)
	if _, err := backup.Restore(ctx, backup.Options{DatabaseURL: target, DataDir: t.TempDir(), PgRestore: wrap("pg_restore"), Logger: log}, inf.Path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	rec := string(b)
	if strings.Count(rec, "argv: ") < 3 { // pg_dump, pg_restore --list, pg_restore
		t.Fatalf("the wrappers ran %d times:\n%s", strings.Count(rec, "argv: "), rec)
	}
	if !strings.Contains(rec, "env: PGPASSWORD="+pw) {
		t.Errorf("pg_dump did not get PGPASSWORD:\n%s", rec)
	}
	for _, line := range strings.Split(rec, "\n") {
		if strings.HasPrefix(line, "argv: ") && strings.Contains(line, pw) {
			t.Errorf("the password is in argv: %s", line)
		}
		for _, secret := range []string{"admin-secret-token-1234", "s3-secret-5678", "DATABASE_URL", "GATEWAVE_"} {
			if strings.HasPrefix(line, "env: ") && strings.Contains(line, secret) {
				t.Errorf("a child inherited %s: %s", secret, line)
			}
		}
	}
	if strings.Contains(logs.String(), pw) {
		t.Errorf("the password is in the logs: %s", logs.String())
	}

	// Nor is it in an error.
	wrong := *u
	wrong.User = url.UserPassword(u.User.Username(), "wrong-"+pw)
	_, err = backup.Run(ctx, backup.Options{DatabaseURL: wrong.String(), DataDir: w.dataDir, Dir: t.TempDir()})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("a failed connection's error: %v", err)
	}
	if _, err := backup.Run(ctx, backup.Options{DatabaseURL: "postgres://u:" + pw + "@[bad", DataDir: w.dataDir, Dir: t.TempDir()}); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("a bad URL's error: %v", err)
	}
}

// Backups taken while a user pushes are each consistent: restored, every
// repo passes git fsck and its refs are commits the original went through.
func TestBackupDuringPushes(t *testing.T) {
	w := populate(t)
	ctx := testenv.Context(t, testenv.WaitLong)
	repo := filepath.Join(w.dataDir, "git", "alice.git")
	clone := filepath.Join(t.TempDir(), "w")
	git(t, filepath.Dir(clone), "clone", "--quiet", repo, clone)
	stop := make(chan struct{})
	pushed := make(chan error, 1)
	go func() {
		env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + clone, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@localhost", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@localhost"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				pushed <- nil
				return
			default:
			}
			os.WriteFile(filepath.Join(clone, "busy.v"), bytes.Repeat([]byte{byte('a' + i%26)}, 4096+i), 0o644)
			for _, args := range [][]string{{"add", "."}, {"commit", "--quiet", "-m", "busy"}, {"push", "--quiet", "origin", "main", "HEAD:refs/heads/ide/autosave"}} {
				cmd := exec.Command("git", args...)
				cmd.Dir, cmd.Env = clone, env
				if out, err := cmd.CombinedOutput(); err != nil {
					pushed <- &pushErr{args, string(out), err}
					return
				}
			}
		}
	}()
	var infos []backup.Info
	for range 3 {
		inf, err := backup.Run(ctx, backup.Options{DatabaseURL: w.url, DataDir: w.dataDir, Dir: t.TempDir()})
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		infos = append(infos, inf)
	}
	close(stop)
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	for _, inf := range infos {
		target, data := dbtest.Empty(t, false), t.TempDir()
		if _, err := backup.Restore(ctx, backup.Options{DatabaseURL: target, DataDir: data}, inf.Path); err != nil {
			t.Fatal(err)
		}
		got := take(t, target, data) // runs git fsck --full on every repo
		if len(got.repos) != 3 {
			t.Fatalf("restored repos %v", keys(got.repos))
		}
		for ref, oid := range inf.Manifest.Repos[0].Refs {
			if !strings.HasPrefix(ref, "refs/heads/") {
				continue
			}
			git(t, repo, "merge-base", "--is-ancestor", oid, "refs/heads/main") // fails the test if not
		}
	}
}

type pushErr struct {
	args []string
	out  string
	err  error
}

func (e *pushErr) Error() string {
	return "git " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.out
}
