package scaling

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A Node is one database server of a Router: its pool, its probed state
// and its counters.
type Node[C any] struct {
	// Read by every routed read, written rarely.
	r      *Router[C]
	conn   C
	name   string
	region string
	role   Role
	weight int
	inSync bool
	st     atomic.Pointer[nodeState]
	kicked atomic.Bool   // a causal read waits for a probe
	wake   chan struct{} // makes the probe loop look at the state again
	mu     sync.Mutex    // serializes state changes

	// Written by every routed read: on a cache line of their own, so that
	// reads on other cores keep the fields above cached.
	_         [64]byte
	inFlight  atomic.Int64
	routed    atomic.Uint64
	errs      atomic.Uint64
	ejections atomic.Uint64
}

// nodeState is an immutable snapshot of what is known of a node.
type nodeState struct {
	probed  bool          // probed at least once
	up      bool          // serving: the last probe succeeded and no read failed since
	pos     uint64        // Status.Position of the last successful probe
	lag     time.Duration // Status.Lag of the last successful probe
	at      time.Time     // start of the last successful probe
	latency time.Duration // moving average of probe latencies
	done    time.Time     // end of the last probe
	next    time.Time     // when to probe next
	backoff time.Duration // the current ejection backoff
	upSince time.Time     // when the node last came up
	err     error         // why the node is down
}

// staleness bounds how old a replica's data may be now: its lag at the
// last probe plus the time since.
func (s *nodeState) staleness(now time.Time) time.Duration {
	return s.lag + now.Sub(s.at)
}

// latencyWeight is the weight of a new sample in the latency average.
const latencyWeight = 0.3

func (r *Router[C]) newNode(spec NodeSpec[C], role Role) *Node[C] {
	n := &Node[C]{
		r: r, conn: spec.Conn, name: spec.Name, region: spec.Region, role: role,
		weight: max(spec.Weight, 1), inSync: spec.InSync && role == RoleReplica,
		wake: make(chan struct{}, 1),
	}
	n.st.Store(&nodeState{})
	return n
}

// Conn returns the node's connection pool.
func (n *Node[C]) Conn() C { return n.conn }

// Name returns the node's name.
func (n *Node[C]) Name() string { return n.name }

// Region returns the node's region.
func (n *Node[C]) Region() string { return n.region }

// Role returns the node's role.
func (n *Node[C]) Role() Role { return n.role }

// Done ends a read that Read routed to n; err is its outcome. It counts the
// error, ejects a replica that failed (FaultNode), and reports whether the
// read may be tried again on another node (call Read again; the ejected
// node is no longer chosen). Reads are the only statements a router
// routes, so retrying one is safe.
func (n *Node[C]) Done(err error) (retry bool) {
	n.inFlight.Add(-1)
	if err == nil {
		return false
	}
	switch n.r.drv.Fault(err) {
	case FaultQuery:
		n.errs.Add(1)
	case FaultRetry:
		n.errs.Add(1)
		return true
	case FaultNode:
		n.errs.Add(1)
		n.eject(err)
		return true
	}
	return false
}

// kick asks the probe loop for a probe soon.
func (n *Node[C]) kick() {
	if !n.kicked.Swap(true) {
		n.poke()
	}
}

// poke wakes the probe loop.
func (n *Node[C]) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// eject takes a replica out of service after a failed read; the probe loop
// re-admits it once a probe succeeds, after the backoff. The primary is
// never ejected by reads: it is the last resort anyway, and its probe tells
// whether it is up.
func (n *Node[C]) eject(err error) {
	if n.role == RolePrimary {
		return
	}
	now := time.Now()
	n.mu.Lock()
	old := n.st.Load()
	if !old.up {
		n.mu.Unlock()
		return
	}
	s := *old
	s.up, s.err = false, err
	s.backoff = n.nextBackoff(old, now)
	s.next = now.Add(s.backoff)
	n.st.Store(&s)
	n.mu.Unlock()
	n.ejected()
}

// ejected does what follows an ejection: count it, reset a replica's
// pool, tell waiters, and make the probe loop follow the backoff.
func (n *Node[C]) ejected() {
	n.ejections.Add(1)
	if n.role == RoleReplica {
		n.r.drv.Reset(n.conn)
	}
	n.r.notify.broadcast()
	n.poke()
}

// nextBackoff returns the backoff of a node in state old that fails at now:
// the base backoff when it was up for a while, else double the last one.
func (n *Node[C]) nextBackoff(old *nodeState, now time.Time) time.Duration {
	cfg := &n.r.cfg
	if old.backoff == 0 || (old.up && now.Sub(old.upSince) >= cfg.MaxEjectBackoff) {
		return cfg.EjectBackoff
	}
	return min(2*old.backoff, cfg.MaxEjectBackoff)
}

// untilProbe returns how long the probe loop should wait before probing n.
func (n *Node[C]) untilProbe(now time.Time) time.Duration {
	s := n.st.Load()
	next := s.next
	if n.kicked.Load() && s.up {
		if soon := s.done.Add(minKickGap); soon.Before(next) {
			next = soon
		}
	}
	return next.Sub(now)
}

// loop probes n until the router closes: every ProbeInterval while it is
// up, sooner when a causal read waits for it, with backoff while it is down.
func (r *Router[C]) loop(n *Node[C]) {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if d := n.untilProbe(time.Now()); d > 0 {
			timer.Reset(d)
			select {
			case <-r.ctx.Done():
				return
			case <-n.wake:
				continue
			case <-timer.C:
			}
		}
		if r.ctx.Err() != nil {
			return
		}
		r.probe(n)
	}
}

// probe probes n once and records the outcome.
func (r *Router[C]) probe(n *Node[C]) {
	n.kicked.Store(false)
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.ProbeTimeout)
	start := time.Now()
	st, err := r.drv.Probe(ctx, n.conn, n.role)
	end := time.Now()
	cancel()
	if r.ctx.Err() != nil {
		return // closing: the error says nothing about the node
	}
	if err == nil && st.Latency <= 0 {
		st.Latency = end.Sub(start)
	}
	n.record(st, err, start, end)
}

// record stores the outcome of a probe that ran from start to end.
func (n *Node[C]) record(st Status, err error, start, end time.Time) {
	n.mu.Lock()
	old := n.st.Load()
	s := *old
	s.probed, s.done = true, end
	if err != nil {
		s.up, s.err = false, err
		s.backoff = n.nextBackoff(old, end)
		s.next = end.Add(s.backoff)
	} else {
		if !old.up {
			s.upSince = end
		}
		if old.latency == 0 {
			s.latency = st.Latency
		} else {
			s.latency = time.Duration(latencyWeight*float64(st.Latency) + (1-latencyWeight)*float64(old.latency))
		}
		s.up, s.err = true, nil
		s.pos, s.lag, s.at = st.Position, st.Lag, start
		s.next = end.Add(n.r.cfg.ProbeInterval)
	}
	n.st.Store(&s)
	n.mu.Unlock()
	switch {
	case err == nil && n.role == RolePrimary:
		n.r.advancePrimary(st.Position)
		n.r.notify.broadcast()
	case err != nil && old.up:
		n.ejected()
	default:
		n.r.notify.broadcast()
	}
}

// NodeStatus is a snapshot of a node, for metrics, logs and tests.
type NodeStatus struct {
	Name   string
	Region string
	Role   Role
	Up     bool  // serving reads
	Err    error // why not, if not

	Position  uint64        // as of the last successful probe
	LagBytes  uint64        // behind the primary's known position
	Lag       time.Duration // replay lag at the last probe
	Staleness time.Duration // Lag plus the age of the last probe: the bound BoundedStaleness compares
	Latency   time.Duration // moving average of probe round trips

	InFlight  int64
	Routed    uint64 // reads routed to the node
	Errors    uint64 // reads that failed on it
	Ejections uint64 // times it was taken out of service
	Pool      PoolStats
}

// Status returns a snapshot of the node.
func (n *Node[C]) Status() NodeStatus {
	s := n.st.Load()
	ns := NodeStatus{
		Name: n.name, Region: n.region, Role: n.role, Up: s.up, Err: s.err,
		Position: s.pos, Lag: s.lag, Latency: s.latency,
		InFlight: n.inFlight.Load(), Routed: n.routed.Load(), Errors: n.errs.Load(), Ejections: n.ejections.Load(),
		Pool: n.r.drv.Stats(n.conn),
	}
	if n.role == RoleReplica && !n.inSync {
		if p := n.r.primaryPos.Load(); p > s.pos {
			ns.LagBytes = p - s.pos
		}
		if s.probed && !s.at.IsZero() {
			ns.Staleness = s.staleness(time.Now())
		}
	}
	return ns
}
