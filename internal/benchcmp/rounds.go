package benchcmp

import (
	"testing"
	"time"
)

// Kind is one kind of operation that [Rounds] times beside others: a
// transaction with and one without an audit event, say.
type Kind struct {
	Name string
	Run  func() error
}

// Rounds times kinds side by side in one benchmark: each iteration of
// b.Loop runs every kind each times, in turn, so that whatever else the
// machine does meanwhile slows them alike. It reports each kind's rate as
// the metric "<name>-tx/s" and returns the time each kind took in all, in
// the order of kinds, for the caller's ratios. The first error fails b.
func Rounds(b *testing.B, each int, kinds []Kind) []time.Duration {
	b.Helper()
	took := make([]time.Duration, len(kinds))
	for b.Loop() {
		for i, k := range kinds {
			start := time.Now()
			for range each {
				if err := k.Run(); err != nil {
					b.Fatalf("%s: %v", k.Name, err)
				}
			}
			took[i] += time.Since(start)
		}
	}
	ops := float64(b.N * each)
	for i, k := range kinds {
		b.ReportMetric(ops/took[i].Seconds(), k.Name+"-tx/s")
	}
	return took
}
