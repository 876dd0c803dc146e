package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PrometheusCollector exposes readings as gauges for GET /metrics.
type PrometheusCollector struct {
	c     *Collector
	descs map[string]*prometheus.Desc
}

var _ prometheus.Collector = (*PrometheusCollector)(nil)

// Prometheus wraps c for a prometheus.Registry.
func (c *Collector) Prometheus() *PrometheusCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("gatewave_"+name, help, nil, nil)
	}
	return &PrometheusCollector{c: c, descs: map[string]*prometheus.Desc{
		"cpu_percent":        d("cpu_percent", "CPU use as a percentage of the CPU limit."),
		"cpu_limit_cores":    d("cpu_limit_cores", "CPU limit in cores (the container quota, or the host's cores)."),
		"cpu_used_cores":     d("cpu_used_cores", "CPU in use, in cores."),
		"memory_used_bytes":  d("memory_used_bytes", "Memory in use (working set), in bytes."),
		"memory_limit_bytes": d("memory_limit_bytes", "Memory limit in bytes (the container limit, or the host's total)."),
		"load1":              d("load1", "One-minute load average."),
		"processes":          d("processes", "Number of visible processes."),
		"sessiond_rss_bytes": d("sessiond_rss_bytes", "Resident set size of sessiond."),
	}}
}

// Describe implements prometheus.Collector.
func (p *PrometheusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *PrometheusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := p.c.Snapshot(ctx)
	if err != nil {
		return
	}
	g := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(p.descs[name], prometheus.GaugeValue, v)
	}
	g("cpu_percent", s.CPU.Percent)
	g("cpu_limit_cores", s.CPU.LimitCores)
	g("cpu_used_cores", s.CPU.UsedCores)
	g("memory_used_bytes", float64(s.Memory.UsedBytes))
	g("memory_limit_bytes", float64(s.Memory.LimitBytes))
	g("load1", s.Load.Load1)
	g("processes", float64(s.Processes.Count))
	g("sessiond_rss_bytes", float64(s.Sessiond.RSSBytes))
}
