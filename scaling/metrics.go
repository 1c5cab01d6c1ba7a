package scaling

import (
	"io"
	"strconv"
	"strings"
)

// nodeMetric is one per-node metric family.
type nodeMetric struct {
	name, typ, help string
	value           func(s *NodeStatus) float64
}

var nodeMetrics = []nodeMetric{
	{"strata_db_node_up", "gauge", "Whether the node serves reads (1) or is ejected or not yet reachable (0).",
		func(s *NodeStatus) float64 { return b2f(s.Up) }},
	{"strata_db_reads_routed_total", "counter", "Reads outside transactions routed to the node.",
		func(s *NodeStatus) float64 { return float64(s.Routed) }},
	{"strata_db_read_errors_total", "counter", "Routed reads that failed on the node.",
		func(s *NodeStatus) float64 { return float64(s.Errors) }},
	{"strata_db_ejections_total", "counter", "Times the node was taken out of service after failures.",
		func(s *NodeStatus) float64 { return float64(s.Ejections) }},
	{"strata_db_reads_in_flight", "gauge", "Routed reads running on the node.",
		func(s *NodeStatus) float64 { return float64(s.InFlight) }},
	{"strata_db_replay_lag_bytes", "gauge", "How far the node's replayed WAL is behind the primary's, in bytes.",
		func(s *NodeStatus) float64 { return float64(s.LagBytes) }},
	{"strata_db_replay_lag_seconds", "gauge", "Replay lag at the last probe: age of the last applied write while more wait.",
		func(s *NodeStatus) float64 { return s.Lag.Seconds() }},
	{"strata_db_probe_latency_seconds", "gauge", "Moving average of the probe round-trip time.",
		func(s *NodeStatus) float64 { return s.Latency.Seconds() }},
	{"strata_db_pool_max_conns", "gauge", "Maximum size of the node's connection pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.MaxConns) }},
	{"strata_db_pool_conns", "gauge", "Open connections of the node's pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.TotalConns) }},
	{"strata_db_pool_idle_conns", "gauge", "Idle connections of the node's pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.IdleConns) }},
	{"strata_db_pool_in_use_conns", "gauge", "Connections of the node's pool in use.",
		func(s *NodeStatus) float64 { return float64(s.Pool.InUseConns) }},
	{"strata_db_pool_acquires_total", "counter", "Connections handed out by the node's pool.",
		func(s *NodeStatus) float64 { return float64(s.Pool.Acquires) }},
	{"strata_db_pool_waited_acquires_total", "counter", "Acquisitions that waited for a free connection.",
		func(s *NodeStatus) float64 { return float64(s.Pool.WaitedAcquires) }},
	{"strata_db_pool_wait_seconds_total", "counter", "Time spent waiting for a free connection.",
		func(s *NodeStatus) float64 { return s.Pool.WaitTime.Seconds() }},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WriteMetrics writes the router's metrics in the Prometheus text format:
// per node (labels node, role, region) whether it is up, reads routed, read
// errors, ejections, reads in flight, replay lag in bytes and seconds, probe
// latency and pool statistics; and causal reads by outcome. An HTTP layer
// calls it from its /metrics handler; write errors are the writer's to see.
func (r *Router[C]) WriteMetrics(w io.Writer) {
	statuses := make([]NodeStatus, len(r.nodes))
	for i, n := range r.nodes {
		statuses[i] = n.Status()
	}
	var b strings.Builder
	for _, m := range nodeMetrics {
		header(&b, m.name, m.typ, m.help)
		for i := range statuses {
			s := &statuses[i]
			b.WriteString(m.name)
			b.WriteString(`{node="`)
			b.WriteString(escapeLabel(s.Name))
			b.WriteString(`",role="`)
			b.WriteString(s.Role.String())
			b.WriteString(`",region="`)
			b.WriteString(escapeLabel(s.Region))
			b.WriteString(`"} `)
			b.WriteString(strconv.FormatFloat(m.value(s), 'g', -1, 64))
			b.WriteByte('\n')
		}
	}
	header(&b, "strata_db_causal_reads_total", "counter",
		"Reads with a consistency token, by who served them: a replica at once, a replica after waiting, or the primary.")
	for i, name := range causalOutcomeNames {
		b.WriteString(`strata_db_causal_reads_total{outcome="`)
		b.WriteString(name)
		b.WriteString(`"} `)
		b.WriteString(strconv.FormatUint(r.causal[i].Load(), 10))
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

func header(b *strings.Builder, name, typ, help string) {
	b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
