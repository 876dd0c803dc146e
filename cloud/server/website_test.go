package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each 303.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newBrowser(t *testing.T, c *cloud) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: c.URL(), hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request as a browser (Accept: text/html) unless accept says otherwise.
func (b *browser) do(method, path, accept string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept == "" {
		accept = "text/html,application/xhtml+xml"
	}
	req.Header.Set("Accept", accept)
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) csrf(page string) string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return m[1]
}

func (b *browser) signIn(name, password string) int {
	b.t.Helper()
	_, page := b.do("GET", "/signin", "", nil)
	resp, _ := b.do("POST", "/signin", "", url.Values{"_csrf": {b.csrf(page)}, "name": {name}, "password": {password}})
	return resp.StatusCode
}

// home reads the home page and its CSRF token.
func (b *browser) home() (string, string) {
	b.t.Helper()
	resp, page := b.do("GET", "/", "", nil)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET / = %d", resp.StatusCode)
	}
	return page, b.csrf(page)
}

func wantRedirect(t *testing.T, resp *http.Response, to string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != to {
		t.Fatalf("%s %s = %d to %q, want 303 to %q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, resp.Header.Get("Location"), to)
	}
}

func TestHomePageAndStartRedirect(t *testing.T) {
	c := startFullCloud(t)
	b := newBrowser(t, c)
	resp, _ := b.do("GET", "/", "", nil)
	wantRedirect(t, resp, "/signin")
	if code := b.signIn("alice", "alice-password"); code != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", code)
	}
	page, csrf := b.home()
	for _, want := range []string{"http://" + c.addr + "/git/alice.git", "Start a session", "Change your password", "Sign out"} {
		if !strings.Contains(page, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	if strings.Contains(page, "Add a user") {
		t.Error("a user who is not an admin sees the add-user form")
	}
	// No node: the form is answered at once with a redirect home, where
	// the page follows the queued session.
	resp, _ = b.do("POST", "/api/v1/sessions", "", url.Values{"_csrf": {csrf}})
	wantRedirect(t, resp, "/")
	resp, body := b.do("GET", "/api/v1/sessions", "application/json", nil)
	var se struct{ ID, State string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &se) != nil || se.State != "queued" {
		t.Fatalf("GET /api/v1/sessions = %d %s, want the queued session", resp.StatusCode, body)
	}
	resp, _ = b.do("POST", "/api/v1/sessions/"+se.ID+"/stop", "", url.Values{"_csrf": {csrf}})
	wantRedirect(t, resp, "/")
	if page, _ := b.home(); !strings.Contains(page, "Your session is stopping") {
		t.Error("no flash message after stopping")
	}
	if resp, _ := b.do("GET", "/api/v1/sessions", "application/json", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after stop: GET /api/v1/sessions = %d, want 404", resp.StatusCode)
	}
}

func TestChangePassword(t *testing.T) {
	c := startFullCloud(t)
	b, other := newBrowser(t, c), newBrowser(t, c)
	b.signIn("alice", "alice-password")
	other.signIn("alice", "alice-password")
	_, csrf := b.home()
	change := func(cur, next, confirm string) string {
		resp, _ := b.do("POST", "/account/password", "", url.Values{"_csrf": {csrf}, "current": {cur}, "new": {next}, "confirm": {confirm}})
		wantRedirect(t, resp, "/")
		page, _ := b.home()
		return page
	}
	if page := change("alice-password", "new-password-1", "new-password-2"); !strings.Contains(page, "differ") {
		t.Error("mismatched repetition: no error shown")
	}
	if page := change("wrong-password", "new-password-1", "new-password-1"); !strings.Contains(page, "current password is wrong") {
		t.Error("wrong current password: no error shown")
	}
	if page := change("alice-password", "new-password-1", "new-password-1"); !strings.Contains(page, "Your password is changed") {
		t.Error("no confirmation of the change")
	}
	// Without the CSRF token: refused, as a page for a browser.
	resp, page := b.do("POST", "/account/password", "", url.Values{"current": {"new-password-1"}, "new": {"x-password-3"}, "confirm": {"x-password-3"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "This form has expired") {
		t.Fatalf("password change without CSRF = %d", resp.StatusCode)
	}
	if resp, _ := other.do("GET", "/api/v1/me", "application/json", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the other sign-in still works after the change: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/api/v1/me", "application/json", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the changing sign-in ended: %d", resp.StatusCode)
	}
	if code := newBrowser(t, c).signIn("alice", "alice-password"); code != http.StatusUnauthorized {
		t.Fatalf("old password still signs in: %d", code)
	}
	if code := newBrowser(t, c).signIn("alice", "new-password-1"); code != http.StatusSeeOther {
		t.Fatalf("new password does not sign in: %d", code)
	}
}

func TestAdminAddsUser(t *testing.T) {
	c := startFullCloud(t)
	b := newBrowser(t, c)
	b.signIn("alice", "alice-password")
	_, csrf := b.home()
	// Not an admin: refused server-side, as JSON for an API client and a
	// page for a browser.
	resp, body := b.do("POST", "/admin/users", "application/json", url.Values{"_csrf": {csrf}, "name": {"bob"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"forbidden"`) {
		t.Fatalf("non-admin add user = %d %s", resp.StatusCode, body)
	}
	resp, body = b.do("POST", "/admin/users", "", url.Values{"_csrf": {csrf}, "name": {"bob"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "only an admin") || !strings.Contains(body, `href="/"`) {
		t.Fatalf("non-admin add user (browser) = %d %s", resp.StatusCode, body)
	}
	if err := c.srv.Accounts.SetAdmin(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	page, csrf := b.home()
	if !strings.Contains(page, "Add a user") || !strings.Contains(page, "<td>alice</td>") {
		t.Fatal("the admin sees no user list or add form")
	}
	// A generated password is shown once, on the answer itself.
	resp, page = b.do("POST", "/admin/users", "", url.Values{"_csrf": {csrf}, "name": {"bob"}})
	m := regexp.MustCompile(`id="new-password" class="mono" readonly value="([A-Za-z0-9_-]{24})"`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("add bob = %d\n%s", resp.StatusCode, page)
	}
	if code := newBrowser(t, c).signIn("bob", m[1]); code != http.StatusSeeOther {
		t.Fatalf("bob cannot sign in with the generated password: %d", code)
	}
	if !c.srv.Git.Exists("bob") {
		t.Error("bob has no repo")
	}
	// A chosen password: a redirect with a flash; a duplicate is refused.
	resp, _ = b.do("POST", "/admin/users", "", url.Values{"_csrf": {csrf}, "name": {"carol"}, "password": {"carol-password"}, "admin": {"1"}})
	wantRedirect(t, resp, "/")
	if page, _ := b.home(); !strings.Contains(page, "User carol is added") {
		t.Error("no flash after adding carol")
	}
	resp, body = b.do("POST", "/admin/users", "application/json", url.Values{"_csrf": {csrf}, "name": {"carol"}, "password": {"carol-password"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate user = %d %s", resp.StatusCode, body)
	}
	carol := newBrowser(t, c)
	carol.signIn("carol", "carol-password")
	if page, _ := carol.home(); !strings.Contains(page, "Add a user") {
		t.Error("carol was added as an admin but is not one")
	}
}

func TestErrorPagesHTMLOrJSON(t *testing.T) {
	c := startFullCloud(t)
	b := newBrowser(t, c)
	resp, page := b.do("GET", "/no/such/page", "", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page, "<title>Not Found · Gatewave</title>") || !strings.Contains(page, `href="/"`) {
		t.Fatalf("404 for a browser = %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	resp, body := b.do("GET", "/no/such/page", "application/json", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"code":"not_found"`) {
		t.Fatalf("404 for an API client = %d %s", resp.StatusCode, body)
	}
	// A form without its CSRF token.
	resp, page = b.do("POST", "/signin", "", url.Values{"name": {"alice"}, "password": {"alice-password"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "CSRF") {
		t.Fatalf("sign-in without CSRF = %d\n%s", resp.StatusCode, page)
	}
	b.signIn("alice", "alice-password")
	resp, page = b.do("POST", "/signout", "", url.Values{})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "This form has expired") {
		t.Fatalf("sign-out without CSRF = %d\n%s", resp.StatusCode, page)
	}
	resp, body = b.do("POST", "/signout", "application/json", url.Values{})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"csrf"`) {
		t.Fatalf("sign-out without CSRF (API) = %d %s", resp.StatusCode, body)
	}
	// Someone else's (or no) session: a readable 404.
	resp, page = b.do("GET", "/api/v1/sessions/AAAAAAAAAAAAAAAA", "", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "no such session") {
		t.Fatalf("unknown session for a browser = %d\n%s", resp.StatusCode, page)
	}
}
