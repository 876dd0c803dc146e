package accounts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/shared/apierr"
)

var cheap = Argon2Params{MemoryKiB: 1024, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h1, err := HashPassword("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse", cheap)
	if h1 == h2 || !strings.HasPrefix(h1, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hashes %q %q: want salted argon2id PHC strings", h1, h2)
	}
	tests := []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct hors", false}, {"", false}, {"Correct horse", false}}
	for _, tt := range tests {
		ok, err := VerifyPassword(h1, tt.pw)
		if err != nil || ok != tt.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
	if _, err := VerifyPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a non-argon2id hash must be an error")
	}
}

func TestReadPassword(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"s3cret-pass\n", "s3cret-pass", true},
		{"s3cret-pass\r\nrest", "s3cret-pass", true},
		{"no-newline-pw", "no-newline-pw", true},
		{"short\n", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := ReadPassword(strings.NewReader(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ReadPassword(%q) = %q, %v", tt.in, got, err)
		}
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newAccounts(t *testing.T, db *pgxpool.Pool, mod func(*Options)) *Accounts {
	t.Helper()
	o := Options{DB: db, Argon2: cheap}
	if mod != nil {
		mod(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAddUser(t *testing.T) {
	_, db := dbtest.New(t)
	a := newAccounts(t, db, nil)
	ctx := t.Context()
	if _, err := a.AddUser(ctx, "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddUser(ctx, "alice", "another-password"); !errors.Is(err, ErrUserExists) {
		t.Fatalf("duplicate: %v, want ErrUserExists", err)
	}
	for _, bad := range [][2]string{{"Alice", "alice-password"}, {"../x", "alice-password"}, {"bob", "short"}} {
		if _, err := a.AddUser(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("AddUser(%q, %q) accepted", bad[0], bad[1])
		}
	}
	var stored string
	if err := db.QueryRow(ctx, `SELECT password_hash FROM users WHERE name='alice'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "alice-password") || !strings.HasPrefix(stored, "$argon2id$") {
		t.Fatalf("stored %q, want an argon2id hash", stored)
	}
}

// webClient signs in through real HTTP on 127.0.0.1.
type webClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func serveAccounts(t *testing.T, a *Accounts) string {
	t.Helper()
	app := fiber.New(fiber.Config{ErrorHandler: apierr.FiberHandler(nil), DisableStartupMessage: true})
	a.Mount(app)
	app.Get("/me", a.Require(), func(c *fiber.Ctx) error {
		u, _ := UserFrom(c)
		return c.JSON(fiber.Map{"name": u.Name, "csrf": a.CSRFToken(c)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (w *webClient) signinForm() string {
	resp, err := w.hc.Get(w.base + "/signin")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		w.t.Fatalf("GET /signin: %d, no CSRF field in %s", resp.StatusCode, b)
	}
	return string(m[1])
}

func (w *webClient) post(path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, w.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (w *webClient) me() (int, string) {
	resp, err := w.hc.Get(w.base + "/me")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSignInAndOut(t *testing.T) {
	_, db := dbtest.New(t)
	var signedOut []string
	var mu sync.Mutex
	a := newAccounts(t, db, func(o *Options) {
		o.OnSignOut = func(_ context.Context, u User) error {
			mu.Lock()
			signedOut = append(signedOut, u.Name)
			mu.Unlock()
			return nil
		}
	})
	if _, err := a.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, serveAccounts(t, a))
	csrf := w.signinForm()

	good := url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {csrf}}
	tests := []struct {
		name   string
		form   url.Values
		hdr    map[string]string
		status int
		code   string
	}{
		{"missing CSRF token", url.Values{"name": {"alice"}, "password": {"alice-password"}}, nil, 403, "csrf"},
		{"wrong CSRF token", url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {"forged"}}, nil, 403, "csrf"},
		{"cross-site origin", good, map[string]string{"Origin": "http://evil.example"}, 403, "csrf"},
		{"wrong password", url.Values{"name": {"alice"}, "password": {"nope-nope"}, "_csrf": {csrf}}, nil, 401, "unauthorized"},
		{"unknown user", url.Values{"name": {"mallory"}, "password": {"alice-password"}, "_csrf": {csrf}}, nil, 401, "unauthorized"},
		{"empty fields", url.Values{"_csrf": {csrf}}, nil, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := w.post("/signin", tt.form, tt.hdr)
			if resp.StatusCode != tt.status || !strings.Contains(body, `"code":"`+tt.code+`"`) {
				t.Fatalf("status %d body %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if code, _ := w.me(); code != 401 {
				t.Fatalf("signed in after a refused sign-in (%d)", code)
			}
		})
	}

	resp, body := w.post("/signin", good, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", cookie)
	}
	var n int
	db.QueryRow(t.Context(), `SELECT count(*) FROM web_sessions WHERE token_hash = $1`, []byte(cookie.Value)).Scan(&n)
	if n != 0 {
		t.Fatal("the raw session token is stored")
	}
	db.QueryRow(t.Context(), `SELECT count(*) FROM web_sessions WHERE token_hash = $1`, hashToken(cookie.Value)).Scan(&n)
	if n != 1 {
		t.Fatal("no hashed session row")
	}
	code, me := w.me()
	if code != 200 || !strings.Contains(me, `"name":"alice"`) {
		t.Fatalf("/me: %d %s", code, me)
	}
	sessCSRF := regexp.MustCompile(`"csrf":"([^"]+)"`).FindStringSubmatch(me)[1]

	// Sign-out without the session's CSRF token (the anonymous one won't
	// do either) is refused and keeps the session.
	for _, form := range []url.Values{{}, {"_csrf": {csrf}}} {
		if resp, body := w.post("/signout", form, nil); resp.StatusCode != 403 {
			t.Fatalf("sign-out with %v: %d %s", form, resp.StatusCode, body)
		}
	}
	if code, _ := w.me(); code != 200 {
		t.Fatal("refused sign-out ended the session")
	}
	if resp, body := w.post("/signout", url.Values{"_csrf": {sessCSRF}}, nil); resp.StatusCode != 200 {
		t.Fatalf("sign-out: %d %s", resp.StatusCode, body)
	}
	if code, _ := w.me(); code != 401 {
		t.Fatalf("/me after sign-out: %d", code)
	}
	// The old cookie is dead server-side too, not only in this jar.
	if _, err := a.SessionUser(t.Context(), cookie.Value); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after sign-out: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(signedOut) != "[alice]" {
		t.Fatalf("sign-out hook calls %v", signedOut)
	}
}

func TestSignInRateLimitAcrossReplicas(t *testing.T) {
	_, db := dbtest.New(t)
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	mod := func(o *Options) {
		o.Now = clk.Now
		o.RateLimit = RateLimit{PerUser: 3, PerIP: 100, Window: time.Minute}
	}
	r1, r2 := newAccounts(t, db, mod), newAccounts(t, db, mod) // two cloud replicas
	if _, err := r1.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	w1, w2 := newWebClient(t, serveAccounts(t, r1)), newWebClient(t, serveAccounts(t, r2))
	bad := func(w *webClient) (*http.Response, string) {
		return w.post("/signin", url.Values{"name": {"alice"}, "password": {"guess-guess"}, "_csrf": {w.signinForm()}}, nil)
	}
	for i, w := range []*webClient{w1, w2, w1} {
		if resp, body := bad(w); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Over the limit on either replica, even the right password is refused.
	resp, body := w2.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {w2.signinForm()}}, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"rate_limited"`) {
		t.Fatalf("4th attempt: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	clk.Add(61 * time.Second)
	resp, body = w1.post("/signin", url.Values{"name": {"alice"}, "password": {"alice-password"}, "_csrf": {w1.signinForm()}}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("after the window: %d %s", resp.StatusCode, body)
	}
	// Per-address limit: many names from one IP.
	ra := newAccounts(t, db, func(o *Options) {
		o.Now = clk.Now
		o.RateLimit = RateLimit{PerUser: 100, PerIP: 2, Window: time.Minute}
	})
	for i := range 2 {
		if _, err := ra.Authenticate(t.Context(), fmt.Sprintf("user%d", i), "x-password", "203.0.113.9"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var rl *RateLimitedError
	if _, err := ra.Authenticate(t.Context(), "alice", "alice-password", "203.0.113.9"); !errors.As(err, &rl) {
		t.Fatalf("per-IP limit: %v", err)
	}
}

// Parallel guesses at one name cannot slip past the limit: attempts on a
// name are serialized, so exactly PerUser of them are checked.
func TestSignInRateLimitParallelGuesses(t *testing.T) {
	_, db := dbtest.New(t)
	mod := func(o *Options) { o.RateLimit = RateLimit{PerUser: 5, PerIP: 1000, Window: time.Minute} }
	r1, r2 := newAccounts(t, db, mod), newAccounts(t, db, mod)
	if _, err := r1.AddUser(t.Context(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			a := r1
			if i%2 == 1 {
				a = r2
			}
			_, err := a.Authenticate(t.Context(), "alice", fmt.Sprintf("guess-%d-guess", i), "198.51.100.7")
			var rl *RateLimitedError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBadCredentials):
				counts["bad"]++
			case errors.As(err, &rl):
				counts["limited"]++
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if counts["bad"] != 5 || counts["limited"] != 25 {
		t.Fatalf("outcomes %v, want 5 checked and 25 rate-limited", counts)
	}
}
