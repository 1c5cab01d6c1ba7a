package rbac

import (
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// boundedMap is a concurrency-safe map holding at most max entries, evicting
// with CLOCK, an approximation of LRU. A hit is a lock-free sync.Map load plus
// setting the entry's referenced bit (an atomic load, and a store only when
// the bit was clear), so concurrent checks share no lock and, once warm, write
// no shared memory. Inserting takes a mutex: when the map is full, the clock
// hand sweeps the ring of keys, clearing set bits, and evicts the first entry
// whose bit was clear (amortized O(1)).
type boundedMap[K comparable, V any] struct {
	m sync.Map // K -> *slot[V]

	mu   sync.Mutex // guards ring, hand and the inserts and deletes of m
	ring []K        // every key in m, in clock order
	hand int        // the next ring position to look at when evicting
	max  int
}

type slot[V any] struct {
	v   V
	ref atomic.Bool
}

func newBoundedMap[K comparable, V any](max int) *boundedMap[K, V] {
	return &boundedMap[K, V]{max: max}
}

// load returns the value of k and marks it recently used.
func (c *boundedMap[K, V]) load(k K) (V, bool) {
	s, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	sl := s.(*slot[V])
	if !sl.ref.Load() {
		sl.ref.Store(true)
	}
	return sl.v, true
}

// loadOrStore returns the value of k, storing v first if k is absent (and
// evicting an entry if the map is full).
func (c *boundedMap[K, V]) loadOrStore(k K, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m.Load(k); ok {
		return s.(*slot[V]).v
	}
	c.m.Store(k, &slot[V]{v: v})
	if len(c.ring) < c.max {
		c.ring = append(c.ring, k)
		return v
	}
	for { // full: the new key takes the place of the first unreferenced one
		old := c.ring[c.hand]
		s, _ := c.m.Load(old)
		if !s.(*slot[V]).ref.Swap(false) {
			c.m.Delete(old)
			c.ring[c.hand] = k
			c.hand = (c.hand + 1) % len(c.ring)
			return v
		}
		c.hand = (c.hand + 1) % len(c.ring)
	}
}

// len returns the number of entries.
func (c *boundedMap[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring)
}

// clear removes every entry.
func (c *boundedMap[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Clear()
	c.ring, c.hand = nil, 0
}

// orgState is the cache of one org.
type orgState struct {
	// known is the newest policy version this instance knows of: raised by
	// Invalidate, by the Watcher, and by reads of the VersionSource. Never lowered.
	known atomic.Int64
	// checked is when the VersionSource was last asked (the time the query
	// started, on the Authorizer's monotonic clock); 0 means never.
	checked atomic.Int64
	// table holds the compiled grant sets of the org's users, for one version.
	table atomic.Pointer[userTable]
}

// userTable holds grant sets read while the org's policy version was at
// least version. When the version rises it is dropped as a whole, not purged
// entry by entry.
type userTable struct {
	version int64
	users   *boundedMap[uuid.UUID, *grantSet]
}

// tableFor returns a table that is valid for version v: the current one if it
// is that new, else a new empty one, installed. Grant sets must be read after
// the table they go into was obtained: that is what makes a table's contents
// at least as new as its version.
func (o *orgState) tableFor(v int64, maxUsers int) *userTable {
	for {
		t := o.table.Load()
		if t != nil && t.version >= v {
			return t
		}
		nt := &userTable{version: v, users: newBoundedMap[uuid.UUID, *grantSet](maxUsers)}
		if o.table.CompareAndSwap(t, nt) {
			return nt
		}
	}
}

// raise stores v in a if it is larger than what a holds.
func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
