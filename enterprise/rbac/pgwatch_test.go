package rbac_test

import (
	"context"
	"errors"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
)

var _ rbac.Watcher = (*pgrepo.PolicyWatcher)(nil)

// watchLimit bounds every wait for something that should happen promptly.
const watchLimit = 30 * time.Second

// countingGrants counts the grant reads of an Authorizer: a check that does
// not read was answered from the cache.
type countingGrants struct {
	rbac.GrantSource
	n atomic.Int64
}

func (c *countingGrants) Grants(ctx context.Context, orgID, userID uuid.UUID) ([]repo.Grant, error) {
	c.n.Add(1)
	return c.GrantSource.Grants(ctx, orgID, userID)
}

// delivery is a notification an Authorizer received, and when.
type delivery struct {
	org     uuid.UUID
	version int64
	at      time.Time
}

// probe wraps a Watcher so that a test sees its subscriptions come and go
// and can hold the next one back.
type probe struct {
	w     rbac.Watcher
	hold  atomic.Pointer[chan struct{}] // if set, the next subscription waits until it is closed
	held  chan struct{}                 // a subscription is held back (the Authorizer is unsubscribed)
	ready chan struct{}                 // a subscription is ready (after the Authorizer's ready)
	ended chan error                    // a ready subscription ended, with why
	got   chan delivery                 // notifications, after the Authorizer's Invalidate
}

func newProbe(w rbac.Watcher) *probe {
	return &probe{w: w, held: make(chan struct{}, 8), ready: make(chan struct{}, 8),
		ended: make(chan error, 8), got: make(chan delivery, 1024)}
}

func (p *probe) Watch(ctx context.Context, ready func(), notify func(uuid.UUID, int64)) error {
	if h := p.hold.Swap(nil); h != nil {
		p.held <- struct{}{}
		select {
		case <-*h:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	subscribed := false
	err := p.w.Watch(ctx,
		func() { ready(); subscribed = true; p.ready <- struct{}{} },
		func(org uuid.UUID, v int64) { notify(org, v); p.got <- delivery{org, v, time.Now()} })
	if subscribed {
		p.ended <- err
	}
	return err
}

// await returns the next value from ch, failing the test after watchLimit.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(watchLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// delivered waits until the probe has delivered the org's version v.
func (p *probe) delivered(t *testing.T, org uuid.UUID, v int64) delivery {
	t.Helper()
	for {
		if d := await(t, p.got, "a notification"); d.org == org && d.version == v {
			return d
		}
	}
}

// instance is one server instance: its own database handle and Authorizer,
// kept in step with the others by Watch over a PolicyWatcher and told of its
// own changes by Invalidate. No VersionSource, no MaxStaleness.
type instance struct {
	name  string
	db    *pgrepo.DB
	reads *countingGrants
	authz *rbac.Authorizer
	probe *probe
}

// startInstance opens dbURL as application name and waits until its
// Authorizer is subscribed.
func startInstance(t *testing.T, dbURL, name string) *instance {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	db, err := pgrepo.Open(t.Context(), u.String(), pgrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in := &instance{name: name, db: db, reads: &countingGrants{GrantSource: db.RoleBindings()}}
	in.authz = rbac.New(in.reads, rbac.Options{Logger: quiet})
	in.probe = newProbe(db.PolicyWatcher(pgrepo.PolicyWatcherOptions{Logger: quiet}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.authz.Watch(ctx, in.probe) }()
	t.Cleanup(func() { cancel(); <-done })
	await(t, in.probe.ready, name+" subscribing")
	return in
}

// check runs a check of projects.create and returns whether it was allowed
// and whether it read the grants (rather than answering from the cache).
func (in *instance) check(t *testing.T, org, user uuid.UUID) (ok, read bool) {
	t.Helper()
	before := in.reads.n.Load()
	ok = allowed(t, in.authz, org, user, rbac.ProjectsCreate, nil)
	return ok, in.reads.n.Load() != before
}

// expect runs a check and fails unless its answer and whether it read are
// as wanted.
func (in *instance) expect(t *testing.T, org, user uuid.UUID, wantOK, wantRead bool) {
	t.Helper()
	if ok, read := in.check(t, org, user); ok != wantOK || read != wantRead {
		t.Fatalf("%s: check allowed=%v read=%v, want allowed=%v read=%v", in.name, ok, read, wantOK, wantRead)
	}
}

// untilDenied polls the instance's check until it is denied and returns
// when. Until then every allowed answer must come from the cache: a read
// after the change committed must deny.
func (in *instance) untilDenied(t *testing.T, org, user uuid.UUID) time.Time {
	t.Helper()
	deadline := time.Now().Add(watchLimit)
	for {
		ok, read := in.check(t, org, user)
		if !ok {
			return time.Now()
		}
		if read {
			t.Fatalf("%s: a check read the grants and was still allowed", in.name)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the change was not seen within %v", in.name, watchLimit)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// policy is an org with a member whom instance b binds and unbinds.
type policy struct {
	org, user uuid.UUID
	binding   uuid.UUID
}

// bind gives the member the member role through b and waits until a has
// been told (so a's next check fills its cache at the current version).
func (p *policy) bind(t *testing.T, a, b *instance) {
	t.Helper()
	ctx := t.Context()
	err := change(t, b.db, b.authz, p.org, func(tx repo.Store) error {
		r, err := tx.Roles().GetByName(ctx, p.org, rbac.Member)
		if err != nil {
			return err
		}
		rb, err := tx.RoleBindings().Create(ctx, p.org, repo.NewRoleBinding{UserID: p.user, RoleID: r.ID})
		p.binding = rb.ID
		return err
	})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	a.probe.delivered(t, p.org, p.version(t, b))
}

// revoke deletes the binding through b, in a transaction that bumps the
// version, and returns the new version and when the commit returned.
func (p *policy) revoke(t *testing.T, b *instance) (int64, time.Time) {
	t.Helper()
	err := change(t, b.db, b.authz, p.org, func(tx repo.Store) error {
		return tx.RoleBindings().Delete(t.Context(), p.org, p.binding)
	})
	committed := time.Now()
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	b.expect(t, p.org, p.user, false, true) // b told itself
	return p.version(t, b), committed
}

func (p *policy) version(t *testing.T, in *instance) int64 {
	t.Helper()
	v, err := in.db.Orgs().PolicyVersion(t.Context(), p.org)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newPolicy seeds an org with an owner and a member, through b.
func newPolicy(t *testing.T, b *instance) *policy {
	t.Helper()
	s := seedOrg(t, b.db, 1, 1)
	return &policy{org: s.org.ID, user: s.members[0].ID}
}

// revokeSeen revokes the binding through b and checks that a, which has the
// allowed answer cached, keeps serving it until the notification arrives and
// denies from then on.
func revokeSeen(t *testing.T, p *policy, a, b *instance) {
	t.Helper()
	a.expect(t, p.org, p.user, true, true)  // fills a's cache
	a.expect(t, p.org, p.user, true, false) // served from it
	v, committed := p.revoke(t, b)
	denied := a.untilDenied(t, p.org, p.user)
	d := a.probe.delivered(t, p.org, v)
	t.Logf("commit -> %s notified: %v; commit -> %s's first denied check: %v",
		a.name, max(d.at.Sub(committed), 0), a.name, denied.Sub(committed))
}

// TestTwoInstanceInvalidation runs two instances over two handles of one
// PostgreSQL database: a revocation committed through instance b is seen by
// instance a once the notification arrives, with no VersionSource. Then a's
// listener is terminated: while it is down a trusts nothing (a change whose
// notification it cannot get is seen at once), and once it has resubscribed
// notifications work again.
func TestTwoInstanceInvalidation(t *testing.T) {
	dbURL := testdb.PostgresURL(t)
	a, b := startInstance(t, dbURL, "instance-a"), startInstance(t, dbURL, "instance-b")
	p := newPolicy(t, b)
	p.bind(t, a, b)
	revokeSeen(t, p, a, b)

	gate := make(chan struct{})
	a.probe.hold.Store(&gate)
	var killed int
	err := b.db.Pool().QueryRow(t.Context(), `
		SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, a.name+" policy watcher").Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners of %s (%v), want 1", killed, a.name, err)
	}
	t.Logf("%s's subscription ended: %v", a.name, await(t, a.probe.ended, "the subscription to end"))
	await(t, a.probe.held, "the Authorizer to resubscribe")

	// Unsubscribed: b's grant notifies nobody on a's side, yet a sees it at
	// once, reading the grants on every check.
	p.bind(t, b, b)
	a.expect(t, p.org, p.user, true, true)
	a.expect(t, p.org, p.user, true, true)

	close(gate)
	await(t, a.probe.ready, "the new subscription")
	revokeSeen(t, p, a, b)
}

// TestWatchSurvivesPostgresRestart restarts the server under two instances,
// cleanly and after a crash: each time a's Authorizer subscribes again by
// itself, and a later revocation through b is seen by a through the new
// subscription.
func TestWatchSurvivesPostgresRestart(t *testing.T) {
	c := pgtest.NewCluster(t)
	dbURL := c.URL("postgres")
	db, err := strata.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	err = strata.Migrate(t.Context(), db)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	a, b := startInstance(t, dbURL, "instance-a"), startInstance(t, dbURL, "instance-b")
	p := newPolicy(t, b)
	for _, crash := range []bool{false, true} {
		p.bind(t, a, b)
		a.expect(t, p.org, p.user, true, true)
		if crash {
			// Commits are asynchronous on the test cluster: make the
			// binding durable before killing the server.
			if _, err := b.db.Pool().Exec(t.Context(), "CHECKPOINT"); err != nil {
				t.Fatal(err)
			}
			c.Kill()
		}
		if err := c.Restart(t.Context()); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		err = await(t, a.probe.ended, "the subscription to end")
		if !errors.Is(err, repo.ErrUnavailable) {
			t.Errorf("subscription ended with %v, want ErrUnavailable", err)
		}
		await(t, a.probe.ready, "the Authorizer to resubscribe")
		t.Logf("crash=%v: %s resubscribed %v after the server was back; the old subscription ended with: %v",
			crash, a.name, time.Since(back), err)
		// The restart broke every pooled connection; start the pools afresh.
		a.db.Pool().Reset()
		b.db.Pool().Reset()
		revokeSeen(t, p, a, b)
	}
}
