package ops

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// The fleet's gauges are read from PostgreSQL at each scrape rather than
// kept in memory: every replica answers the same for the whole fleet.
// prometheus/client_golang is the cloud's metrics library already (the
// hub's counters, Go and process collectors), so these are one more
// Collector on the same registry.
var (
	descNodes    = prometheus.NewDesc("gatewave_nodes", "Nodes by state (new, online, offline, revoked, draining).", []string{"state"}, nil)
	descSessions = prometheus.NewDesc("gatewave_sessions", "Open IDE sessions by state (ended ones are not counted).", []string{"state"}, nil)
	descQueue    = prometheus.NewDesc("gatewave_session_queue_length", "Sessions waiting for a container.", nil, nil)
	descPool     = prometheus.NewDesc("gatewave_pool_containers", "Warm-pool containers by node and state, as the nodes last reported them.", []string{"node", "state"}, nil)
	descTasks    = prometheus.NewDesc("gatewave_tasks", "Batch tasks by state.", []string{"state"}, nil)
	descCPU      = prometheus.NewDesc("gatewave_node_cpu_usage_cores", "Cores in use on a node, from its latest live sample.", []string{"node"}, nil)
	descCPULimit = prometheus.NewDesc("gatewave_node_cpu_cores", "Cores a node has, from its latest live sample.", []string{"node"}, nil)
	descMem      = prometheus.NewDesc("gatewave_node_memory_usage_bytes", "Memory in use on a node, from its latest live sample.", []string{"node"}, nil)
	descMemLimit = prometheus.NewDesc("gatewave_node_memory_bytes", "Memory a node has, from its latest live sample.", []string{"node"}, nil)
	descStatsAge = prometheus.NewDesc("gatewave_node_stats_age_seconds", "Seconds since a node's latest live sample.", []string{"node"}, nil)
	descHBAge    = prometheus.NewDesc("gatewave_node_heartbeat_age_seconds", "Seconds since a node's last heartbeat.", []string{"node"}, nil)
	descUp       = prometheus.NewDesc("gatewave_fleet_scrape_ok", "1 when the fleet gauges could be read from the database, else 0.", nil, nil)
)

// Collector returns the fleet's gauges for a Prometheus registry.
func (o *Ops) Collector() prometheus.Collector { return collector{o} }

type collector struct{ o *Ops }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNodes, descSessions, descQueue, descPool, descTasks, descCPU, descCPULimit, descMem, descMemLimit, descStatsAge, descHBAge, descUp} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.o.Snapshot(ctx)
	if err != nil {
		c.o.log.Warn("metrics: fleet snapshot", "err", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	states := map[string]int{"new": 0, "online": 0, "draining": 0, "offline": 0, "revoked": 0}
	for _, n := range s.Nodes {
		states[n.State]++
		for _, st := range PoolStates {
			gauge(descPool, float64(n.Pool[st]), n.Name, st)
		}
		if n.HeartbeatAgeSeconds >= 0 {
			gauge(descHBAge, n.HeartbeatAgeSeconds, n.Name)
		}
		if l := n.Stats; l != nil {
			gauge(descCPU, l.Node.CPUCores, n.Name)
			gauge(descCPULimit, l.Node.CPULimit, n.Name)
			gauge(descMem, float64(l.Node.MemoryBytes), n.Name)
			gauge(descMemLimit, float64(l.Node.MemoryLimitBytes), n.Name)
			gauge(descStatsAge, l.AgeSeconds, n.Name)
		}
	}
	for st, n := range states {
		gauge(descNodes, float64(n), st)
	}
	for _, sc := range (View{Snapshot: s}).SessionCounts() {
		gauge(descSessions, float64(sc.N), sc.State)
	}
	gauge(descQueue, float64(s.Sessions.Counts["queued"]))
	for _, tc := range (View{Snapshot: s}).TaskCounts() {
		gauge(descTasks, float64(tc.N), tc.State)
	}
}

// RequestCounter counts the HTTP requests a replica answered by status
// code: gatewave_http_requests_total{code}.
type RequestCounter struct{ v *prometheus.CounterVec }

// NewRequestCounter registers the counter on reg.
func NewRequestCounter(reg prometheus.Registerer) (*RequestCounter, error) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatewave_http_requests_total", Help: "HTTP requests answered, by status code."}, []string{"code"})
	if err := reg.Register(v); err != nil {
		return nil, err
	}
	return &RequestCounter{v}, nil
}

// Handler is middleware that counts every request once it is answered.
// A handler's error is answered here, by the app's error handler, so the
// code counted is the one the client gets.
func (r *RequestCounter) Handler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		r.v.WithLabelValues(strconv.Itoa(c.Response().StatusCode())).Inc()
		return nil
	}
}
