package relay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// echo serves one connection on a unix socket at path: it reads until the
// peer's write side closes, then answers "got:" and what it read.
func echo(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		_, _ = c.Write(append([]byte("got:"), b...))
	}()
}

func TestRelayCopiesBothWays(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	echo(t, sock)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The answer only comes after the request's end reached the socket:
	// the relay must half-close, not drop, when its stdin ends.
	if err := Run(ctx, sock, strings.NewReader("GET / HTTP/1.0\r\n\r\n"), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "got:GET / HTTP/1.0\r\n\r\n" {
		t.Fatalf("relayed %q", got)
	}
}

func TestRelayRefusesWhatIsNotItsSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	echo(t, sock)
	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink(sock, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, file, dir} {
		err := Run(context.Background(), p, strings.NewReader(""), io.Discard)
		if !errors.Is(err, ErrNotSessiond) {
			t.Errorf("Run(%s) = %v, want ErrNotSessiond", filepath.Base(p), err)
		}
	}
	if err := Run(context.Background(), filepath.Join(dir, "missing"), strings.NewReader(""), io.Discard); err == nil {
		t.Error("a missing socket was relayed to")
	}
}

// The socket checked is the one connected to: a swap of the path for a
// symlink to another socket between the check and the connect (what a
// user who could write in the run directory would try) does not redirect
// the relay.
func TestRelayConnectsToTheSocketItChecked(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	echo(t, sock)
	other := filepath.Join(dir, "other.sock")
	ln, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.ReadAll(c)
		_, _ = c.Write([]byte("the other socket"))
	}()
	beforeDial = func() {
		if err := os.Rename(sock, sock+".moved"); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(other, sock); err != nil {
			t.Error(err)
		}
	}
	defer func() { beforeDial = func() {} }()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Run(ctx, sock, strings.NewReader("hi"), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "got:hi" {
		t.Fatalf("relayed %q, want the checked socket's answer", got)
	}
}
