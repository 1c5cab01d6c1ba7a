package scaling_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/metricstest"
	"github.com/strata-go/strata/internal/poll"
	"github.com/strata-go/strata/scaling"
)

// fakeConn is the connection type of the fake driver: a node by name.
type fakeConn struct{ name string }

// fakeDriver answers probes from a table the test edits.
type fakeDriver struct {
	mu     sync.Mutex
	nodes  map[*fakeConn]*fakeNode
	resets map[*fakeConn]int
}

type fakeNode struct {
	st      scaling.Status
	err     error
	probes  int
	onProbe func(n *fakeNode) // runs under the driver's lock
}

var (
	errDown     = errors.New("connection refused")
	errConflict = errors.New("canceling statement due to conflict with recovery")
	errNoRows   = errors.New("no rows")
	errSyntax   = errors.New("syntax error")
)

func newFakeDriver() *fakeDriver {
	return &fakeDriver{nodes: map[*fakeConn]*fakeNode{}, resets: map[*fakeConn]int{}}
}

func (d *fakeDriver) Probe(ctx context.Context, c *fakeConn, role scaling.Role) (scaling.Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.nodes[c]
	n.probes++
	if n.onProbe != nil {
		n.onProbe(n)
	}
	return n.st, n.err
}

func (d *fakeDriver) Fault(err error) scaling.Fault {
	switch {
	case errors.Is(err, errDown):
		return scaling.FaultNode
	case errors.Is(err, errConflict):
		return scaling.FaultRetry
	case errors.Is(err, errNoRows):
		return scaling.FaultNone
	}
	return scaling.FaultQuery
}

func (d *fakeDriver) Stats(c *fakeConn) scaling.PoolStats {
	return scaling.PoolStats{MaxConns: 4, TotalConns: 1}
}

func (d *fakeDriver) Reset(c *fakeConn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resets[c]++
}

// set changes what node c's probes answer.
func (d *fakeDriver) set(c *fakeConn, f func(n *fakeNode)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.nodes[c])
}

// node describes a fake node for newRouter.
type node struct {
	name, region string
	weight       int
	pos          uint64
	lag, latency time.Duration
	err          error
	inSync       bool
}

// fixture is a router over fake nodes, the primary first.
type fixture struct {
	t     *testing.T
	r     *scaling.Router[*fakeConn]
	drv   *fakeDriver
	conns map[string]*fakeConn
}

// testConfig probes once at start and then only when asked (kicks, backoff).
func testConfig() scaling.Config {
	return scaling.Config{ProbeInterval: time.Hour, EjectBackoff: time.Millisecond, CausalWait: 20 * time.Millisecond}
}

func newRouter(t *testing.T, cfg scaling.Config, primary node, replicas ...node) *fixture {
	t.Helper()
	f := &fixture{t: t, drv: newFakeDriver(), conns: map[string]*fakeConn{}}
	spec := func(n node) scaling.NodeSpec[*fakeConn] {
		c := &fakeConn{n.name}
		f.conns[n.name] = c
		f.drv.nodes[c] = &fakeNode{st: scaling.Status{Position: n.pos, Lag: n.lag, Latency: max(n.latency, time.Millisecond)}, err: n.err}
		return scaling.NodeSpec[*fakeConn]{Name: n.name, Region: n.region, Weight: n.weight, Conn: c, InSync: n.inSync}
	}
	p := spec(primary)
	var rs []scaling.NodeSpec[*fakeConn]
	for _, n := range replicas {
		rs = append(rs, spec(n))
	}
	r, err := scaling.New(t.Context(), cfg, f.drv, p, rs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	f.r = r
	return f
}

// set changes node name's probe answers and probes every node.
func (f *fixture) set(name string, fn func(n *fakeNode)) {
	f.drv.set(f.conns[name], fn)
	f.r.ProbeAll()
}

// read routes one read with ctx and returns the name of the node.
func (f *fixture) read(ctx context.Context) string {
	f.t.Helper()
	n, err := f.r.Read(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	n.Done(nil)
	return n.Name()
}

// reads routes n reads with ctx and counts them by node name.
func (f *fixture) reads(ctx context.Context, n int) map[string]int {
	f.t.Helper()
	got := map[string]int{}
	for range n {
		got[f.read(ctx)]++
	}
	return got
}

func (f *fixture) status(name string) scaling.NodeStatus {
	for _, n := range f.r.Nodes() {
		if n.Name() == name {
			return n.Status()
		}
	}
	f.t.Fatalf("no node %q", name)
	return scaling.NodeStatus{}
}

// only fails t unless the reads went to the named nodes, each getting some.
func only(t *testing.T, got map[string]int, names ...string) {
	t.Helper()
	ok := len(got) == len(names)
	for _, name := range names {
		ok = ok && got[name] > 0
	}
	if !ok {
		t.Fatalf("reads went to %v, want %v", got, names)
	}
}

const mib = 1 << 20

func TestReadsSpreadOverReplicas(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p", pos: 100}, node{name: "a", pos: 100}, node{name: "b", pos: 100})
	got := f.reads(t.Context(), 200)
	if got["p"] != 0 || got["a"] == 0 || got["b"] == 0 {
		t.Fatalf("reads: %v, want both replicas and not the primary", got)
	}
	if s := f.status("a"); s.Routed != uint64(got["a"]) || !s.Up {
		t.Fatalf("status of a: %+v, want up with %d reads", s, got["a"])
	}
}

func TestNoReplicasReadsPrimary(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"})
	only(t, f.reads(t.Context(), 10), "p")
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(5))), 3), "p")
}

func TestRegionFirst(t *testing.T) {
	cfg := testConfig()
	cfg.Region = "eu"
	f := newRouter(t, cfg, node{name: "p", region: "eu"},
		node{name: "us", region: "us", latency: time.Millisecond},
		node{name: "eu", region: "eu", latency: 50 * time.Millisecond})
	only(t, f.reads(t.Context(), 50), "eu")

	// When the local replica goes, the remote one serves.
	f.set("eu", func(n *fakeNode) { n.err = errDown })
	only(t, f.reads(t.Context(), 20), "us")
}

func TestLowestLatency(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"},
		node{name: "near", latency: time.Millisecond},
		node{name: "far", latency: 20 * time.Millisecond},
		node{name: "near2", latency: 1200 * time.Microsecond}) // within the tolerance of near
	got := f.reads(t.Context(), 300)
	if got["far"] != 0 || got["near"] == 0 || got["near2"] == 0 {
		t.Fatalf("reads: %v, want near and near2 only", got)
	}
}

func TestLeastInFlight(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "a"}, node{name: "b"})
	var held []*scaling.Node[*fakeConn]
	for range 10 {
		n, err := f.r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, n)
	}
	a, b := f.status("a").InFlight, f.status("b").InFlight
	if a+b != 10 || a-b > 1 || b-a > 1 {
		t.Fatalf("in flight: a=%d b=%d, want 10 balanced", a, b)
	}
	for _, n := range held {
		n.Done(nil)
	}
	if a, b := f.status("a").InFlight, f.status("b").InFlight; a != 0 || b != 0 {
		t.Fatalf("in flight after Done: a=%d b=%d", a, b)
	}
}

func TestWeights(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "light", weight: 1}, node{name: "heavy", weight: 3})
	got := f.reads(t.Context(), 4000)
	// Expected share 1/4; the bounds are over 10 standard deviations wide.
	if share := float64(got["light"]) / 4000; share < 0.18 || share > 0.32 {
		t.Fatalf("reads: %v, light share %.3f, want about 0.25", got, share)
	}
}

func TestLagLimits(t *testing.T) {
	const top = 100 * mib
	f := newRouter(t, testConfig(), node{name: "p", pos: top},
		node{name: "bytes", pos: top - 32*mib},         // over the 16 MiB default
		node{name: "secs", pos: top, lag: time.Minute}, // over the 30 s default
		node{name: "ok", pos: top - mib, lag: time.Second})
	only(t, f.reads(t.Context(), 50), "ok")
	if s := f.status("bytes"); s.LagBytes != 32*mib || !s.Up {
		t.Fatalf("status of bytes: %+v", s)
	}

	// A write the router observes raises the bar before the next probe.
	f.r.ObserveWrite(scaling.TokenAt(top + 20*mib))
	only(t, f.reads(t.Context(), 20), "p")

	// Negative limits disable them.
	cfg := testConfig()
	cfg.MaxLagBytes, cfg.MaxLag = -1, -1
	g := newRouter(t, cfg, node{name: "p", pos: top}, node{name: "far", pos: 1, lag: time.Hour})
	only(t, g.reads(t.Context(), 10), "far")
}

func TestStrong(t *testing.T) {
	ctx := scaling.WithConsistency(t.Context(), scaling.Strong())
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "a"})
	only(t, f.reads(ctx, 10), "p")

	// An in-sync replica (SQLite's readers) serves strong reads.
	g := newRouter(t, testConfig(), node{name: "w"}, node{name: "r", inSync: true, lag: time.Hour})
	only(t, g.reads(ctx, 10), "r")
	only(t, g.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(1<<60))), 10), "r")
}

func TestBoundedStaleness(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p", pos: 10},
		node{name: "behind", pos: 10, lag: 20 * time.Second},
		node{name: "fresh", pos: 10})
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.BoundedStaleness(10*time.Second)), 30), "fresh")
	only(t, f.reads(t.Context(), 300), "behind", "fresh") // eventual: both within 30 s
	f.set("fresh", func(n *fakeNode) { n.st.Lag = 15 * time.Second })
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.BoundedStaleness(10*time.Second)), 30), "p")
	if s := f.status("behind"); s.Staleness < 20*time.Second {
		t.Fatalf("staleness of behind: %v, want at least its lag", s.Staleness)
	}
}

func TestCausal(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p", pos: 300}, node{name: "a", pos: 100}, node{name: "b", pos: 200})
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(150))), 20), "b")
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(100))), 50), "a", "b")

	// No replica gets there: the read waits CausalWait, probing, then takes the primary.
	before := f.probes("a")
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(250))), 1), "p")
	poll.Until(t, "the causal wait to probe the lagging replica", func() bool { return f.probes("a") > before })
	// A token only the primary satisfies goes there without waiting.
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.PrimaryOnly())), 1), "p")
	wantMetric(t, f.r, `strata_db_causal_reads_total{outcome="replica"} 70`)
	wantMetric(t, f.r, `strata_db_causal_reads_total{outcome="primary"} 2`)
}

func TestCausalWaitsForReplica(t *testing.T) {
	cfg := testConfig()
	cfg.CausalWait = time.Minute // returns as soon as a replica catches up
	f := newRouter(t, cfg, node{name: "p", pos: 1000}, node{name: "a", pos: 100})
	f.drv.set(f.conns["a"], func(n *fakeNode) {
		n.onProbe = func(n *fakeNode) { n.st.Position += 50 } // replays 50 per probe
	})
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(400))), 1), "a")
	if s := f.status("a"); s.Position < 400 {
		t.Fatalf("a served a causal read at position %d < 400", s.Position)
	}
	wantMetric(t, f.r, `strata_db_causal_reads_total{outcome="replica_after_wait"} 1`)

	// The caller's context ends the wait.
	ctx, cancel := context.WithCancel(scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(1<<40))))
	cancel()
	if _, err := f.r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a canceled context: %v, want context.Canceled", err)
	}
}

func (f *fixture) resets(name string) int {
	f.drv.mu.Lock()
	defer f.drv.mu.Unlock()
	return f.drv.resets[f.conns[name]]
}

func (f *fixture) probes(name string) int {
	f.drv.mu.Lock()
	defer f.drv.mu.Unlock()
	return f.drv.nodes[f.conns[name]].probes
}

func TestRecordedTokensMakeReadsCausal(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p", pos: 300}, node{name: "a", pos: 100}, node{name: "b", pos: 200})
	ctx := scaling.WithTokenRecorder(t.Context())
	got := f.reads(ctx, 20)
	if got["p"] != 0 {
		t.Fatalf("reads before any write: %v", got)
	}
	scaling.RecordToken(ctx, scaling.TokenAt(150))
	only(t, f.reads(ctx, 20), "b")
	// Strong stays strong; bounded also requires the token.
	only(t, f.reads(scaling.WithConsistency(ctx, scaling.Strong()), 5), "p")
	only(t, f.reads(scaling.WithConsistency(ctx, scaling.BoundedStaleness(time.Hour)), 5), "b")
}

func TestEjectionAndReadmission(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "a"}, node{name: "b"})
	n, err := f.r.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	failed, other := n.Name(), map[string]string{"a": "b", "b": "a"}[n.Name()]
	if !n.Done(fmt.Errorf("read: %w", errDown)) {
		t.Fatal("Done on an unreachable node says not to retry")
	}
	s := f.status(failed)
	if s.Up || s.Ejections != 1 || s.Errors != 1 {
		t.Fatalf("status after failure: %+v, want down, 1 ejection, 1 error", s)
	}
	if f.resets(failed) != 1 {
		t.Error("the ejected replica's pool was not reset")
	}
	only(t, f.reads(t.Context(), 20), other)
	// Its probe still succeeds: it is back after the backoff.
	poll.Until(t, failed+" re-admitted", func() bool { return f.status(failed).Up })
	if got := f.reads(t.Context(), 100); got[failed] == 0 {
		t.Fatalf("reads after re-admission: %v", got)
	}
}

func TestProbeFailureEjects(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "a"})
	f.set("a", func(n *fakeNode) { n.err = errDown })
	if s := f.status("a"); s.Up || s.Ejections != 1 || !errors.Is(s.Err, errDown) {
		t.Fatalf("status: %+v, want ejected for errDown", s)
	}
	only(t, f.reads(t.Context(), 10), "p")
	f.comesBack("a")
}

// comesBack makes node name's probes succeed again and checks that the
// node is (re-)admitted and then serves the reads.
func (f *fixture) comesBack(name string) {
	f.t.Helper()
	f.drv.set(f.conns[name], func(n *fakeNode) { n.err = nil })
	poll.Until(f.t, name+" admitted", func() bool { return f.status(name).Up })
	only(f.t, f.reads(f.t.Context(), 10), name)
}

func TestDownAtStartJoinsLater(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "late", err: errDown})
	if s := f.status("late"); s.Up || s.Ejections != 0 {
		t.Fatalf("status of a replica down at start: %+v", s)
	}
	only(t, f.reads(t.Context(), 10), "p")
	f.comesBack("late")
}

func TestPrimaryDown(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p", err: errDown}, node{name: "a"})
	only(t, f.reads(t.Context(), 10), "a")
	only(t, f.reads(scaling.WithConsistency(t.Context(), scaling.Strong()), 3), "p")
	if f.status("p").Up {
		t.Fatal("primary that fails its probe shows up")
	}
}

func TestFaults(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "a"})
	for _, c := range []struct {
		err        error
		retry      bool
		errorsSeen uint64
	}{
		{nil, false, 0},
		{errNoRows, false, 0},
		{errSyntax, false, 1},
		{errConflict, true, 2},
	} {
		n, err := f.r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if retry := n.Done(c.err); retry != c.retry {
			t.Errorf("Done(%v) = %v, want %v", c.err, retry, c.retry)
		}
		if s := f.status("a"); !s.Up || s.Errors != c.errorsSeen {
			t.Errorf("after %v: %+v, want up with %d errors", c.err, s, c.errorsSeen)
		}
	}
}

func TestReadDoesNotAllocate(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p", pos: 10}, node{name: "a", pos: 10}, node{name: "b", pos: 10}, node{name: "c", pos: 10})
	for name, ctx := range map[string]context.Context{
		"eventual": t.Context(),
		"causal":   scaling.WithConsistency(t.Context(), scaling.Causal(scaling.TokenAt(5))),
		"bounded":  scaling.WithConsistency(t.Context(), scaling.BoundedStaleness(time.Hour)),
		"strong":   scaling.WithConsistency(t.Context(), scaling.Strong()),
	} {
		allocs := testing.AllocsPerRun(1000, func() {
			n, _ := f.r.Read(ctx)
			n.Done(nil)
		})
		if allocs != 0 {
			t.Errorf("%s: Read+Done allocates %.1f times", name, allocs)
		}
	}
}

func TestMetrics(t *testing.T) {
	cfg := testConfig()
	cfg.Region = "eu"
	f := newRouter(t, cfg, node{name: "p", region: "eu", pos: 10 * mib},
		node{name: "a", region: `e"u\`, pos: 9 * mib, lag: 1500 * time.Millisecond})
	f.reads(t.Context(), 3)
	out := metricsText(t, f.r)
	line := regexp.MustCompile(`^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? [0-9.e+-]+$`)
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "# ") && !line.MatchString(l) {
			t.Errorf("malformed line %q", l)
		}
	}
	for _, want := range []string{
		`strata_db_reads_routed_total{node="a",region="e\"u\\",role="replica"} 3`,
		`strata_db_reads_routed_total{node="p",region="eu",role="primary"} 0`,
		`strata_db_node_up{node="a",region="e\"u\\",role="replica"} 1`,
		`strata_db_replay_lag_bytes{node="a",region="e\"u\\",role="replica"} 1.048576e+06`,
		`strata_db_replay_lag_seconds{node="a",region="e\"u\\",role="replica"} 1.5`,
		`strata_db_pool_max_conns{node="p",region="eu",role="primary"} 4`,
		`strata_db_ejections_total{node="a",region="e\"u\\",role="replica"} 0`,
		"# TYPE strata_db_reads_routed_total counter",
	} {
		wantMetric(t, f.r, want)
	}
}

func wantMetric(t *testing.T, r *scaling.Router[*fakeConn], line string) {
	t.Helper()
	out := metricsText(t, r)
	for _, l := range strings.Split(out, "\n") {
		if l == line {
			return
		}
	}
	t.Errorf("metrics lack %q; got:\n%s", line, out)
}

// metricsText collects r's metrics in the Prometheus text format.
func metricsText(t *testing.T, r *scaling.Router[*fakeConn]) string {
	t.Helper()
	return metricstest.Collect(t, r.Collector())
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := scaling.New(t.Context(), scaling.Config{MaxConns: 2, MinConns: 3}, newFakeDriver(),
		scaling.NodeSpec[*fakeConn]{Name: "p", Conn: &fakeConn{}})
	if err == nil {
		t.Fatal("New accepted MinConns > MaxConns")
	}
}

func TestCloseTwice(t *testing.T) {
	f := newRouter(t, testConfig(), node{name: "p"}, node{name: "a"})
	f.r.Close()
	f.r.Close()
	only(t, f.reads(t.Context(), 3), "a") // still routes on the last state
}
