// Package metrics is the gateway's Prometheus endpoint (nodegw
// --metrics-listen, off by default): the link's state, heartbeats, the
// warm pool's size by state and the live CPU and memory of the node and
// its containers. It listens on loopback only: the figures name the
// node's containers and sessions, and the endpoint has no token.
//
// prometheus/client_golang, the cloud's metrics library too, writes the
// text exposition format.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gatewave.dev/nodegw/gateway"
	"gatewave.dev/shared/fleetproto"
)

// Gateway holds the gateway's metrics. The zero value is not usable:
// call New.
type Gateway struct {
	reg *prometheus.Registry

	connected    prometheus.Gauge
	connects     prometheus.Counter
	reconnects   prometheus.Counter
	disconnects  prometheus.Counter
	heartbeats   prometheus.Counter
	heartbeatRTT prometheus.Gauge
	pool         *prometheus.GaugeVec
	nodeCPU      prometheus.Gauge
	nodeMem      prometheus.Gauge
	nodeMemTotal prometheus.Gauge
	ctrCPU       *prometheus.GaugeVec
	ctrMem       *prometheus.GaugeVec
	ctrMemLimit  *prometheus.GaugeVec

	mu   sync.Mutex
	ever bool // connected once: later connections are reconnects
}

// New returns the gateway's metrics on a registry of their own.
func New() *Gateway {
	g := &Gateway{
		reg:          prometheus.NewRegistry(),
		connected:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatewave_gateway_connected", Help: "1 while the link to the cloud is up, else 0."}),
		connects:     prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_gateway_connects_total", Help: "Links to the cloud established."}),
		reconnects:   prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_gateway_reconnects_total", Help: "Links established after the first (each one follows a lost link)."}),
		disconnects:  prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_gateway_disconnects_total", Help: "Links lost or connection attempts failed."}),
		heartbeats:   prometheus.NewCounter(prometheus.CounterOpts{Name: "gatewave_gateway_heartbeats_total", Help: "Heartbeats the cloud acknowledged."}),
		heartbeatRTT: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatewave_gateway_heartbeat_rtt_seconds", Help: "Round trip of the latest acknowledged heartbeat."}),
		pool:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gatewave_gateway_pool_containers", Help: "Warm-pool containers by state, as last reported to the cloud."}, []string{"state"}),
		nodeCPU:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatewave_gateway_node_cpu_usage_cores", Help: "Cores in use on the node (latest sample)."}),
		nodeMem:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatewave_gateway_node_memory_usage_bytes", Help: "Memory in use on the node (latest sample)."}),
		nodeMemTotal: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatewave_gateway_node_memory_bytes", Help: "The node's memory."}),
		ctrCPU:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gatewave_gateway_container_cpu_usage_cores", Help: "Cores a pool or task container uses (latest sample)."}, []string{"container", "name", "kind"}),
		ctrMem:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gatewave_gateway_container_memory_usage_bytes", Help: "Memory a pool or task container uses, page cache excluded (latest sample)."}, []string{"container", "name", "kind"}),
		ctrMemLimit:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gatewave_gateway_container_memory_limit_bytes", Help: "A pool or task container's memory limit."}, []string{"container", "name", "kind"}),
	}
	g.reg.MustRegister(g.connected, g.connects, g.reconnects, g.disconnects, g.heartbeats, g.heartbeatRTT, g.pool,
		g.nodeCPU, g.nodeMem, g.nodeMemTotal, g.ctrCPU, g.ctrMem, g.ctrMemLimit)
	for _, s := range poolStates {
		g.pool.WithLabelValues(s)
	}
	return g
}

var poolStates = []string{fleetproto.PoolStarting, fleetproto.PoolIdle, fleetproto.PoolClaimed, fleetproto.PoolRecovering, fleetproto.PoolDestroying, fleetproto.PoolFailed}

// OnEvent follows the gateway's events (gateway.Options.OnEvent).
func (g *Gateway) OnEvent(e gateway.Event) {
	switch e.Kind {
	case "connected":
		g.mu.Lock()
		again := g.ever
		g.ever = true
		g.mu.Unlock()
		g.connected.Set(1)
		g.connects.Inc()
		if again {
			g.reconnects.Inc()
		}
	case "disconnected":
		g.connected.Set(0)
		g.disconnects.Inc()
	case "heartbeat_ack":
		g.heartbeats.Inc()
		g.heartbeatRTT.Set(e.RTT.Seconds())
	}
}

// OnPool follows the pool reports the gateway sends.
func (g *Gateway) OnPool(p *fleetproto.Pool) {
	n := map[string]int{}
	for _, c := range p.Containers {
		n[c.State]++
	}
	for _, s := range poolStates {
		g.pool.WithLabelValues(s).Set(float64(n[s]))
	}
}

// OnStats follows the live samples; containers gone since the last one
// are dropped.
func (g *Gateway) OnStats(s *fleetproto.Stats) {
	g.nodeCPU.Set(s.Node.CPUCores)
	g.nodeMem.Set(float64(s.Node.MemoryBytes))
	g.nodeMemTotal.Set(float64(s.Node.MemoryLimitBytes))
	g.ctrCPU.Reset()
	g.ctrMem.Reset()
	g.ctrMemLimit.Reset()
	for _, c := range s.Containers {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		g.ctrCPU.WithLabelValues(id, c.Name, c.Kind).Set(c.CPUCores)
		g.ctrMem.WithLabelValues(id, c.Name, c.Kind).Set(float64(c.MemoryBytes))
		g.ctrMemLimit.WithLabelValues(id, c.Name, c.Kind).Set(float64(c.MemoryLimitBytes))
	}
}

// Handler serves the exposition.
func (g *Gateway) Handler() http.Handler {
	return promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{})
}

// Listen opens addr for Serve, refusing any address that is not
// loopback (127.0.0.0/8, ::1 or localhost).
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("metrics listen %q: only a loopback address (127.0.0.1:PORT, [::1]:PORT) is allowed: the endpoint has no token", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	return ln, nil
}

// Serve serves GET /metrics on ln until ctx ends.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", g.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if log != nil {
		log.Info("metrics", "addr", ln.Addr().String())
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
