//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gatewave.dev/desktop/reaper"
	"gatewave.dev/shared/testenv"
)

// The binary is built once per test process; building takes a minute cold.
var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatewave-desktop-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "gatewave-desktop")
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "desktop,production", "-o", buildPath, "../cmd/gatewave-desktop")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		if strings.Contains(buildErr.Error(), "webkit2gtk") || strings.Contains(buildErr.Error(), "gtk+-3.0") {
			testenv.Missing(t, "libwebkit2gtk-4.0-dev and libgtk-3-dev", buildErr.Error())
		}
		t.Fatal(buildErr)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// xvfb starts a private X server on a free display (Xvfb picks it and
// writes it to -displayfd) and returns the DISPLAY value.
func xvfb(t testing.TB) string {
	t.Helper()
	bin := testenv.LookPath(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	select {
	case n := <-line:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb did not report a display (%q): %s", n, stderr.String())
		}
		return ":" + n
	case <-time.After(testenv.WaitShort):
		t.Fatalf("Xvfb did not start: %s", stderr.String())
	}
	return ""
}

// domReport is what the app's probe says the page rendered.
type domReport struct {
	UI        string   `json:"ui"`
	Origin    string   `json:"origin"`
	Bound     bool     `json:"bound"`
	Fetch     string   `json:"fetch"`
	WS        string   `json:"ws"`
	ConnError string   `json:"conn_error"`
	Tree      []string `json:"tree"`
	Errors    []string `json:"errors"`
	Editor    bool     `json:"editor"`
	WebUSB    bool     `json:"webusb"`
	Title     string   `json:"title"`
	// TrustBanner is whether the restricted-mode banner shows.
	TrustBanner bool `json:"trust_banner"`
	// TrustButton is whether its "Trust this folder" button can be clicked.
	TrustButton bool `json:"trust_button"`
	// TrustAnswered counts the trust questions the page has had answered.
	TrustAnswered int `json:"trust_answered"`
}

type event struct {
	Event     string    `json:"event"`
	ElapsedMS int64     `json:"elapsed_ms"`
	BaseURL   string    `json:"base_url"`
	Token     string    `json:"token"`
	Folder    string    `json:"folder"`
	PID       int       `json:"pid"`
	Report    domReport `json:"report"`
	Killed    int       `json:"killed"`
	Message   string    `json:"message"`
	Title     string    `json:"title"`   // of a question
	Paths     []string  `json:"paths"`   // of an unsaved report
	Trusted   bool      `json:"trusted"` // of a connection
	at        time.Time
}

// instance is one running desktop app.
type instance struct {
	t       testing.TB
	cmd     *exec.Cmd
	started time.Time
	stdin   io.WriteCloser
	home    string
	display string
	stderr  *lockedBuffer

	mu     sync.Mutex
	events []event
	notify chan struct{}
	exited chan struct{}
	err    error // cmd.Wait's result, after exited
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// launch starts the app in test mode on folder, with a private HOME and XDG
// directories so the test can inspect everything it writes.
func launch(t testing.TB, bin, display, folder string) *instance {
	t.Helper()
	home := t.TempDir()
	args := []string{"-test-report"}
	if folder != "" {
		args = append(args, folder)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"DISPLAY="+display,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
		"NO_AT_BRIDGE=1",           // no accessibility bus to wait for
		"GSETTINGS_BACKEND=memory", // no dconf (and no D-Bus) to write to
	)
	if err := os.MkdirAll(filepath.Join(home, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, cmd: cmd, stdin: stdin, home: home, display: display, stderr: &lockedBuffer{},
		notify: make(chan struct{}, 1), exited: make(chan struct{})}
	cmd.Stderr = in.stderr
	in.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the app: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				continue
			}
			ev.at = time.Now()
			in.mu.Lock()
			in.events = append(in.events, ev)
			in.mu.Unlock()
			select {
			case in.notify <- struct{}{}:
			default:
			}
		}
		in.err = cmd.Wait()
		close(in.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-in.exited:
		default:
			_ = cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("app stderr:\n%s", in.stderr.String())
		}
	})
	return in
}

// waitFor returns the first event (from the start) satisfying ok.
func (in *instance) waitFor(ctx context.Context, what string, ok func(event) bool) event {
	in.t.Helper()
	seen := 0
	for {
		in.mu.Lock()
		evs := in.events[seen:]
		seen = len(in.events)
		in.mu.Unlock()
		for _, ev := range evs {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-in.notify:
		case <-in.exited:
			in.mu.Lock()
			n := len(in.events)
			in.mu.Unlock()
			if n == seen {
				in.t.Fatalf("app exited (%v) while waiting for %s; last report: %+v\nstderr:\n%s", in.err, what, in.lastDOM(), in.stderr.String())
			}
		case <-ctx.Done():
			in.t.Fatalf("timed out waiting for %s; last report: %+v", what, in.lastDOM())
		}
	}
}

func (in *instance) lastDOM() domReport {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := len(in.events) - 1; i >= 0; i-- {
		if in.events[i].Event == "dom" {
			return in.events[i].Report
		}
	}
	return domReport{}
}

func (in *instance) connection(ctx context.Context) event {
	return in.waitFor(ctx, "the connection report", func(ev event) bool { return ev.Event == "connection" })
}

func (in *instance) command(line string) {
	in.t.Helper()
	if _, err := io.WriteString(in.stdin, line+"\n"); err != nil {
		in.t.Fatalf("send %q: %v", line, err)
	}
}

// wait waits for the process to exit and returns its error.
func (in *instance) wait(ctx context.Context) error {
	select {
	case <-in.exited:
		return in.err
	case <-ctx.Done():
		in.t.Fatalf("the app did not exit: %v\nstderr:\n%s", ctx.Err(), in.stderr.String())
		return nil
	}
}

// rendered reports whether the page shows every name in want in its file tree.
func rendered(want []string) func(event) bool {
	return func(ev event) bool {
		if ev.Event != "dom" {
			return false
		}
		have := map[string]bool{}
		for _, p := range ev.Report.Tree {
			have[p] = true
		}
		for _, w := range want {
			if !have[w] {
				return false
			}
		}
		return true
	}
}

// screenshot captures the whole X screen as PNG with ImageMagick's import.
func screenshot(t testing.TB, display, path string) image.Image {
	t.Helper()
	bin := testenv.LookPath(t, "import")
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitShort)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-display", display, "-window", "root", path).CombinedOutput(); err != nil {
		t.Fatalf("import: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// colourStats returns how many distinct colours img has and the share of
// the most common one.
func colourStats(img image.Image) (distinct int, top float64) {
	counts := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	return len(counts), float64(most) / float64(b.Dx()*b.Dy())
}

// artifactDir is where screenshots go: $ARTIFACTS_DIR/desktop, or
// $TMPDIR/gatewave-artifacts/desktop. They are kept after the test.
func artifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ARTIFACTS_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "gatewave-artifacts")
	}
	dir := filepath.Join(base, "desktop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type socket struct {
	proto string
	local netip
	state string
	inode string
}

type netip struct {
	ip   net.IP
	port int
}

func (a netip) String() string { return net.JoinHostPort(a.ip.String(), strconv.Itoa(a.port)) }

// procSockets reads the kernel's socket tables (of our network namespace,
// which the app shares).
func procSockets(t testing.TB) []socket {
	t.Helper()
	var out []socket
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile("/proc/net/" + proto)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 10 {
				continue
			}
			addr, err := parseProcAddr(f[1])
			if err != nil {
				t.Fatalf("/proc/net/%s: %v", proto, err)
			}
			out = append(out, socket{proto: proto, local: addr, state: f[3], inode: f[9]})
		}
	}
	return out
}

// parseProcAddr decodes "0100007F:1F90": the address is in host (little
// endian) order, 32 bits at a time; the port is big-endian hex.
func parseProcAddr(s string) (netip, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip{}, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip{}, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip{}, fmt.Errorf("bad port in %q", s)
	}
	return netip{ip: net.IP(raw), port: int(port)}, nil
}

// socketInodes lists the socket inodes held open by pid and its
// descendants (WebKit's helper processes included).
func socketInodes(t testing.TB, pid int) map[string]int {
	t.Helper()
	pids := []int{pid}
	ds, err := reaper.Descendants(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		pids = append(pids, d.PID)
	}
	out := map[string]int{}
	for _, p := range pids {
		fds, err := os.ReadDir("/proc/" + strconv.Itoa(p) + "/fd")
		if err != nil {
			continue // exited
		}
		for _, fd := range fds {
			l, err := os.Readlink("/proc/" + strconv.Itoa(p) + "/fd/" + fd.Name())
			if err != nil {
				continue
			}
			if in, ok := strings.CutPrefix(l, "socket:["); ok {
				out[strings.TrimSuffix(in, "]")] = p
			}
		}
	}
	return out
}

// listeningPorts returns the app's listening TCP sockets.
func listening(t testing.TB, pid int) []socket {
	t.Helper()
	inodes := socketInodes(t, pid)
	var out []socket
	for _, s := range procSockets(t) {
		if _, mine := inodes[s.inode]; mine && strings.HasPrefix(s.proto, "tcp") && s.state == "0A" {
			out = append(out, s)
		}
	}
	return out
}

// get performs a GET against the app's sessiond with an optional token.
func get(ctx context.Context, t testing.TB, base, path, token string) (int, []byte) {
	t.Helper()
	bu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	u := bu.ResolveReference(ref).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}
