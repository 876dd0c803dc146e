//go:build linux

package pool

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The container's side of the attack: whatever it puts at the socket path,
// the node reaches nothing but a socket owned by the expected uid, and
// never what a symlink points at.
func TestDialSocketRefusesWhatTheContainerPlants(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	// A socket elsewhere stands for the host's dockerd.
	victim := filepath.Join(other, "docker.sock")
	ln, err := net.Listen("unix", victim)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Errorf("the victim socket was reached")
			c.Close()
		}
	}()
	uid := uint32(os.Getuid())
	ctx := t.Context()
	p := filepath.Join(dir, "sessiond.sock")
	plant := map[string]func() error{
		"symlink to another socket": func() error { return os.Symlink(victim, p) },
		"FIFO":                      func() error { return syscall.Mkfifo(p, 0o600) },
		"regular file":              func() error { return os.WriteFile(p, []byte("x"), 0o600) },
		"directory":                 func() error { return os.Mkdir(p, 0o700) },
	}
	for name, f := range plant {
		os.RemoveAll(p)
		if err := f(); err != nil {
			t.Fatal(err)
		}
		c, err := dialSocket(ctx, dir, "sessiond.sock", uid)
		if err == nil {
			c.Close()
			t.Errorf("%s: dialled", name)
		} else if name != "symlink to another socket" && !errors.Is(err, ErrNotSessiond) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A symlinked directory is not followed either.
	os.RemoveAll(p)
	link := filepath.Join(t.TempDir(), "run")
	os.Symlink(other, link)
	if c, err := dialSocket(ctx, link, "docker.sock", uid); err == nil {
		c.Close()
		t.Error("dialled through a symlinked directory")
	}
	// A socket of another uid (the user's) is refused.
	os.RemoveAll(p)
	l2, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if c, err := dialSocket(ctx, dir, "sessiond.sock", uid+1); !errors.Is(err, ErrNotSessiond) {
		if c != nil {
			c.Close()
		}
		t.Errorf("socket of another uid: %v", err)
	}
	// The real thing works.
	go func() {
		if c, err := l2.Accept(); err == nil {
			c.Write([]byte("ok"))
			c.Close()
		}
	}()
	c, err := dialSocket(ctx, dir, "sessiond.sock", uid)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	if _, err := c.Read(b); err != nil || string(b) != "ok" {
		t.Fatalf("read %q %v", b, err)
	}
	c.Close()
}
