package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/service"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// world is a Service on a real database with a bootstrapped org "acme",
// keeping count of the audit events its org should hold.
type world struct {
	t               *testing.T
	ctx             context.Context
	db              repo.DB
	authz           *rbac.Authorizer
	svc             *service.Service
	org             repo.Org
	owner           service.Principal
	success, denied int // the events the org should hold, by outcome
	mutations       int // successful mutations, bootstrap excluded
}

var req = service.Request{RemoteAddr: "127.0.0.1", RequestID: "e2e"}

func newWorld(t *testing.T, d repo.Dialect) *world { return newWorldOn(t, testdb.Open(t, d)) }

// newWorldOn is newWorld on db, fresh, migrated and empty.
func newWorldOn(t *testing.T, db repo.DB) *world {
	authz := rbac.New(db.RoleBindings(), rbac.Options{})
	w := &world{t: t, ctx: context.Background(), db: db, authz: authz, svc: service.New(db, authz, service.Options{})}
	org, key, err := w.svc.Bootstrap(w.ctx, service.BootstrapInput{OrgSlug: "acme", Email: "olive@example.com", Name: "Olive"}, req)
	if err != nil {
		t.Fatal(err)
	}
	w.org, w.success = org, 1
	w.checkCounts("bootstrap")
	if w.owner, err = w.svc.Authenticate(w.ctx, key.Secret, req); err != nil {
		t.Fatalf("the bootstrap key: %v", err)
	}
	if w.owner.OrgID != org.ID || w.owner.KeyID != key.ID {
		t.Fatalf("the bootstrap key authenticates as %+v", w.owner)
	}
	return w
}

// events lists the org's audit events that f selects, once every event
// is sealed (as a server's sealer would seal them).
func (w *world) events(f repo.AuditFilter) []repo.AuditEvent {
	w.t.Helper()
	if _, err := audit.NewSealer(w.db.AuditEvents(), audit.SealerOptions{}).SealAll(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	var all []repo.AuditEvent
	page := repo.PageRequest{Limit: repo.MaxPageSize}
	for {
		p, err := w.db.AuditEvents().List(w.ctx, w.org.ID, f, page)
		if err != nil {
			w.t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		page.Cursor = p.Next
	}
}

// checkCounts compares the org's events with the expected counts, then
// takes what it found as the new expectation, so one miss is reported once.
func (w *world) checkCounts(step string) {
	w.t.Helper()
	var success, denied int
	for _, ev := range w.events(repo.AuditFilter{}) {
		switch ev.Outcome {
		case repo.OutcomeSuccess:
			success++
		case repo.OutcomeDenied:
			denied++
		}
	}
	if success != w.success || denied != w.denied {
		w.t.Errorf("after %s: %d success and %d denied events, want %d and %d", step, success, denied, w.success, w.denied)
	}
	w.success, w.denied = success, denied
}

// mutate runs a mutation expecting want (nil for success). A mutation that
// succeeds leaves exactly one success event; one that is forbidden exactly
// one denied event; one that fails otherwise none.
func (w *world) mutate(step string, want error, fn func() error) {
	w.t.Helper()
	w.run(step, true, want, fn)
}

// read runs a read expecting want: it leaves no event unless forbidden.
func (w *world) read(step string, want error, fn func() error) {
	w.t.Helper()
	w.run(step, false, want, fn)
}

func (w *world) run(step string, mutation bool, want error, fn func() error) {
	w.t.Helper()
	err := fn()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		w.t.Errorf("%s: err = %v, want %v", step, err, want)
	}
	switch {
	case err == nil && mutation:
		w.success++
		w.mutations++
	case errors.Is(err, repo.ErrForbidden):
		w.denied++
	}
	w.checkCounts(step)
}

// member adds a member with a role, gives them a key and returns them as
// the key authenticates them, and the key.
func (w *world) member(email, role string) (service.Principal, string) {
	w.t.Helper()
	var m repo.Member
	w.mutate("add "+email+" as "+role, nil, func() (err error) {
		m, err = w.svc.AddMember(w.ctx, w.owner, "acme", service.NewMember{Email: email, Role: role})
		return err
	})
	var key service.NewKey
	w.mutate("a key for "+email, nil, func() (err error) {
		key, err = w.svc.CreateAPIKey(w.ctx, w.owner, "acme", service.NewAPIKey{Name: role, UserID: m.User.ID})
		return err
	})
	p, err := w.svc.Authenticate(w.ctx, key.Secret, req)
	if err != nil || p.UserID != m.User.ID || p.OrgID != w.org.ID {
		w.t.Fatalf("%s's key authenticates as %+v, %v", email, p, err)
	}
	return p, key.Secret
}

func TestEndToEnd(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			ctx, svc, owner := w.ctx, w.svc, w.owner

			var project repo.Project
			w.mutate("create project", nil, func() (err error) {
				project, err = svc.CreateProject(ctx, owner, "acme", repo.NewProject{Name: "apollo", Description: "to the moon"})
				return err
			})
			rename := func(p service.Principal, name string) func() error {
				return func() error {
					return errOnly(svc.UpdateProject(ctx, p, "acme", project.ID, repo.ProjectUpdate{Name: &name}))
				}
			}

			// A viewer reads, and is refused (and audited) when writing.
			viewer, viewerKey := w.member("vera@example.com", rbac.Viewer)
			w.read("viewer lists projects", nil, func() error { return errOnly(svc.ListProjects(ctx, viewer, "acme", repo.PageRequest{})) })
			w.mutate("viewer creates a project", repo.ErrForbidden, func() error {
				return errOnly(svc.CreateProject(ctx, viewer, "acme", repo.NewProject{Name: "gemini"}))
			})
			denials := w.events(repo.AuditFilter{Outcome: repo.OutcomeDenied, Action: "project.create", ActorID: viewer.UserID.String()})
			if len(denials) != 1 || !strings.Contains(denials[0].Metadata, rbac.ProjectsCreate) || denials[0].RequestID != req.RequestID {
				t.Errorf("the viewer's denial is recorded as %+v", denials)
			}
			w.mutate("viewer renames the project", repo.ErrForbidden, rename(viewer, "artemis"))

			// Policy changes reach the authorizer at once.
			w.mutate("create role", nil, func() error {
				return errOnly(svc.CreateRole(ctx, owner, "acme", "deployer", []string{rbac.ProjectsRead, rbac.ProjectsUpdate}))
			})
			var binding repo.RoleBinding
			w.mutate("bind the role on the project", nil, func() (err error) {
				binding, err = svc.CreateRoleBinding(ctx, owner, "acme", service.NewBinding{UserID: viewer.UserID, Role: "deployer", ProjectID: &project.ID})
				return err
			})
			w.mutate("viewer renames the project", nil, rename(viewer, "artemis"))
			w.mutate("narrow the role", nil, func() error {
				return errOnly(svc.UpdateRole(ctx, owner, "acme", "deployer", []string{rbac.ProjectsRead}))
			})
			w.mutate("viewer renames the project again", repo.ErrForbidden, rename(viewer, "ares"))
			w.mutate("delete the bound role", repo.ErrConflict, func() error { return svc.DeleteRole(ctx, owner, "acme", "deployer") })
			w.mutate("unbind the role", nil, func() error { return svc.DeleteRoleBinding(ctx, owner, "acme", binding.ID) })
			w.mutate("delete the role", nil, func() error { return svc.DeleteRole(ctx, owner, "acme", "deployer") })

			// No one grants what they do not hold.
			admin, _ := w.member("adam@example.com", rbac.Admin)
			w.mutate("admin creates an all-powerful role", repo.ErrForbidden, func() error {
				return errOnly(svc.CreateRole(ctx, admin, "acme", "god", []string{rbac.Wildcard}))
			})
			w.mutate("admin makes themselves owner", repo.ErrForbidden, func() error {
				return errOnly(svc.CreateRoleBinding(ctx, admin, "acme", service.NewBinding{UserID: admin.UserID, Role: rbac.Owner}))
			})
			w.mutate("admin removes the owner", repo.ErrForbidden, func() error { return svc.RemoveMember(ctx, admin, "acme", owner.UserID) })
			w.mutate("admin revokes the owner's key", repo.ErrForbidden, func() error { return svc.RevokeAPIKey(ctx, admin, "acme", owner.KeyID) })
			w.mutate("admin creates a project", nil, func() error {
				return errOnly(svc.CreateProject(ctx, admin, "acme", repo.NewProject{Name: "gemini"}))
			})

			// The org keeps an owner.
			w.mutate("the last owner leaves", repo.ErrConflict, func() error { return svc.RemoveMember(ctx, owner, "acme", owner.UserID) })
			w.mutate("the last owner unbinds themselves", repo.ErrConflict, func() error {
				return svc.DeleteRoleBinding(ctx, owner, "acme", w.ownerBinding(owner.UserID))
			})

			w.mutate("rename the org", nil, func() error {
				return errOnly(svc.UpdateOrg(ctx, owner, "acme", repo.OrgUpdate{Name: ptr("Acme Inc")}))
			})
			w.mutate("delete the project", nil, func() error { return svc.DeleteProject(ctx, owner, "acme", project.ID) })
			w.mutate("delete it again", repo.ErrNotFound, func() error { return svc.DeleteProject(ctx, owner, "acme", project.ID) })

			// A key works until it is revoked, and not a moment longer.
			var key service.NewKey
			w.mutate("create a key", nil, func() (err error) {
				key, err = svc.CreateAPIKey(ctx, owner, "acme", service.NewAPIKey{Name: "ci", ExpiresAt: ptr(time.Now().Add(time.Hour))})
				return err
			})
			if p, err := svc.Authenticate(ctx, key.Secret, req); err != nil || p.KeyID != key.ID || p.UserID != owner.UserID {
				t.Errorf("the new key authenticates as %+v, %v", p, err)
			}
			w.mutate("revoke the key", nil, func() error { return svc.RevokeAPIKey(ctx, owner, "acme", key.ID) })
			if _, err := svc.Authenticate(ctx, key.Secret, req); !errors.Is(err, repo.ErrUnauthenticated) {
				t.Errorf("the revoked key: err = %v, want ErrUnauthenticated", err)
			}
			w.mutate("revoke it again", repo.ErrNotFound, func() error { return svc.RevokeAPIKey(ctx, owner, "acme", key.ID) })

			// A removed member can do nothing more.
			w.mutate("remove the viewer", nil, func() error { return svc.RemoveMember(ctx, owner, "acme", viewer.UserID) })
			w.read("the removed viewer lists projects", repo.ErrForbidden, func() error {
				return errOnly(svc.ListProjects(ctx, viewer, "acme", repo.PageRequest{}))
			})
			if _, err := svc.Authenticate(ctx, viewerKey, req); !errors.Is(err, repo.ErrUnauthenticated) {
				t.Errorf("the removed viewer's key: err = %v, want ErrUnauthenticated", err)
			}

			// Another org exists, and is not found through acme's key.
			if _, _, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "globex", Email: "gus@example.com"}, req); err != nil {
				t.Fatal(err)
			}
			w.read("acme's owner reads globex", repo.ErrNotFound, func() error { return errOnly(svc.GetOrg(ctx, owner, "globex")) })
			w.mutate("acme's owner creates a globex project", repo.ErrNotFound, func() error {
				return errOnly(svc.CreateProject(ctx, owner, "globex", repo.NewProject{Name: "x"}))
			})

			rep, err := audit.Verify(ctx, w.db.AuditEvents(), w.org.ID, audit.VerifyOptions{})
			if err != nil || !rep.OK || rep.Events != int64(w.success+w.denied) {
				t.Errorf("audit.Verify = %+v, %v; want OK over %d events", rep, err, w.success+w.denied)
			}
			if rep, err := svc.VerifyAudit(ctx, owner, "acme"); err != nil || !rep.OK {
				t.Errorf("VerifyAudit = %+v, %v", rep, err)
			}
			if got := len(w.events(repo.AuditFilter{Outcome: repo.OutcomeSuccess})); got != w.mutations+1 {
				t.Errorf("%d success events, want one per successful mutation (%d) and bootstrap's", got, w.mutations)
			}
		})
	}
}

// ownerBinding returns the org-wide owner binding of userID.
func (w *world) ownerBinding(userID uuid.UUID) uuid.UUID {
	w.t.Helper()
	owner, err := w.db.Roles().GetByName(w.ctx, w.org.ID, rbac.Owner)
	if err != nil {
		w.t.Fatal(err)
	}
	grants, err := w.db.RoleBindings().Grants(w.ctx, w.org.ID, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, g := range grants {
		if g.RoleID == owner.ID && g.ProjectID == nil {
			return g.BindingID
		}
	}
	w.t.Fatalf("%s has no owner binding", userID)
	return uuid.Nil
}

// barrierStore is a Store whose transactions, before counting owners, wait
// until two of them are about to count or the other is held back: it lines
// up two concurrent removals of owners at the check that should serialize
// them.
type barrierStore struct {
	repo.Store
	wait func()
}

func (s barrierStore) InTx(ctx context.Context, fn func(tx repo.Store) error) error {
	return s.Store.InTx(ctx, func(tx repo.Store) error { return fn(barrierStore{tx, s.wait}) })
}

func (s barrierStore) RoleBindings() repo.RoleBindings {
	return barrierBindings{s.Store.RoleBindings(), s.wait}
}

type barrierBindings struct {
	repo.RoleBindings
	wait func()
}

func (b barrierBindings) CountOrgWide(ctx context.Context, orgID, roleID uuid.UUID) (int64, error) {
	b.wait()
	return b.RoleBindings.CountOrgWide(ctx, orgID, roleID)
}

// TestTwoOwnersRemovingEachOther: of two owners removing each other at the
// same time, one wins and the other is refused, whatever the interleaving:
// the policy bump that opens each transaction serializes them before the
// last-owner guard reads (under READ COMMITTED on PostgreSQL both guards
// would otherwise count two owners, and the org would be left with none).
//
// Each transaction waits before counting until the other is about to count
// too (serialization broken: the race is lined up) or is held back waiting
// for it. On PostgreSQL the other then waits for a lock; on SQLite, for the
// one writer, on a channel: the test runs in a synctest bubble there, where
// a timer fires only once every goroutine of the bubble is blocked.
func TestTwoOwnersRemovingEachOther(t *testing.T) {
	t.Run(string(repo.SQLite), func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// A file, not :memory:, whose readers share a cache that the
			// writer's transaction locks: the other would wait there in
			// SQLite's busy loop, which sleeps on the real clock.
			db, err := strata.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "strata.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := strata.Migrate(t.Context(), db); err != nil {
				t.Fatal(err)
			}
			twoOwnersRemovingEachOther(t, newWorldOn(t, db), func(ctx context.Context) <-chan struct{} {
				held := make(chan struct{})
				go func() {
					select {
					case <-time.After(time.Second): // bubble time: no real wait
						close(held)
					case <-ctx.Done():
					}
				}()
				return held
			})
		})
	})
	t.Run(string(repo.PostgreSQL), func(t *testing.T) {
		w := newWorld(t, repo.PostgreSQL)
		twoOwnersRemovingEachOther(t, w, func(ctx context.Context) <-chan struct{} {
			held := make(chan struct{})
			go func() {
				for ; ctx.Err() == nil; time.Sleep(time.Millisecond) {
					var waiting bool
					err := w.db.(*pgrepo.DB).Pool().QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
						WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting)
					if err != nil || waiting {
						close(held)
						return
					}
				}
			}()
			return held
		})
	})
}

// twoOwnersRemovingEachOther is TestTwoOwnersRemovingEachOther on w;
// heldBack returns a channel closed once the other transaction waits for
// the caller's, or not before ctx ends.
func twoOwnersRemovingEachOther(t *testing.T, w *world, heldBack func(ctx context.Context) <-chan struct{}) {
	other, _ := w.member("otto@example.com", rbac.Owner)

	var arrived atomic.Int32
	release := make(chan struct{})
	wait := func() {
		if arrived.Add(1) == 2 {
			close(release)
		}
		ctx, cancel := context.WithCancel(w.ctx)
		defer cancel()
		select {
		case <-release: // both are about to count: the race is on
		case <-heldBack(ctx): // the other waits for this one, as it should
		}
	}

	// Both are authorized from the cache, before either transaction.
	for _, p := range []service.Principal{w.owner, other} {
		if _, err := w.svc.ListMembers(w.ctx, p, "acme", repo.PageRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := service.New(barrierStore{w.db, wait}, w.authz, service.Options{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, c := range []struct{ by, removes service.Principal }{{w.owner, other}, {other, w.owner}} {
		wg.Go(func() { errs[i] = svc.RemoveMember(w.ctx, c.by, "acme", c.removes.UserID) })
	}
	wg.Wait()

	// The loser is refused by the last-owner guard, or, if it was
	// slow enough to be checked after the winner's commit, because
	// it is no longer a member.
	loser := errors.Join(errs...)
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(loser, repo.ErrConflict) && !errors.Is(loser, repo.ErrForbidden) {
		t.Errorf("removals: %v and %v, want one success and one refusal", errs[0], errs[1])
	}
	owner, err := w.db.Roles().GetByName(w.ctx, w.org.ID, rbac.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.db.RoleBindings().CountOrgWide(w.ctx, w.org.ID, owner.ID); err != nil || n != 1 {
		t.Errorf("%d owners left (%v), want 1", n, err)
	}
}

// TestAuditReadsSealFirst: a read of the audit trail (list, export) seals
// what is pending first, so that a caller sees its own writes at once with
// no sealer running in the background; verify does not (its report of the
// events waiting is what shows a stopped sealer), until a read sealed them.
func TestAuditReadsSealFirst(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d) // no sealer runs
			ctx := w.ctx
			p, err := w.svc.CreateProject(ctx, w.owner, "acme", repo.NewProject{Name: "apollo"})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := w.svc.VerifyAudit(ctx, w.owner, "acme")
			if err != nil || rep.Backlog.Pending != 1 {
				t.Errorf("verify before any read: %+v, %v; want the create waiting", rep.Backlog, err)
			}
			page, err := w.svc.ListAuditEvents(ctx, w.owner, "acme", repo.AuditFilter{Descending: true}, repo.PageRequest{Limit: 1})
			if err != nil || len(page.Items) != 1 || page.Items[0].TargetID != p.ID.String() {
				t.Fatalf("the newest event listed right after the create: %+v, %v", page.Items, err)
			}
			if _, err := w.svc.UpdateProject(ctx, w.owner, "acme", p.ID, repo.ProjectUpdate{Description: ptr("exported")}); err != nil {
				t.Fatal(err)
			}
			var buf strings.Builder
			if n, err := w.svc.ExportAudit(ctx, w.owner, "acme", service.JSONL, repo.AuditFilter{Action: "project.update"}, &buf); err != nil || n != 1 {
				t.Errorf("export right after the update: %d events, %v", n, err)
			}
			if rep, err := w.svc.VerifyAudit(ctx, w.owner, "acme"); err != nil || !rep.OK || rep.Backlog.Pending != 0 {
				t.Errorf("verify after the reads: %+v, %v", rep, err)
			}
		})
	}
}
