package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Schedule says when the daemon takes backups: daily at a UTC time of
// day, or every fixed interval.
type Schedule struct {
	// At is the time of day (UTC) as an offset from midnight; used when
	// Every is 0.
	At time.Duration
	// Every, when set, takes a backup that long after the previous one
	// (the first one that long after the daemon starts).
	Every time.Duration
}

// ParseSchedule reads --schedule HH:MM (UTC) or, when every is not 0,
// --every.
func ParseSchedule(at string, every time.Duration) (Schedule, error) {
	if every != 0 {
		if every < time.Minute {
			return Schedule{}, fmt.Errorf("--every %s: at least 1m", every)
		}
		return Schedule{Every: every}, nil
	}
	t, err := time.Parse("15:04", at)
	if err != nil {
		return Schedule{}, fmt.Errorf("--schedule %q: want HH:MM (UTC)", at)
	}
	return Schedule{At: time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute}, nil
}

// Next is the first run strictly after now.
func (s Schedule) Next(now time.Time) time.Time {
	if s.Every > 0 {
		return now.Add(s.Every)
	}
	now = now.UTC()
	y, mo, d := now.Date()
	next := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Add(s.At)
	if !next.After(now) {
		next = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC).Add(s.At)
	}
	return next
}

func (s Schedule) String() string {
	if s.Every > 0 {
		return "every " + s.Every.String()
	}
	return fmt.Sprintf("daily at %02d:%02d UTC", int(s.At.Hours()), int(s.At.Minutes())%60)
}

// Listed is one file List found; Err says why its manifest is unreadable.
type Listed struct {
	Info
	Err error
}

// List returns the backups in dir, oldest first (names carry the UTC
// time in a fixed layout, so they sort by age), each with its manifest.
func List(dir string) ([]Listed, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []Listed
	for _, e := range ents {
		if !isBackupName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		l := Listed{Info: Info{Path: filepath.Join(dir, e.Name())}}
		if st, err := e.Info(); err == nil {
			l.Size = st.Size()
		}
		l.Manifest, l.Err = ReadManifest(l.Path)
		out = append(out, l)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

func isBackupName(name string) bool {
	ts, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return false
	}
	ts, ok = strings.CutSuffix(ts, Suffix)
	if !ok {
		return false
	}
	_, err := time.Parse(timeLayout, ts)
	return err == nil
}

// Prune deletes all but the newest keep backups in dir and returns what
// it deleted. Only files named as Run names them are touched.
func Prune(dir string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("keep %d: at least 1", keep)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("prune backups: %w", err)
	}
	var names []string
	for _, e := range ents {
		if isBackupName(e.Name()) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var removed []string
	for len(names) > keep {
		p := filepath.Join(dir, names[0])
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("prune %s: %w", p, err)
		}
		removed = append(removed, p)
		names = names[1:]
	}
	return removed, nil
}

// DaemonOptions configure Daemon.
type DaemonOptions struct {
	Options
	Schedule Schedule
	// Keep is how many backups to keep; 0 means 7.
	Keep int
}

// Once takes a backup and, only if it succeeded, prunes to keep.
func Once(ctx context.Context, opts DaemonOptions) (Info, error) {
	if opts.Keep == 0 {
		opts.Keep = 7
	}
	if err := opts.defaults("pg_dump", "git"); err != nil {
		return Info{}, err
	}
	inf, err := Run(ctx, opts.Options)
	if err != nil {
		return inf, err
	}
	removed, err := Prune(opts.Dir, opts.Keep)
	for _, p := range removed {
		opts.Logger.Info("old backup deleted", "file", p, "keep", opts.Keep)
	}
	return inf, err
}

// Daemon takes backups on opts.Schedule until ctx ends, then returns nil.
// A failed backup is logged and retried at the next scheduled time; the
// existing ones stay. Temporary files left in Dir by a crash are removed
// at start.
func Daemon(ctx context.Context, opts DaemonOptions) error {
	if opts.Keep == 0 {
		opts.Keep = 7
	}
	if opts.Keep < 1 {
		return fmt.Errorf("--keep %d: at least 1", opts.Keep)
	}
	if err := opts.defaults("pg_dump", "git"); err != nil {
		return err
	}
	if err := opts.needDataDir(); err != nil {
		return err
	}
	if opts.Dir == "" {
		return errors.New("no backup dir: set --dir")
	}
	if _, err := parseConn(opts.DatabaseURL); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	removeStale(opts)
	log := opts.Logger
	log.Info("backup daemon started", "dir", opts.Dir, "schedule", opts.Schedule.String(), "keep", opts.Keep)
	for {
		next := opts.Schedule.Next(opts.Now())
		log.Info("next backup", "at", next.UTC().Format(time.RFC3339))
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			log.Info("backup daemon stopped")
			return nil
		case <-t.C:
		}
		if _, err := Once(ctx, opts); err != nil {
			if ctx.Err() != nil {
				log.Info("backup daemon stopped during a backup; nothing of it was kept")
				return nil
			}
			log.Error("backup failed; the existing backups are kept", "err", err)
		}
	}
}

// removeStale deletes what an interrupted Run left in Dir.
func removeStale(opts DaemonOptions) {
	ents, err := os.ReadDir(opts.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if (strings.HasPrefix(n, ".gatewave-") && strings.HasSuffix(n, ".tmp")) || strings.HasPrefix(n, ".work-") {
			p := filepath.Join(opts.Dir, n)
			if err := os.RemoveAll(p); err == nil {
				opts.Logger.Info("removed an interrupted backup's temporary file", "file", p)
			}
		}
	}
}
