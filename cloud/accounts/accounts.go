// Package accounts is the cloud's users and sign-in: argon2id password
// hashes (with bounded concurrency), browser sessions in HTTP-only SameSite
// cookies whose tokens are stored hashed in PostgreSQL, CSRF protection for
// forms, client addresses read through trusted proxies only, and a sign-in
// rate limit per client address and per user name kept in PostgreSQL so
// that it holds across cloud replicas.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/githost"
)

// User is a cloud account.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// Admin users see every user on the home page and add users.
	Admin bool `json:"admin"`
}

// Errors callers switch on.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrUserExists     = errors.New("user already exists")
	ErrNoSession      = errors.New("not signed in")
	ErrWeakPassword   = errors.New("password too short")
	ErrBadName        = errors.New("invalid user name")
)

// RateLimitedError is returned while sign-in is refused for too many failures.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; try again in %s", e.RetryAfter.Round(time.Second))
}

// RateLimit bounds failed sign-ins (and git password checks) within a
// sliding window. It is built so that nobody can lock anybody else out:
//
//   - PerIP stops one client address guessing many names. It counts only
//     that address's failures, so a flood from one address leaves every
//     other address alone.
//   - PerUser stops one address guessing one name. It counts failures on the
//     (name, address) pair, so an attacker spraying a name from their
//     address does not lock the real user out from theirs.
//   - PerName stops guessing one name from many addresses (a botnet). Once
//     a name has had PerName failures in the window from all addresses
//     together, it is under attack: then an address may try that name only
//     while it has no failure at all in the window. Each attacking address
//     gets one guess per window instead of PerUser, while the real user,
//     from an address that has not been failing, still gets their correct
//     password checked and signs in. A lockout can thus never be total: it
//     always holds for failing addresses only, and lasts one window.
type RateLimit struct {
	// PerUser is the failures allowed on one user name from one client
	// address; 0 means 5.
	PerUser int
	// PerIP is the failures allowed from one client address over all
	// names; 0 means 30. IPv6 addresses count per /64.
	PerIP int
	// PerName is the failures on one name from all addresses after which
	// only addresses without failures may try it; 0 means 50.
	PerName int
	// Window is how far back failures count; 0 means 15 minutes.
	Window time.Duration
}

// Options configure Accounts. DB is required.
type Options struct {
	// DB is the cloud database, migrated (migrations 000100_accounts).
	DB *pgxpool.Pool
	// Argon2 are the hashing costs for new passwords; zero means defaults.
	Argon2 Argon2Params
	// SessionTTL is how long a sign-in lasts; 0 means 7 days.
	SessionTTL time.Duration
	// SecureCookies marks every cookie Secure (HTTPS only), as when the
	// public URL is https. When false, a cookie is still Secure on a
	// request that arrived over https: TLS on the socket or
	// X-Forwarded-Proto: https from one of Proxies.
	SecureCookies bool
	// Proxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; nil means none (the socket peer is
	// the client).
	Proxies Proxies
	// RateLimit bounds failed sign-ins; zero means defaults.
	RateLimit RateLimit
	// HashLimit bounds concurrent password hashing; zero means defaults.
	HashLimit HashLimit
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AfterSignIn is where a successful sign-in goes; "" means "/".
	AfterSignIn string
	// OnSignOut runs after a user signs out (the session service ends
	// their IDE session with an autosave); errors are logged.
	OnSignOut func(ctx context.Context, u User) error
	// OnUserAdded runs after an admin added a user on the website (the
	// server creates their repo); an error answers the form with it.
	OnUserAdded func(ctx context.Context, u User) error
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Accounts manages users and browser sessions.
type Accounts struct {
	opts   Options
	db     *pgxpool.Pool
	log    *slog.Logger
	hasher *hasher
	// verified counts password checks, so tests can tell a request was
	// refused before any hashing.
	verified atomic.Int64
	// basic remembers API clients' credentials briefly (RequireAPI).
	basic basicCache
}

// New checks opts and fills defaults.
func New(opts Options) (*Accounts, error) {
	if opts.DB == nil {
		return nil, errors.New("accounts: DB is required")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 7 * 24 * time.Hour
	}
	if opts.RateLimit.PerUser <= 0 {
		opts.RateLimit.PerUser = 5
	}
	if opts.RateLimit.PerIP <= 0 {
		opts.RateLimit.PerIP = 30
	}
	if opts.RateLimit.PerName <= 0 {
		opts.RateLimit.PerName = 50
	}
	if opts.RateLimit.Window <= 0 {
		opts.RateLimit.Window = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AfterSignIn == "" {
		opts.AfterSignIn = "/"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Accounts{opts: opts, db: opts.DB, log: opts.Logger, hasher: newHasher(opts.HashLimit)}, nil
}

// AddUser creates a user; this is `cloud user add NAME` (password from stdin
// through ReadPassword). Names follow githost.ValidOwner since each user
// owns a repo of that name.
func (a *Accounts) AddUser(ctx context.Context, name, password string) (User, error) {
	if !githost.ValidOwner(name) {
		return User{}, fmt.Errorf("add user: %w %q (lower-case letters, digits, '.', '_', '-')", ErrBadName, name)
	}
	if len(password) < MinPasswordLen {
		return User{}, fmt.Errorf("add user: %w: it must be at least %d characters", ErrWeakPassword, MinPasswordLen)
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = a.db.QueryRow(ctx, `INSERT INTO users (name, password_hash) VALUES ($1, $2) RETURNING id, name, created_at, is_admin`,
		name, hash).Scan(&u.ID, &u.Name, &u.CreatedAt, &u.Admin)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return User{}, fmt.Errorf("add user %q: %w", name, ErrUserExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	return u, nil
}

// SetPassword replaces a user's password and signs them out everywhere.
func (a *Accounts) SetPassword(ctx context.Context, name, password string) error {
	if len(password) < MinPasswordLen {
		return fmt.Errorf("set password: must be at least %d characters", MinPasswordLen)
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return err
	}
	tag, err := a.db.Exec(ctx, `WITH u AS (UPDATE users SET password_hash = $2 WHERE name = $1 RETURNING id)
		DELETE FROM web_sessions WHERE user_id IN (SELECT id FROM u)`, name, hash)
	if err != nil {
		return fmt.Errorf("set password for %q: %w", name, err)
	}
	a.basic.forget(name)
	_ = tag
	return nil
}

// UserByName looks a user up.
func (a *Accounts) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	err := a.db.QueryRow(ctx, `SELECT id, name, created_at, is_admin FROM users WHERE name = $1`, name).Scan(&u.ID, &u.Name, &u.CreatedAt, &u.Admin)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrBadCredentials)
	}
	return u, err
}

// dummyHash is verified for unknown users so that a wrong name costs as
// much time as a wrong password.
var dummyHash, _ = HashPassword("not a password", Argon2Params{})

func (a *Accounts) hash(ctx context.Context, password string) (string, error) {
	var hash string
	var err error
	if lerr := a.hasher.do(ctx, func() { hash, err = HashPassword(password, a.opts.Argon2) }); lerr != nil {
		return "", lerr
	}
	return hash, err
}

// Keys of signin_failures rows; each failure writes all three.
func failureKeys(name, ip string) (byIP, byName, byPair string) {
	return "ip:" + ip, "user:" + name, "user-ip:" + name + " " + ip
}

// Authenticate checks name and password from the client address ip,
// counting failures as RateLimit describes. While a limit holds it returns
// a *RateLimitedError without looking at the password; when every hashing
// slot is busy it returns ErrBusy.
func (a *Accounts) Authenticate(ctx context.Context, name, password, ip string) (User, error) {
	if !githost.ValidOwner(name) {
		// No such user can exist (names are checked on creation), so
		// there is nothing to guess and nothing worth hashing.
		return User{}, ErrBadCredentials
	}
	if addr, err := netip.ParseAddr(ip); err == nil {
		ip = rateKey(addr)
	} else {
		ip = rateKey(netip.Addr{})
	}
	reserved, err := a.reserveAttempt(ctx, name, ip)
	if err != nil {
		return User{}, err
	}
	// The attempt is already written down as a failure, so parallel
	// guesses see it; it is taken back below if the password is right or
	// never gets checked.
	release := func(alsoPair bool) {
		pair := ""
		if alsoPair {
			_, _, pair = failureKeys(name, ip)
		}
		if _, err := a.db.Exec(context.WithoutCancel(ctx), `DELETE FROM signin_failures WHERE id = ANY($1) OR key = $2`, reserved, pair); err != nil {
			a.log.Warn("clear sign-in failures", "err", err)
		}
	}
	var u User
	var hash string
	err = a.db.QueryRow(ctx, `SELECT id, name, created_at, is_admin, password_hash FROM users WHERE name = $1`, name).Scan(&u.ID, &u.Name, &u.CreatedAt, &u.Admin, &hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		release(false)
		return User{}, fmt.Errorf("look up user: %w", err)
	}
	found := err == nil
	if !found {
		hash = dummyHash
	}
	var ok bool
	var verr error
	if err := a.hasher.do(ctx, func() { ok, verr = VerifyPassword(hash, password) }); err != nil {
		release(false)
		return User{}, err
	}
	a.verified.Add(1)
	if verr != nil {
		a.log.Error("stored password hash unreadable", "user", name, "err", verr)
	}
	if found && ok && verr == nil {
		// A success forgives this address's earlier failures on the name,
		// not the name's failures elsewhere nor the address's on others.
		release(true)
		return u, nil
	}
	// Keep the table small: drop what no window can count any more.
	since := a.opts.Now().Add(-a.opts.RateLimit.Window)
	if _, err := a.db.Exec(ctx, `DELETE FROM signin_failures WHERE at < $1`, since.Add(-a.opts.RateLimit.Window)); err != nil {
		a.log.Warn("prune sign-in failures", "err", err)
	}
	return User{}, ErrBadCredentials
}

// reserveAttempt checks the limits for name from ip and, if they allow an
// attempt, records it as a failure, returning the rows written.
func (a *Accounts) reserveAttempt(ctx context.Context, name, ip string) ([]int64, error) {
	rl := a.opts.RateLimit
	now := a.opts.Now()
	since := now.Add(-rl.Window)
	byIP, byName, byPair := failureKeys(name, ip)
	// Attempts on one name, and from one address, are serialized (across
	// replicas, by advisory locks held until the attempt is recorded), so
	// parallel guesses cannot all pass the count before any is written.
	// Locks are always taken name first, then address, so two attempts
	// never wait on each other in a cycle. Hashing happens after commit:
	// no lock or connection is held while a password is checked.
	tx, err := a.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0)), pg_advisory_xact_lock(hashtextextended($2, 0))`,
		"gatewave signin "+byName, "gatewave signin "+byIP); err != nil {
		return nil, fmt.Errorf("sign-in lock: %w", err)
	}
	var nIP, nName, nPair int
	var oldIP, newIP, oldPair *time.Time
	err = tx.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE key = $1), min(at) FILTER (WHERE key = $1), max(at) FILTER (WHERE key = $1),
			count(*) FILTER (WHERE key = $2),
			count(*) FILTER (WHERE key = $3), min(at) FILTER (WHERE key = $3)
		FROM signin_failures WHERE key IN ($1, $2, $3) AND at > $4`, byIP, byName, byPair, since).
		Scan(&nIP, &oldIP, &newIP, &nName, &nPair, &oldPair)
	if err != nil {
		return nil, fmt.Errorf("read sign-in failures: %w", err)
	}
	// limited waits until the failure at t leaves the window.
	limited := func(t *time.Time) error {
		retry := rl.Window
		if t != nil {
			retry = t.Add(rl.Window).Sub(now)
		}
		return &RateLimitedError{RetryAfter: max(retry, time.Second)}
	}
	switch {
	case nIP >= rl.PerIP:
		return nil, limited(oldIP)
	case nPair >= rl.PerUser:
		return nil, limited(oldPair)
	case nName >= rl.PerName && nIP > 0:
		// Under attack: only addresses with a clean record may try; this
		// one is clean again once its last failure leaves the window.
		return nil, limited(newIP)
	}
	rows, err := tx.Query(ctx, `INSERT INTO signin_failures (key, at) VALUES ($1, $4), ($2, $4), ($3, $4) RETURNING id`, byIP, byName, byPair, now)
	if err != nil {
		return nil, fmt.Errorf("record sign-in attempt: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("record sign-in attempt: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("record sign-in attempt: %w", err)
	}
	return ids, nil
}

func newToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// CreateSession starts a browser session for u and returns its token (the
// cookie value); only its hash is stored.
func (a *Accounts) CreateSession(ctx context.Context, u User) (string, error) {
	tok, h := newToken()
	now := a.opts.Now()
	if _, err := a.db.Exec(ctx, `INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
		h, u.ID, now, now.Add(a.opts.SessionTTL)); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return tok, nil
}

// SessionUser returns the user of a live session token.
func (a *Accounts) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrNoSession
	}
	var u User
	err := a.db.QueryRow(ctx, `UPDATE web_sessions s SET last_seen_at = $2 FROM users u
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.id = s.user_id
		RETURNING u.id, u.name, u.created_at, u.is_admin`, hashToken(token), a.opts.Now()).Scan(&u.ID, &u.Name, &u.CreatedAt, &u.Admin)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("read session: %w", err)
	}
	return u, nil
}

// DeleteSession ends one browser session.
func (a *Accounts) DeleteSession(ctx context.Context, token string) error {
	if _, err := a.db.Exec(ctx, `DELETE FROM web_sessions WHERE token_hash = $1 OR expires_at < $2`, hashToken(token), a.opts.Now()); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// GitAuthorizer lets a user read and push their own repo with their
// password, through the same rate limit as the sign-in page, counted
// against the client address githost.ClientIP finds in ctx.
func (a *Accounts) GitAuthorizer() githost.Authorizer {
	return func(ctx context.Context, owner, username, password string, push bool) error {
		if username != owner {
			return githost.ErrUnauthorized
		}
		if _, err := a.Authenticate(ctx, username, password, githost.ClientIP(ctx)); err != nil {
			var rl *RateLimitedError
			switch {
			case errors.Is(err, ErrBadCredentials), errors.As(err, &rl):
				return fmt.Errorf("%w: %v", githost.ErrUnauthorized, err)
			case errors.Is(err, ErrBusy):
				return errBusy
			}
			return err
		}
		return nil
	}
}
