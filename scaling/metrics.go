package scaling

import (
	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetric is one per-node metric family.
type nodeMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(s *NodeStatus) float64
}

// nodeLabels label every per-node sample.
var nodeLabels = []string{"node", "role", "region"}

func newNodeMetric(name string, typ prometheus.ValueType, help string, value func(s *NodeStatus) float64) nodeMetric {
	return nodeMetric{prometheus.NewDesc(name, help, nodeLabels, nil), typ, value}
}

var (
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

var nodeMetrics = []nodeMetric{
	newNodeMetric("strata_db_node_up", gauge, "Whether the node serves reads (1) or is ejected or not yet reachable (0).",
		func(s *NodeStatus) float64 { return b2f(s.Up) }),
	newNodeMetric("strata_db_reads_routed_total", counter, "Reads outside transactions routed to the node.",
		func(s *NodeStatus) float64 { return float64(s.Routed) }),
	newNodeMetric("strata_db_read_errors_total", counter, "Routed reads that failed on the node.",
		func(s *NodeStatus) float64 { return float64(s.Errors) }),
	newNodeMetric("strata_db_ejections_total", counter, "Times the node was taken out of service after failures.",
		func(s *NodeStatus) float64 { return float64(s.Ejections) }),
	newNodeMetric("strata_db_reads_in_flight", gauge, "Routed reads running on the node.",
		func(s *NodeStatus) float64 { return float64(s.InFlight) }),
	newNodeMetric("strata_db_replay_lag_bytes", gauge, "How far the node's replayed WAL is behind the primary's, in bytes.",
		func(s *NodeStatus) float64 { return float64(s.LagBytes) }),
	newNodeMetric("strata_db_replay_lag_seconds", gauge, "Replay lag at the last probe: age of the last applied write while more wait.",
		func(s *NodeStatus) float64 { return s.Lag.Seconds() }),
	newNodeMetric("strata_db_probe_latency_seconds", gauge, "Moving average of the probe round-trip time.",
		func(s *NodeStatus) float64 { return s.Latency.Seconds() }),
	newNodeMetric("strata_db_pool_max_conns", gauge, "Maximum size of the node's connection pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.MaxConns) }),
	newNodeMetric("strata_db_pool_conns", gauge, "Open connections of the node's pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.TotalConns) }),
	newNodeMetric("strata_db_pool_idle_conns", gauge, "Idle connections of the node's pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.IdleConns) }),
	newNodeMetric("strata_db_pool_in_use_conns", gauge, "Connections of the node's pool in use.",
		func(s *NodeStatus) float64 { return float64(s.Pool.InUseConns) }),
	newNodeMetric("strata_db_pool_acquires_total", counter, "Connections handed out by the node's pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.Acquires) }),
	newNodeMetric("strata_db_pool_waited_acquires_total", counter, "Acquisitions that waited for a free connection.",
		func(s *NodeStatus) float64 { return float64(s.Pool.WaitedAcquires) }),
	newNodeMetric("strata_db_pool_wait_seconds_total", counter, "Time spent waiting for a free connection.",
		func(s *NodeStatus) float64 { return s.Pool.WaitTime.Seconds() }),
}

var causalReads = prometheus.NewDesc("strata_db_causal_reads_total",
	"Reads with a consistency token, by who served them: a replica at once, a replica after waiting, or the primary.",
	[]string{"outcome"}, nil)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collector returns the router's metrics as a prometheus.Collector, whose
// values are read from the nodes at each scrape: per node (labels node,
// role, region) whether it is up, reads routed, read errors, ejections,
// reads in flight, replay lag in bytes and seconds, probe latency and pool
// statistics; and causal reads by outcome. Register it once per registry.
func (r *Router[C]) Collector() prometheus.Collector { return collector[C]{r} }

// collector reads a router's metrics at scrape time.
type collector[C any] struct{ r *Router[C] }

func (c collector[C]) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range nodeMetrics {
		ch <- m.desc
	}
	ch <- causalReads
}

func (c collector[C]) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.r.nodes {
		s := n.Status()
		for _, m := range nodeMetrics {
			ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(&s), s.Name, s.Role.String(), s.Region)
		}
	}
	for i, name := range causalOutcomeNames {
		ch <- prometheus.MustNewConstMetric(causalReads, counter, float64(c.r.causal[i].Load()), name)
	}
}
