package benchcmp

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseTPS(t *testing.T) {
	out := `pgbench (15.10 (Debian 15.10-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 1
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 61234
number of failed transactions: 0 (0.000%)
latency average = 0.261 ms
initial connection time = 9.875 ms
tps = 30617.480201 (without initial connection time)
`
	tps, err := ParseTPS(out)
	if err != nil || tps != 30617.480201 {
		t.Fatalf("ParseTPS = %v, %v", tps, err)
	}
	// pgbench before 14 words it differently.
	if tps, err := ParseTPS("tps = 12.5 (excluding connections establishing)\n"); err != nil || tps != 12.5 {
		t.Fatalf("ParseTPS old format = %v, %v", tps, err)
	}
	if _, err := ParseTPS("pgbench: error: connection refused\n"); err == nil {
		t.Fatal("ParseTPS found a rate in an error")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.in...)
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("Median reordered its argument: %v", c.in)
			}
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

func TestResult(t *testing.T) {
	r := Result{
		Op:     "Get",
		Strata: Tally{N: 100, D: 103 * time.Millisecond, Allocs: 5200, Bytes: 100_000},
		Raw:    Tally{N: 100, D: 100 * time.Millisecond, Allocs: 5000, Bytes: 90_000},
	}
	if got := r.TimeRatio(); math.Abs(got-1.03) > 1e-9 { // no pairs: the ratio of the means
		t.Errorf("TimeRatio = %v", got)
	}
	if got := r.ExtraAllocs(); got != 2 {
		t.Errorf("ExtraAllocs = %v", got)
	}
	if !r.Met() {
		t.Error("within targets, but not Met")
	}
	r.Pairs = []float64{1.2, 1.06, 0.9}
	if r.TimeRatio() != 1.06 || r.Met() {
		t.Errorf("pairs: TimeRatio = %v, Met = %v", r.TimeRatio(), r.Met())
	}
	r.Pairs = nil
	r.Strata.Allocs = 5400
	if r.Met() {
		t.Error("4 extra allocations, but Met")
	}

	s := NewSuite("sqlite")
	if s.Table() != "" {
		t.Error("empty suite has a table")
	}
	s.results = append(s.results, r)
	tab := s.Table()
	for _, want := range []string{"layer vs raw driver, sqlite", "Get", "1.030", "+4.0", "MISS", "targets:"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

func TestPgbenchRound(t *testing.T) {
	for v, want := range map[string]struct {
		d  time.Duration
		ok bool
	}{
		"": {0, false}, "0": {0, false}, "1": {DefaultRound, true}, "5s": {5 * time.Second, true}, "2500ms": {3 * time.Second, true},
	} {
		t.Setenv(PgbenchEnv, v)
		d, ok, err := PgbenchRound()
		if err != nil || d != want.d || ok != want.ok {
			t.Errorf("%s=%q: %v, %v, %v", PgbenchEnv, v, d, ok, err)
		}
	}
	for _, v := range []string{"yes", "500ms"} {
		t.Setenv(PgbenchEnv, v)
		if _, _, err := PgbenchRound(); err == nil {
			t.Errorf("%s=%q accepted", PgbenchEnv, v)
		}
	}
}

func TestRounds(t *testing.T) {
	var order []string
	var took []time.Duration
	kind := func(name string, pause time.Duration) Kind {
		return Kind{Name: name, Run: func() error {
			order = append(order, name)
			time.Sleep(pause)
			return nil
		}}
	}
	var n int
	r := testing.Benchmark(func(b *testing.B) {
		order = order[:0]
		took = Rounds(b, 2, []Kind{kind("fast", 0), kind("slow", time.Millisecond)})
		n = b.N
	})
	if len(order) != 4*n {
		t.Fatalf("%d operations in %d iterations, want 4 each", len(order), n)
	}
	for i, name := range order {
		if want := []string{"fast", "fast", "slow", "slow"}[i%4]; name != want {
			t.Fatalf("operation %d was %s, want %s: kinds do not take turns", i, name, want)
		}
	}
	if len(took) != 2 || took[1] < time.Duration(2*n)*time.Millisecond || took[0] >= took[1] {
		t.Errorf("took = %v over %d iterations", took, n)
	}
	if r.Extra["slow-tx/s"] <= 0 || r.Extra["fast-tx/s"] <= r.Extra["slow-tx/s"] {
		t.Errorf("metrics = %v", r.Extra)
	}
}
