// Package poll lets a test wait for a condition instead of sleeping for a
// fixed time: the wait ends as soon as the condition holds, so a fast
// machine does not wait for nothing and a slow one does not go on too soon.
//
//	poll.Until(t, "the replica to serve reads", func() bool { return replica.Status().Up })
package poll

import (
	"testing"
	"time"
)

// Limit bounds every wait. It is not a speed requirement: a condition that
// has not held by then is taken never to hold, and the test fails saying
// what it waited for instead of hanging until go test's own timeout.
const Limit = 30 * time.Second

// Until calls cond, every millisecond, until it returns true, and fails t
// with what was awaited when it has not within Limit. Call it from the
// test's goroutine.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", Limit, what)
		}
		time.Sleep(time.Millisecond)
	}
}
