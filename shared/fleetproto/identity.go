package fleetproto

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// GitIdentity is who a session's commits are by: the account's name and
// an address for it. The node hands it to sessiond at the restore, which
// records it as user.name and user.email in the workspace's repository
// (unless the repository already says who the user is).
type GitIdentity struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Bounds of a GitIdentity's fields.
const (
	MaxGitName  = 128
	MaxGitEmail = 254
)

// Validate reports whether both fields may go into a git config value as
// they are: non-empty, bounded, UTF-8 without control characters, no
// angle brackets (git's own delimiters of an ident), not starting with
// "-" (never read as an option); an email has one "@" and no spaces.
func (g GitIdentity) Validate() error {
	if err := identField("name", g.Name, MaxGitName); err != nil {
		return err
	}
	if err := identField("email", g.Email, MaxGitEmail); err != nil {
		return err
	}
	if strings.Count(g.Email, "@") != 1 || strings.ContainsFunc(g.Email, unicode.IsSpace) {
		return fmt.Errorf("git identity: email %q is not an address", g.Email)
	}
	return nil
}

func identField(what, s string, max int) error {
	switch {
	case s == "" || strings.TrimSpace(s) != s:
		return fmt.Errorf("git identity: %s is empty or has surrounding space", what)
	case len(s) > max:
		return fmt.Errorf("git identity: %s is longer than %d bytes", what, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("git identity: %s is not UTF-8", what)
	case strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '<' || r == '>' || r == '\u2028' || r == '\u2029'
	}):
		return fmt.Errorf("git identity: %s %q has a control character or an angle bracket", what, s)
	case strings.HasPrefix(s, "-"):
		return errors.New("git identity: " + what + " starts with \"-\"")
	}
	return nil
}
