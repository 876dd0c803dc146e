// Package savefmt is what sessiond (which snapshots a workspace inside its
// container) and nodegw (which turns a snapshot into the autosave commit it
// pushes, and restores from it) agree on about a saved workspace.
package savefmt

import (
	"regexp"
	"strings"
)

// Branch is where autosaves go in the user's repo.
const Branch = "ide/autosave"

// SnapshotRef is the ref a snapshot bundle carries its snapshot commit
// under: a commit whose tree is the working tree and whose message records
// HEAD, the index and the local refs.
const SnapshotRef = "refs/gatewave/snapshot"

// TrailerSnapshot, in an autosave commit's message, names the snapshot
// commit it records (the autosave's tree is the snapshot's tree).
const TrailerSnapshot = "Gatewave-Snapshot"

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// ValidCommit reports whether s is a full commit id.
func ValidCommit(s string) bool { return shaRE.MatchString(s) }

// SnapshotOf returns the snapshot an autosave commit's message names, or
// "" for an autosave made before snapshots (a bare tree of the workspace).
func SnapshotOf(msg string) string {
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(line, TrailerSnapshot+": "); ok && ValidCommit(strings.TrimSpace(v)) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// AutosaveMessage is the message of the autosave commit recording snapshot.
func AutosaveMessage(title, snapshot string) string {
	return title + "\n\n" + TrailerSnapshot + ": " + snapshot + "\n"
}
