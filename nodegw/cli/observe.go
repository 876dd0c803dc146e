package cli

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/nodegw/metrics"
	"gatewave.dev/nodegw/pool"
	"gatewave.dev/nodegw/stats"
	"gatewave.dev/shared/fleetproto"
)

// observeOptions say what the node reports of itself: live stats to the
// cloud (the operator dashboard) and, with MetricsListen, Prometheus
// metrics on loopback.
type observeOptions struct {
	// Docker is the pool's dockerd; nil reports the machine only.
	Docker stats.Docker
	// PoolName selects the pool's containers; Runner the task runner,
	// whose containers are selected by its label (nil: no tasks).
	PoolName string
	Runner   any
	// StatsInterval is how often stats are sampled and sent.
	StatsInterval time.Duration
	// MetricsListen is --metrics-listen; "" serves no metrics.
	MetricsListen string
}

// observe starts the stats sampler, sending each sample over g's link and
// into mx, and the metrics endpoint; both stop with ctx (wg waits).
func observe(ctx context.Context, wg *sync.WaitGroup, g *gateway.Gateway, mx *metrics.Gateway, o observeOptions, log *slog.Logger) error {
	if o.MetricsListen != "" {
		ln, err := metrics.Listen(o.MetricsListen)
		if err != nil {
			return err
		}
		wg.Go(func() {
			if err := mx.Serve(ctx, ln, log); err != nil {
				log.Error("metrics stopped", "err", err)
			}
		})
	}
	if o.StatsInterval < 0 {
		return fmt.Errorf("--stats-interval %v: must not be negative", o.StatsInterval)
	}
	labels := map[string]string{}
	if o.Docker != nil {
		labels[pool.LabelPool+"="+o.PoolName] = fleetproto.StatsSession
		if r, ok := o.Runner.(interface{ ContainerLabel() string }); ok {
			labels[r.ContainerLabel()] = fleetproto.StatsTask
		}
	}
	s := stats.New(stats.Options{Docker: o.Docker, Labels: labels, Interval: o.StatsInterval, Logger: log})
	wg.Go(func() {
		s.Run(ctx, func(st *fleetproto.Stats) {
			mx.OnStats(st)
			_ = g.Send(st) // between links a sample is dropped; the next follows
		})
	})
	return nil
}
