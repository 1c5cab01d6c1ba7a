package service_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// memberOutranks expects member f.user, who holds more than the caller.
func memberOutranks(f *fixture) {
	f.expectMember()
	f.outranked()
}

// TestGuards covers the rules checked inside a mutation's transaction:
// nothing is written or appended as a success, and the error says why.
func TestGuards(t *testing.T) {
	cases := []struct {
		name   string
		op     string
		expect func(f *fixture)
		want   error
		field  string
		says   string // in the message, when set
	}{{
		name: "role beyond the caller's grants", op: "CreateRole", want: repo.ErrForbidden,
		expect: func(f *fixture) { f.grantsOf(f.p.UserID, f.builtin(rbac.Viewer)) },
	}, {
		name: "member with a role the caller lacks", op: "AddMember", want: repo.ErrForbidden,
		expect: func(f *fixture) {
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(f.builtin(rbac.Viewer), nil)
			f.grantsOf(f.p.UserID, repo.Role{ID: repo.NewID(), Name: "manager", Permissions: []string{rbac.MembersManage}})
		},
	}, {
		name: "binding a role the caller lacks", op: "CreateRoleBinding", want: repo.ErrForbidden,
		expect: func(f *fixture) {
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(f.builtin(rbac.Viewer), nil)
			f.grantsOf(f.p.UserID, repo.Role{ID: repo.NewID(), Name: "binder", Permissions: []string{rbac.RolesManage}})
		},
	}, {
		name: "admin unbinding an owner", op: "DeleteRoleBinding", want: repo.ErrForbidden,
		expect: func(f *fixture) {
			owner := f.builtin(rbac.Owner)
			f.tx.bindings.EXPECT().Get(anything, f.org.ID, f.binding).
				Return(repo.RoleBinding{ID: f.binding, OrgID: f.org.ID, UserID: f.user, RoleID: owner.ID}, nil)
			f.tx.roles.EXPECT().Get(anything, f.org.ID, owner.ID).Return(owner, nil)
			f.grantsOf(f.p.UserID, f.builtin(rbac.Admin))
		},
	}, {
		name: "removing the last owner", op: "RemoveMember", want: repo.ErrConflict,
		expect: func(f *fixture) {
			owner := f.builtin(rbac.Owner)
			f.expectMember()
			f.grantsOf(f.user, owner).Times(2)
			f.ownerGrants(f.p.UserID)
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Owner).Return(owner, nil)
			f.tx.bindings.EXPECT().CountOrgWide(anything, f.org.ID, owner.ID).Return(int64(1), nil)
		},
	}, {
		name: "removing a member who holds more", op: "RemoveMember", want: repo.ErrForbidden,
		expect: memberOutranks,
	}, {
		name: "revoking the key of a member who holds more", op: "RevokeAPIKey", want: repo.ErrForbidden,
		expect: func(f *fixture) {
			f.tx.keys.EXPECT().Lookup(anything, f.key).Return(repo.APIKey{ID: f.key, OrgID: f.org.ID, UserID: f.user}, nil)
			f.outranked()
		},
	}, {
		name: "revoking another org's key", op: "RevokeAPIKey", want: repo.ErrNotFound,
		expect: func(f *fixture) {
			f.tx.keys.EXPECT().Lookup(anything, f.key).Return(repo.APIKey{ID: f.key, OrgID: repo.NewID(), UserID: f.user}, nil)
		},
	}, {
		name: "a key for a member who holds more", op: "CreateAPIKeyForMember", want: repo.ErrForbidden,
		expect: memberOutranks,
	}, {
		name: "a key for a non-member", op: "CreateAPIKeyForMember", want: repo.ErrNotFound,
		expect: func(f *fixture) {
			f.tx.members.EXPECT().Get(anything, f.org.ID, f.user).Return(repo.Member{}, repo.NotFound("member"))
		},
	}, {
		name: "unbinding the last owner", op: "DeleteRoleBinding", want: repo.ErrConflict,
		expect: func(f *fixture) {
			owner := f.builtin(rbac.Owner)
			b := repo.RoleBinding{ID: f.binding, OrgID: f.org.ID, UserID: f.user, RoleID: owner.ID}
			f.tx.bindings.EXPECT().Get(anything, f.org.ID, f.binding).Return(b, nil).Times(2)
			f.tx.roles.EXPECT().Get(anything, f.org.ID, owner.ID).Return(owner, nil)
			f.grantsOf(f.p.UserID, owner)
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Owner).Return(owner, nil)
			f.tx.bindings.EXPECT().CountOrgWide(anything, f.org.ID, owner.ID).Return(int64(1), nil)
		},
	}, {
		name: "updating a built-in role", op: "UpdateRole", want: repo.ErrConflict,
		expect: func(f *fixture) {
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, "deployer").Return(repo.Role{ID: f.role, Name: "deployer", Builtin: true}, nil)
		},
	}, {
		name: "deleting a built-in role", op: "DeleteRole", want: repo.ErrConflict,
		expect: func(f *fixture) {
			r := repo.Role{ID: f.role, Name: "deployer", Builtin: true}
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, "deployer").Return(r, nil)
			f.tx.roles.EXPECT().Get(anything, f.org.ID, f.role).Return(r, nil)
		},
	}, {
		name: "deleting a bound role", op: "DeleteRole", want: repo.ErrConflict,
		expect: func(f *fixture) {
			r := repo.Role{ID: f.role, Name: "deployer", Permissions: deployer}
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, "deployer").Return(r, nil)
			f.tx.roles.EXPECT().Get(anything, f.org.ID, f.role).Return(r, nil)
			f.tx.roles.EXPECT().Delete(anything, f.org.ID, f.role).Return(repo.Conflict("foreign key"))
		},
	}, {
		name: "adding a member twice", op: "AddMember", want: repo.ErrConflict, says: "ann@example.com is already a member",
		expect: func(f *fixture) {
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(f.builtin(rbac.Viewer), nil)
			f.ownerGrants(f.p.UserID)
			f.tx.users.EXPECT().GetByEmail(anything, "ann@example.com").Return(repo.User{ID: f.user, Email: "ann@example.com"}, nil)
			f.tx.members.EXPECT().Add(anything, f.org.ID, f.user).Return(repo.Member{}, repo.Conflict("duplicate key"))
		},
	}, {
		name: "adding a member with an unknown role", op: "AddMember", want: repo.ErrInvalid, field: "role",
		expect: func(f *fixture) {
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(repo.Role{}, repo.NotFound("role"))
		},
	}, {
		name: "binding an unknown role", op: "CreateRoleBinding", want: repo.ErrInvalid, field: "role",
		expect: func(f *fixture) {
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(repo.Role{}, repo.NotFound("role"))
		},
	}, {
		name: "removing a non-member", op: "RemoveMember", want: repo.ErrNotFound,
		expect: func(f *fixture) {
			f.tx.members.EXPECT().Get(anything, f.org.ID, f.user).Return(repo.Member{}, repo.NotFound("member"))
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			m := mutation(t, c.op)
			f.expectCheck(m.perm, m.scope(f), true).After(f.expectOrg())
			f.expectInTx(f.store, nil)
			f.expectBumpOf(m)
			c.expect(f)
			if c.want == repo.ErrForbidden {
				// A refusal is a denied attempt: audited in a transaction of its own.
				f.expectInTx(f.store, nil)
				f.expectAppend(event{action: m.action, targetType: m.targetType, targetID: m.target(f), outcome: repo.OutcomeDenied})
			}
			err := m.call(f)
			if !errors.Is(err, c.want) || repo.FieldOf(err) != c.field || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v (field %q), want %v (field %q) saying %q", err, repo.FieldOf(err), c.want, c.field, c.says)
			}
			if c.want == repo.ErrForbidden {
				want := map[string]any{"permission": m.perm, "reason": err.Error()}
				if got := f.appended[0].Metadata; got != mustJSON(t, want) {
					t.Errorf("denied event metadata = %s, want %s", got, mustJSON(t, want))
				}
			}
		})
	}
}

// TestInvalidInput checks that malformed input is refused, naming the
// field, before anything is read: the mocks expect no call at all.
func TestInvalidInput(t *testing.T) {
	long := strings.Repeat("x", repo.MaxDescriptionLen+1)
	cases := []struct {
		name  string
		field string
		call  func(f *fixture) error
	}{
		{"org name empty", "name", func(f *fixture) error {
			return errOnly(f.svc.UpdateOrg(f.ctx, f.p, f.org.Slug, repo.OrgUpdate{Name: ptr(" ")}))
		}},
		{"org region too long", "region", func(f *fixture) error {
			return errOnly(f.svc.UpdateOrg(f.ctx, f.p, f.org.Slug, repo.OrgUpdate{Region: ptr(long)}))
		}},
		{"member email", "email", func(f *fixture) error {
			return errOnly(f.svc.AddMember(f.ctx, f.p, f.org.Slug, service.NewMember{Email: "Ann <ann@example.com>"}))
		}},
		{"member name", "name", func(f *fixture) error {
			return errOnly(f.svc.AddMember(f.ctx, f.p, f.org.Slug, service.NewMember{Email: "ann@example.com", Name: "A\x00n"}))
		}},
		{"role name", "name", func(f *fixture) error {
			return errOnly(f.svc.CreateRole(f.ctx, f.p, f.org.Slug, "Deployer", deployer))
		}},
		{"role without permissions", "permissions", func(f *fixture) error {
			return errOnly(f.svc.CreateRole(f.ctx, f.p, f.org.Slug, "deployer", nil))
		}},
		{"role with an unknown permission", "permissions", func(f *fixture) error {
			return errOnly(f.svc.CreateRole(f.ctx, f.p, f.org.Slug, "deployer", []string{"projects.launch"}))
		}},
		{"role update with an unknown wildcard", "permissions", func(f *fixture) error {
			return errOnly(f.svc.UpdateRole(f.ctx, f.p, f.org.Slug, "deployer", []string{"rockets.*"}))
		}},
		{"binding without user", "user_id", func(f *fixture) error {
			return errOnly(f.svc.CreateRoleBinding(f.ctx, f.p, f.org.Slug, service.NewBinding{Role: rbac.Viewer}))
		}},
		{"binding without role", "role", func(f *fixture) error {
			return errOnly(f.svc.CreateRoleBinding(f.ctx, f.p, f.org.Slug, service.NewBinding{UserID: f.user}))
		}},
		{"project name", "name", func(f *fixture) error {
			return errOnly(f.svc.CreateProject(f.ctx, f.p, f.org.Slug, repo.NewProject{}))
		}},
		{"project description", "description", func(f *fixture) error {
			return errOnly(f.svc.CreateProject(f.ctx, f.p, f.org.Slug, repo.NewProject{Name: "apollo", Description: long}))
		}},
		{"project update name", "name", func(f *fixture) error {
			return errOnly(f.svc.UpdateProject(f.ctx, f.p, f.org.Slug, f.project, repo.ProjectUpdate{Name: ptr("")}))
		}},
		{"key expiring now", "expires_at", func(f *fixture) error {
			return errOnly(f.svc.CreateAPIKey(f.ctx, f.p, f.org.Slug, service.NewAPIKey{Name: "ci", ExpiresAt: ptr(f.now)}))
		}},
		{"access check of a wildcard", "permission", func(f *fixture) error {
			return errOnly(f.svc.CheckAccess(f.ctx, f.p, f.org.Slug, f.user, "*", nil))
		}},
		{"export format", "format", func(f *fixture) error {
			return errOnly(f.svc.ExportAudit(f.ctx, f.p, f.org.Slug, "xml", repo.AuditFilter{}, &bytes.Buffer{}))
		}},
		{"bootstrap slug", "slug", func(f *fixture) error {
			return bootstrapErr(f.svc.Bootstrap(f.ctx, service.BootstrapInput{OrgSlug: "Acme Corp", Email: "o@example.com"}, f.p.Request))
		}},
		{"bootstrap email", "email", func(f *fixture) error {
			return bootstrapErr(f.svc.Bootstrap(f.ctx, service.BootstrapInput{OrgSlug: "acme", Email: "owner"}, f.p.Request))
		}},
		{"bootstrap region", "region", func(f *fixture) error {
			in := service.BootstrapInput{OrgSlug: "acme", Region: long, Email: "o@example.com"}
			return bootstrapErr(f.svc.Bootstrap(f.ctx, in, f.p.Request))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(newFixture(t))
			if !errors.Is(err, repo.ErrInvalid) || repo.FieldOf(err) != c.field {
				t.Errorf("err = %v (field %q), want ErrInvalid naming %q", err, repo.FieldOf(err), c.field)
			}
		})
	}
}

func bootstrapErr(_ repo.Org, _ service.NewKey, err error) error { return err }
