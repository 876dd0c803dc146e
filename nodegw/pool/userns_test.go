//go:build linux

package pool

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"

	"gatewave.dev/shared/testenv"
)

// usernsDocker is a client of the second dockerd, the one with
// --userns-remap (scripts/dockerd-userns.sh; make test passes its socket
// in GATEWAVE_TEST_USERNS_DOCKER), with this tree's sessiond image loaded.
func usernsDocker(t *testing.T) (*client.Client, string) {
	t.Helper()
	host := os.Getenv("GATEWAVE_TEST_USERNS_DOCKER")
	if host == "" {
		testenv.Missing(t, "a dockerd with --userns-remap", "start one with scripts/dockerd-userns.sh and set GATEWAVE_TEST_USERNS_DOCKER to the socket it prints")
	}
	scratchImage(t)
	save := exec.Command("docker", "save", testImage)
	load := exec.Command("docker", "-H", host, "load", "-q")
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load the image into the userns dockerd: %v %s", err, out)
	}
	if err := save.Wait(); err != nil {
		t.Fatal(err)
	}
	dc, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc, host
}

// Under user-namespace remapping the pool finds the remapped range, owns
// the socket directory and the disk accordingly, and the container works
// as it does without: sessiond answers only through its own socket, the
// user is uid 1000 inside and 1000 above the range on the node, and a
// dead claimed container is saved from its disk.
func TestPoolUnderUsernsRemap(t *testing.T) {
	dc, host := usernsDocker(t)
	var mu sync.Mutex
	var saved []string
	var pp *Pool
	p, _ := newTestPool(t, "userns", []Class{{Name: "standard", Size: Size{CPUs: 0.5, MemoryBytes: 128 * mib, Pids: 64, DiskBytes: 32 * mib}, Count: 1}}, func(o *Options) {
		o.Docker = dc
		o.Autosave = func(ctx context.Context, c Container) error {
			// The saver container reads the remapped disk.
			var sink nopSink
			if err := pp.SnapshotWorkspace(ctx, c.ID, nil, &sink); err != nil {
				return err
			}
			if sink.n == 0 {
				return errors.New("empty snapshot")
			}
			mu.Lock()
			saved = append(saved, c.Owner)
			mu.Unlock()
			return nil
		}
	})
	pp = p
	if p.ids.rootUID() == 0 {
		t.Fatal("the pool did not notice the remapping")
	}
	waitFor(t, "1 idle", func() bool { return p.Counts()[Idle] == 1 })
	c, err := p.Claim(t.Context(), "", "session-u")
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(p.runDir(c.Name), &st); err != nil || int(st.Uid) != p.ids.rootUID() {
		t.Fatalf("socket directory owner %d, want %d (%v)", st.Uid, p.ids.rootUID(), err)
	}
	if err := unix.Stat(c.Disk, &st); err != nil || int(st.Uid) != p.ids.userUID() {
		t.Fatalf("workspace owner %d, want %d (%v)", st.Uid, p.ids.userUID(), err)
	}
	if code, _ := sessiondGet(t, p, c, "api/v1/files?path=."); code != 200 {
		t.Fatalf("sessiond under userns: %d", code)
	}
	out, err := exec.Command("docker", "-H", host, "exec", "-u", "1000", c.ID, "sh", "-c", "id -u; echo x > /workspace/f && echo wrote").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1000\nwrote") {
		t.Fatalf("user inside: %v %s", err, out)
	}
	top, err := exec.Command("docker", "-H", host, "top", c.ID, "-o", "pid,uid,comm").CombinedOutput()
	if err != nil || !strings.Contains(string(top), "101000") {
		t.Fatalf("sessiond's uid on the node should be the remapped 101000:\n%s %v", top, err)
	}
	if out, err := exec.Command("docker", "-H", host, "kill", c.ID).CombinedOutput(); err != nil {
		t.Fatalf("kill: %v %s", err, out)
	}
	waitFor(t, "the dead container saved and removed", func() bool {
		_, ok := p.Get(c.ID)
		mu.Lock()
		defer mu.Unlock()
		return !ok && len(saved) == 1
	})
}

type nopSink struct{ n int }

func (s *nopSink) Write(b []byte) (int, error) { s.n += len(b); return len(b), nil }
func (s *nopSink) Reset() error                { s.n = 0; return nil }
