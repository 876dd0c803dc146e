package nixcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/httpauth"
	"gatewave.dev/shared/testenv"
)

const (
	adminToken = "admin-token-0123456789"
	nodeToken  = "node-token-0123456789"
)

func TestNix32(t *testing.T) {
	// Values from `nix-hash --type sha256 --to-base32`.
	for hexs, want := range map[string]string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
		"44cfdcfbfcd9c577a49426568b96f081d3445cf0fc4342ad1b3ee07318426393": "14v388c77q1y3fnl4hzwy1f49lw1y2b8nmi6jjj7gifrzkxxrks4",
	} {
		b, _ := hex.DecodeString(hexs)
		if got := nix32(b); got != want {
			t.Errorf("nix32(%s) = %s, want %s", hexs, got, want)
		}
		back, err := decodeNix32(want, 32)
		if err != nil || !bytes.Equal(back, b) {
			t.Errorf("decodeNix32(%s) = %x, %v", want, back, err)
		}
	}
	if _, err := decodeNix32("e"+strings.Repeat("0", 51), 32); err == nil {
		t.Error("decodeNix32 took a character outside the alphabet")
	}
}

func TestKeyOnceAndPrivate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k", "secret.key")
	k1, err := LoadOrCreateKey(p, "test-1")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(p, "other-name")
	if err != nil {
		t.Fatal(err)
	}
	if k1.PublicKey() != k2.PublicKey() || k2.Name != "test-1" {
		t.Fatalf("second load made a new key: %s vs %s", k1.PublicKey(), k2.PublicKey())
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", fi.Mode().Perm())
	}
	if !Verify(k1.PublicKey(), "fp", k1.Sign("fp")) || Verify(k1.PublicKey(), "fp2", k1.Sign("fp")) {
		t.Fatal("signature does not verify, or verifies another fingerprint")
	}
	os.Chmod(p, 0o644)
	if _, err := LoadOrCreateKey(p, "test-1"); err == nil {
		t.Fatal("a world-readable key was accepted")
	}
	if _, err := LoadOrCreateKey(filepath.Join(dir, "x"), "bad:name"); err == nil {
		t.Fatal("a key name with a colon was accepted")
	}
}

// nixTools fails (CI) or skips without Debian's nix-bin.
func nixTools(t *testing.T) {
	for _, b := range []string{"nix-build", "nix-store", "nix"} {
		testenv.LookPath(t, b)
	}
	testenv.LookPath(t, "busybox")
}

// helloNix needs no nixpkgs: busybox from the host (in the build sandbox)
// writes a script, and gw-tool refers to gw-hello, so a reference is signed.
const helloNix = `
let
  hello = builtins.derivation {
    name = "gw-hello"; system = builtins.currentSystem; builder = "/bin/busybox";
    args = [ "sh" "-c" "/bin/busybox mkdir -p $out/bin; printf '#!/bin/sh\\necho hello-from-nix\\n' > $out/bin/gw-hello; /bin/busybox chmod +x $out/bin/gw-hello" ];
  };
in builtins.derivation {
  name = "gw-tool"; system = builtins.currentSystem; builder = "/bin/busybox";
  args = [ "sh" "-c" "/bin/busybox mkdir -p $out; echo ${hello} > $out/hello-path" ];
}
`

func nixCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "NIX_CONF_DIR="+t.TempDir(), "HOME="+t.TempDir(), "NIX_CONFIG=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// buildAndExport builds gw-tool (and gw-hello) into a fresh chroot store
// and copies both into a file:// cache, uncompressed.
func buildAndExport(t *testing.T) (tool, exportDir string) {
	t.Helper()
	dir := t.TempDir()
	expr := filepath.Join(dir, "hello.nix")
	os.WriteFile(expr, []byte(helloNix), 0o644)
	store := filepath.Join(dir, "build-store")
	out, err := nixCmd(t, "nix-build", "--store", store, "--no-out-link", "--option", "sandbox", "true",
		"--option", "extra-sandbox-paths", "/bin/busybox", "--option", "build-users-group", "",
		"--option", "substituters", "", expr)
	if err != nil {
		t.Fatalf("nix-build: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(out))
	tool = lines[len(lines)-1]
	exportDir = filepath.Join(dir, "export")
	if out, err := nixCmd(t, "nix", "--extra-experimental-features", "nix-command", "copy", "--store", store,
		"--option", "build-users-group", "", "--to", "file://"+exportDir+"?compression=none", tool); err != nil {
		t.Fatalf("nix copy: %v\n%s", err, out)
	}
	return tool, exportDir
}

func newTestCache(t *testing.T) (*Cache, string) {
	t.Helper()
	c, err := New(Options{Dir: t.TempDir(), KeyName: "test-cache-1", Logger: slog.New(slog.DiscardHandler),
		Authorize: func(_ context.Context, tok string, write bool) error {
			if httpauth.Equal(tok, adminToken) || (!write && httpauth.Equal(tok, nodeToken)) {
				return nil
			}
			return apierr.Unauthorized("invalid token")
		}})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: apierr.FiberHandler(slog.New(slog.DiscardHandler)), BodyLimit: 256 << 20})
	c.Mount(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	return c, "http://" + ln.Addr().String()
}

// reader stands in for the node's forwarder: nix sends no bearer token,
// so a proxy in front of the cloud adds the node's. rewrite, when set,
// changes a narinfo on its way (a tampering middlebox).
func reader(t *testing.T, cloud string, rewrite func(string) string) string {
	u, _ := url.Parse(cloud)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Header.Set("Authorization", "Bearer "+nodeToken)
	}}
	if rewrite != nil {
		rp.ModifyResponse = func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, ".narinfo") || resp.StatusCode != 200 {
				return nil
			}
			b, _ := io.ReadAll(resp.Body)
			nb := rewrite(string(b))
			resp.Body = io.NopCloser(strings.NewReader(nb))
			resp.ContentLength = int64(len(nb))
			resp.Header.Del("Content-Length")
			return nil
		}
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// substitute realises path into a fresh chroot store with max-jobs 0:
// nothing can be built there, so the path comes from the cache or not at all.
func substitute(t *testing.T, cacheURL, pubKey, path string) (string, string, error) {
	store := filepath.Join(t.TempDir(), "clean-store")
	out, err := nixCmd(t, "nix-store", "--store", store, "--realise", path, "--max-jobs", "0",
		"--option", "build-users-group", "", "--option", "substituters", cacheURL+Prefix,
		"--option", "trusted-public-keys", pubKey, "--option", "require-sigs", "true",
		"--option", "connect-timeout", "5")
	return store, out, err
}

func TestSubstituteFromCloud(t *testing.T) {
	nixTools(t)
	ctx := testenv.Context(t, 2*time.Minute)
	tool, exp := buildAndExport(t)
	c, cloud := newTestCache(t)

	if _, err := Push(ctx, PushOptions{URL: cloud, Token: nodeToken, Dir: exp}); err == nil {
		t.Fatal("a node token could upload")
	}
	pushed, err := Push(ctx, PushOptions{URL: cloud, Token: adminToken, Dir: exp})
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 2 {
		t.Fatalf("pushed %v, want gw-hello and gw-tool", pushed)
	}
	// A second push of the same paths is a no-op, not an error.
	if _, err := Push(ctx, PushOptions{URL: cloud, Token: adminToken, Dir: exp}); err != nil {
		t.Fatalf("pushing again: %v", err)
	}

	store, out, err := substitute(t, reader(t, cloud, nil), c.PublicKey(), tool)
	if err != nil {
		t.Fatalf("substitute: %v\n%s", err, out)
	}
	if !strings.Contains(out, "copying path '"+tool+"' from") {
		t.Fatalf("nix did not say it substituted %s:\n%s", tool, out)
	}
	if n := c.NarsServed(); n != 2 {
		t.Fatalf("the cache served %d NARs, want 2 (tool and its reference)", n)
	}
	b, err := os.ReadFile(filepath.Join(store, tool, "hello-path"))
	if err != nil || !strings.Contains(string(b), "-gw-hello") {
		t.Fatalf("substituted tool: %q, %v", b, err)
	}
	hello := strings.TrimSpace(string(b))
	if _, err := os.Stat(filepath.Join(store, hello, "bin", "gw-hello")); err != nil {
		t.Fatalf("the reference was not substituted: %v", err)
	}

	t.Run("wrong key", func(t *testing.T) {
		other, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "k"), "test-cache-1")
		_, out, err := substitute(t, reader(t, cloud, nil), other.PublicKey(), tool)
		if err == nil || !strings.Contains(out, "is not signed by any of the keys") {
			t.Fatalf("nix accepted paths signed by another key: %v\n%s", err, out)
		}
	})
	t.Run("tampered signature", func(t *testing.T) {
		bad := reader(t, cloud, func(s string) string {
			i := strings.Index(s, "Sig: test-cache-1:") + len("Sig: test-cache-1:")
			r := byte('A')
			if s[i] == 'A' {
				r = 'B'
			}
			return s[:i] + string(r) + s[i+1:]
		})
		_, out, err := substitute(t, bad, c.PublicKey(), tool)
		if err == nil || !strings.Contains(out, "is not signed by any of the keys") {
			t.Fatalf("nix accepted a tampered signature: %v\n%s", err, out)
		}
	})
	t.Run("tampered reference", func(t *testing.T) {
		bad := reader(t, cloud, func(s string) string {
			return strings.Replace(s, "References: ", "References: 00000000000000000000000000000000-x ", 1)
		})
		_, out, err := substitute(t, bad, c.PublicKey(), tool)
		if err == nil {
			t.Fatalf("nix accepted a narinfo whose references changed after signing:\n%s", out)
		}
	})
}

func TestUploadsChecked(t *testing.T) {
	nixTools(t)
	tool, exp := buildAndExport(t)
	c, _ := newTestCache(t)
	infos, _ := filepath.Glob(filepath.Join(exp, "*.narinfo"))
	var toolInfo, helloInfo string
	for _, f := range infos {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "StorePath: "+tool) {
			toolInfo = string(b)
		} else {
			helloInfo = string(b)
		}
	}
	tn, _ := ParseNarInfo(toolInfo)
	hn, _ := ParseNarInfo(helloInfo)
	toolNar, _ := os.ReadFile(filepath.Join(exp, "nar", tn.NarFile()))
	helloNar, _ := os.ReadFile(filepath.Join(exp, "nar", hn.NarFile()))

	if err := c.PutNar(tn.NarFile(), helloNar); err == nil {
		t.Error("a NAR was stored under another NAR's hash")
	}
	if err := c.PutNar(hn.NarFile(), []byte("not a nar")); err == nil {
		t.Error("a non-NAR was stored")
	}
	if _, err := c.PutNarInfo(tn.Hash(), toolInfo); err == nil {
		t.Error("a narinfo was signed before its NAR was uploaded")
	}
	if err := c.PutNar(tn.NarFile(), toolNar); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutNarInfo(tn.Hash(), toolInfo); err == nil || !strings.Contains(err.Error(), "reference") {
		t.Errorf("a narinfo was signed before its reference was in the cache: %v", err)
	}
	if err := c.PutNar(hn.NarFile(), helloNar); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutNarInfo(tn.Hash(), helloInfo); err == nil {
		t.Error("gw-hello's narinfo was stored under gw-tool's hash")
	}
	lying := strings.Replace(helloInfo, "NarSize: ", "NarSize: 1", 1)
	lying = strings.Replace(lying, "FileSize: ", "FileSize: 1", 1)
	if _, err := c.PutNarInfo(hn.Hash(), lying); err == nil {
		t.Error("a narinfo whose NarSize is not its NAR's was signed")
	}
	if _, err := c.PutNarInfo(hn.Hash(), strings.Replace(helloInfo, "Compression: none", "Compression: xz", 1)); err == nil {
		t.Error("a compressed NAR's narinfo was accepted")
	}
	n, err := c.PutNarInfo(hn.Hash(), helloInfo+"Sig: someone-else:"+strings.Repeat("A", 86)+"==\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Sigs) != 1 || !Verify(c.PublicKey(), n.Fingerprint(), n.Sigs[0]) {
		t.Fatalf("the uploader's signature was kept, or the cloud's does not verify: %v", n.Sigs)
	}
	// Another narinfo for a path already there is refused: the deriver
	// differs, and nothing replaces an entry.
	other := strings.Replace(helloInfo, hn.Deriver, strings.Repeat("1", 32)+hn.Deriver[32:], 1)
	if _, err := c.PutNarInfo(hn.Hash(), other); !errors.Is(err, ErrConflict) {
		t.Errorf("a second, different narinfo for the same path: %v, want ErrConflict", err)
	}
	sum := sha256.Sum256(helloNar)
	if hn.NarFile() != nix32(sum[:])+".nar" {
		t.Fatal("nix and the cache name NARs differently")
	}
}

func TestHTTPAuthAndNames(t *testing.T) {
	_, cloud := newTestCache(t)
	do := func(method, path, tok string, body io.Reader) int {
		req, _ := http.NewRequest(method, cloud+path, body)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, tok string
		want              int
	}{
		{"GET", "/nix-cache/nix-cache-info", "", 401},
		{"GET", "/nix-cache/nix-cache-info", "wrong", 401},
		{"GET", "/nix-cache/nix-cache-info", nodeToken, 200},
		{"HEAD", "/nix-cache/nix-cache-info", nodeToken, 200},
		{"GET", "/nix-cache/public-key", nodeToken, 200},
		{"GET", "/nix-cache/nix-cache-info?access_token=" + adminToken, "", 401},
		{"GET", "/nix-cache/secret.key", adminToken, 404},
		{"GET", "/nix-cache/nar/..%2fsecret.key", adminToken, 404},
		{"GET", "/nix-cache/" + strings.Repeat("a", 32) + ".narinfo", nodeToken, 404},
		{"PUT", "/nix-cache/" + strings.Repeat("a", 32) + ".narinfo", nodeToken, 401},
		{"PUT", "/nix-cache/nar/" + strings.Repeat("a", 52) + ".nar", nodeToken, 401},
		{"PUT", "/nix-cache/nar/" + strings.Repeat("a", 52) + ".nar", adminToken, 400},
		{"PUT", "/nix-cache/secret.key", adminToken, 404},
	} {
		if got := do(tc.method, tc.path, tc.tok, strings.NewReader("")); got != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
}
