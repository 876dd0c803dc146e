package objstore

import (
	"fmt"
	"strings"

	"gatewave.dev/shared/fleetproto"
)

// The bucket's layout. Every key the platform writes is made here:
//
//	tasks/<task id>/in/<path>     a task's inputs (nodes pull them)
//	tasks/<task id>/out/<path>    a task's artifacts (nodes push them)
//	users/<user id>/uploads/<name> a user's uploads
//
// A presigned URL names one key, so a node given URLs for its task's keys
// cannot reach another task's.

// MaxKeyLen is S3's limit on a key's length in bytes.
const MaxKeyLen = 1024

// ValidKey reports whether key is a relative, clean path that every S3
// server stores as the same object and that maps to a file inside the
// bucket on a POSIX-backed one: at most MaxKeyLen bytes, and every
// component valid by fleetproto.ValidTaskPath (so no "..", ".", empty
// components, leading or trailing slash, control characters or
// backslashes). Every Store method checks its key with it before sending
// anything.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("objstore: key of %d bytes: want 1 to %d", len(key), MaxKeyLen)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("objstore: key %q: must be relative", key)
	}
	for _, comp := range strings.Split(key, "/") {
		if err := fleetproto.ValidTaskPath(comp); err != nil {
			return fmt.Errorf("objstore: key %q: %w", key, err)
		}
	}
	return nil
}

// TaskPrefix is the prefix of every key of task id (for RemovePrefix).
func TaskPrefix(taskID int64) (string, error) {
	if taskID <= 0 {
		return "", fmt.Errorf("objstore: task id %d: must be positive", taskID)
	}
	return fmt.Sprintf("tasks/%d/", taskID), nil
}

// TaskArtifactKey is the key of artifact path of attempt attempt of
// task taskID: per attempt, so a run given up for lost but still alive
// somewhere cannot overwrite what the next one made. (A task's inputs
// are uploads and earlier artifacts, referred to by their own keys.)
func TaskArtifactKey(taskID int64, attempt int, path string) (string, error) {
	prefix, err := TaskPrefix(taskID)
	if err != nil {
		return "", err
	}
	if attempt <= 0 {
		return "", fmt.Errorf("objstore: task %d: attempt %d: must be positive", taskID, attempt)
	}
	if err := fleetproto.ValidTaskPath(path); err != nil {
		return "", fmt.Errorf("objstore: task %d: %w", taskID, err)
	}
	return checked(fmt.Sprintf("%s%d/out/%s", prefix, attempt, path))
}

// UploadKey is the key of upload name of user userID.
func UploadKey(userID int64, name string) (string, error) {
	if userID <= 0 {
		return "", fmt.Errorf("objstore: user id %d: must be positive", userID)
	}
	if err := fleetproto.ValidTaskPath(name); err != nil {
		return "", fmt.Errorf("objstore: upload of user %d: %w", userID, err)
	}
	return checked(fmt.Sprintf("users/%d/uploads/%s", userID, name))
}

func checked(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return key, nil
}
