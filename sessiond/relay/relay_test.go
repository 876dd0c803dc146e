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
