package rbac_test

import (
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
)

// version calls Version and fails the test on an error.
func version(t *testing.T, a *rbac.Authorizer, f fixture) (int64, bool) {
	t.Helper()
	v, trusted, err := a.Version(f.ctx, f.org)
	if err != nil {
		t.Fatal(err)
	}
	return v, trusted
}

func TestVersionSharesChecksStaleness(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	gomock.InOrder(
		f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(3), nil),
		f.expectGrants(1, grantOf(t, "admin", nil)),
		f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(5), nil),
	)
	a := rbac.New(f.bindings, rbac.Options{Versions: f.orgs, MaxStaleness: time.Second, Now: clock.Now})
	if v, trusted := version(t, a, f); v != 3 || !trusted {
		t.Fatalf("Version = %d, %v; want 3, true", v, trusted)
	}
	checkMany(t, a, f.org, f.user, 5) // the version Version read serves Check too
	clock.Advance(time.Second)
	if v, _ := version(t, a, f); v != 5 {
		t.Fatalf("after MaxStaleness, Version = %d, want 5", v)
	}
	a.Invalidate(f.org, 9)
	if v, _ := version(t, a, f); v != 9 {
		t.Fatalf("after Invalidate(9), Version = %d", v)
	}
}

func TestVersionWithoutSources(t *testing.T) {
	f := newFixture(t)
	a := rbac.New(f.bindings, rbac.Options{})
	if v, trusted := version(t, a, f); v != 0 || !trusted {
		t.Fatalf("Version = %d, %v; want 0, true", v, trusted)
	}
	a.Invalidate(f.org, 4)
	if v, trusted := version(t, a, f); v != 4 || !trusted {
		t.Fatalf("Version = %d, %v; want 4, true", v, trusted)
	}

	// A Watch without a VersionSource cannot vouch for other caches.
	s := watch(t, f.ctx, a)
	s.ready()
	if _, trusted := version(t, a, f); trusted {
		t.Fatal("Version is trusted with a Watch and no VersionSource")
	}
}

func TestVersionWhileWatchIsDownAsksEveryCall(t *testing.T) {
	f := newFixture(t)
	a := rbac.New(f.bindings, rbac.Options{Versions: f.orgs, MaxStaleness: time.Hour, Logger: quiet})
	s := watch(t, f.ctx, a)
	f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(2), nil).Times(3)
	for range 3 {
		if v, trusted := version(t, a, f); v != 2 || !trusted {
			t.Fatalf("Version = %d, %v; want 2, true", v, trusted)
		}
	}
	s.ready()
	f.orgs.EXPECT().PolicyVersion(gomock.Any(), f.org).Return(int64(2), nil).Times(1)
	for range 3 {
		version(t, a, f)
	}
}
