// Package privdrop makes sessiond give up root inside a session container
// once its sockets are bound and its token read: from then on sessiond and
// everything it starts for the user (shells, builds, language servers) run
// as the unprivileged user, so nothing the user runs can write sessiond's
// control directory or read its token. A process that changed its uid is
// also no longer dumpable, so the user cannot ptrace sessiond or read its
// memory either.
package privdrop

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Parse reads "UID[:GID]" (GID defaults to UID).
func Parse(s string) (uid, gid int, err error) {
	us, gs, ok := strings.Cut(s, ":")
	if uid, err = strconv.Atoi(us); err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("user %q: want UID[:GID]", s)
	}
	gid = uid
	if ok {
		if gid, err = strconv.Atoi(gs); err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("user %q: want UID[:GID]", s)
		}
	}
	if uid == 0 {
		return 0, 0, errors.New("user: refusing to \"drop\" to root")
	}
	return uid, gid, nil
}

// Drop switches every thread of the process to uid and gid with no
// supplementary groups; the kernel clears all capabilities on the way.
// It then checks that root cannot be regained.
func Drop(uid, gid int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop privileges: setgroups: %w", err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("drop privileges: setresgid %d: %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("drop privileges: setresuid %d: %w", uid, err)
	}
	if syscall.Setuid(0) == nil {
		return errors.New("drop privileges: root could be regained")
	}
	if os.Getuid() != uid || os.Geteuid() != uid || os.Getgid() != gid {
		return fmt.Errorf("drop privileges: still uid %d/%d gid %d", os.Getuid(), os.Geteuid(), os.Getgid())
	}
	return nil
}
