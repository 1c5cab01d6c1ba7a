package rbac_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// checkMany runs n checks of every permission and returns how many were allowed.
func checkMany(t *testing.T, a *rbac.Authorizer, org, user uuid.UUID, n int) int {
	t.Helper()
	count := 0
	for range n {
		for _, perm := range rbac.All() {
			if allowed(t, a, org, user, perm, nil) {
				count++
			}
		}
	}
	return count
}

func TestCacheReadsOncePerVersion(t *testing.T) {
	f := newFixture(t)
	gomock.InOrder(
		f.expectGrants(1, grantOf(t, "admin", nil)),
		f.expectGrants(1, grantOf(t, "viewer", nil)), // after the change
	)
	a := rbac.New(f.bindings, rbac.Options{})

	checkMany(t, a, f.org, f.user, 100) // one Grants call for 1,300 checks
	if !allowed(t, a, f.org, f.user, rbac.MembersManage, nil) {
		t.Fatal("admin cannot manage members")
	}
	a.Invalidate(f.org, 2) // demoted to viewer, version 2 committed
	if allowed(t, a, f.org, f.user, rbac.MembersManage, nil) {
		t.Fatal("the demotion is not seen on the next check")
	}
	a.Invalidate(f.org, 2)         // the same version again: no new read
	a.Invalidate(f.org, 1)         // an old version, late: no new read
	a.Invalidate(repo.NewID(), 99) // another org: no new read
	checkMany(t, a, f.org, f.user, 100)
}

func TestCacheIsPerUser(t *testing.T) {
	f := newFixture(t)
	other := repo.NewID()
	f.expectGrants(1, grantOf(t, "owner", nil))
	f.bindings.EXPECT().Grants(gomock.Any(), f.org, other).Return(nil, nil).Times(1)
	a := rbac.New(f.bindings, rbac.Options{})
	for range 10 {
		if !allowed(t, a, f.org, f.user, rbac.OrgDelete, nil) || allowed(t, a, f.org, other, rbac.OrgRead, nil) {
			t.Fatal("one user's grants answered for another")
		}
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestCacheAsksVersionsAfterMaxStaleness(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	version := func(v int64) *gomock.Call {
		return f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(v, nil).Times(1)
	}
	gomock.InOrder(
		version(1), f.expectGrants(1, grantOf(t, "admin", nil)),
		version(1), // after a second: unchanged, no new read
		version(2), f.expectGrants(1, grantOf(t, "viewer", nil)),
	)
	a := rbac.New(f.bindings, rbac.Options{Versions: f.orgs, MaxStaleness: time.Second, Now: clock.Now})

	checkMany(t, a, f.org, f.user, 10)
	clock.Advance(999 * time.Millisecond)
	checkMany(t, a, f.org, f.user, 10) // within MaxStaleness: no query at all
	clock.Advance(time.Millisecond)
	checkMany(t, a, f.org, f.user, 10)
	clock.Advance(time.Second)
	if allowed(t, a, f.org, f.user, rbac.MembersManage, nil) {
		t.Fatal("a change made elsewhere is not seen after MaxStaleness")
	}
	checkMany(t, a, f.org, f.user, 10)
}

func TestCacheZeroStalenessAsksEveryCheck(t *testing.T) {
	f := newFixture(t)
	f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(3), nil).Times(20)
	f.expectGrants(1, grantOf(t, "member", nil))
	a := rbac.New(f.bindings, rbac.Options{Versions: f.orgs})
	for range 20 {
		allowed(t, a, f.org, f.user, rbac.ProjectsCreate, nil)
	}
}

func TestCacheVersionErrorFailsClosed(t *testing.T) {
	f := newFixture(t)
	boom := &repo.Error{Kind: repo.ErrUnavailable}
	f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(0), boom)
	a := rbac.New(f.bindings, rbac.Options{Versions: f.orgs, MaxStaleness: time.Minute})
	if err := a.Authorize(f.ctx, f.org, f.user, rbac.OrgRead, nil); !errors.Is(err, repo.ErrUnavailable) {
		t.Fatalf("Authorize = %v, want ErrUnavailable", err)
	}
}

// TestCacheDropsAReadRacingAChange: the grants are read while a change
// commits and is announced. What that read returned may predate the change,
// so the next check must read again.
func TestCacheDropsAReadRacingAChange(t *testing.T) {
	f := newFixture(t)
	var a *rbac.Authorizer
	gomock.InOrder(
		f.bindings.EXPECT().Grants(gomock.Any(), f.org, f.user).DoAndReturn(
			func(context.Context, uuid.UUID, uuid.UUID) ([]repo.Grant, error) {
				a.Invalidate(f.org, 2) // the revocation commits meanwhile
				return []repo.Grant{grantOf(t, "admin", nil)}, nil
			}),
		f.expectGrants(1), // revoked
	)
	a = rbac.New(f.bindings, rbac.Options{})
	if !allowed(t, a, f.org, f.user, rbac.OrgRead, nil) {
		t.Fatal("the racing check should answer from what it read")
	}
	for range 10 {
		if allowed(t, a, f.org, f.user, rbac.OrgRead, nil) {
			t.Fatal("a read that raced the change was cached past it")
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	f := newFixture(t)
	f.bindings.EXPECT().Grants(gomock.Any(), gomock.Any(), gomock.Any()).
		Return([]repo.Grant{grantOf(t, "viewer", nil)}, nil).AnyTimes()
	a := rbac.New(f.bindings, rbac.Options{MaxOrgs: 3, MaxUsersPerOrg: 5})
	for range 20 {
		allowed(t, a, f.org, repo.NewID(), rbac.OrgRead, nil)
	}
	if n := rbac.CachedUsers(a, f.org); n != 5 {
		t.Errorf("cached users = %d, want the cap, 5", n)
	}
	for range 10 {
		allowed(t, a, repo.NewID(), f.user, rbac.OrgRead, nil)
	}
	if n := rbac.CachedOrgs(a); n != 3 {
		t.Errorf("cached orgs = %d, want the cap, 3", n)
	}
	a.Reset()
	if n := rbac.CachedOrgs(a); n != 0 {
		t.Errorf("after Reset: cached orgs = %d", n)
	}
}

func TestCacheConcurrentChecksAndInvalidations(t *testing.T) {
	f := newFixture(t)
	f.bindings.EXPECT().Grants(gomock.Any(), gomock.Any(), gomock.Any()).
		Return([]repo.Grant{grantOf(t, "member", nil)}, nil).AnyTimes()
	a := rbac.New(f.bindings, rbac.Options{MaxUsersPerOrg: 8, MaxOrgs: 2})
	orgs := []uuid.UUID{repo.NewID(), repo.NewID(), repo.NewID()}
	users := []uuid.UUID{repo.NewID(), repo.NewID(), repo.NewID()}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				org := orgs[(g+i)%len(orgs)]
				if g == 0 && i%10 == 0 {
					a.Invalidate(org, int64(i))
					continue
				}
				if !allowed(t, a, org, users[i%len(users)], rbac.ProjectsCreate, nil) {
					t.Error("member cannot create projects")
					return
				}
			}
		})
	}
	wg.Wait()
}

// fakeWatcher hands each subscription to the test, which drives it.
type fakeWatcher struct{ subs chan *subscription }

type subscription struct {
	ready  func()
	notify func(uuid.UUID, int64)
	stop   chan error
}

func (w *fakeWatcher) Watch(ctx context.Context, ready func(), notify func(uuid.UUID, int64)) error {
	s := &subscription{ready, notify, make(chan error)}
	select {
	case w.subs <- s:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-s.stop:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// watch runs a.Watch on a fakeWatcher until the test ends, and returns the
// subscription it makes.
func watch(t *testing.T, ctx context.Context, a *rbac.Authorizer) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	w := &fakeWatcher{subs: make(chan *subscription)}
	go a.Watch(ctx, w)
	return <-w.subs
}

func TestWatchInvalidatesAndDegradesWhileDown(t *testing.T) {
	f := newFixture(t)
	a := rbac.New(f.bindings, rbac.Options{Logger: quiet})
	w := &fakeWatcher{subs: make(chan *subscription)}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error)
	go func() { done <- a.Watch(ctx, w) }()

	s := <-w.subs
	// Not yet subscribed: nothing is trusted, every check reads.
	f.expectGrants(3, grantOf(t, "admin", nil))
	for range 3 {
		allowed(t, a, f.org, f.user, rbac.OrgRead, nil)
	}

	s.ready()
	f.expectGrants(1, grantOf(t, "admin", nil))
	checkMany(t, a, f.org, f.user, 5)

	s.notify(f.org, 7) // a change on another instance
	f.expectGrants(1, grantOf(t, "viewer", nil))
	if allowed(t, a, f.org, f.user, rbac.MembersManage, nil) {
		t.Fatal("a notified change is not seen")
	}
	checkMany(t, a, f.org, f.user, 5)

	s.stop <- errors.New("connection lost")
	s = <-w.subs // resubscribing, after the backoff: degraded meanwhile
	f.expectGrants(2, grantOf(t, "viewer", nil))
	allowed(t, a, f.org, f.user, rbac.OrgRead, nil)
	allowed(t, a, f.org, f.user, rbac.OrgRead, nil)

	s.ready() // drops the cache: changes may have been missed
	f.expectGrants(1, grantOf(t, "viewer", nil))
	checkMany(t, a, f.org, f.user, 5)

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch = %v, want context.Canceled", err)
	}
	f.expectGrants(1, grantOf(t, "viewer", nil)) // stopped: degraded again
	allowed(t, a, f.org, f.user, rbac.OrgRead, nil)
}

func TestWatchDownWithVersionsAsksEveryCheck(t *testing.T) {
	f := newFixture(t)
	a := rbac.New(f.bindings, rbac.Options{Versions: f.orgs, MaxStaleness: time.Hour, Logger: quiet})
	s := watch(t, f.ctx, a)

	f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(4), nil).Times(3)
	f.expectGrants(1, grantOf(t, "member", nil))
	for range 3 { // not subscribed: the version is read each time, the grants once
		allowed(t, a, f.org, f.user, rbac.OrgRead, nil)
	}
	s.ready() // drops the cache; then trusts it for up to an hour
	f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(4), nil).Times(1)
	f.expectGrants(1, grantOf(t, "member", nil))
	checkMany(t, a, f.org, f.user, 5)
}
