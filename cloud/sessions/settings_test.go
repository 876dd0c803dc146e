package sessions_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/internal/dbtest"
	"gatewave.dev/cloud/schema"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

// The IDE's settings are the user's: the cloud answers them from
// PostgreSQL for the session's owner. A second session of the same user
// sees them, another user never does, a foreign page cannot change them,
// and none of it reaches the container (whatever answers behind its
// socket is never asked for, nor told, a user's settings).
func TestSettingsPerUser(t *testing.T) {
	e := newEnv(t, envOpts{})
	alice, bob := e.addUser(t, "alice"), e.addUser(t, "bob")
	alice.signIn(t)
	bob.signIn(t)
	n := e.startScripted("node-1", "", nil)
	n.set(container(ctrA, "standard", fleetproto.PoolIdle, ""), container(ctrB, "standard", fleetproto.PoolIdle, ""))
	e.waitIdleInDB(t, 2)
	as, bs := alice.mustAllocate(t), bob.mustAllocate(t)
	origin := "http://" + e.addr
	put := func(u *user, url, body string, hdr map[string]string) (int, string) {
		t.Helper()
		h := map[string]string{"Origin": origin, "Content-Type": "application/json"}
		for k, v := range hdr {
			if v == "" {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
		resp, b := u.do(t, http.MethodPut, url, strings.NewReader(body), h)
		return resp.StatusCode, string(b)
	}
	get := func(u *user, url string) (int, string) {
		t.Helper()
		resp, b := u.do(t, http.MethodGet, url, nil, nil)
		return resp.StatusCode, string(b)
	}
	const defaults = `{"theme":"dark","fontSize":13,"tabSize":4}`
	const mine = `{"theme":"light","fontSize":18,"tabSize":2}`

	if code, b := get(alice, as.URL+"api/v1/settings"); code != 200 || b != defaults {
		t.Fatalf("alice's first GET: %d %s", code, b)
	}
	if code, b := put(alice, as.URL+"api/v1/settings", mine, nil); code != 200 || b != mine {
		t.Fatalf("alice's PUT: %d %s", code, b)
	}
	if code, b := get(alice, as.URL+"api/v1/settings"); code != 200 || b != mine {
		t.Fatalf("alice's GET after PUT: %d %s", code, b)
	}
	var stored string
	if err := e.db.QueryRow(context.Background(), `SELECT s.settings::text FROM user_settings s JOIN users u ON u.id = s.user_id WHERE u.name = 'alice'`).Scan(&stored); err != nil {
		t.Fatalf("alice's row: %v", err)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(stored), &row); err != nil || row["theme"] != "light" || row["fontSize"] != 18.0 || row["tabSize"] != 2.0 {
		t.Fatalf("alice's row holds %s", stored)
	}

	// Bob sees his own (the defaults), and his PUT leaves alice's alone.
	if code, b := get(bob, bs.URL+"api/v1/settings"); code != 200 || b != defaults {
		t.Fatalf("bob's GET: %d %s", code, b)
	}
	if code, b := put(bob, bs.URL+"api/v1/settings", `{"theme":"high-contrast","fontSize":24,"tabSize":8}`, nil); code != 200 {
		t.Fatalf("bob's PUT: %d %s", code, b)
	}
	if code, b := get(alice, as.URL+"api/v1/settings"); b != mine {
		t.Fatalf("alice's settings after bob's PUT: %d %s", code, b)
	}
	// Bob cannot reach alice's through her session.
	if code, b := get(bob, as.URL+"api/v1/settings"); code != http.StatusForbidden || strings.Contains(b, "light") {
		t.Fatalf("bob GETs alice's session's settings: %d %s", code, b)
	}
	if code, _ := put(bob, as.URL+"api/v1/settings", defaults, nil); code != http.StatusForbidden {
		t.Fatalf("bob PUTs alice's session's settings: %d", code)
	}

	refused := []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
		says   string
	}{
		{"foreign origin", defaults, map[string]string{"Origin": "http://evil.example"}, 403, "evil.example"},
		{"origin on another port", defaults, map[string]string{"Origin": "http://127.0.0.1:1"}, 403, "not allowed"},
		{"no origin", defaults, map[string]string{"Origin": ""}, 403, "no Origin"},
		{"null origin", defaults, map[string]string{"Origin": "null"}, 403, "no Origin"},
		{"cross-site fetch", defaults, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
		{"form body", "theme=light", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"text body", defaults, map[string]string{"Content-Type": "text/plain"}, 415, "application/json"},
		{"unknown field", `{"theme":"light","fontSize":18,"tabSize":2,"x":1}`, nil, 400, `unknown setting "x"`},
		{"bad theme", `{"theme":"neon","fontSize":18,"tabSize":2}`, nil, 400, `theme "neon"`},
		{"font size", `{"theme":"light","fontSize":7,"tabSize":2}`, nil, 400, "fontSize 7"},
		{"too large", `{"theme":"light","fontSize":18,"tabSize":2,"x":"` + strings.Repeat("a", 8<<10) + `"}`, nil, 413, "larger than"},
	}
	for _, tt := range refused {
		code, b := put(alice, as.URL+"api/v1/settings", tt.body, tt.hdr)
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal([]byte(b), &e)
		if code != tt.status || !strings.Contains(e.Error.Message, tt.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tt.name, code, b, tt.status, tt.says)
		}
	}
	if _, b := get(alice, as.URL+"api/v1/settings"); b != mine {
		t.Fatalf("alice's settings after refused PUTs: %s", b)
	}

	// A new session after signing out again opens with them.
	alice.signOut(t)
	alice.signIn(t)
	code, as2 := alice.allocate(t)
	if code >= 300 || as2.ID == as.ID {
		t.Fatalf("alice's second session: %d %+v", code, as2)
	}
	if code, b := get(alice, as2.URL+"api/v1/settings"); code != 200 || b != mine {
		t.Fatalf("alice's second session (%s): %d %s", as2.State, code, b)
	}

	for _, r := range n.gotRequests() {
		if strings.Contains(r.uri, "settings") {
			t.Fatalf("%s %s reached container %s", r.method, r.uri, r.container)
		}
	}
}

// The user_settings migration goes down and up again; a user's row goes
// with the user.
func TestSettingsMigration(t *testing.T) {
	u := dbtest.Empty(t, false)
	ctx := testenv.Context(t, testenv.WaitLong)
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m, err := schema.New(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	has := func() bool {
		var ok bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('public.user_settings') IS NOT NULL`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if !has() {
		t.Fatal("no user_settings table after up")
	}
	var uid int64
	if err := pool.QueryRow(ctx, `INSERT INTO users (name, password_hash) VALUES ('carol', '$argon2id$x') RETURNING id`).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO user_settings (user_id, settings) VALUES ($1, '{"theme":"light"}')`, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO user_settings (user_id, settings) VALUES ($1, '[1]')`, uid+1); err == nil {
		t.Fatal("a row for no user (and not an object) was stored")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, uid); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM user_settings`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows left after the user went: %d %v", n, err)
	}
	if err := m.DownTo(ctx, 103); err != nil {
		t.Fatal(err)
	}
	if has() {
		t.Fatal("user_settings left after down")
	}
	if _, err := m.Up(ctx); err != nil || !has() {
		t.Fatalf("up again: %v", err)
	}
}
