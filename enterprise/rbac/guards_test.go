package rbac_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/repo"
)

// txFixture is a transaction-bound Store mock and its repositories.
type txFixture struct {
	fixture
	tx    *mocks.MockStore
	roles *mocks.MockRoles
}

func newTxFixture(t *testing.T) txFixture {
	f := newFixture(t)
	ctrl := gomock.NewController(t)
	tf := txFixture{fixture: f, tx: mocks.NewMockStore(ctrl), roles: mocks.NewMockRoles(ctrl)}
	tf.tx.EXPECT().RoleBindings().Return(f.bindings).AnyTimes()
	tf.tx.EXPECT().Orgs().Return(f.orgs).AnyTimes()
	tf.tx.EXPECT().Roles().Return(tf.roles).AnyTimes()
	return tf
}

func role(name string, perms ...string) repo.Role {
	return repo.Role{ID: repo.NewID(), Name: name, Permissions: perms}
}

func builtinRole(t *testing.T, name string) repo.Role {
	r := builtin(t, name)
	return repo.Role{ID: repo.NewID(), Name: r.Name, Builtin: true, Permissions: r.Permissions}
}

func TestCanGrant(t *testing.T) {
	p, q := repo.NewID(), repo.NewID()
	owner, admin := grantOf(t, "owner", nil), grantOf(t, "admin", nil)
	member, viewer := grantOf(t, "member", nil), grantOf(t, "viewer", nil)
	pmOnP := grant("pm", &p, "projects.*")
	adminOnP, viewerOnP := grantOf(t, "admin", &p), grantOf(t, "viewer", &p)
	for _, tc := range []struct {
		name    string
		actor   []repo.Grant
		role    repo.Role
		project *uuid.UUID
		want    error // nil, repo.ErrForbidden or repo.ErrInvalid
	}{
		{"owner makes an owner", []repo.Grant{owner}, builtinRole(t, "owner"), nil, nil},
		{"owner makes a project owner", []repo.Grant{owner}, builtinRole(t, "owner"), &p, nil},
		{"admin cannot make an owner", []repo.Grant{admin}, builtinRole(t, "owner"), nil, repo.ErrForbidden},
		{"admin cannot make a project owner", []repo.Grant{admin}, builtinRole(t, "owner"), &p, repo.ErrForbidden},
		{"admin makes an admin", []repo.Grant{admin}, builtinRole(t, "admin"), nil, nil},
		{"admin makes a member", []repo.Grant{admin}, builtinRole(t, "member"), nil, nil},
		{"admin makes a viewer", []repo.Grant{admin}, builtinRole(t, "viewer"), nil, nil},
		{"admin cannot give org.delete", []repo.Grant{admin}, role("danger", "org.delete"), nil, repo.ErrForbidden},
		{"admin cannot give projects.*", []repo.Grant{admin}, role("pm", "projects.*"), nil, repo.ErrForbidden},
		{"owner gives projects.*", []repo.Grant{owner}, role("pm", "projects.*"), nil, nil},
		{"projects.* gives projects.*", []repo.Grant{grant("pm", nil, "projects.*")}, role("pm2", "projects.*"), &q, nil},
		{"projects.* cannot give *", []repo.Grant{grant("pm", nil, "projects.*")}, role("all", "*"), &q, repo.ErrForbidden},
		{"member makes a member", []repo.Grant{member}, builtinRole(t, "member"), nil, nil},
		{"member makes a viewer", []repo.Grant{member}, builtinRole(t, "viewer"), nil, nil},
		{"member makes a project viewer", []repo.Grant{member}, builtinRole(t, "viewer"), &p, nil},
		{"member cannot make an admin", []repo.Grant{member}, builtinRole(t, "admin"), nil, repo.ErrForbidden},
		{"member cannot make a project admin", []repo.Grant{member}, builtinRole(t, "admin"), &p, repo.ErrForbidden},
		{"viewer cannot make a member", []repo.Grant{viewer}, builtinRole(t, "member"), nil, repo.ErrForbidden},
		{"project pm makes a member there", []repo.Grant{pmOnP}, builtinRole(t, "member"), &p, nil},
		{"project pm cannot elsewhere", []repo.Grant{pmOnP}, builtinRole(t, "member"), &q, repo.ErrForbidden},
		{"project pm cannot org-wide", []repo.Grant{pmOnP}, builtinRole(t, "viewer"), nil, repo.ErrForbidden},
		{"project admin makes a project admin", []repo.Grant{adminOnP}, builtinRole(t, "admin"), &p, nil},
		{"project admin cannot org-wide", []repo.Grant{adminOnP}, role("deleter", "projects.delete"), nil, repo.ErrForbidden},
		{"project viewer cannot make a project member", []repo.Grant{viewerOnP}, builtinRole(t, "member"), &p, repo.ErrForbidden},
		{"bindings add up", []repo.Grant{viewer, pmOnP}, builtinRole(t, "member"), &p, nil},
		{"admin creates a role it holds", []repo.Grant{admin}, role("auditor", "audit.read", "apikeys.manage"), nil, nil},
		{"member cannot create an auditor", []repo.Grant{member}, role("auditor", "audit.read"), nil, repo.ErrForbidden},
		{"an empty role", []repo.Grant{viewer}, role("nothing"), nil, nil},
		{"suspended owner", suspended(owner), builtinRole(t, "viewer"), nil, repo.ErrForbidden},
		{"no bindings", nil, builtinRole(t, "viewer"), nil, repo.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTxFixture(t)
			f.expectGrants(1, tc.actor...)
			err := rbac.CanGrant(f.ctx, f.tx, f.org, f.user, tc.role, tc.project)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CanGrant = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.role.Name) {
				t.Errorf("error %q does not name the role", err)
			}
		})
	}
}

func TestCanGrantRefusesUnknownPermissions(t *testing.T) {
	f := newTxFixture(t) // refused before reading anything
	for _, perms := range [][]string{{"projects.archive"}, {"billing.*"}, {"projects.read", ""}, {"projects"}} {
		err := rbac.CanGrant(f.ctx, f.tx, f.org, f.user, role("x", perms...), nil)
		if !errors.Is(err, repo.ErrInvalid) || repo.FieldOf(err) != "permissions" {
			t.Errorf("%q: %v, want ErrInvalid on permissions", perms, err)
		}
	}
}

func TestEnsureNotLastOwner(t *testing.T) {
	ownerRole, adminRole := builtinRole(t, "owner"), builtinRole(t, "admin")
	p := repo.NewID()
	binding := func(r repo.Role, project *uuid.UUID) repo.RoleBinding {
		return repo.RoleBinding{ID: repo.NewID(), RoleID: r.ID, ProjectID: project}
	}
	ownerGrant := func(b repo.RoleBinding) repo.Grant {
		return repo.Grant{BindingID: b.ID, RoleID: ownerRole.ID, RoleName: "owner", ProjectID: b.ProjectID,
			Permissions: []string{"*"}, UserStatus: repo.UserActive}
	}
	orgOwner, orgOwner2, projOwner, orgAdmin := binding(ownerRole, nil), binding(ownerRole, nil), binding(ownerRole, &p), binding(adminRole, nil)
	for _, tc := range []struct {
		name     string
		removal  func(f txFixture) rbac.Removal
		bindings []repo.RoleBinding // what RoleBindings.Get knows
		grants   []repo.Grant       // the removed member's grants
		owners   int64              // CountOrgWide; -1: must not be asked
		conflict bool
	}{
		{"the last owner's binding", func(txFixture) rbac.Removal { return rbac.Removal{BindingID: orgOwner.ID} },
			[]repo.RoleBinding{orgOwner}, nil, 1, true},
		{"one of two owners' bindings", func(txFixture) rbac.Removal { return rbac.Removal{BindingID: orgOwner.ID} },
			[]repo.RoleBinding{orgOwner}, nil, 2, false},
		{"a project owner binding", func(txFixture) rbac.Removal { return rbac.Removal{BindingID: projOwner.ID} },
			[]repo.RoleBinding{projOwner}, nil, -1, false},
		{"an admin binding", func(txFixture) rbac.Removal { return rbac.Removal{BindingID: orgAdmin.ID} },
			[]repo.RoleBinding{orgAdmin}, nil, -1, false},
		{"the last owner as a member", func(f txFixture) rbac.Removal { return rbac.Removal{UserID: f.user} },
			nil, []repo.Grant{ownerGrant(orgOwner), ownerGrant(projOwner)}, 1, true},
		{"one of two owners as a member", func(f txFixture) rbac.Removal { return rbac.Removal{UserID: f.user} },
			nil, []repo.Grant{ownerGrant(orgOwner)}, 2, false},
		{"a member who owns only a project", func(f txFixture) rbac.Removal { return rbac.Removal{UserID: f.user} },
			nil, []repo.Grant{ownerGrant(projOwner), grantOf(t, "admin", nil)}, -1, false},
		{"a member with no bindings", func(f txFixture) rbac.Removal { return rbac.Removal{UserID: f.user} },
			nil, nil, -1, false},
		{"binding and member name the same owner", func(f txFixture) rbac.Removal {
			return rbac.Removal{BindingID: orgOwner.ID, UserID: f.user}
		}, []repo.RoleBinding{orgOwner}, []repo.Grant{ownerGrant(orgOwner)}, 2, false},
		{"binding and member name both owners", func(f txFixture) rbac.Removal {
			return rbac.Removal{BindingID: orgOwner2.ID, UserID: f.user}
		}, []repo.RoleBinding{orgOwner2}, []repo.Grant{ownerGrant(orgOwner)}, 2, true},
		{"nothing", func(txFixture) rbac.Removal { return rbac.Removal{} }, nil, nil, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTxFixture(t)
			f.roles.EXPECT().GetByName(gomock.Any(), f.org, "owner").Return(ownerRole, nil)
			for _, b := range tc.bindings {
				f.bindings.EXPECT().Get(gomock.Any(), f.org, b.ID).Return(b, nil)
			}
			r := tc.removal(f)
			if r.UserID != uuid.Nil {
				f.expectGrants(1, tc.grants...)
			}
			if tc.owners >= 0 {
				f.bindings.EXPECT().CountOrgWide(gomock.Any(), f.org, ownerRole.ID).Return(tc.owners, nil)
			}
			err := rbac.EnsureNotLastOwner(f.ctx, f.tx, f.org, r)
			if tc.conflict != errors.Is(err, repo.ErrConflict) || !tc.conflict && err != nil {
				t.Fatalf("EnsureNotLastOwner = %v, want conflict %v", err, tc.conflict)
			}
		})
	}
}

func TestEnsureNotLastOwnerPassesErrorsOn(t *testing.T) {
	f := newTxFixture(t)
	f.roles.EXPECT().GetByName(gomock.Any(), f.org, "owner").Return(repo.Role{}, repo.NotFound("role"))
	if err := rbac.EnsureNotLastOwner(f.ctx, f.tx, f.org, rbac.Removal{UserID: f.user}); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	f = newTxFixture(t)
	f.roles.EXPECT().GetByName(gomock.Any(), f.org, "owner").Return(builtinRole(t, "owner"), nil)
	id := repo.NewID()
	f.bindings.EXPECT().Get(gomock.Any(), f.org, id).Return(repo.RoleBinding{}, repo.NotFound("role binding"))
	if err := rbac.EnsureNotLastOwner(f.ctx, f.tx, f.org, rbac.Removal{BindingID: id}); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestDeleteRole(t *testing.T) {
	t.Run("built-in", func(t *testing.T) {
		f := newTxFixture(t)
		r := builtinRole(t, "viewer")
		f.roles.EXPECT().Get(gomock.Any(), f.org, r.ID).Return(r, nil) // and no Delete
		if err := rbac.DeleteRole(f.ctx, f.tx, f.org, r.ID); !errors.Is(err, repo.ErrConflict) {
			t.Errorf("err = %v, want ErrConflict", err)
		}
	})
	t.Run("still bound", func(t *testing.T) {
		f := newTxFixture(t)
		r := role("auditor", "audit.read")
		f.roles.EXPECT().Get(gomock.Any(), f.org, r.ID).Return(r, nil)
		f.roles.EXPECT().Delete(gomock.Any(), f.org, r.ID).Return(repo.Conflict("role is referenced"))
		err := rbac.DeleteRole(f.ctx, f.tx, f.org, r.ID)
		if !errors.Is(err, repo.ErrConflict) || !strings.Contains(err.Error(), `"auditor" is still bound`) {
			t.Errorf("err = %v, want ErrConflict saying the role is bound", err)
		}
	})
	t.Run("unbound", func(t *testing.T) {
		f := newTxFixture(t)
		r := role("auditor", "audit.read")
		f.roles.EXPECT().Get(gomock.Any(), f.org, r.ID).Return(r, nil)
		f.roles.EXPECT().Delete(gomock.Any(), f.org, r.ID).Return(nil)
		if err := rbac.DeleteRole(f.ctx, f.tx, f.org, r.ID); err != nil {
			t.Error(err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		f := newTxFixture(t)
		id := repo.NewID()
		f.roles.EXPECT().Get(gomock.Any(), f.org, id).Return(repo.Role{}, repo.NotFound("role"))
		if err := rbac.DeleteRole(f.ctx, f.tx, f.org, id); !errors.Is(err, repo.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestSeedBuiltinRoles(t *testing.T) {
	f := newTxFixture(t)
	var names []string
	f.roles.EXPECT().Create(gomock.Any(), f.org, gomock.Any()).Times(4).DoAndReturn(
		func(_ any, _ uuid.UUID, in repo.NewRole) (repo.Role, error) {
			if !in.Builtin {
				t.Errorf("role %s not created built-in", in.Name)
			}
			names = append(names, in.Name)
			return repo.Role{ID: repo.NewID(), Name: in.Name, Builtin: true, Permissions: in.Permissions}, nil
		})
	if err := rbac.SeedBuiltinRoles(f.ctx, f.tx, f.org); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "owner admin member viewer" {
		t.Errorf("created %v", names)
	}

	f = newTxFixture(t)
	f.roles.EXPECT().Create(gomock.Any(), f.org, gomock.Any()).Return(repo.Role{}, repo.Conflict("exists"))
	if err := rbac.SeedBuiltinRoles(f.ctx, f.tx, f.org); !errors.Is(err, repo.ErrConflict) {
		t.Errorf("err = %v, want the Create error", err)
	}
}

func TestBumpVersion(t *testing.T) {
	f := newTxFixture(t)
	f.orgs.EXPECT().BumpPolicyVersion(gomock.Any(), f.org).Return(int64(8), nil)
	if v, err := rbac.BumpVersion(f.ctx, f.tx, f.org); v != 8 || err != nil {
		t.Errorf("BumpVersion = %d, %v", v, err)
	}
}

func TestBumpVersionsForUser(t *testing.T) {
	f := newTxFixture(t)
	a, b, c := repo.NewID(), repo.NewID(), repo.NewID()
	gomock.InOrder(
		f.orgs.EXPECT().ListForUser(gomock.Any(), f.user, repo.PageRequest{Limit: repo.MaxPageSize}).
			Return(repo.Page[repo.Org]{Items: []repo.Org{{ID: a}, {ID: b}}, Next: "next"}, nil),
		f.orgs.EXPECT().ListForUser(gomock.Any(), f.user, repo.PageRequest{Limit: repo.MaxPageSize, Cursor: "next"}).
			Return(repo.Page[repo.Org]{Items: []repo.Org{{ID: c}}}, nil),
	)
	for i, org := range []uuid.UUID{a, b, c} {
		f.orgs.EXPECT().BumpPolicyVersion(gomock.Any(), org).Return(int64(10+i), nil)
	}
	got, err := rbac.BumpVersionsForUser(f.ctx, f.tx, f.user)
	if err != nil || len(got) != 3 || got[a] != 10 || got[b] != 11 || got[c] != 12 {
		t.Errorf("BumpVersionsForUser = %v, %v", got, err)
	}
}
