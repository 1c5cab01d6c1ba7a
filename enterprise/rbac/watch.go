package rbac

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Watcher delivers the policy-version changes committed by every instance of
// the server, e.g. over PostgreSQL LISTEN/NOTIFY (a NOTIFY sent in the
// transaction that bumps the version is delivered on commit, and only then).
type Watcher interface {
	// Watch subscribes, calls ready once the subscription is in place (so
	// every change committed after that call will be delivered), then calls
	// notify for each change, in the order received, until ctx ends or the
	// subscription breaks. It returns why it stopped. It must not call notify
	// before ready, nor after returning.
	Watch(ctx context.Context, ready func(), notify func(orgID uuid.UUID, version int64)) error
}

// Watch keeps the cache in step with changes made by other instances: it runs
// w, turning each notification into Invalidate, and subscribes again after a
// failure (with backoff from 50ms to 5s), until ctx ends; then it returns
// ctx's error.
//
// Notifications sent while the subscription is down are lost, so from the
// moment Watch starts until a subscription is ready, and again from a failure
// until the next subscription is ready, the cache is not trusted: with a
// VersionSource, each check asks it for the org's version (a primary-key read);
// without one, each check reads the user's grants. Each time a subscription
// becomes ready, the whole cache is dropped (Reset), since changes may have
// been missed since it was filled. After Watch returns the cache stays
// untrusted in the same way. Run one Watch at a time per Authorizer.
func (a *Authorizer) Watch(ctx context.Context, w Watcher) error {
	a.listening.Store(false)
	a.watched.Store(true)
	const minBackoff, maxBackoff = 50 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		err := w.Watch(ctx,
			func() {
				a.Reset()
				a.listening.Store(true)
			},
			a.Invalidate)
		if a.listening.Swap(false) {
			backoff = minBackoff // it was subscribed: start over
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Warn("rbac: policy watcher stopped; checks bypass the cache until it resubscribes",
			"err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
