package rbac_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// change runs fn in a transaction that bumps the org's policy version first,
// as the service does, and tells authz the new version after the commit.
func change(t *testing.T, db repo.Store, authz *rbac.Authorizer, orgID uuid.UUID, fn func(tx repo.Store) error) error {
	t.Helper()
	var v int64
	err := db.InTx(t.Context(), func(tx repo.Store) error {
		var err error
		if v, err = rbac.BumpVersion(t.Context(), tx, orgID); err != nil {
			return err
		}
		return fn(tx)
	})
	if err == nil && authz != nil {
		authz.Invalidate(orgID, v)
	}
	return err
}

// seeded is an org made by seedOrg.
type seeded struct {
	org           repo.Org
	owners        []repo.User // each with an org-wide owner binding
	ownerBindings []repo.RoleBinding
	members       []repo.User // members without bindings
}

// seedOrg creates an org with its built-in roles, as the service does, and
// the given numbers of owners and plain members.
func seedOrg(t *testing.T, db repo.Store, owners, members int) seeded {
	t.Helper()
	ctx := t.Context()
	var s seeded
	err := db.InTx(ctx, func(tx repo.Store) (err error) {
		id := repo.NewID().String()
		if s.org, err = tx.Orgs().Create(ctx, repo.NewOrg{Slug: "org-" + id[len(id)-12:], Name: "Acme"}); err != nil {
			return err
		}
		if err = rbac.SeedBuiltinRoles(ctx, tx, s.org.ID); err != nil {
			return err
		}
		owner, err := tx.Roles().GetByName(ctx, s.org.ID, rbac.Owner)
		if err != nil {
			return err
		}
		for i := range owners + members {
			u, err := tx.Users().Create(ctx, repo.NewUser{Email: repo.NewID().String() + "@acme.test"})
			if err != nil {
				return err
			}
			if _, err = tx.Memberships().Add(ctx, s.org.ID, u.ID); err != nil {
				return err
			}
			if i >= owners {
				s.members = append(s.members, u)
				continue
			}
			b, err := tx.RoleBindings().Create(ctx, s.org.ID, repo.NewRoleBinding{UserID: u.ID, RoleID: owner.ID})
			if err != nil {
				return err
			}
			s.owners, s.ownerBindings = append(s.owners, u), append(s.ownerBindings, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStore runs the whole life of an org's policy on a real database of
// each dialect: seed, bind, check, refuse escalation and the removal of the
// last owner, refuse deleting a bound role, revoke, suspend, hand over.
// Two Authorizers stand for two instances: one told by Invalidate, the other
// reading the version on every check.
func TestStore(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) { testStore(t, testdb.Open(t, d)) })
	}
}

func testStore(t *testing.T, db repo.DB) {
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// An org created with its built-in roles and its creator as owner,
	// one more member, and two projects.
	o := seedOrg(t, db, 1, 1)
	org, ownerUser, alice, ownerBinding := o.org, o.owners[0], o.members[0], o.ownerBindings[0]
	var p, q repo.Project
	must(db.InTx(ctx, func(tx repo.Store) (err error) {
		if p, err = tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "apollo"}); err != nil {
			return err
		}
		q, err = tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "gemini"})
		return err
	}))

	authz := rbac.New(db.RoleBindings(), rbac.Options{})
	other := rbac.New(db.RoleBindings(), rbac.Options{Versions: db.Orgs()}) // another instance
	both := []*rbac.Authorizer{authz, other}
	expect := func(user uuid.UUID, perm string, project *uuid.UUID, want bool) {
		t.Helper()
		for i, a := range both {
			for range 2 { // the second answer comes from the cache
				if got := allowed(t, a, org.ID, user, perm, project); got != want {
					t.Fatalf("instance %d: %s on %v: allowed = %v, want %v", i, perm, project, got, want)
				}
			}
		}
	}
	expect(ownerUser.ID, rbac.OrgDelete, nil, true)
	expect(alice.ID, rbac.ProjectsRead, &p.ID, false) // a member without bindings

	// The owner makes alice an editor of project p: a custom role.
	var editor repo.Role
	var aliceBinding repo.RoleBinding
	must(change(t, db, authz, org.ID, func(tx repo.Store) (err error) {
		in := repo.NewRole{Name: "editor", Permissions: []string{"projects.*"}}
		if err = rbac.ValidatePermissions(in.Permissions); err != nil {
			return err
		}
		if err = rbac.CanGrant(ctx, tx, org.ID, ownerUser.ID, repo.Role{Name: in.Name, Permissions: in.Permissions}, nil); err != nil {
			return err
		}
		if editor, err = tx.Roles().Create(ctx, org.ID, in); err != nil {
			return err
		}
		if err = rbac.CanGrant(ctx, tx, org.ID, ownerUser.ID, editor, &p.ID); err != nil {
			return err
		}
		aliceBinding, err = tx.RoleBindings().Create(ctx, org.ID, repo.NewRoleBinding{UserID: alice.ID, RoleID: editor.ID, ProjectID: &p.ID})
		return err
	}))
	expect(alice.ID, rbac.ProjectsUpdate, &p.ID, true)
	expect(alice.ID, rbac.ProjectsDelete, &p.ID, true)
	expect(alice.ID, rbac.ProjectsCreate, &p.ID, false)
	expect(alice.ID, rbac.ProjectsUpdate, &q.ID, false)
	expect(alice.ID, rbac.ProjectsUpdate, nil, false)
	d, err := authz.Check(ctx, org.ID, alice.ID, rbac.ProjectsRead, &p.ID)
	if err != nil || d.BindingID != aliceBinding.ID || d.RoleID != editor.ID || d.RoleName != "editor" {
		t.Errorf("explain = %+v, %v; want alice's editor binding", d, err)
	}

	// Alice cannot make herself (or anyone) more than she is.
	admin, err := db.Roles().GetByName(ctx, org.ID, rbac.Admin)
	must(err)
	err = change(t, db, authz, org.ID, func(tx repo.Store) error {
		return rbac.CanGrant(ctx, tx, org.ID, alice.ID, admin, nil)
	})
	if !errors.Is(err, repo.ErrForbidden) {
		t.Errorf("alice grants admin: %v, want ErrForbidden", err)
	}

	// The last owner cannot leave, nor lose the binding.
	for _, r := range []rbac.Removal{{BindingID: ownerBinding.ID}, {UserID: ownerUser.ID}} {
		err = change(t, db, authz, org.ID, func(tx repo.Store) error {
			return rbac.EnsureNotLastOwner(ctx, tx, org.ID, r)
		})
		if !errors.Is(err, repo.ErrConflict) {
			t.Errorf("removing the last owner (%+v): %v, want ErrConflict", r, err)
		}
	}

	// A bound custom role cannot be deleted; the database says so.
	err = change(t, db, authz, org.ID, func(tx repo.Store) error { return rbac.DeleteRole(ctx, tx, org.ID, editor.ID) })
	if !errors.Is(err, repo.ErrConflict) {
		t.Errorf("deleting a bound role: %v, want ErrConflict", err)
	}
	if _, err := db.Roles().Get(ctx, org.ID, editor.ID); err != nil {
		t.Errorf("the bound role is gone: %v", err)
	}
	expect(alice.ID, rbac.ProjectsUpdate, &p.ID, true)

	// Revoke: the next check on either instance is denied.
	must(change(t, db, authz, org.ID, func(tx repo.Store) error {
		return tx.RoleBindings().Delete(ctx, org.ID, aliceBinding.ID)
	}))
	expect(alice.ID, rbac.ProjectsUpdate, &p.ID, false)
	must(change(t, db, authz, org.ID, func(tx repo.Store) error { return rbac.DeleteRole(ctx, tx, org.ID, editor.ID) }))

	// Suspension changes no binding: the service bumps every org of the user.
	var versions map[uuid.UUID]int64
	must(db.InTx(ctx, func(tx repo.Store) (err error) {
		s := repo.UserSuspended
		if _, err = tx.Users().Update(ctx, ownerUser.ID, repo.UserUpdate{Status: &s}); err != nil {
			return err
		}
		versions, err = rbac.BumpVersionsForUser(ctx, tx, ownerUser.ID)
		return err
	}))
	for org, v := range versions {
		authz.Invalidate(org, v)
	}
	expect(ownerUser.ID, rbac.OrgRead, nil, false)

	// A second owner makes removing the first one possible.
	owner, err := db.Roles().GetByName(ctx, org.ID, rbac.Owner)
	must(err)
	must(change(t, db, authz, org.ID, func(tx repo.Store) error {
		if err := rbac.CanGrant(ctx, tx, org.ID, ownerUser.ID, owner, nil); !errors.Is(err, repo.ErrForbidden) {
			t.Errorf("a suspended owner grants owner: %v, want ErrForbidden", err)
		}
		_, err := tx.RoleBindings().Create(ctx, org.ID, repo.NewRoleBinding{UserID: alice.ID, RoleID: owner.ID})
		return err
	}))
	must(change(t, db, authz, org.ID, func(tx repo.Store) error {
		if err := rbac.EnsureNotLastOwner(ctx, tx, org.ID, rbac.Removal{UserID: ownerUser.ID}); err != nil {
			return err
		}
		return tx.Memberships().Remove(ctx, org.ID, ownerUser.ID)
	}))
	expect(alice.ID, rbac.OrgDelete, nil, true)
	expect(ownerUser.ID, rbac.OrgRead, nil, false)
}

// TestLastOwnerRace removes two owners at once, many times over: because
// each transaction bumps the version (locking the org) before its guard
// reads, one removal must see the other and be refused, on either dialect.
func TestLastOwnerRace(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := testdb.Open(t, d)
			for range 10 {
				o := seedOrg(t, db, 2, 0)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i, b := range o.ownerBindings {
					wg.Go(func() {
						errs[i] = change(t, db, nil, o.org.ID, func(tx repo.Store) error {
							if err := rbac.EnsureNotLastOwner(t.Context(), tx, o.org.ID, rbac.Removal{BindingID: b.ID}); err != nil {
								return err
							}
							return tx.RoleBindings().Delete(t.Context(), o.org.ID, b.ID)
						})
					})
				}
				wg.Wait()
				if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), repo.ErrConflict) {
					t.Fatalf("removals = %v; want one success and one conflict", errs)
				}
				owner, err := db.Roles().GetByName(t.Context(), o.org.ID, rbac.Owner)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := db.RoleBindings().CountOrgWide(t.Context(), o.org.ID, owner.ID); n != 1 || err != nil {
					t.Fatalf("owners left = %d, %v; want 1", n, err)
				}
			}
		})
	}
}
