package scaling_test

import (
	"testing"

	"github.com/strata-go/strata/scaling"
)

// BenchmarkRead measures the routing decision alone (Read and Done) over
// four replicas: the overhead a routed read adds before the query itself.
func BenchmarkRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    scaling.Consistency
	}{
		{"eventual", scaling.Eventual()},
		{"causal", scaling.Causal(scaling.TokenAt(5))},
		{"strong", scaling.Strong()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := benchRouter(b)
			ctx := scaling.WithConsistency(b.Context(), bc.c)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n, err := r.Read(ctx)
					if err != nil {
						b.Fatal(err)
					}
					n.Done(nil)
				}
			})
		})
	}
}

func benchRouter(b *testing.B) *scaling.Router[*fakeConn] {
	drv := newFakeDriver()
	spec := func(name, region string) scaling.NodeSpec[*fakeConn] {
		c := &fakeConn{name}
		drv.nodes[c] = &fakeNode{st: scaling.Status{Position: 10, Latency: 1000}}
		return scaling.NodeSpec[*fakeConn]{Name: name, Region: region, Conn: c}
	}
	r, err := scaling.New(b.Context(), scaling.Config{Region: "eu"}, drv, spec("p", "eu"),
		spec("a", "eu"), spec("b", "eu"), spec("c", "us"), spec("d", "eu"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	return r
}
