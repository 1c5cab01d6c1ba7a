package httpapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-go/strata/repo"
)

// TestLimiterMemoryIsBounded floods a limiter with distinct keys: it never
// holds more than its bound, drops idle buckets first, and keeps the
// buckets of keys that authenticated while there is room.
func TestLimiterMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter[string](Rate{PerSecond: 10, Burst: 20}, 100) // full again after 2 s idle
	for i := range 10 {
		l.take(fmt.Sprint("trusted-", i), now)
		l.trust(fmt.Sprint("trusted-", i), true)
	}
	for i := range 10_000 {
		if _, _ = l.take(fmt.Sprint("garbage-", i), now); l.len() > 100 {
			t.Fatalf("%d buckets after %d keys, want at most 100", l.len(), i+1)
		}
	}
	// The flood evicted by recency: the trusted keys, least recently used,
	// went first once the bound was reached.
	if _, ok := l.buckets["trusted-0"]; ok || l.len() != 100 {
		t.Errorf("%d buckets (want 100), trusted-0 kept: %v", l.len(), ok)
	}

	// Idle buckets are dropped as soon as a new key arrives, full or not.
	now = now.Add(3 * time.Second)
	l.take("fresh", now)
	if l.len() != 1 {
		t.Errorf("after the idle time: %d buckets, want 1 (the fresh one)", l.len())
	}

	// A trusted key survives idleness while there is room.
	l.trust("fresh", true)
	now = now.Add(time.Hour)
	l.take("another", now)
	if _, ok := l.buckets["fresh"]; !ok || l.len() != 2 {
		t.Errorf("the idle trusted bucket was dropped: %d buckets", l.len())
	}
}

// TestLimiterBucket checks the token arithmetic on a fake clock.
func TestLimiterBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter[string](Rate{PerSecond: 4}, 10) // burst defaults to 4
	for i := range 4 {
		if ok, _ := l.take("k", now); !ok {
			t.Fatalf("take %d refused", i)
		}
	}
	ok, wait := l.take("k", now)
	if ok || wait != 250*time.Millisecond {
		t.Errorf("over the burst: ok %v, wait %v; want a refusal and 250ms", ok, wait)
	}
	if ok, _ := l.peek("k", now.Add(249*time.Millisecond)); ok {
		t.Error("peek found a token before it was earned")
	}
	if ok, _ := l.peek("k", now.Add(250*time.Millisecond)); !ok {
		t.Error("peek found no token once earned")
	}
	if ok, _ := l.peek("unknown", now); !ok || l.len() != 1 {
		t.Errorf("peek of an unknown key: %v, and %d buckets (peek must not make one)", ok, l.len())
	}
	// Fractional rates and bursts: 1 token per 30 s, burst rounds up to 1.
	slow := newLimiter[string](Rate{PerSecond: 1.0 / 30}, 10)
	slow.take("k", now)
	if _, wait := slow.take("k", now.Add(time.Second)); wait != 29*time.Second {
		t.Errorf("slow limiter wait = %v, want 29s", wait)
	}
	if err := tooManyRequests("x", 1500*time.Millisecond).(*apiError); err.retryAfter != 2 || err.status != 429 {
		t.Errorf("Retry-After for 1.5 s = %d, want 2", err.retryAfter)
	}
	if err := tooManyRequests("x", 0).(*apiError); err.retryAfter != 1 {
		t.Errorf("Retry-After for 0 s = %d, want 1", err.retryAfter)
	}
}

func TestNoLimitsConfigured(t *testing.T) {
	for _, r := range []RateLimit{{}, {PerKey: Rate{PerSecond: -1}}, {MaxTracked: 5}} {
		if l := newLimits(r); l != nil {
			t.Errorf("newLimits(%+v) = %+v, want nil", r, l)
		}
	}
}

// TestBlockedGuesserLeavesNoBuckets: once an address has spent its failed
// authentications, its guesses are refused before a bucket is made for
// them, so a guesser cannot crowd the working keys out of memory.
func TestBlockedGuesserLeavesNoBuckets(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimits(RateLimit{PerKey: Rate{PerSecond: 10}, FailedAuthPerAddr: Rate{PerSecond: 1, Burst: 2}, Now: func() time.Time { return now }})
	good, err := l.admit("good", "192.0.2.1:1")
	if err != nil {
		t.Fatal(err)
	}
	l.authenticated(good, nil)
	for i := range 1000 {
		c, err := l.admit(fmt.Sprint("guess-", i), "192.0.2.1:1")
		if i < 2 {
			if err != nil {
				t.Fatalf("guess %d refused within the burst: %v", i, err)
			}
			l.authenticated(c, repo.Unauthenticated("no"))
		} else if err == nil {
			t.Fatalf("guess %d admitted", i)
		}
	}
	if n := l.keys.len(); n != 3 {
		t.Errorf("%d key buckets after 1000 guesses, want 3 (the good key and the 2 guesses admitted)", n)
	}
	if _, err := l.admit("good", "192.0.2.1:1"); err != nil {
		t.Errorf("the working key from the guessing address: %v", err)
	}
}
