package cachefwd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

func TestForwardsToTheSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "cache.sock")
	o := Options{Socket: sock, Listen: "127.0.0.1:0"}
	ln, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Serve(ctx, ln, o) }()
	url := "http://" + ln.Addr().String() + "/nix-cache/nix-cache-info"

	// The socket is not there yet: the connection just closes.
	if _, err := http.Get(url); err == nil {
		t.Fatal("a request succeeded with no socket behind")
	}
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ul, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "via socket "+r.URL.Path) }))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "via socket /nix-cache/nix-cache-info" {
		t.Fatalf("got %q", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Options{Socket: "/nonexistent/dir/cache.sock"}); !errors.Is(err, ErrNoMount) {
		t.Fatalf("no mount: %v", err)
	}
}
