package nixproxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The node's state directory, when the proxy is the first to make it,
// stays the node's (0700): the socket (0666, for every container's user)
// is reachable through the bind mount only, not by the host's other users
// walking into the state directory.
func TestNewMakesTheStateDirectoryTheNodesAlone(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	dir := filepath.Join(state, "nix")
	if _, err := New(Options{CloudURL: "http://127.0.0.1:1", Token: "gwn_x", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{state: 0o700, dir: 0o755} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	// An existing directory is taken as it is, Dir made readable.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{CloudURL: "http://127.0.0.1:1", Token: "gwn_x", Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("Dir mode %v after a second New, want 0755", fi.Mode().Perm())
	}
}

// A container cannot make nodegw hold more connections than MaxConns by
// opening them faster than they time out: beyond the limit a connection
// waits, unanswered, until another one closes.
func TestSocketHoldsAtMostMaxConns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nix")
	p, err := New(Options{CloudURL: "http://127.0.0.1:1", Token: "gwn_x", Dir: dir, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	sock := filepath.Join(dir, Socket)
	dial := func() net.Conn {
		t.Helper()
		for i := 0; ; i++ {
			c, err := net.Dial("unix", sock)
			if err == nil {
				t.Cleanup(func() { c.Close() })
				return c
			}
			if i > 200 {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ask := func(c net.Conn, wait time.Duration) (string, error) {
		if _, err := io.WriteString(c, "GET /not-the-cache HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return "", err
		}
		c.SetReadDeadline(time.Now().Add(wait))
		return bufio.NewReader(c).ReadString('\n')
	}
	// Two connections that are answered, and kept open.
	held := []net.Conn{dial(), dial()}
	for _, c := range held {
		if line, err := ask(c, 5*time.Second); err != nil || !strings.Contains(line, "404") {
			t.Fatalf("a connection within the limit: %q %v", line, err)
		}
	}
	third := dial() // in the backlog: connected, not accepted
	if line, err := ask(third, 500*time.Millisecond); err == nil {
		t.Fatalf("a connection beyond the limit was answered: %q", line)
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(third).ReadString('\n')
	if err != nil || !strings.Contains(line, "404") {
		t.Fatalf("once a connection closed, the waiting one: %q %v", line, err)
	}
}
