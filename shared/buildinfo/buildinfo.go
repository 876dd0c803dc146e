// Package buildinfo holds the release version every Gatewave binary is
// built with. The Makefile stamps it from the VERSION file at the root:
//
//	go build -ldflags "-X gatewave.dev/shared/buildinfo.Version=$(cat VERSION)"
//
// A binary built without the stamp (go test, go run) reports "dev".
package buildinfo

// Version is the release this binary was built from, "dev" when unstamped.
var Version = "dev"

// Matches reports whether a peer's version is the same release as ours.
// "dev" builds match anything: a developer's tree has no release to
// compare.
func Matches(peer string) bool {
	return Version == "dev" || peer == "dev" || peer == Version
}
