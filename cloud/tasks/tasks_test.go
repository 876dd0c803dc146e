package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatewave.dev/cloud/githost"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Bad input gets a clear error and leaves no row, half-written or not.
func TestSubmitRefusesBadTasksWritingNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.addNode("n1", 4, 8<<30, map[string]string{"fpga": "ice40"})
	ctx := context.Background()
	cases := []struct {
		name string
		mod  func(*Spec)
		want string
	}{
		{"bad commit id", func(s *Spec) { s.CodeCommitID = "0123456789012345678901234567890123456789" }, "no such commit"},
		{"unknown branch", func(s *Spec) { s.EnvCommitID = "nope" }, "no such commit"},
		{"revision expression", func(s *Spec) { s.CodeCommitID = "main~1" }, "not a commit id, branch or tag"},
		{"option as revision", func(s *Spec) { s.CodeCommitID = "--all" }, "not a commit id, branch or tag"},
		{"dockerfile escapes the repo", func(s *Spec) { s.DockerfilePath = "../../etc/Dockerfile" }, "must stay inside"},
		{"absolute dockerfile", func(s *Spec) { s.DockerfilePath = "/etc/passwd" }, "must be relative"},
		{"missing dockerfile", func(s *Spec) { s.DockerfilePath = "envs/c/Dockerfile" }, "no such file"},
		{"dockerfile is a directory", func(s *Spec) { s.DockerfilePath = "envs/a" }, "no such file"},
		{"unknown label", func(s *Spec) { s.Labels = map[string]string{"gpu": "a100"} }, "label gpu=a100: no node has it"},
		{"too big for any node", func(s *Spec) { s.Resources.CPUs = 64 }, "no node with those labels offers"},
		{"host.ssh as a task", func(s *Spec) { s.Kind = "host.ssh" }, "maintenance probes"},
		{"another user's repo", func(s *Spec) { s.CodeRepoURL = gitURL + "/bob.git" }, "not your repository"},
		{"foreign repo URL", func(s *Spec) { s.EnvRepoURL = "http://evil.example/git/ada.git" }, "not a repository of this cloud"},
		{"credentials in the URL", func(s *Spec) { s.CodeRepoURL = "http://ada:pw@127.0.0.1:1/git/ada.git" }, "not a repository of this cloud"},
		{"no command", func(s *Spec) { s.Command = nil }, "command needs"},
		{"jumping the queue", func(s *Spec) { s.Priority = 5 }, "only an admin"},
		{"no memory", func(s *Spec) { s.Resources.MemoryBytes = 0 }, "cpus and memory must be positive"},
		{"artifact escapes /out", func(s *Spec) { s.Artifacts = []string{"../../root/.ssh/id"} }, "must stay inside"},
		{"input of another user", func(s *Spec) {
			s.Inputs = []Input{{Path: "x", Object: "users/999/uploads/x"}}
		}, "object store"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := h.spec("envs/a/Dockerfile", "sh", "hello.sh")
			c.mod(&s)
			_, err := h.svc.Submit(ctx, h.ada, s)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status >= 500 {
				t.Fatalf("want a 4xx API error, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	if n, m := h.count("tasks"), h.count("task_events"); n != 0 || m != 0 {
		t.Fatalf("refused tasks left %d task rows and %d events", n, m)
	}
	// And a good one pins both refs.
	tk, err := h.svc.Submit(ctx, h.ada, h.spec("envs/b/Dockerfile", "sh", "hello.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if tk.CodeCommitID != h.commit || tk.EnvCommitID != h.commit || tk.State != fleetproto.TaskQueued || tk.Position != 1 {
		t.Fatalf("submitted task: %+v", tk)
	}
}

// The scheduler goes by priority then arrival, fits declared free
// resources and labels, and keeps to the per-user quota.
func TestScheduleFitsResourcesLabelsPriorityAndQuota(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxActivePerUser = 3 })
	h.addNode("big", 4, 8<<30, nil)
	h.addNode("fpga", 2, 4<<30, map[string]string{"board": "icebreaker"})
	h.ada.Admin = true // priorities above 0 are an admin's
	ctx := context.Background()
	submit := func(mod func(*Spec)) int64 {
		s := h.spec("envs/a/Dockerfile", "true")
		mod(&s)
		tk, err := h.svc.Submit(ctx, h.ada, s)
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	low := submit(func(s *Spec) { s.Resources.CPUs = 4 })                                                  // fills "big"
	board := submit(func(s *Spec) { s.Labels = map[string]string{"board": "icebreaker"}; s.Priority = 1 }) // only "fpga"
	urgent := submit(func(s *Spec) { s.Priority = 5; s.Resources.CPUs = 1 })
	fourth := submit(func(s *Spec) {}) // over ada's quota of 3
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	runs := h.fleet.runs()
	// urgent (priority 5) first takes the least loaded node, "big"; then
	// board needs "fpga"; then low needs 4 free cores, which "big" no
	// longer has; fourth goes to the least loaded node, "big" again.
	if runs[urgent] != "big" || runs[board] != "fpga" {
		t.Fatalf("assignments %v (urgent %d, board %d)", runs, urgent, board)
	}
	if _, ok := runs[low]; ok {
		t.Fatalf("the 4-core task was placed on a node with %v", runs)
	}
	if runs[fourth] != "big" {
		t.Fatalf("fourth task: %v", runs)
	}
	if tk := h.get(low); tk.State != fleetproto.TaskQueued || tk.Position != 1 {
		t.Fatalf("the task that fits nowhere now should wait first in the queue: %+v", tk)
	}
	// A fifth task of ada waits for her quota even though "big" has room.
	fifth := submit(func(s *Spec) {})
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fleet.runs()[fifth]; ok {
		t.Fatal("a task over the user's quota was dispatched")
	}
	// Once urgent ends, its core frees and the quota allows one more: the
	// queue's head (low) still does not fit, fifth does.
	h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID("big"), node: "big", update: &fleetproto.TaskUpdate{ID: urgent, Attempt: 1, State: fleetproto.TaskSucceeded}})
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if h.fleet.runs()[fifth] != "big" {
		t.Fatalf("after a task ended: %v", h.fleet.runs())
	}
}

func (h *harness) nodeID(name string) int64 {
	h.t.Helper()
	var id int64
	if err := h.db.QueryRow(context.Background(), `SELECT id FROM nodes WHERE name = $1`, name).Scan(&id); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// A node that goes offline mid-task loses it; it runs again on another
// node up to its attempt limit, and a late report from the first node
// stops the old attempt there.
func TestLostTaskRunsAgainElsewhere(t *testing.T) {
	h := newHarness(t, nil)
	h.addNode("a", 4, 8<<30, nil)
	ctx := context.Background()
	s := h.spec("envs/a/Dockerfile", "true")
	s.MaxAttempts = 2
	tk, err := h.svc.Submit(ctx, h.ada, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID("a"), node: "a", update: &fleetproto.TaskUpdate{ID: tk.ID, Attempt: 1, State: fleetproto.TaskRunning}}); err != nil {
		t.Fatal(err)
	}
	h.addNode("b", 4, 8<<30, nil)
	h.setNodeStatus("a", "offline")
	if err := h.svc.sweepLost(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.get(tk.ID); got.State != fleetproto.TaskQueued || !strings.Contains(got.Detail, "node a went offline") {
		t.Fatalf("after the node was lost: %+v", got)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.get(tk.ID); got.State != fleetproto.TaskDispatched || got.Node != "b" || got.Attempt != 2 {
		t.Fatalf("second attempt: %+v", got)
	}
	// Node a comes back and reports attempt 1 still running: it is told to stop.
	h.setNodeStatus("a", "online")
	if err := h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID("a"), node: "a", update: &fleetproto.TaskUpdate{ID: tk.ID, Attempt: 1, State: fleetproto.TaskRunning}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		h.fleet.mu.Lock()
		defer h.fleet.mu.Unlock()
		for _, c := range h.fleet.cmds {
			if c.node == "a" && c.name == fleetproto.CommandTaskCancel {
				return true
			}
		}
		return false
	})
	if got := h.get(tk.ID); got.State != fleetproto.TaskDispatched || got.Node != "b" {
		t.Fatalf("a stale report moved the task: %+v", got)
	}
	// Node b is lost too: no attempts left, the task ends lost.
	h.setNodeStatus("b", "offline")
	if err := h.svc.sweepLost(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.get(tk.ID); got.State != fleetproto.TaskLost {
		t.Fatalf("after the last attempt was lost: %+v", got)
	}
	ev, err := h.svc.Events(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range ev {
		states = append(states, e.State)
	}
	want := "queued dispatched running lost queued dispatched lost"
	if strings.Join(states, " ") != want {
		t.Fatalf("events %v, want %s", states, want)
	}
}

// Reports only move a task forward, only from the node holding the
// attempt, and only that node's log chunks are kept.
func TestReportsComeOnlyFromTheHoldingNode(t *testing.T) {
	h := newHarness(t, nil)
	h.addNode("a", 4, 8<<30, nil)
	h.addNode("b", 4, 8<<30, nil)
	ctx := context.Background()
	tk, err := h.svc.Submit(ctx, h.ada, h.spec("envs/a/Dockerfile", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	holder := h.get(tk.ID).Node
	other := "a"
	if holder == "a" {
		other = "b"
	}
	up := func(node, state string) {
		t.Helper()
		if err := h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID(node), node: node, update: &fleetproto.TaskUpdate{ID: tk.ID, Attempt: 1, State: state}}); err != nil {
			t.Fatal(err)
		}
	}
	up(other, fleetproto.TaskSucceeded)
	if got := h.get(tk.ID); got.State != fleetproto.TaskDispatched {
		t.Fatalf("another node's report was taken: %+v", got)
	}
	up(holder, fleetproto.TaskRunning)
	up(holder, fleetproto.TaskFetching) // late: ignored
	if got := h.get(tk.ID); got.State != fleetproto.TaskRunning || got.RunningAt == nil {
		t.Fatalf("after running then a late fetching: %+v", got)
	}
	for _, n := range []string{other, holder} {
		if err := h.svc.applyLog(ctx, nodeReport{nodeID: h.nodeID(n), node: n, log: &fleetproto.TaskLog{ID: tk.ID, Attempt: 1, Seq: 1, Data: []byte("from " + n + "\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	// Past the cap, one line says the log is cut; nothing more is kept.
	for _, seq := range []int64{maxLogChunks + 1, maxLogChunks + 2} {
		if err := h.svc.applyLog(ctx, nodeReport{nodeID: h.nodeID(holder), node: holder, log: &fleetproto.TaskLog{ID: tk.ID, Attempt: 1, Seq: seq, Data: []byte("more\n")}}); err != nil {
			t.Fatal(err)
		}
	}
	if tail, err := h.svc.Logs(ctx, tk.ID, 1, 1); err != nil || len(tail) != 1 || !strings.Contains(string(tail[0].Data), "the log is cut here, at 64 MiB") {
		t.Fatalf("past the cap: %+v %v", tail, err)
	}
	logs, err := h.svc.Logs(ctx, tk.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || string(logs[0].Data) != "from "+holder+"\n" {
		t.Fatalf("logs %+v", logs)
	}
	// The attempt's git credential works while it runs, for reading only.
	tok := h.gitToken(tk.ID)
	auth := h.svc.GitAuthorizer(func(context.Context, string, string, string, bool) error { return githost.ErrUnauthorized })
	if err := auth(ctx, "ada", "ada", tok, false); err != nil {
		t.Fatalf("the running attempt's credential was refused: %v", err)
	}
	if err := auth(ctx, "ada", "ada", tok, true); err == nil {
		t.Fatal("a task credential could push")
	}
	if err := auth(ctx, "bob", "bob", tok, false); err == nil {
		t.Fatal("a task credential read another user's repo")
	}
	up(holder, fleetproto.TaskSucceeded)
	if err := auth(ctx, "ada", "ada", tok, false); err == nil {
		t.Fatal("the credential outlived the task")
	}
}

// gitToken reads the attempt's credential out of the dispatched command.
func (h *harness) gitToken(id int64) string {
	h.t.Helper()
	h.fleet.mu.Lock()
	defer h.fleet.mu.Unlock()
	for _, c := range h.fleet.cmds {
		if c.name != fleetproto.CommandTaskRun {
			continue
		}
		a := decodeRun(h.t, c.args)
		if a.ID == id {
			if a.Code.Password == "" || !strings.HasPrefix(a.Code.Password, GitTokenPrefix) {
				h.t.Fatalf("dispatched without a task credential: %+v", a.Code)
			}
			return a.Code.Password
		}
	}
	h.t.Fatalf("task %d was never dispatched", id)
	return ""
}

// Cancel ends a queued task at once and stops a dispatched one on its node.
func TestCancel(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.addNode("a", 1, 8<<30, nil)
	first, err := h.svc.Submit(ctx, h.ada, h.spec("envs/a/Dockerfile", "true"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.svc.Submit(ctx, h.ada, h.spec("envs/a/Dockerfile", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Cancel(ctx, h.bob, first.ID); err == nil {
		t.Fatal("bob cancelled ada's task")
	}
	if got, err := h.svc.Cancel(ctx, h.ada, second.ID); err != nil || got.State != fleetproto.TaskCancelled {
		t.Fatalf("cancel queued: %+v %v", got, err)
	}
	if got, err := h.svc.Cancel(ctx, h.ada, first.ID); err != nil || got.State != fleetproto.TaskCancelled {
		t.Fatalf("cancel dispatched: %+v %v", got, err)
	}
	found := false
	for _, c := range h.fleet.cmds {
		found = found || (c.name == fleetproto.CommandTaskCancel && c.node == "a")
	}
	if !found {
		t.Fatal("the node was not told to stop the task")
	}
	if _, err := h.svc.Cancel(ctx, h.ada, first.ID); err == nil || !strings.Contains(err.Error(), "already cancelled") {
		t.Fatalf("second cancel: %v", err)
	}
	// The node's own report of the end changes nothing.
	_ = h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID("a"), node: "a", update: &fleetproto.TaskUpdate{ID: first.ID, Attempt: 1, State: fleetproto.TaskFailed}})
	if got := h.get(first.ID); got.State != fleetproto.TaskCancelled {
		t.Fatalf("after the node's report: %+v", got)
	}
}

// A node that cannot be reached gives the task back to the queue without
// using up an attempt.
func TestUnreachableNodeRequeues(t *testing.T) {
	now := time.Now()
	h := newHarness(t, func(o *Options) { o.Now = func() time.Time { return now } })
	ctx := context.Background()
	h.addNode("a", 4, 8<<30, nil)
	h.fleet.refuse = errors.New("node \"a\" not connected")
	tk, err := h.svc.Submit(ctx, h.ada, h.spec("envs/a/Dockerfile", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.get(tk.ID); got.State != fleetproto.TaskQueued || got.Attempt != 1 || !strings.Contains(got.Detail, "could not reach a") {
		t.Fatalf("after a failed dispatch: %+v", got)
	}
	// The node is avoided a while: the task waits for it (or another).
	if n, err := h.svc.Schedule(ctx); err != nil || n != 0 {
		t.Fatalf("dispatched %d to the node just found unreachable (%v)", n, err)
	}
	// A task that can never be dispatched does not go round for ever.
	for range maxDispatchFailures - 1 {
		now = now.Add(avoidFor + time.Second)
		if _, err := h.svc.Schedule(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.get(tk.ID); got.State != fleetproto.TaskFailed || !strings.Contains(got.Detail, "could not be dispatched 5 times") {
		t.Fatalf("after %d failed dispatches: %+v", maxDispatchFailures, got)
	}
}

// One user at quota with a full page of queued tasks does not keep others
// waiting, and tasks past the first page are placed.
func TestQuotaDoesNotStarveOthers(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxActivePerUser = 1; o.Batch = 4 })
	h.addNode("a", 64, 64<<30, nil)
	ctx := context.Background()
	for range 6 {
		if _, err := h.svc.Submit(ctx, h.ada, h.spec("envs/a/Dockerfile", "true")); err != nil {
			t.Fatal(err)
		}
	}
	bob := h.spec("envs/a/Dockerfile", "true")
	bob.CodeRepoURL, bob.EnvRepoURL, bob.EnvCommitID = gitURL+"/bob.git", gitURL+"/bob.git", "main"
	bob.DockerfilePath = "shell.nix" // any file of bob's repo
	tk, err := h.svc.Submit(ctx, h.bob, bob)
	if err != nil {
		t.Fatal(err)
	}
	n, err := h.svc.Schedule(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || h.fleet.runs()[tk.ID] != "a" {
		t.Fatalf("dispatched %d; bob's task: %+v", n, h.get(tk.ID))
	}
	if n, _ := h.svc.Schedule(ctx); n != 0 {
		t.Fatalf("a second round dispatched %d with everyone at quota", n)
	}
}

// A node that shuts down or restarts mid-task reports the attempt lost;
// the task is queued again, not failed, while it has attempts left.
func TestNodeReportedLostRunsAgain(t *testing.T) {
	h := newHarness(t, nil)
	h.addNode("a", 4, 8<<30, nil)
	ctx := context.Background()
	tk, err := h.svc.Submit(ctx, h.ada, h.spec("envs/a/Dockerfile", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	lost := &fleetproto.TaskUpdate{ID: tk.ID, Attempt: 1, State: fleetproto.TaskLost, Detail: "the node restarted while the task ran"}
	if err := h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID("a"), node: "a", update: lost}); err != nil {
		t.Fatal(err)
	}
	got := h.get(tk.ID)
	if got.State != fleetproto.TaskQueued || !strings.Contains(got.Detail, "restarted") || !strings.Contains(got.Detail, "run 2 of 3 next") {
		t.Fatalf("after the node reported it lost: %+v", got)
	}
	// The same report again (a resend after a reconnect) changes nothing.
	if err := h.svc.applyUpdate(ctx, nodeReport{nodeID: h.nodeID("a"), node: "a", update: lost}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.get(tk.ID); got.State != fleetproto.TaskDispatched || got.Attempt != 2 {
		t.Fatalf("second attempt: %+v", got)
	}
}

// What a node's warm pool of IDE containers holds is not given to tasks.
func TestPoolReservationIsNotTheTasks(t *testing.T) {
	h := newHarness(t, nil)
	h.addNodeRes("a", fleetproto.Resources{CPUCores: 4, MemoryBytes: 8 << 30, PoolCPUs: 3, PoolMemoryBytes: 4 << 30}, nil)
	ctx := context.Background()
	big := h.spec("envs/a/Dockerfile", "true")
	big.Resources.CPUs = 2
	if _, err := h.svc.Submit(ctx, h.ada, big); err == nil || !strings.Contains(err.Error(), "no node with those labels offers") {
		t.Fatalf("a task over what the pool leaves: %v", err)
	}
	one := h.spec("envs/a/Dockerfile", "true")
	first, err := h.svc.Submit(ctx, h.ada, one)
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.svc.Submit(ctx, h.ada, one)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Schedule(ctx); err != nil {
		t.Fatal(err)
	}
	runs := h.fleet.runs()
	if runs[first.ID] != "a" || runs[second.ID] != "" {
		t.Fatalf("one core left for tasks, two 1-core tasks: %v", runs)
	}
}
