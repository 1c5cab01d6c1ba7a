package pgrepo

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/strata-go/strata/repo"
)

func TestHeadsCacheAndLease(t *testing.T) {
	h := newHeads()
	org := repo.NewID()
	l, _, _, known := h.acquire(t.Context(), org)
	if l == nil || known {
		t.Fatalf("first acquire: lease %v, known %v; want a lease and no cached head", l, known)
	}

	// While l is held, another appender waits for it...
	got := make(chan *lease)
	go func() {
		l2, seq, hash, known := h.acquire(context.Background(), org)
		if !known || seq != 7 || !bytes.Equal(hash, []byte("h7")) {
			t.Errorf("waiter got head %d %q (known %v), want the one committed before the release", seq, hash, known)
		}
		got <- l2
	}()
	time.Sleep(10 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("acquire returned while the lease was held")
	default:
	}
	// ... and takes it, with the head the holder committed, once released.
	h.advance(org, 7, []byte("h7"))
	l.release()
	l2 := <-got
	if l2 == nil {
		t.Fatal("waiter got no lease")
	}

	// A waiter whose context ends gets no lease (and must read the head).
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if l3, _, _, _ := h.acquire(ctx, org); l3 != nil {
		t.Fatal("acquire with an ended context returned a lease")
	}
	l2.release()

	// The cache only moves forward, and forget drops it.
	h.advance(org, 5, []byte("h5"))
	l4, seq, _, known := h.acquire(t.Context(), org)
	if !known || seq != 7 {
		t.Fatalf("head after an older advance: %d (known %v), want 7", seq, known)
	}
	l4.release()
	h.forget(org)
	l5, _, _, known := h.acquire(t.Context(), org)
	if known {
		t.Fatal("head still known after forget")
	}
	l5.release()
}
