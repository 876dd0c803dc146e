package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"gatewave.dev/shared/testenv"
)

const testImage = testenv.SessiondImage

// scratchImage builds the FROM-scratch sessiond image of this tree.
func scratchImage(t *testing.T) { testenv.BuildSessiondImage(t) }

// shortTempDir is a temporary directory with a path short enough for unix
// sockets (t.TempDir embeds the long test name).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "gwpool")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

var tiny = Size{CPUs: 0.25, MemoryBytes: 128 * mib, Pids: 64}

func newTestPool(t *testing.T, name string, classes []Class, mod func(*Options)) (*Pool, context.CancelFunc) {
	t.Helper()
	scratchImage(t)
	opts := Options{
		Image: testImage, Classes: classes, StateDir: shortTempDir(t),
		Name: fmt.Sprintf("gwtest-%s-%d", name, time.Now().UnixNano()%1e6), HealthInterval: 200 * time.Millisecond,
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		sctx, c := context.WithTimeout(context.Background(), testenv.WaitLong)
		defer c()
		if err := p.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return p, func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testenv.Context(t, testenv.WaitLong)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func sessiondGet(t *testing.T, p *Pool, c Container, path string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return p.Dial(ctx, c.ID)
	}}, Timeout: testenv.WaitShort}
	req, _ := http.NewRequest(http.MethodGet, "http://sessiond/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPoolFillsClaimsAndReleases(t *testing.T) {
	var mu sync.Mutex
	var saved []string
	var reports int
	p, _ := newTestPool(t, "fill", []Class{{Name: "standard", Size: tiny, Count: 2}, {Name: "burst", Size: Size{CPUs: 0.1, MemoryBytes: 64 * mib}, Count: 1}}, func(o *Options) {
		o.Autosave = func(ctx context.Context, c Container) error {
			mu.Lock()
			defer mu.Unlock()
			saved = append(saved, c.Owner)
			return nil
		}
		o.OnChange = func([]Container) { mu.Lock(); reports++; mu.Unlock() }
	})
	waitFor(t, "3 idle containers", func() bool { return p.Counts()[Idle] == 3 })

	// Limits, network and mounts as configured.
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	for _, c := range p.Snapshot() {
		ins, err := dc.ContainerInspect(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		hc := ins.HostConfig
		wantCPU, wantMem := int64(0.25e9), 128*mib
		if c.Class == "burst" {
			wantCPU, wantMem = int64(0.1e9), 64*mib
		}
		if hc.NanoCPUs != wantCPU || hc.Memory != wantMem || hc.PidsLimit == nil || *hc.PidsLimit <= 0 {
			t.Errorf("%s limits: cpu %d mem %d pids %v", c.Name, hc.NanoCPUs, hc.Memory, hc.PidsLimit)
		}
		if hc.NetworkMode != "none" {
			t.Errorf("%s network = %q, want none", c.Name, hc.NetworkMode)
		}
		if c.Disk == "" || !slices.Contains(hc.Binds, c.Disk+":/workspace") {
			t.Errorf("%s: workspace disk missing (disk %q, binds %v)", c.Name, c.Disk, hc.Binds)
		}
		// The hardening, flag by flag.
		if !slices.Equal(hc.CapDrop, []string{"ALL"}) || len(hc.CapAdd) != 2 {
			t.Errorf("%s capabilities: drop %v add %v", c.Name, hc.CapDrop, hc.CapAdd)
		}
		if !hc.ReadonlyRootfs || !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
			t.Errorf("%s: read-only %v, security %v", c.Name, hc.ReadonlyRootfs, hc.SecurityOpt)
		}
		if _, ok := hc.Tmpfs["/tmp"]; !ok || len(hc.Ulimits) == 0 {
			t.Errorf("%s: tmpfs %v ulimits %v", c.Name, hc.Tmpfs, hc.Ulimits)
		}
	}

	c, err := p.Claim(t.Context(), "burst", "session-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Class != "burst" || c.Owner != "session-1" {
		t.Fatalf("claimed %+v", c)
	}
	if _, err := p.Claim(t.Context(), "burst", "session-2"); !errors.Is(err, ErrNoIdle) {
		t.Fatalf("second burst claim: %v, want ErrNoIdle", err)
	}
	// sessiond answers through the socket, with the token only.
	if code, body := sessiondGet(t, p, c, "api/v1/files?path=."); code != 200 || !strings.Contains(body, `"entries"`) {
		t.Fatalf("files: %d %s", code, body)
	}
	bad := c
	bad.Token = "wrong"
	if code, _ := sessiondGet(t, p, bad, "api/v1/files?path=."); code != 401 {
		t.Fatalf("wrong token: %d, want 401", code)
	}

	if err := p.Release(c.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "released container destroyed and pool refilled", func() bool {
		_, still := p.Get(c.ID)
		return !still && p.Counts()[Idle] == 3
	})
	if _, err := dc.ContainerInspect(t.Context(), c.ID); !cerrdefs.IsNotFound(err) {
		t.Fatalf("released container still exists: %v", err)
	}
	if _, err := os.Stat(c.Disk); !os.IsNotExist(err) {
		t.Fatalf("released workspace disk still exists: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(saved) != 1 || saved[0] != "session-1" {
		t.Fatalf("autosave calls = %v, want one for session-1", saved)
	}
	if reports == 0 {
		t.Fatal("OnChange never reported")
	}
}

func TestPoolReplacesKilledContainer(t *testing.T) {
	p, _ := newTestPool(t, "kill", []Class{{Name: "standard", Size: tiny, Count: 2}}, nil)
	waitFor(t, "2 idle", func() bool { return p.Counts()[Idle] == 2 })
	victim := p.Snapshot()[0]
	if out, err := exec.Command("docker", "kill", victim.ID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	waitFor(t, "killed container replaced", func() bool {
		_, still := p.Get(victim.ID)
		return !still && p.Counts()[Idle] == 2
	})
}

func TestPoolReplacesUnhealthyContainer(t *testing.T) {
	p, _ := newTestPool(t, "unhealthy", []Class{{Name: "standard", Size: tiny, Count: 1}}, func(o *Options) {
		o.ProbeTimeout, o.UnhealthyAfter = 200*time.Millisecond, time.Second
	})
	waitFor(t, "1 idle", func() bool { return p.Counts()[Idle] == 1 })
	victim := p.Snapshot()[0]
	// Pause it: the process lives but sessiond stops answering.
	if out, err := exec.Command("docker", "pause", victim.ID).CombinedOutput(); err != nil {
		t.Fatalf("docker pause: %v %s", err, out)
	}
	waitFor(t, "unhealthy container replaced", func() bool {
		_, still := p.Get(victim.ID)
		return !still && p.Counts()[Idle] == 1
	})
}

func TestPoolKeepsClaimsAcrossRestart(t *testing.T) {
	classes := []Class{{Name: "standard", Size: tiny, Count: 1}}
	dir := shortTempDir(t)
	name := fmt.Sprintf("gwtest-restart-%d", time.Now().UnixNano()%1e6)
	p1, stop := newTestPool(t, "restart", classes, func(o *Options) { o.StateDir, o.Name = dir, name })
	waitFor(t, "1 idle", func() bool { return p1.Counts()[Idle] == 1 })
	c, err := p1.Claim(t.Context(), "", "session-r")
	if err != nil {
		t.Fatal(err)
	}
	stop() // nodegw goes away; the container keeps running

	p2, _ := newTestPool(t, "restart", classes, func(o *Options) { o.StateDir, o.Name = dir, name })
	waitFor(t, "claim adopted", func() bool { got, ok := p2.Get(c.ID); return ok && got.State == Claimed })
	got, _ := p2.Get(c.ID)
	if got.Owner != "session-r" || got.Token != c.Token {
		t.Fatalf("adopted %+v, want owner session-r and the same token", got)
	}
	if code, _ := sessiondGet(t, p2, got, "api/v1/files?path=."); code != 200 {
		t.Fatalf("sessiond after restart: %d", code)
	}
	// The pool still holds just its one container (no extra started).
	if n := len(p2.Snapshot()); n != 1 {
		t.Fatalf("%d containers after restart, want 1", n)
	}
}

func TestPoolAutosaveFailureKeepsContainer(t *testing.T) {
	var mu sync.Mutex
	fail, tries := true, 0
	p, _ := newTestPool(t, "savefail", []Class{{Name: "standard", Size: tiny, Count: 1}}, func(o *Options) {
		o.RetryMin, o.RetryMax = 50*time.Millisecond, 200*time.Millisecond
		o.Autosave = func(context.Context, Container) error {
			mu.Lock()
			defer mu.Unlock()
			tries++
			if fail {
				return errors.New("remote unreachable")
			}
			return nil
		}
	})
	waitFor(t, "1 idle", func() bool { return p.Counts()[Idle] == 1 })
	c, err := p.Claim(t.Context(), "", "session-f")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(c.ID); err != nil {
		t.Fatal(err)
	}
	// The save is retried; the container and its disk stay, and the user
	// is told why.
	waitFor(t, "retries with the error reported", func() bool {
		got, ok := p.Get(c.ID)
		mu.Lock()
		n := tries
		mu.Unlock()
		return ok && got.State == Destroying && strings.Contains(got.SaveError, "remote unreachable") && n >= 3
	})
	if _, err := os.Stat(c.Disk); err != nil {
		t.Fatalf("disk gone while the save fails: %v", err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	waitFor(t, "removed after a good save", func() bool { _, ok := p.Get(c.ID); return !ok })
}

// A claimed container that dies is saved from its disk (stopped, with the
// save hook) before it is removed; an idle one is just replaced.
func TestPoolSavesDeadClaimedContainer(t *testing.T) {
	var mu sync.Mutex
	var saved []Container
	p, _ := newTestPool(t, "dead", []Class{{Name: "standard", Size: tiny, Count: 2}}, func(o *Options) {
		o.Autosave = func(ctx context.Context, c Container) error {
			mu.Lock()
			saved = append(saved, c)
			mu.Unlock()
			return nil
		}
	})
	waitFor(t, "2 idle", func() bool { return p.Counts()[Idle] == 2 })
	c, err := p.Claim(t.Context(), "", "session-d")
	if err != nil {
		t.Fatal(err)
	}
	var states []State
	var smu sync.Mutex
	go func() {
		for range 400 {
			if got, ok := p.Get(c.ID); ok {
				smu.Lock()
				if len(states) == 0 || states[len(states)-1] != got.State {
					states = append(states, got.State)
				}
				smu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if out, err := exec.Command("docker", "kill", c.ID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	waitFor(t, "dead claimed container saved and removed", func() bool {
		_, still := p.Get(c.ID)
		mu.Lock()
		defer mu.Unlock()
		return !still && len(saved) == 1
	})
	if saved[0].Owner != "session-d" || saved[0].State != Recovering {
		t.Fatalf("saved %+v", saved[0])
	}
	smu.Lock()
	if !slices.Contains(states, Recovering) {
		t.Errorf("states seen %v, want recovering among them", states)
	}
	smu.Unlock()
	waitFor(t, "refilled", func() bool { return p.Counts()[Idle] == 2 })
}

// A build that pegs the CPU, or a pause shorter than UnhealthyAfter, does
// not end a session.
func TestPoolToleratesSlowSessiond(t *testing.T) {
	p, _ := newTestPool(t, "slow", []Class{{Name: "standard", Size: Size{CPUs: 0.1, MemoryBytes: 128 * mib, Pids: 64}, Count: 1}}, func(o *Options) {
		o.ProbeTimeout, o.UnhealthyAfter = 200*time.Millisecond, 4*time.Second
	})
	waitFor(t, "1 idle", func() bool { return p.Counts()[Idle] == 1 })
	c, err := p.Claim(t.Context(), "", "session-s")
	if err != nil {
		t.Fatal(err)
	}
	stillClaimed := func(d time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got, ok := p.Get(c.ID); !ok || got.State != Claimed {
				t.Fatalf("a slow but live session was given up: %+v", got)
			}
		}
	}
	// Unresponsive for less than UnhealthyAfter (a pause: every probe
	// times out meanwhile).
	if out, err := exec.Command("docker", "pause", c.ID).CombinedOutput(); err != nil {
		t.Fatalf("pause: %v %s", err, out)
	}
	stillClaimed(2 * time.Second)
	if out, err := exec.Command("docker", "unpause", c.ID).CombinedOutput(); err != nil {
		t.Fatalf("unpause: %v %s", err, out)
	}
	stillClaimed(time.Second)
	// Four busy loops for 3 s in a container allowed a tenth of a core
	// (not paused meanwhile: freezing a throttled cgroup may fail).
	if out, err := exec.Command("docker", "exec", "-d", "-u", "1000", c.ID, "sh", "-c",
		"for i in 1 2 3 4; do timeout 3 sh -c 'while :; do :; done' & done; wait").CombinedOutput(); err != nil {
		t.Fatalf("hog: %v %s", err, out)
	}
	stillClaimed(5 * time.Second)
	if code, _ := sessiondGet(t, p, c, "api/v1/files?path=."); code != 200 {
		t.Fatalf("sessiond under load: %d", code)
	}
}

// nodegw restarts while a claimed container is dead: the new pool finds it
// by its record, saves it and removes it.
func TestPoolAdoptionRecoversDeadClaim(t *testing.T) {
	classes := []Class{{Name: "standard", Size: tiny, Count: 1}}
	dir := shortTempDir(t)
	name := fmt.Sprintf("gwtest-adopt-%d", time.Now().UnixNano()%1e6)
	p1, stop := newTestPool(t, "adopt", classes, func(o *Options) { o.StateDir, o.Name = dir, name })
	waitFor(t, "1 idle", func() bool { return p1.Counts()[Idle] == 1 })
	c, err := p1.Claim(t.Context(), "", "session-a")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if out, err := exec.Command("docker", "kill", c.ID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	var mu sync.Mutex
	var saved []string
	p2, _ := newTestPool(t, "adopt", classes, func(o *Options) {
		o.StateDir, o.Name = dir, name
		o.Autosave = func(ctx context.Context, c Container) error {
			mu.Lock()
			saved = append(saved, c.Owner)
			mu.Unlock()
			return nil
		}
	})
	waitFor(t, "dead claim saved and removed", func() bool {
		_, ok := p2.Get(c.ID)
		mu.Lock()
		defer mu.Unlock()
		return !ok && slices.Equal(saved, []string{"session-a"})
	})
}
