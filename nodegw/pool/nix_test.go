package pool

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/client"
)

// TestPoolGivesTheNixCacheDirectory: every container sees the node's Nix
// directory read-only at /run/gatewave-nix and has a /nix of the user's
// in which programs run.
func TestPoolGivesTheNixCacheDirectory(t *testing.T) {
	nixDir := shortTempDir(t)
	os.Chmod(nixDir, 0o755)
	os.WriteFile(filepath.Join(nixDir, "nix.conf"), []byte("trusted-public-keys = k:x\n"), 0o644)
	p, _ := newTestPool(t, "nix", []Class{{Name: "standard", Size: tiny, Count: 1}}, func(o *Options) { o.NixDir = nixDir })
	waitFor(t, "an idle container", func() bool { return p.Counts()[Idle] == 1 })
	c := p.Snapshot()[0]

	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	ins, err := dc.ContainerInspect(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ins.HostConfig.Binds, nixDir+":/run/gatewave-nix:ro") {
		t.Fatalf("binds %v: the nix directory is missing or writable", ins.HostConfig.Binds)
	}
	user := func(script string) (string, error) {
		out, err := exec.Command("docker", "exec", "--user", "1000:1000", c.ID, "/bin/sh", "-c", script).CombinedOutput()
		return string(out), err
	}
	if out, err := user("cat /run/gatewave-nix/nix.conf"); err != nil || !strings.Contains(out, "trusted-public-keys") {
		t.Fatalf("reading the node's nix.conf: %v %q", err, out)
	}
	if out, err := user("echo x > /run/gatewave-nix/planted"); err == nil {
		t.Fatalf("the user wrote into the node's nix directory: %q", out)
	}
	if _, err := os.Stat(filepath.Join(nixDir, "planted")); err == nil {
		t.Fatal("a file planted from inside appeared on the node")
	}
	// The store is the user's and runs programs (Docker mounts tmpfs noexec unless told).
	if out, err := user("mkdir -p /nix/store/x && cp /bin/busybox /nix/store/x/echo && /nix/store/x/echo ran"); err != nil || strings.TrimSpace(out) != "ran" {
		t.Fatalf("running a program from /nix: %v %q", err, out)
	}
}
