//go:build !linux

package reaper

import (
	"context"
	"time"
)

// Proc is one process; other systems have no /proc to read.
type Proc struct {
	PID, PPID int
	State     string
	Start     uint64
	Comm      string
}

// Alive is always false where processes cannot be inspected.
func (p Proc) Alive() bool { return false }

// BecomeSubreaper is Linux-only; elsewhere it does nothing.
func BecomeSubreaper() error { return nil }

// Descendants is Linux-only; elsewhere it finds nothing.
func Descendants(pid int) ([]Proc, error) { return nil, nil }

// KillDescendants is Linux-only; elsewhere it does nothing.
func KillDescendants(ctx context.Context, grace time.Duration) ([]Proc, error) { return nil, nil }

// ReapOrphans has nothing to do where there is no subreaper.
func ReapOrphans(ctx context.Context, interval time.Duration) { <-ctx.Done() }
