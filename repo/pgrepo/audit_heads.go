package pgrepo

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
)

// heads caches, per org, the audit chain head as this process's last
// committed append left it, so that the next append can seal its event
// without reading the head first: its INSERT then travels with the COMMIT,
// and an audited change costs no round trip more than the change alone.
// Should another process have moved the head meanwhile, the database refuses
// the INSERT (migration 000003: SQLSTATE 40001), the entry is forgotten, and
// the retried transaction reads the head under its row lock (LockAuditHead).
//
// Within the process, appenders to one org take turns through a lease, held
// from the append until the transaction's next round trip (its COMMIT,
// usually): without it, two transactions sealing against the same cached head
// would collide at commit. A waiter gives up after leaseWait (or when its
// context ends) and reads the head under the row lock instead: slower, never
// wrong. The cache holds one small entry per org the process appended to.
type heads struct {
	mu sync.Mutex
	m  map[uuid.UUID]*headEntry
}

// headEntry is one org's cached head and lease.
type headEntry struct {
	seq   int64
	hash  []byte
	known bool          // seq and hash are a head this process committed
	held  chan struct{} // the lease holder's; closed on release; nil when free
}

// lease is the right to append to an org's chain from its cached head.
type lease struct {
	h  *heads
	e  *headEntry
	ch chan struct{}
}

// leaseWait bounds the wait for an org's lease. A holder releases it at its
// next round trip, so waits are short unless its transaction stalls.
const leaseWait = time.Second

func newHeads() *heads { return &heads{m: make(map[uuid.UUID]*headEntry)} }

// entry returns org's entry, creating it. h.mu must be held.
func (h *heads) entry(org uuid.UUID) *headEntry {
	e := h.m[org]
	if e == nil {
		e = &headEntry{}
		h.m[org] = e
	}
	return e
}

// acquire takes org's lease, waiting for its holder to release it, and
// returns the cached head if the process knows it (known). Without a lease
// (nil: the wait ran out or ctx ended) the cached head must not be used.
func (h *heads) acquire(ctx context.Context, org uuid.UUID) (l *lease, seq int64, hash []byte, known bool) {
	var timeout <-chan time.Time
	for {
		h.mu.Lock()
		e := h.entry(org)
		if e.held == nil {
			e.held = make(chan struct{})
			l, seq, hash, known = &lease{h: h, e: e, ch: e.held}, e.seq, e.hash, e.known
			h.mu.Unlock()
			return l, seq, hash, known
		}
		held := e.held
		h.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(leaseWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-held:
		case <-timeout:
			return nil, 0, nil, false
		case <-ctx.Done():
			return nil, 0, nil, false
		}
	}
}

// release frees the lease; the next waiter takes it.
func (l *lease) release() {
	l.h.mu.Lock()
	if l.e.held == l.ch {
		l.e.held = nil
	}
	l.h.mu.Unlock()
	close(l.ch)
}

// advance records a committed head of org's chain, unless the cache already
// knows a later one.
func (h *heads) advance(org uuid.UUID, seq int64, hash []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.entry(org)
	if !e.known || seq > e.seq {
		e.seq, e.hash, e.known = seq, hash, true
	}
}

// forget drops org's cached head: the next append reads it.
func (h *heads) forget(org uuid.UUID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.m[org]; e != nil {
		e.known = false
	}
}
