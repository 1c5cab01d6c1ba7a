// Package metricstest reads metrics in tests the way Prometheus scrapes
// them: in the text exposition format.
//
//	page := metricstest.Collect(t, router.Collector())
//	if !strings.Contains(page, `strata_db_node_up{node="a",region="eu",role="replica"} 1`+"\n") { ... }
package metricstest

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Gather returns what g gathers in the text exposition format (version
// 0.0.4): families sorted by name, series by labels, label pairs by name.
// An error gathering fails the test.
func Gather(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var b bytes.Buffer
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatalf("format metrics: %v", err)
		}
	}
	return b.String()
}

// Collect returns c's metrics as Gather does, from a registry of its own
// that checks them as strictly as client_golang can (prometheus.NewPedanticRegistry).
func Collect(t testing.TB, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("register collector: %v", err)
	}
	return Gather(t, reg)
}
