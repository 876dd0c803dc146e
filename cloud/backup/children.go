package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// pgConn is a DATABASE_URL split in two: what a libpq child may show in
// its argv (the URL without a password) and the password, which it gets
// through PGPASSWORD only.
type pgConn struct {
	dsn      string
	password string
}

// parseConn accepts postgres:// and postgresql:// URLs. Its errors never
// quote the URL, which holds the password.
func parseConn(raw string) (pgConn, error) {
	if raw == "" {
		return pgConn{}, errors.New("no database URL: set DATABASE_URL")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return pgConn{}, errors.New("DATABASE_URL is not a postgres:// URL")
	}
	var c pgConn
	if u.User != nil {
		c.password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	// A query Go cannot parse is refused: the pairs it skips (a bad
	// escape, a ';') could hold the password, which would then stay in
	// the child's argv and in libpq's error about them.
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return pgConn{}, errors.New("DATABASE_URL's query is malformed (a bad %-escape or a ';')")
	}
	if pw := q.Get("password"); pw != "" {
		c.password = pw
	}
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	c.dsn = u.String()
	return c, nil
}

// childEnv is the whole environment of a child: PATH and what the caller
// adds. Nothing else of ours is inherited, so the admin, internal and
// object-store secrets (and DATABASE_URL itself) never reach a child.
func childEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}, extra...)
}

// pgEnv is a libpq child's environment for c.
func (c pgConn) env() []string {
	extra := []string{"PGAPPNAME=gatewave-backup", "PGCONNECT_TIMEOUT=30"}
	if c.password != "" {
		extra = append(extra, "PGPASSWORD="+c.password)
	}
	return childEnv(extra...)
}

// gitEnv keeps git away from any system or user configuration. The
// repos are the cloud's own (users reach them only through smart HTTP,
// which runs no hooks of theirs and writes no config), so a backup job
// running as another user than the cloud may read them: safe.directory
// given in the environment counts as command-line configuration.
func gitEnv() []string {
	return childEnv("GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=/nonexistent",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*")
}

// run runs bin with args and env in dir and returns its trimmed stdout.
func run(ctx context.Context, env []string, dir, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return "", fmt.Errorf("%s %s: %w: %s", bin, args[0], err, msg)
	}
	return strings.TrimSpace(out.String()), nil
}
