package accounts

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/testenv"
)

// signInFrom posts a sign-in form as if from client address ip: the test
// server trusts 127.0.0.1 as a proxy, so X-Forwarded-For names the client.
func (w *webClient) signInFrom(ip, name, password string) (*http.Response, string) {
	return w.post("/signin", url.Values{"name": {name}, "password": {password}, "_csrf": {w.signinForm()}},
		map[string]string{"X-Forwarded-For": ip})
}

func loopbackProxy(t *testing.T) Proxies {
	p, err := ParseProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func failureRows(t *testing.T, a *Accounts) int {
	t.Helper()
	var n int
	if err := a.db.QueryRow(t.Context(), `SELECT count(*) FROM signin_failures`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The test: 1,000 wrong passwords from one address, all on the
// victim's name, do not stop the victim signing in from another address.
// Only PerUser of them reach a password check; the rest are refused by
// the limits of the attacking address alone.
func TestThousandWrongPasswordsFromOneIPDoNotStopAnother(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, func(o *Options) { o.Proxies = loopbackProxy(t) }) // default limits
	if _, err := a.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	base := serveAccounts(t, a)
	var mu sync.Mutex
	status := map[int]int{}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			w := newWebClient(t, base)
			for i := next.Add(1); i <= 1000; i = next.Add(1) {
				resp, body := w.signInFrom("203.0.113.66", "alice", fmt.Sprintf("guess-%04d", i))
				mu.Lock()
				status[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode != 401 && resp.StatusCode != 429 {
					t.Errorf("guess %d: %d %s", i, resp.StatusCode, body)
				}
			}
		})
	}
	wg.Wait()
	if status[401] != 5 || status[429] != 995 {
		t.Fatalf("outcomes %v: want 5 checked (PerUser) and 995 refused", status)
	}
	w := newWebClient(t, base)
	if resp, body := w.signInFrom("198.51.100.20", "alice", "alice-password"); resp.StatusCode != 200 {
		t.Fatalf("alice from another address after the flood: %d %s", resp.StatusCode, body)
	}
	// The flooding address stays refused, even with the right password.
	if resp, _ := newWebClient(t, base).signInFrom("203.0.113.66", "alice", "alice-password"); resp.StatusCode != 429 {
		t.Fatalf("flooding address: %d, want 429", resp.StatusCode)
	}
}

// Guessing one name from many addresses puts it under attack: each failing
// address is then refused, a clean address still gets one check, and the
// real user with the right password signs in from a clean address. The
// failing addresses are free again after the window.
func TestNameUnderAttackStillLetsCleanAddressesIn(t *testing.T) {
	_, db := dbtest.New(t)
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newAccounts(t, db, func(o *Options) {
		o.Now = clk.Now
		o.RateLimit = RateLimit{PerUser: 5, PerIP: 30, PerName: 10, Window: time.Minute}
	})
	ctx := t.Context()
	for _, n := range []string{"alice", "bob"} {
		if _, err := a.AddUser(ctx, n, n+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	try := func(name, pw, ip string) error {
		_, err := a.Authenticate(ctx, name, pw, ip)
		return err
	}
	var rl *RateLimitedError
	// Two addresses use up their PerUser each: 10 failures on alice.
	for _, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		for i := range 5 {
			if err := try("alice", fmt.Sprintf("wrong-%d", i), ip); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("%s guess %d: %v", ip, i, err)
			}
		}
	}
	// A third, clean address gets one guess, then is refused on alice...
	if err := try("alice", "wrong-x", "192.0.2.3"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("clean address, first guess: %v", err)
	}
	if err := try("alice", "wrong-y", "192.0.2.3"); !errors.As(err, &rl) {
		t.Fatalf("failing address on a name under attack: %v, want rate-limited", err)
	}
	// ...but not on a name that is not under attack. It stays refused on
	// alice until its last failure leaves the window.
	clk.Add(20 * time.Second)
	if err := try("bob", "wrong-z", "192.0.2.3"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("failing address on bob: %v", err)
	}
	clk.Add(10 * time.Second)
	if err := try("alice", "wrong-w", "192.0.2.3"); !errors.As(err, &rl) || rl.RetryAfter != 50*time.Second {
		t.Fatalf("failing address on alice: %v, want rate-limited for 50s (until its last failure leaves the window)", err)
	}
	if err := try("bob", "bob-password", "192.0.2.3"); err != nil {
		t.Fatalf("bob from the failing address: %v", err)
	}
	// Alice, from an address that has not been failing, signs in.
	if err := try("alice", "alice-password", "198.51.100.20"); err != nil {
		t.Fatalf("alice from a clean address while her name is under attack: %v", err)
	}
	// Her success took its own attempt back: her address is still clean.
	if err := try("alice", "alice-password", "198.51.100.20"); err != nil {
		t.Fatalf("alice again: %v", err)
	}
	// The lockout of failing addresses lasts one window, not forever.
	clk.Add(61 * time.Second)
	if err := try("alice", "alice-password", "192.0.2.3"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// X-Forwarded-For from an untrusted peer is ignored: a client that sends a
// new forged address with every guess is still counted as itself.
func TestForgedForwardedForIsCountedAsTheSocketPeer(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, func(o *Options) { o.RateLimit = RateLimit{PerUser: 100, PerIP: 3, Window: time.Minute} })
	if _, err := a.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, serveAccounts(t, a))
	for i := range 3 {
		if resp, body := w.signInFrom(fmt.Sprintf("198.51.100.%d", i+1), fmt.Sprintf("user%d", i), "wrong-password"); resp.StatusCode != 401 {
			t.Fatalf("guess %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if resp, body := w.signInFrom("198.51.100.99", "alice", "alice-password"); resp.StatusCode != 429 {
		t.Fatalf("4th attempt with yet another forged address: %d %s, want 429", resp.StatusCode, body)
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		xff     []string
		want    string
	}{
		{"no proxy trusted: header ignored", "", []string{"203.0.113.5"}, "127.0.0.1"},
		{"trusted peer", "127.0.0.1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"trusted peer, no header", "127.0.0.0/8", nil, "127.0.0.1"},
		{"client-written entries left of the proxy's are ignored", "127.0.0.1", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5"},
		{"chain of trusted proxies", "127.0.0.1, 10.0.0.0/8", []string{"6.6.6.6, 203.0.113.5, 10.1.2.3"}, "203.0.113.5"},
		{"several header lines", "127.0.0.1,10.0.0.0/8", []string{"6.6.6.6", "203.0.113.5", "10.9.9.9"}, "203.0.113.5"},
		{"unreadable element stops at the last trusted hop", "127.0.0.1,10.0.0.0/8", []string{"203.0.113.5, junk, 10.1.2.3"}, "10.1.2.3"},
		{"unreadable right-most element", "127.0.0.1", []string{"203.0.113.5, junk"}, "127.0.0.1"},
		{"everyone trusted: the left-most", "127.0.0.1,10.0.0.0/8", []string{"10.0.0.7, 10.1.2.3"}, "10.0.0.7"},
		{"ports and brackets", "127.0.0.1", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"address with port", "127.0.0.1", []string{"203.0.113.5:4711"}, "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProxies(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			base := serveApp(t, func(app *fiber.App) {
				app.Get("/ip", func(c *fiber.Ctx) error { return c.SendString(p.ClientIP(c).String()) })
			})
			req, _ := http.NewRequest(http.MethodGet, base+"/ip", nil)
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, resp); got != tt.want {
				t.Fatalf("client %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad prefix parsed")
	}
	if _, err := ParseProxies("proxy.example"); err == nil {
		t.Error("a host name parsed")
	}
}

func TestRateKeyIPv6CountsPer64(t *testing.T) {
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if rateKey(a) != rateKey(b) || rateKey(a) != "2001:db8:1:2::/64" {
		t.Fatalf("keys %q %q: want one /64", rateKey(a), rateKey(b))
	}
	if rateKey(netip.MustParseAddr("192.0.2.1")) == rateKey(netip.MustParseAddr("192.0.2.2")) {
		t.Fatal("IPv4 addresses share a key")
	}
}

// Cookies are Secure when the cloud is served over https: always with
// SecureCookies (an https public URL), and per request when a trusted
// proxy says the client used https. A forged X-Forwarded-Proto from an
// untrusted peer changes nothing.
func TestSecureCookies(t *testing.T) {
	_, db := dbtest.New(t)
	tests := []struct {
		name    string
		secure  bool
		trusted string
		proto   string
		want    bool
	}{
		{"plain http", false, "", "", false},
		{"https public URL", true, "", "", true},
		{"trusted proxy says https", false, "127.0.0.1", "https", true},
		{"trusted proxy chain lists https", false, "127.0.0.1", "https, http", true},
		{"trusted proxy says http", false, "127.0.0.1", "http", false},
		{"untrusted peer forges https", false, "", "https", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProxies(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			a := newAccounts(t, db, func(o *Options) { o.SecureCookies, o.Proxies = tt.secure, p })
			name := fmt.Sprintf("user%d", i)
			if _, err := a.AddUser(t.Context(), name, "the-password"); err != nil {
				t.Fatal(err)
			}
			base := serveAccounts(t, a)
			w := newWebClient(t, base)
			hdr := map[string]string{}
			if tt.proto != "" {
				hdr["X-Forwarded-Proto"] = tt.proto
			}
			// The CSRF cookie of the sign-in page.
			req, _ := http.NewRequest(http.MethodGet, base+"/signin", nil)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := w.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			var csrf *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == csrfCookie {
					csrf = c
				}
			}
			if csrf == nil || csrf.Secure != tt.want {
				t.Fatalf("CSRF cookie %+v, want Secure=%v", csrf, tt.want)
			}
			// The session cookie. The jar keeps a Secure cookie from
			// plain http to itself, so the CSRF cookie goes by hand.
			hdr["Cookie"] = csrfCookie + "=" + csrf.Value
			resp, body := w.post("/signin", url.Values{"name": {name}, "password": {"the-password"}, "_csrf": {csrf.Value}}, hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
			}
			var sess *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == SessionCookie {
					sess = c
				}
			}
			if sess == nil || sess.Secure != tt.want || !sess.HttpOnly {
				t.Fatalf("session cookie %+v, want Secure=%v, HttpOnly", sess, tt.want)
			}
		})
	}
}

// A sign-in form larger than MaxFormBody is refused before any password
// is hashed or any attempt recorded, even where the app would read it.
func TestOversizedSignInRefusedWithoutHashing(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, nil)
	if _, err := a.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, serveAccounts(t, a))
	csrf := w.signinForm()
	resp, body := w.post("/signin", url.Values{"name": {"alice"}, "password": {strings.Repeat("p", MaxFormBody)}, "_csrf": {csrf}}, nil)
	if resp.StatusCode != 413 || !strings.Contains(body, `"code":"too_large"`) {
		t.Fatalf("oversized form: %d %s", resp.StatusCode, body)
	}
	if n := a.verified.Load(); n != 0 {
		t.Fatalf("%d password checks for an oversized form", n)
	}
	if n := failureRows(t, a); n != 0 {
		t.Fatalf("%d attempts recorded for an oversized form", n)
	}
	// A normal form right after works, and is the first check.
	if resp, body := w.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {csrf}}, nil); resp.StatusCode != 200 {
		t.Fatalf("normal sign-in: %d %s", resp.StatusCode, body)
	}
	if n := a.verified.Load(); n != 1 {
		t.Fatalf("%d password checks, want 1", n)
	}
}

// fill takes every hashing slot and returns a function giving one back.
func fill(a *Accounts) func() {
	for range cap(a.hasher.slots) {
		a.hasher.slots <- struct{}{}
	}
	return func() { <-a.hasher.slots }
}

// With every hashing slot taken and no queue, sign-in answers 503 with
// Retry-After at once, and the attempt that was never checked does not
// count against the user.
func TestHashingOverloadAnswers503(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, func(o *Options) { o.HashLimit = HashLimit{Concurrency: 2, Queue: -1} })
	if _, err := a.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, serveAccounts(t, a))
	csrf := w.signinForm()
	free := fill(a)
	resp, body := w.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {csrf}}, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"busy"`) {
		t.Fatalf("overloaded sign-in: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := failureRows(t, a); n != 0 {
		t.Fatalf("%d failure rows left by an attempt never checked", n)
	}
	if err := a.GitAuthorizer()(t.Context(), "alice", "alice", "alice-password", false); err == nil || errors.Is(err, githost.ErrUnauthorized) {
		t.Fatalf("overloaded git auth: %v, want a 503 error", err)
	} else if e := apierr.From(err); e.Status != 503 {
		t.Fatalf("overloaded git auth: status %d", e.Status)
	}
	free()
	free()
	if resp, body := w.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {csrf}}, nil); resp.StatusCode != 200 {
		t.Fatalf("after the slots free: %d %s", resp.StatusCode, body)
	}
}

// A request waiting for a hashing slot gives up when its context ends, a
// full queue refuses at once, and a freed slot lets the waiter through.
func TestHashingQueueRespectsContext(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, func(o *Options) { o.HashLimit = HashLimit{Concurrency: 1, Queue: 1, MaxWait: time.Hour} })
	if _, err := a.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	wait := testenv.Context(t, testenv.WaitShort)
	free := fill(a)
	waiting := func(n int64) {
		t.Helper()
		for a.hasher.waiting.Load() != n {
			select {
			case <-wait.Done():
				t.Fatalf("waiters %d, want %d", a.hasher.waiting.Load(), n)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := a.Authenticate(ctx, "alice", "alice-password", "192.0.2.1"); done <- err }()
	waiting(1)
	if _, err := a.Authenticate(t.Context(), "alice", "alice-password", "192.0.2.2"); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the queue full: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	waiting(0)
	go func() { _, err := a.Authenticate(t.Context(), "alice", "alice-password", "192.0.2.1"); done <- err }()
	waiting(1)
	free()
	if err := <-done; err != nil {
		t.Fatalf("waiter after a slot freed: %v", err)
	}
	if n := failureRows(t, a); n != 0 {
		t.Fatalf("%d failure rows; the refused and the good attempts must leave none", n)
	}
}

// However many sign-ins arrive at once, no more than Concurrency hashes run.
func TestHashingConcurrencyBounded(t *testing.T) {
	_, db := dbtest.New(t)
	// Unknown names are checked against dummyHash, at the default cost:
	// slow enough that unbounded checks would overlap.
	a := newAccounts(t, db, func(o *Options) { o.HashLimit = HashLimit{Concurrency: 2, Queue: 64, MaxWait: time.Hour} })
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_, err := a.Authenticate(t.Context(), fmt.Sprintf("user%d", i), "wrong-password", fmt.Sprintf("192.0.2.%d", i+1))
			if !errors.Is(err, ErrBadCredentials) {
				t.Errorf("attempt %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if p := a.hasher.peak.Load(); p < 1 || p > 2 {
		t.Fatalf("peak of %d hashes at once, want at most 2", p)
	}
	if a.verified.Load() != 16 {
		t.Fatalf("%d checks, want 16", a.verified.Load())
	}
}

func serveApp(t *testing.T, mount func(*fiber.App)) string {
	t.Helper()
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil), DisableStartupMessage: true})
	mount(app)
	return listen(t, app)
}

func listen(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Served over TLS directly, cookies are Secure without any option.
func TestSecureCookiesOverTLS(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, nil)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil), DisableStartupMessage: true})
	a.Mount(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	t.Cleanup(func() { app.Shutdown() })
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	hc := &http.Client{Timeout: testenv.WaitShort, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + ln.Addr().String() + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie && c.Secure {
			return
		}
	}
	t.Fatalf("cookies over TLS %v: want a Secure CSRF cookie", resp.Cookies())
}
