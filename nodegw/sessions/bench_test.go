//go:build linux

package sessions

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gatewave.dev/nodegw/pool"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/testenv"
)

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p+0.5)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// claimTimes claims idle containers of n one after another, timing the
// claim command (the restore included) until sessiond answers through the
// node's side of the tunnel: what a user waits for once a container is
// assigned. Each container is discarded after.
func claimTimes(tb testing.TB, n *node, repo string, rounds int, tag string) []time.Duration {
	var out []time.Duration
	for i := range rounds {
		var id string
		n.waitFor("an idle container", func() bool {
			for _, c := range n.pool.Snapshot() {
				if c.State == pool.Idle {
					id = c.ID
					return true
				}
			}
			return false
		})
		args, _ := json.Marshal(fleetproto.ClaimArgs{Container: id, Session: fmt.Sprintf("bench-%s-%d-%d", tag, i, time.Now().UnixNano()%1e6),
			Repo: fleetproto.Repo{URL: repo}})
		start := time.Now()
		if _, err := n.svc.claim(testenv.Context(tb, testenv.WaitLong), &fleetproto.Command{Args: args}); err != nil {
			tb.Fatalf("claim: %v", err)
		}
		c, _ := n.pool.Get(id)
		if got := n.ask(c, "/api/v1/files?path=."); got == "" {
			tb.Fatal("sessiond did not answer after the claim")
		}
		out = append(out, time.Since(start))
		if err := n.pool.Discard(id); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// BenchmarkSessionStart compares the hardened container with the flags
// from before hardening (root user processes with Docker's default
// capabilities, writable root file system, a plain Docker volume), in the
// same run, interleaved: a session's start (claim, restore of the repo,
// first answer), p50 and p99, and a container's cold start (create to
// healthy, the workspace disk included), p50.
func BenchmarkSessionStart(b *testing.B) {
	repo := origin(b)
	hard := newNode(b, 3, nil)
	soft := newNode(b, 3, func(o *pool.Options) { o.Unhardened = true })
	var th, ts []time.Duration
	for range b.N {
		for range 4 {
			th = append(th, claimTimes(b, hard, repo, 3, "h")...)
			ts = append(ts, claimTimes(b, soft, repo, 3, "s")...)
		}
	}
	hard.waitFor("the hardened pool to refill", func() bool { return hard.pool.Counts()[pool.Idle] == 3 })
	soft.waitFor("the unhardened pool to refill", func() bool { return soft.pool.Counts()[pool.Idle] == 3 })
	b.ReportMetric(ms(percentile(th, 0.5)), "start_hardened_p50_ms")
	b.ReportMetric(ms(percentile(th, 0.99)), "start_hardened_p99_ms")
	b.ReportMetric(ms(percentile(ts, 0.5)), "start_unhardened_p50_ms")
	b.ReportMetric(ms(percentile(ts, 0.99)), "start_unhardened_p99_ms")
	b.ReportMetric(float64(percentile(th, 0.5))/float64(percentile(ts, 0.5)), "start_p50_ratio_vs_unhardened")
	b.ReportMetric(float64(percentile(th, 0.99))/float64(percentile(ts, 0.99)), "start_p99_ratio_vs_unhardened")
	hard.smu.Lock()
	soft.smu.Lock()
	defer hard.smu.Unlock()
	defer soft.smu.Unlock()
	if len(hard.starts) > 0 && len(soft.starts) > 0 {
		ch, cs := percentile(hard.starts, 0.5), percentile(soft.starts, 0.5)
		b.ReportMetric(ms(ch), "cold_hardened_p50_ms")
		b.ReportMetric(ms(cs), "cold_unhardened_p50_ms")
		b.ReportMetric(float64(ch)/float64(cs), "cold_p50_ratio_vs_unhardened")
	}
}

// BenchmarkResume50MB measures resuming a workspace holding 50 MB of
// saved, uncommitted work: each claim restores it from the user's
// ide/autosave into a fresh container. Target: p99 under 500 ms. The node
// prepares the resume of a save when the session ends; a node that never
// saw the repo (resume_cold_ms) first mirrors it and builds that.
func BenchmarkResume50MB(b *testing.B) {
	repo := origin(b)
	// A standard container has 4 cores; this machine has 2.
	big := func(o *pool.Options) {
		for i := range o.Classes {
			o.Classes[i].CPUs, o.Classes[i].MemoryBytes, o.Classes[i].DiskBytes = 2, 1<<30, 512<<20
		}
	}
	n := newNode(b, 2, big)
	c, _ := n.claim("bench-seed-1", repo)
	n.term(c, `cd /workspace && mkdir -p data && for i in $(seq 1 50); do head -c 1048576 /dev/urandom > data/f$i.bin; done`)
	n.release(c)
	n.waitFor("the node to prepare the resume", func() bool {
		idx, _ := filepath.Glob(filepath.Join(n.dir, "git", "resume", "*.idx"))
		builds, _ := filepath.Glob(filepath.Join(n.dir, "git", "resume", "build-*"))
		return len(idx) > 1 && len(builds) == 0 // the seed's first checkout, then the save
	})
	var ds []time.Duration
	for range b.N {
		ds = append(ds, claimTimes(b, n, repo, 10, "r")...)
	}
	b.ReportMetric(ms(percentile(ds, 0.5)), "resume_p50_ms")
	b.ReportMetric(ms(percentile(ds, 0.99)), "resume_p99_ms")
	cold := newNode(b, 1, big)
	b.ReportMetric(ms(claimTimes(b, cold, repo, 1, "c")[0]), "resume_cold_ms")
}
