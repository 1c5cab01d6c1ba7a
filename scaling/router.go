package scaling

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Role is a node's role.
type Role uint8

const (
	RolePrimary Role = iota // takes the writes
	RoleReplica             // serves reads
)

func (r Role) String() string {
	if r == RolePrimary {
		return "primary"
	}
	return "replica"
}

// NodeSpec describes a node to New.
type NodeSpec[C any] struct {
	Name   string // shown in metrics, e.g. "db-eu-1:5432"; never a password
	Region string
	Weight int // see Replica.Weight; 0 means 1
	Conn   C   // the node's connection pool
	// InSync marks a replica that always has every committed write, such
	// as SQLite's read-only connections on the writer's WAL file: it serves
	// strong reads too, and neither lag limits nor tokens exclude it.
	InSync bool
}

// Status is what a probe learns about a node.
type Status struct {
	// Position is how far the node has applied the write history: on a
	// replica its replay position, on the primary its current position
	// (on PostgreSQL, WAL LSNs).
	Position uint64
	// Lag is how far behind a replica's data is: the age of the last write
	// it applied while more are waiting, else 0. (An idle primary writes
	// nothing, so "time since the last applied write" alone would grow
	// without any lag; Router also compares positions.)
	Lag time.Duration
	// Latency is the probe's round-trip time; 0 lets the Router time the
	// Probe call instead.
	Latency time.Duration
}

// Fault classifies an error a node returned for a read.
type Fault uint8

const (
	// FaultNone: not the node's doing (no rows, the caller's context ended).
	FaultNone Fault = iota
	// FaultQuery: the query failed and would fail anywhere.
	FaultQuery
	// FaultRetry: this attempt failed, another node may succeed (a replica's
	// recovery conflict, too many connections); the node stays in.
	FaultRetry
	// FaultNode: the node is unreachable or shutting down; it is ejected
	// and the read goes elsewhere.
	FaultNode
)

// PoolStats are a node's connection pool statistics.
type PoolStats struct {
	MaxConns, TotalConns, IdleConns, InUseConns int64
	Acquires                                    int64         // connections handed out
	WaitedAcquires                              int64         // acquisitions that had to wait for a connection
	WaitTime                                    time.Duration // total time spent waiting
}

// A Driver is what a Router needs to know of a dialect: how to probe a node,
// classify its errors, read its pool statistics and drop its connections.
// Package pgscale has the PostgreSQL driver, package sqlitescale the SQLite
// one; tests use fakes.
type Driver[C any] interface {
	// Probe checks one node, within ctx's deadline. It returns an error
	// when the node cannot serve in its role (down, or a "replica" that is
	// not in recovery).
	Probe(ctx context.Context, conn C, role Role) (Status, error)
	// Fault classifies an error a read on a node returned.
	Fault(err error) Fault
	// Stats returns the node's pool statistics.
	Stats(conn C) PoolStats
	// Reset drops the pool's idle connections (and in-use ones when they
	// are released); called when a replica is ejected, so that it comes
	// back with fresh connections.
	Reset(conn C)
}

// Router routes reads between a primary and any number of replicas, per the
// consistency each read's context asks for, and keeps a probe loop per node
// (see the package documentation). C is the type of a node's connection
// pool (*pgxpool.Pool, *sql.DB). Its methods are safe for concurrent use.
type Router[C any] struct {
	cfg      Config
	drv      Driver[C]
	primary  *Node[C]
	replicas []*Node[C]
	nodes    []*Node[C] // primary first

	primaryPos atomic.Uint64 // the highest position the primary is known to have reached
	notify     notifier      // broadcasts every new probe result

	causal [causalOutcomes]atomic.Uint64

	ctx       context.Context // ends with Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// causal read outcomes, for metrics.
const (
	causalReplica       = iota // a replica had the position already
	causalReplicaWaited        // a replica had it after waiting
	causalPrimary              // the primary served it
	causalOutcomes
)

var causalOutcomeNames = [causalOutcomes]string{"replica", "replica_after_wait", "primary"}

// minKickGap is the shortest time between two probes of a node that
// causal reads are waiting for.
const minKickGap = time.Millisecond

// New returns a router over primary and replicas and starts probing them.
// It waits (within ctx and Config.ProbeTimeout) for the first probe of
// every node, so that healthy replicas serve reads at once; a node that is
// down is probed again with backoff and joins when it answers. The router
// does not own the nodes' pools: close them after Close.
func New[C any](ctx context.Context, cfg Config, drv Driver[C], primary NodeSpec[C], replicas ...NodeSpec[C]) (*Router[C], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if drv == nil {
		return nil, errors.New("scaling: nil Driver")
	}
	r := &Router[C]{cfg: cfg.WithDefaults(), drv: drv}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.primary = r.newNode(primary, RolePrimary)
	r.nodes = append(r.nodes, r.primary)
	for _, spec := range replicas {
		n := r.newNode(spec, RoleReplica)
		r.replicas = append(r.replicas, n)
		r.nodes = append(r.nodes, n)
	}
	for _, n := range r.nodes {
		r.wg.Add(1)
		go r.loop(n)
	}
	r.waitProbed(ctx)
	return r, nil
}

// Close stops the probes. Reads keep working (on the state last probed),
// but nodes are no longer ejected or re-admitted.
func (r *Router[C]) Close() {
	r.closeOnce.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
}

// Config returns the router's configuration, defaults filled in.
func (r *Router[C]) Config() Config { return r.cfg }

// Primary returns the primary node.
func (r *Router[C]) Primary() *Node[C] { return r.primary }

// Replicas returns the replica nodes, in the order given to New.
func (r *Router[C]) Replicas() []*Node[C] { return r.replicas }

// Nodes returns every node, the primary first.
func (r *Router[C]) Nodes() []*Node[C] { return r.nodes }

// ObserveWrite tells the router that the primary has reached t's position
// (an adapter calls it with the token it just read from the primary), so
// that replica lag in bytes is measured against it before the next probe.
// Never pass tokens that came from clients: they are not to be trusted.
func (r *Router[C]) ObserveWrite(t Token) {
	if t != primaryOnlyToken {
		r.advancePrimary(t.pos)
	}
}

func (r *Router[C]) advancePrimary(pos uint64) {
	for {
		old := r.primaryPos.Load()
		if pos <= old || r.primaryPos.CompareAndSwap(old, pos) {
			return
		}
	}
}

// Read picks the node for a read outside a transaction, per the
// consistency ctx asks for (WithConsistency, and the tokens recorded in ctx
// by WithTokenRecorder, which make the read at least causal up to them):
//
//   - Strong: the primary (or an InSync replica).
//   - Eventual: a replica that is up and within the lag limits, preferring
//     the router's region, then the lowest latency (replicas within the
//     latency tolerance of the best tie), then the fewest reads in flight
//     per weight among two drawn at random ("power of two choices"). If none
//     qualifies, the primary.
//   - BoundedStaleness(d): the same among replicas at most d stale.
//   - Causal(t): the same among replicas that have applied t; if none has,
//     it waits up to Config.CausalWait for one to catch up (probing them
//     meanwhile), then takes the primary.
//
// The caller must call Done on the node when the read is over. Read fails
// only if ctx ends while a causal read waits.
func (r *Router[C]) Read(ctx context.Context) (*Node[C], error) {
	c := effective(ctx)
	crit := r.criteria(c)
	n := r.pick(crit, time.Now())
	if c.mode == ModeCausal {
		switch {
		case n != nil:
			r.causal[causalReplica].Add(1)
		case c.token == primaryOnlyToken || len(r.replicas) == 0:
			r.causal[causalPrimary].Add(1)
		default:
			var err error
			if n, err = r.waitCausal(ctx, crit); err != nil {
				return nil, err
			}
		}
	}
	if n == nil {
		n = r.primary
	}
	n.inFlight.Add(1)
	n.routed.Add(1)
	return n, nil
}

// criteria is what a read requires of a replica.
type criteria struct {
	strong   bool          // InSync replicas only
	minPos   uint64        // applied at least this far
	maxStale time.Duration // at most this stale; negative: no limit
}

func (r *Router[C]) criteria(c Consistency) criteria {
	crit := criteria{minPos: c.token.pos, maxStale: r.cfg.MaxLag}
	switch c.mode {
	case ModeStrong:
		crit.strong = true
	case ModeBoundedStaleness:
		if crit.maxStale < 0 || c.bound < crit.maxStale {
			crit.maxStale = c.bound
		}
	}
	return crit
}

// candidate is a replica that qualifies for a read, with its latency.
type candidate[C any] struct {
	n   *Node[C]
	lat time.Duration
}

// pick returns the replica for a read that requires crit, or nil if none
// qualifies. It does not allocate for up to 16 qualifying replicas.
func (r *Router[C]) pick(crit criteria, now time.Time) *Node[C] {
	var buf [16]candidate[C]
	cands := buf[:0]
	local := false
	primaryPos := r.primaryPos.Load()
	for _, n := range r.replicas {
		s := n.st.Load()
		if !n.qualifies(s, crit, now, primaryPos) {
			continue
		}
		if r.cfg.Region != "" && n.region == r.cfg.Region {
			if !local {
				local, cands = true, cands[:0]
			}
		} else if local {
			continue
		}
		cands = append(cands, candidate[C]{n, s.latency})
	}
	switch len(cands) {
	case 0:
		return nil
	case 1:
		return cands[0].n
	}
	best := cands[0].lat
	for _, c := range cands[1:] {
		best = min(best, c.lat)
	}
	limit := best + max(best/2, r.cfg.LatencyTolerance)
	k := 0
	for _, c := range cands {
		if c.lat <= limit {
			cands[k] = c
			k++
		}
	}
	return powerOfTwo(cands[:k])
}

// qualifies reports whether replica n, in state s, may serve a read that
// requires crit.
func (n *Node[C]) qualifies(s *nodeState, crit criteria, now time.Time, primaryPos uint64) bool {
	switch {
	case !s.up:
		return false
	case n.inSync:
		return true
	case crit.strong, s.pos < crit.minPos:
		return false
	}
	if maxBytes := n.r.cfg.MaxLagBytes; maxBytes >= 0 && primaryPos > s.pos && primaryPos-s.pos > uint64(maxBytes) {
		return false
	}
	return crit.maxStale < 0 || s.staleness(now) <= crit.maxStale
}

// powerOfTwo draws two distinct candidates, each with probability
// proportional to its weight, and returns the one with fewer reads in
// flight per weight (the first drawn on a tie).
func powerOfTwo[C any](cands []candidate[C]) *Node[C] {
	if len(cands) == 1 {
		return cands[0].n
	}
	total := 0
	for _, c := range cands {
		total += c.n.weight
	}
	i := drawWeighted(cands, -1, rand.IntN(total))
	j := drawWeighted(cands, i, rand.IntN(total-cands[i].n.weight))
	a, b := cands[i].n, cands[j].n
	if b.inFlight.Load()*int64(a.weight) < a.inFlight.Load()*int64(b.weight) {
		return b
	}
	return a
}

// drawWeighted returns the index of the candidate, skipping index skip,
// whose weight interval holds x.
func drawWeighted[C any](cands []candidate[C], skip, x int) int {
	for i, c := range cands {
		if i == skip {
			continue
		}
		if x < c.n.weight {
			return i
		}
		x -= c.n.weight
	}
	return len(cands) - 1 // unreachable with a correct x
}

// waitCausal waits up to Config.CausalWait for a replica to satisfy crit,
// probing the replicas that could, and returns it, or nil for the primary.
func (r *Router[C]) waitCausal(ctx context.Context, crit criteria) (*Node[C], error) {
	timer := time.NewTimer(r.cfg.CausalWait)
	defer timer.Stop()
	for waiting := true; waiting; {
		changed := r.notify.channel()
		if n := r.pick(crit, time.Now()); n != nil {
			r.causal[causalReplicaWaited].Add(1)
			return n, nil
		}
		if !r.kickLagging(crit) {
			break // no replica could catch up
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			waiting = false
		}
	}
	r.causal[causalPrimary].Add(1)
	return nil, nil
}

// kickLagging asks for a probe of every replica that would satisfy crit
// but for its position, and reports whether there is one.
func (r *Router[C]) kickLagging(crit criteria) bool {
	crit.minPos = 0
	now, primaryPos := time.Now(), r.primaryPos.Load()
	found := false
	for _, n := range r.replicas {
		if n.qualifies(n.st.Load(), crit, now, primaryPos) {
			n.kick()
			found = true
		}
	}
	return found
}

// waitProbed waits until every node has been probed once, ctx ends, or
// ProbeTimeout (plus a little) passes.
func (r *Router[C]) waitProbed(ctx context.Context) {
	timer := time.NewTimer(r.cfg.ProbeTimeout + 100*time.Millisecond)
	defer timer.Stop()
	for {
		changed := r.notify.channel()
		all := true
		for _, n := range r.nodes {
			all = all && n.st.Load().probed
		}
		if all {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}

// notifier broadcasts events to any number of waiters.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// channel returns a channel closed at the next broadcast.
func (nt *notifier) channel() <-chan struct{} {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.ch == nil {
		nt.ch = make(chan struct{})
	}
	return nt.ch
}

func (nt *notifier) broadcast() {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.ch != nil {
		close(nt.ch)
		nt.ch = nil
	}
}

// String describes the router, for logs.
func (r *Router[C]) String() string {
	return fmt.Sprintf("scaling.Router(primary %s, %d replicas, region %q)", r.primary.name, len(r.replicas), r.cfg.Region)
}
