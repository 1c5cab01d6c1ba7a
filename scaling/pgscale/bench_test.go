package pgscale_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/scaling/pgscale"
)

// BenchmarkReadOverhead runs the same one-row read (SELECT 1) straight on
// the pool and through the cluster (router decision, retry wrapper, in-flight
// accounting) side by side, in alternating blocks so that drift in the
// server's speed hits both alike, and reports each one's time and
// allocations per read and the difference: the routing overhead.
func BenchmarkReadOverhead(b *testing.B) {
	ctx := context.Background()
	c, err := pgscale.Open(ctx, pgtest.NewDatabase(b, pgtest.Template{}), nil, scaling.Config{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Both through the interface sqlc's generated code calls.
	var pool, cluster pgdb.DBTX = c.Primary(), c
	var x int
	direct := func() {
		if err := pool.QueryRow(ctx, "SELECT 1").Scan(&x); err != nil {
			b.Fatal(err)
		}
	}
	routed := func() {
		if err := cluster.QueryRow(ctx, "SELECT 1").Scan(&x); err != nil {
			b.Fatal(err)
		}
	}
	direct()
	routed()

	const block = 100
	var dt, rt time.Duration
	var da, ra uint64
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		n := min(block, b.N-done)
		d, a := measure(n, direct)
		dt, da = dt+d, da+a
		d, a = measure(n, routed)
		rt, ra = rt+d, ra+a
	}
	per := func(v float64) float64 { return v / float64(b.N) }
	b.ReportMetric(per(float64(dt.Nanoseconds())), "pool-ns/read")
	b.ReportMetric(per(float64(rt.Nanoseconds())), "routed-ns/read")
	b.ReportMetric(per(float64(rt.Nanoseconds()-dt.Nanoseconds())), "overhead-ns/read")
	b.ReportMetric(per(float64(da)), "pool-allocs/read")
	b.ReportMetric(per(float64(ra)), "routed-allocs/read")
	b.ReportMetric(per(float64(ra)-float64(da)), "overhead-allocs/read")
}

// measure runs f n times and returns the time and the allocations it took.
func measure(n int, f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range n {
		f()
	}
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.Mallocs - before.Mallocs
}
