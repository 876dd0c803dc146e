//go:build linux

package pool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"gatewave.dev/shared/testenv"
)

// The way a Windows node reaches sessiond (an exec of `sessiond relay`
// through the engine) works against a real container here, where it can
// be compared with the direct dial Linux nodes use.
func TestDialExecReachesSessiondThroughTheEngine(t *testing.T) {
	p, _ := newTestPool(t, "dialexec", []Class{{Name: "standard", Size: tiny, Count: 1}}, nil)
	waitFor(t, "an idle container", func() bool { return p.Counts()[Idle] == 1 })
	c := p.Snapshot()[0]

	get := func(sock, token string) (int, string, error) {
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return p.dialExec(ctx, c, sock) }},
			Timeout: testenv.WaitShort}
		req, _ := http.NewRequest(http.MethodGet, "http://sessiond/api/v1/files?path=.", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	direct, directBody := sessiondGet(t, p, c, "api/v1/files?path=.")
	code, body, err := get("sessiond.sock", c.Token)
	if err != nil || code != direct || body != directBody {
		t.Fatalf("through the engine: %d %q %v; directly: %d %q", code, body, err, direct, directBody)
	}
	if code, _, err := get("sessiond.sock", "wrong"); err != nil || code != 401 {
		t.Errorf("a wrong token through the engine: %d %v, want 401", code, err)
	}
	// The relay's own failure comes back as the dial's error.
	if _, _, err := get("missing.sock", c.Token); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing socket: %v, want the relay's error", err)
	}
	for _, bad := range []string{"../tmp/x.sock", "/run/gatewave/sessiond.sock", "..", ".hidden"} {
		if _, err := p.dialExec(t.Context(), c, bad); err == nil {
			t.Errorf("socket name %q was dialled", bad)
		}
	}

	// From inside: the user can run the relay too, but it cannot reach
	// the run directory (root's, 0700), so the node's sockets stay the
	// node's.
	out, exit := execAs(t, p, c.ID, "1000:1000", "/usr/local/bin/sessiond", "relay", "/run/gatewave/control.sock")
	if exit == 0 || !strings.Contains(out, "permission denied") {
		t.Errorf("the user's relay to the control socket: exit %d, %q", exit, out)
	}
}

// An engine-only pool (what a Windows node runs) shares nothing with the
// node: its run directory is the container's own volume, the token is
// copied in, sessiond is dialled by exec, and the user inside can read
// none of it.
func TestEngineOnlyPoolSharesNoDirectoryWithTheNode(t *testing.T) {
	p, _ := newTestPool(t, "engine", []Class{{Name: "standard", Size: tiny, Count: 1}}, func(o *Options) { o.EngineOnly = true })
	waitFor(t, "an idle container", func() bool { return p.Counts()[Idle] == 1 })
	c := p.Snapshot()[0]
	if code, body := sessiondGet(t, p, c, "api/v1/files?path=."); code != 200 || !strings.Contains(body, `"entries"`) {
		t.Fatalf("sessiond through the engine: %d %s", code, body)
	}
	if _, err := os.Stat(p.runDir(c.Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the node made a run directory for an engine-only container: %v", err)
	}
	ins, err := p.docker.ContainerInspect(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var runVolume string
	for _, m := range ins.Mounts {
		if m.Destination == "/run/gatewave" {
			if m.Type != "volume" {
				t.Errorf("/run/gatewave is a %s mount from %s, want the container's volume", m.Type, m.Source)
			}
			runVolume = m.Name
		}
	}
	if runVolume == "" {
		t.Fatalf("no volume at /run/gatewave: %+v", ins.Mounts)
	}
	for _, argv := range [][]string{{"cat", "/run/gatewave/token"}, {"ls", "/run/gatewave"}, {"touch", "/run/gatewave/x"}} {
		if out, exit := execAs(t, p, c.ID, "1000:1000", argv...); exit == 0 || strings.Contains(out, c.Token) {
			t.Errorf("the user ran %v: exit %d, %q", argv, exit, out)
		}
	}
	// The volume goes with the container.
	sctx := testenv.Context(t, testenv.WaitLong)
	if err := p.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.docker.VolumeInspect(sctx, runVolume); !cerrdefs.IsNotFound(err) {
		t.Errorf("the run volume %s outlived its container: %v", runVolume, err)
	}
}

// execAs runs argv in the container as user and returns its output and
// exit code.
func execAs(t *testing.T, p *Pool, id, user string, argv ...string) (string, int) {
	t.Helper()
	ctx := testenv.Context(t, testenv.WaitShort)
	ex, err := p.docker.ContainerExecCreate(ctx, id, container.ExecOptions{User: user, AttachStdout: true, AttachStderr: true, Cmd: argv})
	if err != nil {
		t.Fatal(err)
	}
	hj, err := p.docker.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hj.Close()
	var b bytes.Buffer
	if _, err := stdcopy.StdCopy(&b, &b, hj.Reader); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	ins, err := p.docker.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), ins.ExitCode
}

func TestDemuxYieldsStdoutAndKeepsStderr(t *testing.T) {
	frame := func(stream byte, s string) []byte {
		h := []byte{stream, 0, 0, 0, 0, 0, 0, byte(len(s))}
		return append(h, s...)
	}
	var in []byte
	in = append(in, frame(1, "hello ")...)
	in = append(in, frame(2, "warning")...)
	in = append(in, frame(1, "world")...)
	d := &demux{r: bufioReader(in)}
	// Whatever the relay said on stderr ends the stream as an error.
	got, err := io.ReadAll(d)
	if string(got) != "hello world" || err == nil || !strings.Contains(err.Error(), "warning") {
		t.Fatalf("stdout %q, %v", got, err)
	}
	// Only stderr and then the end: the relay failed, and says why.
	d = &demux{r: bufioReader(frame(2, "relay: no such file"))}
	if _, err := io.ReadAll(d); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("stderr-only stream: %v", err)
	}
	// A frame cut short is an error, not a quiet end.
	d = &demux{r: bufioReader(frame(1, "hello")[:10])}
	if _, err := io.ReadAll(d); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut frame: %v, want ErrUnexpectedEOF", err)
	}
	d = &demux{r: bufioReader([]byte{7, 0, 0, 0, 0, 0, 0, 1, 'x'})}
	if _, err := io.ReadAll(d); err == nil {
		t.Error("a frame of an unknown stream was accepted")
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
