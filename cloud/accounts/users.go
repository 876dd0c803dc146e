package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ListUsers returns every user, by name.
func (a *Accounts) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := a.db.Query(ctx, `SELECT id, name, created_at, is_admin FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		var u User
		err := r.Scan(&u.ID, &u.Name, &u.CreatedAt, &u.Admin)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SetAdmin makes a user an admin, or not.
func (a *Accounts) SetAdmin(ctx context.Context, name string, admin bool) error {
	tag, err := a.db.Exec(ctx, `UPDATE users SET is_admin = $2 WHERE name = $1`, name, admin)
	if err != nil {
		return fmt.Errorf("set admin %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set admin %q: %w", name, ErrBadCredentials)
	}
	return nil
}

// ChangePassword replaces u's password after checking the current one from
// the client address ip, through the sign-in rate limit (so it is no
// oracle for guessing), and ends every other browser session of u: all but
// the one whose token is keep.
func (a *Accounts) ChangePassword(ctx context.Context, u User, current, next, keep, ip string) error {
	if len(next) < MinPasswordLen {
		return fmt.Errorf("%w: the new password must be at least %d characters", ErrWeakPassword, MinPasswordLen)
	}
	if _, err := a.Authenticate(ctx, u.Name, current, ip); err != nil {
		return err
	}
	hash, err := a.hash(ctx, next)
	if err != nil {
		return err
	}
	defer a.basic.forget(u.Name)
	return pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, hash); err != nil {
			return fmt.Errorf("change password of %q: %w", u.Name, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = $1 AND token_hash <> $2`, u.ID, hashToken(keep)); err != nil {
			return fmt.Errorf("end other sessions of %q: %w", u.Name, err)
		}
		return nil
	})
}

// GeneratePassword returns a random password (144 bits) for a new user.
func GeneratePassword() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
