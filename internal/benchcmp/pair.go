// Package benchcmp measures Strata against a reference side by side, in one
// run, and prints the ratio: the repository layer against hand-written driver
// code ([Suite]), and repository throughput against PostgreSQL's pgbench
// ([Throughput], [Pgbench]).
//
//	func BenchmarkLayer(b *testing.B) {
//		s := benchcmp.NewSuite("postgres")
//		s.Compare(b, "Get", strataGet, rawGet)
//		s.Print()
//	}
//
// Compare runs two sub-benchmarks, "strata" and "raw", each under b.Loop
// (one run per -count, no discarded calibration runs). Each times its own
// side and, while its timer is stopped, runs the other side for as many
// operations, in blocks of [Block] operations paired back to back with
// alternating order, so that whatever else the machine does at the time
// slows both sides alike. Each leaf measures both sides (time and heap
// allocations, from runtime.MemStats read only while the timer is stopped),
// and the parent pools the two leaves into one comparison, printed on
// standard output. The time ratio is the median, over all pairs of blocks,
// of strata's time over raw's. The standard ns/op and allocs/op of each
// leaf are its own side's; the strata leaf also reports the comparison
// within its own run as time-ratio and extra-allocs/op.
package benchcmp

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// Targets of the comparison: strata may take at most MaxTimeRatio times
// the raw side's time and MaxExtraAllocs more heap allocations per
// operation.
const (
	MaxTimeRatio   = 1.05
	MaxExtraAllocs = 3.0
)

// Block is how many operations one side runs before the other side's turn.
const Block = 32

// Op runs the i-th operation of one side. i counts from 0 in the warm-up
// and again in every run of a leaf, separately for each side, so that both
// sides see the same sequence of inputs; an operation whose input must never
// repeat (an insert of a unique name, say) keeps its own counter.
type Op func(i int) error

// Tally is what one side did: N operations in D, with Allocs heap
// allocations of Bytes bytes in all.
type Tally struct {
	N      int
	D      time.Duration
	Allocs uint64
	Bytes  uint64
}

func (t Tally) add(u Tally) Tally {
	return Tally{N: t.N + u.N, D: t.D + u.D, Allocs: t.Allocs + u.Allocs, Bytes: t.Bytes + u.Bytes}
}

// NsPerOp returns the mean time of one operation in nanoseconds.
func (t Tally) NsPerOp() float64 { return per(float64(t.D.Nanoseconds()), t.N) }

// AllocsPerOp returns the mean number of heap allocations per operation.
func (t Tally) AllocsPerOp() float64 { return per(float64(t.Allocs), t.N) }

// BytesPerOp returns the mean bytes allocated per operation.
func (t Tally) BytesPerOp() float64 { return per(float64(t.Bytes), t.N) }

func per(x float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return x / float64(n)
}

// Result compares the two sides of one operation.
type Result struct {
	Op          string
	Strata, Raw Tally
	// Pairs holds, for each pair of blocks run back to back, strata's time
	// over raw's.
	Pairs []float64
}

// TimeRatio returns the median of the paired blocks' time ratios: a block
// slowed by something else on the machine (a checkpoint, a GC cycle,
// another process) moves it much less than it moves the ratio of the means.
func (r Result) TimeRatio() float64 {
	if len(r.Pairs) == 0 {
		return r.MeanRatio()
	}
	return Median(r.Pairs)
}

// Median returns the median of xs, or NaN when xs is empty.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	p := slices.Clone(xs)
	slices.Sort(p)
	if n%2 == 1 {
		return p[n/2]
	}
	return (p[n/2-1] + p[n/2]) / 2
}

// MeanRatio returns strata's mean time per operation over raw's.
func (r Result) MeanRatio() float64 { return r.Strata.NsPerOp() / r.Raw.NsPerOp() }

// ExtraAllocs returns how many more heap allocations strata makes per
// operation than raw.
func (r Result) ExtraAllocs() float64 { return r.Strata.AllocsPerOp() - r.Raw.AllocsPerOp() }

// Met reports whether the result is within both targets.
func (r Result) Met() bool { return r.MetWithin(MaxTimeRatio, MaxExtraAllocs) }

// MetWithin reports whether the result is within the targets given.
func (r Result) MetWithin(maxTime, maxAllocs float64) bool {
	// A hundredth of an allocation is noise from background goroutines.
	return r.TimeRatio() <= maxTime && r.ExtraAllocs() <= maxAllocs+0.01
}

// Out is where Compare and Suite.Print write their summaries. The testing
// package prints the log of a benchmark that has sub-benchmarks only under
// -v, so they go to standard output instead.
var Out io.Writer = os.Stdout

// Suite collects the comparisons of one dialect for a summary.
type Suite struct {
	Name string // e.g. "postgres"
	// Title heads the table; "" means "layer vs raw driver, " and Name.
	Title string
	// MaxTimeRatio and MaxExtraAllocs are the targets; 0 means the
	// package's (MaxTimeRatio, MaxExtraAllocs).
	MaxTimeRatio, MaxExtraAllocs float64

	mu      sync.Mutex
	results []Result
}

// NewSuite returns an empty suite named name.
func NewSuite(name string) *Suite { return &Suite{Name: name} }

// Results returns the comparisons run so far.
func (s *Suite) Results() []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.results)
}

// Compare runs the sub-benchmark op of b with two leaves, "strata" and
// "raw", and prints their pooled comparison. Before the leaves, each side
// runs a few warm-up blocks (caches, prepared statements, connections).
func (s *Suite) Compare(b *testing.B, op string, strata, raw Op) {
	b.Helper()
	b.Run(op, func(b *testing.B) {
		warm(b, strata, raw, 4*Block)
		var fromStrata, fromRaw Result // the final run of each leaf
		b.Run("strata", func(b *testing.B) {
			own, other, pairs := leaf(b, strata, raw)
			fromStrata = Result{Op: op, Strata: own, Raw: other, Pairs: pairs}
			b.ReportMetric(fromStrata.TimeRatio(), "time-ratio")
			b.ReportMetric(fromStrata.ExtraAllocs(), "extra-allocs/op")
		})
		b.Run("raw", func(b *testing.B) {
			own, other, pairs := leaf(b, raw, strata)
			for i, r := range pairs {
				pairs[i] = 1 / r
			}
			fromRaw = Result{Op: op, Strata: other, Raw: own, Pairs: pairs}
		})
		res := Result{
			Op:     op,
			Strata: fromStrata.Strata.add(fromRaw.Strata),
			Raw:    fromStrata.Raw.add(fromRaw.Raw),
			Pairs:  append(fromStrata.Pairs, fromRaw.Pairs...),
		}
		if res.Strata.N == 0 || res.Raw.N == 0 {
			return // both leaves filtered out by -bench
		}
		maxTime, maxAllocs := s.targets()
		fmt.Fprintf(Out, "    %s %s: strata/raw time %.3f (target <= %.2f; ratio of means %.3f), allocs %+.1f/op (target <= +%.0f): %s\n",
			s.Name, op, res.TimeRatio(), maxTime, res.MeanRatio(), res.ExtraAllocs(), maxAllocs, s.verdict(res))
		s.mu.Lock()
		s.results = append(s.results, res)
		s.mu.Unlock()
	})
}

// Print prints the suite's table (see Table) to Out, if it has results.
func (s *Suite) Print() {
	if t := s.Table(); t != "" {
		fmt.Fprintln(Out, t)
	}
}

// Table formats the suite's results, or returns "" when there are none:
// per operation, each side's mean time, allocations and bytes per
// operation (both leaves pooled), the median paired time ratio, the extra
// allocations, and whether both targets are met.
func (s *Suite) Table() string {
	rs := s.Results()
	if len(rs) == 0 {
		return ""
	}
	var sb strings.Builder
	title := s.Title
	if title == "" {
		title = "layer vs raw driver, " + s.Name
	}
	fmt.Fprintf(&sb, "%s (%s/%s, %d CPUs; strata and raw interleaved in blocks of %d):\n",
		title, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), Block)
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "op\tstrata ns/op\traw ns/op\ttime ratio\tstrata allocs/op\traw allocs/op\textra allocs\tstrata B/op\traw B/op\tverdict\t")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.3f\t%.1f\t%.1f\t%+.1f\t%.0f\t%.0f\t%s\t\n", r.Op,
			r.Strata.NsPerOp(), r.Raw.NsPerOp(), r.TimeRatio(),
			r.Strata.AllocsPerOp(), r.Raw.AllocsPerOp(), r.ExtraAllocs(),
			r.Strata.BytesPerOp(), r.Raw.BytesPerOp(), s.verdict(r))
	}
	w.Flush()
	maxTime, maxAllocs := s.targets()
	fmt.Fprintf(&sb, "targets: time ratio (median of paired blocks) <= %.2f, extra allocs <= %.0f per operation", maxTime, maxAllocs)
	return sb.String()
}

// targets returns the suite's time ratio and extra allocations targets.
func (s *Suite) targets() (maxTime, maxAllocs float64) {
	maxTime, maxAllocs = s.MaxTimeRatio, s.MaxExtraAllocs
	if maxTime == 0 {
		maxTime = MaxTimeRatio
	}
	if maxAllocs == 0 {
		maxAllocs = MaxExtraAllocs
	}
	return maxTime, maxAllocs
}

func (s *Suite) verdict(r Result) string {
	if r.MetWithin(s.targets()) {
		return "ok"
	}
	return "MISS"
}

// warm runs n operations of each side, alternating in blocks, before any
// measurement.
func warm(b *testing.B, x, y Op, n int) {
	b.Helper()
	for i := 0; i < n; i += Block {
		for _, op := range []Op{x, y} {
			for j := i; j < i+Block && j < n; j++ {
				if err := op(j); err != nil {
					b.Fatalf("warm-up: %v", err)
				}
			}
		}
	}
}

// leaf runs own under b.Loop, timed, and as many operations of other,
// untimed, in blocks of Block operations paired one to one, and returns
// what each side did and, per pair, own's time over other's. The order
// within a pair alternates (own first, then other first: o0 x0 x1 o1 o2 x2
// x3 o3 ...) because the first block of a pair tends to run a little
// slower. Memory statistics are read only while b's timer is stopped.
func leaf(b *testing.B, own, other Op) (ownT, otherT Tally, pairs []float64) {
	b.Helper()
	b.ReportAllocs()
	var (
		ms              runtime.MemStats
		ownDs, otherDs  []time.Duration // per full block
		i, j            int             // operations of own and of other so far
		blockStart      time.Time
		allocs0, bytes0 uint64 // at the start of the current timed stretch
		stretchOps      int    // own operations in the current timed stretch
		stretchStart    time.Time
	)
	// endStretch adds the timed stretch that ends now to ownT; b's timer
	// must be stopped.
	endStretch := func(end time.Time) {
		runtime.ReadMemStats(&ms)
		ownT = ownT.add(Tally{N: stretchOps, D: end.Sub(stretchStart), Allocs: ms.Mallocs - allocs0, Bytes: ms.TotalAlloc - bytes0})
	}
	// runOther runs n blocks of other; b's timer must be stopped.
	runOther := func(n int) {
		runtime.ReadMemStats(&ms)
		allocs, bytes := ms.Mallocs, ms.TotalAlloc
		var total time.Duration
		for range n {
			start := time.Now()
			for range Block {
				if err := other(j); err != nil {
					b.Fatal(err)
				}
				j++
			}
			d := time.Since(start)
			otherDs = append(otherDs, d)
			total += d
		}
		runtime.ReadMemStats(&ms)
		otherT = otherT.add(Tally{N: n * Block, D: total, Allocs: ms.Mallocs - allocs, Bytes: ms.TotalAlloc - bytes})
	}
	startStretch := func() {
		runtime.ReadMemStats(&ms)
		allocs0, bytes0, stretchOps = ms.Mallocs, ms.TotalAlloc, 0
		stretchStart = time.Now()
	}

	startStretch()
	for b.Loop() {
		if i%Block == 0 {
			blockStart = time.Now()
		}
		if err := own(i); err != nil {
			b.Fatal(err)
		}
		i++
		stretchOps++
		if i%Block == 0 {
			end := time.Now()
			ownDs = append(ownDs, end.Sub(blockStart))
			if len(ownDs)%2 == 1 { // after o0, o2, ...: x0 x1, x2 x3, ...
				b.StopTimer()
				endStretch(end)
				runOther(2)
				startStretch()
				b.StartTimer()
			}
		}
	}
	endStretch(time.Now())
	// Balance the counts: other runs what own ran after the last pair.
	if rest := i - j; rest > 0 {
		runtime.ReadMemStats(&ms)
		allocs, bytes := ms.Mallocs, ms.TotalAlloc
		start := time.Now()
		for range rest {
			if err := other(j); err != nil {
				b.Fatal(err)
			}
			j++
		}
		d := time.Since(start)
		runtime.ReadMemStats(&ms)
		otherT = otherT.add(Tally{N: rest, D: d, Allocs: ms.Mallocs - allocs, Bytes: ms.TotalAlloc - bytes})
	}
	for p := range min(len(ownDs), len(otherDs)) {
		pairs = append(pairs, float64(ownDs[p])/float64(otherDs[p]))
	}
	return ownT, otherT, pairs
}
