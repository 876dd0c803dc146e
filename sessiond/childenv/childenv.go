// Package childenv builds the environment of the processes sessiond starts
// for the user (shells, tasks, language servers): sessiond's own, minus its
// secret and minus what leaks from whatever launched it (a `make run` would
// otherwise make every build print "Entering directory").
package childenv

import (
	"os"
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
