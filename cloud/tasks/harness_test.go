package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

const gitURL = "http://127.0.0.1:1/git"

func testLogger() *slog.Logger {
	if os.Getenv("GATEWAVE_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// recorder is the fleet as the scheduler sees it: it records the commands
// sent to nodes and answers them as a node that accepts every task.
type recorder struct {
	mu   sync.Mutex
	cmds []sent
	// refuse, when set, makes every command fail to reach its node.
	refuse error
}

type sent struct {
	node, name string
	args       []byte
}

func (r *recorder) Command(_ context.Context, node, name string, args []byte) (*fleetproto.Ack, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse != nil {
		return nil, r.refuse
	}
	r.cmds = append(r.cmds, sent{node, name, args})
	res, _ := json.Marshal(fleetproto.TaskAccepted{Accepted: true})
	return &fleetproto.Ack{OK: true, Result: res}, nil
}

func (r *recorder) runs() map[int64]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int64]string{}
	for _, c := range r.cmds {
		if c.name == fleetproto.CommandTaskRun {
			var a fleetproto.TaskRunArgs
			_ = json.Unmarshal(c.args, &a)
			out[a.ID] = c.node
		}
	}
	return out
}

type harness struct {
	t     testing.TB
	db    *pgxpool.Pool
	svc   *Service
	fleet *recorder
	git   *githost.Host
	acc   *accounts.Accounts
	ada   User
	bob   User
	// commit of ada's repo holding envs/a/Dockerfile and envs/b/Dockerfile
	commit string
}

func newHarness(t testing.TB, mod func(*Options)) *harness {
	t.Helper()
	testenv.LookPath(t, "git")
	_, db := dbtest.New(t)
	ctx := context.Background()
	acc, err := accounts.New(accounts.Options{DB: db, Argon2: accounts.Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	git, err := githost.New(githost.Options{Root: t.TempDir(), Authorize: acc.GitAuthorizer(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: db, fleet: &recorder{}, git: git, acc: acc}
	for _, name := range []string{"ada", "bob"} {
		u, err := acc.AddUser(ctx, name, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if err := git.Create(ctx, name); err != nil {
			t.Fatal(err)
		}
		if name == "ada" {
			h.ada = u
		} else {
			h.bob = u
		}
	}
	h.commit = h.commitFiles("ada", map[string]string{
		"envs/a/Dockerfile": "FROM gatewave/sessiond-scratch\nRUN echo a > /env-a\n",
		"envs/b/Dockerfile": "FROM gatewave/sessiond-scratch\nRUN echo b > /env-b\n",
		"hello.sh":          "echo hello from the code\n",
	})
	o := Options{DB: db, Fleet: h.fleet, Git: git, GitURL: gitURL, Accounts: acc, Logger: testLogger()}
	if mod != nil {
		mod(&o)
	}
	if h.svc, err = New(o); err != nil {
		t.Fatal(err)
	}
	return h
}

// commitFiles commits files on main of owner's repo and returns the commit.
func (h *harness) commitFiles(owner string, files map[string]string) string {
	h.t.Helper()
	dir := h.t.TempDir()
	run := func(args ...string) string {
		h.t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			h.t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("clone", "-q", h.git.RepoPath(owner), ".")
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	run("add", "-A")
	run("commit", "-qm", "files")
	run("push", "-q", "origin", "HEAD:main")
	out := run("rev-parse", "HEAD")
	return out[:40]
}

// addNode registers an online node with resources and labels.
func (h *harness) addNode(name string, cores int, mem uint64, labels map[string]string) int64 {
	h.t.Helper()
	return h.addNodeRes(name, fleetproto.Resources{CPUCores: cores, MemoryBytes: mem}, labels)
}

func (h *harness) addNodeRes(name string, r fleetproto.Resources, labels map[string]string) int64 {
	h.t.Helper()
	res, _ := json.Marshal(r)
	lb, _ := json.Marshal(labels)
	var id int64
	err := h.db.QueryRow(context.Background(), `INSERT INTO nodes (name, token_hash, status, replica, resources, reported_labels, last_heartbeat_at)
		VALUES ($1::text, sha256(convert_to($1::text, 'UTF8')), 'online', 'r1', $2, $3, now()) RETURNING id`, name, res, lb).Scan(&id)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

func (h *harness) setNodeStatus(name, status string) {
	h.t.Helper()
	if _, err := h.db.Exec(context.Background(), `UPDATE nodes SET status = $2 WHERE name = $1`, name, status); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) spec(dockerfile string, cmd ...string) Spec {
	return Spec{CodeRepoURL: gitURL + "/ada.git", CodeCommitID: "main", EnvRepoURL: gitURL + "/ada.git", EnvCommitID: h.commit,
		DockerfilePath: dockerfile, Command: cmd, Resources: Resources{CPUs: 1, MemoryBytes: 256 << 20}}
}

func (h *harness) count(table string) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM %s`, table)).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) get(id int64) Task {
	h.t.Helper()
	t, err := h.svc.Get(context.Background(), h.ada, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return t
}

func decodeRun(t testing.TB, b []byte) fleetproto.TaskRunArgs {
	t.Helper()
	var a fleetproto.TaskRunArgs
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitShort)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
