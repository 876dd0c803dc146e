// Package childenv builds the environment of the processes sessiond starts
// for the user (shells, tasks, language servers): sessiond's own, minus its
// secret and minus what leaks from whatever launched it (a `make run` would
// otherwise make every build print "Entering directory").
package childenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// dropped names never reach a child.
var dropped = []string{
	"SESSIOND_TOKEN", // the API token: children have no business with it
	"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS",
}

// Base returns os.Environ() without the dropped variables and without any
// variable named in also (which the caller sets itself).
func Base(also ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(dropped, name) || slices.Contains(also, name)
	})
}

// LookPath finds name as exec.LookPath does, but in the PATH that env (a
// child's environment) gives, so a program that a workspace's shell.nix
// puts on the child's PATH is found even though sessiond's own PATH lacks
// it. Names with a slash are returned as they are.
func LookPath(env []string, name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v // the last one wins, as in the child
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}
