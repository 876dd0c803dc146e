// Package accounts is the cloud's users and sign-in: argon2id password
// hashes, browser sessions in HTTP-only SameSite cookies whose tokens are
// stored hashed in PostgreSQL, CSRF protection for forms, and a sign-in rate
// limit kept in PostgreSQL so that it holds across cloud replicas.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
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
}

// Errors callers switch on.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrUserExists     = errors.New("user already exists")
	ErrNoSession      = errors.New("not signed in")
)

// RateLimitedError is returned while sign-in is refused for too many failures.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; try again in %s", e.RetryAfter.Round(time.Second))
}

// RateLimit bounds failed sign-ins within a sliding window.
type RateLimit struct {
	// PerUser is the failures allowed for one user name; 0 means 5.
	PerUser int
	// PerIP is the failures allowed from one client address; 0 means 30.
	PerIP int
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
	// SecureCookies marks cookies Secure (HTTPS only); false for plain
	// http on localhost.
	SecureCookies bool
	// RateLimit bounds failed sign-ins; zero means defaults.
	RateLimit RateLimit
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AfterSignIn is where a successful sign-in goes; "" means "/".
	AfterSignIn string
	// OnSignOut runs after a user signs out (the session service ends
	// their IDE session with an autosave); errors are logged.
	OnSignOut func(ctx context.Context, u User) error
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Accounts manages users and browser sessions.
type Accounts struct {
	opts Options
	db   *pgxpool.Pool
	log  *slog.Logger
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
	return &Accounts{opts: opts, db: opts.DB, log: opts.Logger}, nil
}

// AddUser creates a user; this is `cloud user add NAME` (password from stdin
// through ReadPassword). Names follow githost.ValidOwner since each user
// owns a repo of that name.
func (a *Accounts) AddUser(ctx context.Context, name, password string) (User, error) {
	if !githost.ValidOwner(name) {
		return User{}, fmt.Errorf("add user: invalid name %q (lower-case letters, digits, '.', '_', '-')", name)
	}
	if len(password) < MinPasswordLen {
		return User{}, fmt.Errorf("add user: password must be at least %d characters", MinPasswordLen)
	}
	hash, err := HashPassword(password, a.opts.Argon2)
	if err != nil {
		return User{}, err
	}
	var u User
	err = a.db.QueryRow(ctx, `INSERT INTO users (name, password_hash) VALUES ($1, $2) RETURNING id, name, created_at`,
		name, hash).Scan(&u.ID, &u.Name, &u.CreatedAt)
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
	hash, err := HashPassword(password, a.opts.Argon2)
	if err != nil {
		return err
	}
	tag, err := a.db.Exec(ctx, `WITH u AS (UPDATE users SET password_hash = $2 WHERE name = $1 RETURNING id)
		DELETE FROM web_sessions WHERE user_id IN (SELECT id FROM u)`, name, hash)
	if err != nil {
		return fmt.Errorf("set password for %q: %w", name, err)
	}
	_ = tag
	return nil
}

// UserByName looks a user up.
func (a *Accounts) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	err := a.db.QueryRow(ctx, `SELECT id, name, created_at FROM users WHERE name = $1`, name).Scan(&u.ID, &u.Name, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", name, ErrBadCredentials)
	}
	return u, err
}

// dummyHash is verified for unknown users so that a wrong name costs as
// much time as a wrong password.
var dummyHash, _ = HashPassword("not a password", Argon2Params{})

// Authenticate checks name and password, counting failures against both the
// name and the client address ip. While either is over its limit it returns
// a *RateLimitedError without looking at the password.
func (a *Accounts) Authenticate(ctx context.Context, name, password, ip string) (User, error) {
	rl := a.opts.RateLimit
	now := a.opts.Now()
	// Attempts on one name are serialized (across replicas, by an advisory
	// lock held until the failure is recorded), so parallel guesses cannot
	// all pass the count before any of them is written.
	tx, err := a.db.Begin(ctx)
	if err != nil {
		return User{}, fmt.Errorf("sign-in: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "gatewave signin user:"+name); err != nil {
		return User{}, fmt.Errorf("sign-in lock: %w", err)
	}
	since := now.Add(-rl.Window)
	keys := []struct {
		key   string
		limit int
	}{{"user:" + name, rl.PerUser}, {"ip:" + ip, rl.PerIP}}
	for _, k := range keys {
		var n int
		var oldest *time.Time
		if err := tx.QueryRow(ctx, `SELECT count(*), min(at) FROM signin_failures WHERE key = $1 AND at > $2`, k.key, since).Scan(&n, &oldest); err != nil {
			return User{}, fmt.Errorf("read sign-in failures: %w", err)
		}
		if n >= k.limit {
			retry := rl.Window
			if oldest != nil {
				retry = oldest.Add(rl.Window).Sub(now)
			}
			return User{}, &RateLimitedError{RetryAfter: max(retry, time.Second)}
		}
	}
	var u User
	var hash string
	err = tx.QueryRow(ctx, `SELECT id, name, created_at, password_hash FROM users WHERE name = $1`, name).Scan(&u.ID, &u.Name, &u.CreatedAt, &hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("look up user: %w", err)
	}
	found := err == nil
	if !found {
		hash = dummyHash
	}
	ok, verr := VerifyPassword(hash, password)
	if verr != nil {
		a.log.Error("stored password hash unreadable", "user", name, "err", verr)
	}
	if found && ok && verr == nil {
		// A success forgives the name's earlier failures (not the address's).
		if _, err := tx.Exec(ctx, `DELETE FROM signin_failures WHERE key = $1`, "user:"+name); err != nil {
			a.log.Warn("clear sign-in failures", "err", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return User{}, fmt.Errorf("sign-in: %w", err)
		}
		return u, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO signin_failures (key, at) VALUES ($1, $3), ($2, $3)`, "user:"+name, "ip:"+ip, now); err != nil {
		return User{}, fmt.Errorf("record sign-in failure: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return User{}, fmt.Errorf("record sign-in failure: %w", err)
	}
	// Keep the table small: drop what no window can count any more.
	if _, err := a.db.Exec(ctx, `DELETE FROM signin_failures WHERE at < $1`, since.Add(-rl.Window)); err != nil {
		a.log.Warn("prune sign-in failures", "err", err)
	}
	return User{}, ErrBadCredentials
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
		RETURNING u.id, u.name, u.created_at`, hashToken(token), a.opts.Now()).Scan(&u.ID, &u.Name, &u.CreatedAt)
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
// password, through the same rate limit as the sign-in page.
func (a *Accounts) GitAuthorizer(ipOf func(ctx context.Context) string) githost.Authorizer {
	return func(ctx context.Context, owner, username, password string, push bool) error {
		if username != owner {
			return githost.ErrUnauthorized
		}
		ip := ""
		if ipOf != nil {
			ip = ipOf(ctx)
		}
		if _, err := a.Authenticate(ctx, username, password, ip); err != nil {
			var rl *RateLimitedError
			if errors.Is(err, ErrBadCredentials) || errors.As(err, &rl) {
				return fmt.Errorf("%w: %v", githost.ErrUnauthorized, err)
			}
			return err
		}
		return nil
	}
}
