package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// checkPermissions checks that a role read back has a non-nil Permissions.
func checkPermissions(e *env, what string, roles ...repo.Role) {
	e.t.Helper()
	for _, r := range roles {
		if r.Permissions == nil {
			e.t.Errorf("%s: role %q has nil Permissions, want an empty slice", what, r.Name)
		}
	}
}

func roleCases() []testCase {
	return []testCase{
		{"Roles/Create", func(e *env) {
			org := e.newOrg()
			c := clock()
			perms := []string{"projects.update", "projects.*", "api_keys.create", "*"}
			r := must(e.db.Roles().Create(e.ctx, org.ID, repo.NewRole{Name: "release-manager_2", Permissions: perms})).of(e.t)
			if r.ID == uuid.Nil || r.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", r.ID)
			}
			c.check(e.t, "CreatedAt", r.CreatedAt)
			c.check(e.t, "UpdatedAt", r.UpdatedAt)
			same(e.t, "Create", r, repo.Role{ID: r.ID, OrgID: org.ID, Name: "release-manager_2", Permissions: perms,
				CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
			same(e.t, "Get", must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t), r)
			same(e.t, "GetByName", must(e.db.Roles().GetByName(e.ctx, org.ID, r.Name)).of(e.t), r)
			same(e.t, "List", e.roles(org.ID), []repo.Role{r})
		}},
		{"Roles/CreateBuiltin", func(e *env) {
			org := e.newOrg()
			r := e.role(org.ID, "owner", true, "*")
			if !r.Builtin {
				e.t.Errorf("Builtin = false, want true")
			}
			same(e.t, "Get", must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t), r)
			same(e.t, "List", e.roles(org.ID), []repo.Role{r})
		}},
		{"Roles/CreateWithoutPermissions", func(e *env) {
			org := e.newOrg()
			for _, perms := range [][]string{nil, {}} {
				r := e.newRole(org.ID, perms...)
				got := must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t)
				checkPermissions(e, "Create", r)
				checkPermissions(e, "Get", got)
				same(e.t, "Get", got, r)
			}
			checkPermissions(e, "List", e.roles(org.ID)...)
		}},
		{"Roles/CreateDuplicateName", func(e *env) {
			org, other := e.newOrg(), e.newOrg()
			r := e.role(org.ID, "ops", false, "projects.read")
			_, err := e.db.Roles().Create(e.ctx, org.ID, repo.NewRole{Name: "ops", Permissions: []string{"*"}})
			wantConflict(e.t, err, "name")
			same(e.t, "List", e.roles(org.ID), []repo.Role{r})
			// The same name in another org is fine.
			o := e.role(other.ID, "ops", false, "*")
			same(e.t, "other org", e.roles(other.ID), []repo.Role{o})
		}},
		{"Roles/GetUnknown", func(e *env) {
			org := e.newOrg()
			e.newRole(org.ID)
			notFound(e.t, second(e.db.Roles().Get(e.ctx, org.ID, repo.NewID())),
				second(e.db.Roles().GetByName(e.ctx, org.ID, "nope")))
		}},
		{"Roles/ListOrderedByName", func(e *env) {
			org := e.newOrg()
			var want []repo.Role
			for _, name := range []string{"viewer", "admin", "member", "owner", "a1", "zz"} {
				want = append(want, e.role(org.ID, name, name != "a1" && name != "zz", "projects.read"))
			}
			want = []repo.Role{want[4], want[1], want[2], want[3], want[0], want[5]}
			same(e.t, "List", e.roles(org.ID), want)
		}},
		{"Roles/UpdatePermissions", func(e *env) {
			org := e.newOrg()
			r := e.newRole(org.ID, "projects.read")
			other := e.newRole(org.ID, "projects.read")
			c := clock()
			got := must(e.db.Roles().UpdatePermissions(e.ctx, org.ID, r.ID, []string{"projects.*", "audit.read"})).of(e.t)
			c.check(e.t, "UpdatedAt", got.UpdatedAt)
			want := r
			want.Permissions, want.UpdatedAt = []string{"projects.*", "audit.read"}, got.UpdatedAt
			same(e.t, "UpdatePermissions", got, want)
			same(e.t, "Get", must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t), want)
			got = must(e.db.Roles().UpdatePermissions(e.ctx, org.ID, r.ID, nil)).of(e.t)
			checkPermissions(e, "UpdatePermissions(nil)", got, must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t))
			if len(got.Permissions) != 0 {
				e.t.Errorf("Permissions = %v, want none", got.Permissions)
			}
			same(e.t, "other role", must(e.db.Roles().Get(e.ctx, org.ID, other.ID)).of(e.t), other)
		}},
		{"Roles/UpdatePermissionsBuiltin", func(e *env) {
			org := e.newOrg()
			r := e.role(org.ID, "admin", true, "projects.*")
			_, err := e.db.Roles().UpdatePermissions(e.ctx, org.ID, r.ID, []string{"*"})
			wantKind(e.t, err, repo.ErrConflict)
			same(e.t, "Get", must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t), r)
		}},
		{"Roles/UpdatePermissionsUnknown", func(e *env) {
			org := e.newOrg()
			notFound(e.t, second(e.db.Roles().UpdatePermissions(e.ctx, org.ID, repo.NewID(), []string{"*"})))
		}},
		{"Roles/Delete", func(e *env) {
			org := e.newOrg()
			r, keep := e.newRole(org.ID), e.newRole(org.ID)
			ok(e.t, e.db.Roles().Delete(e.ctx, org.ID, r.ID))
			notFound(e.t, second(e.db.Roles().Get(e.ctx, org.ID, r.ID)),
				second(e.db.Roles().GetByName(e.ctx, org.ID, r.Name)))
			notFound(e.t, e.db.Roles().Delete(e.ctx, org.ID, r.ID))
			same(e.t, "List", e.roles(org.ID), []repo.Role{keep})
			// The name is free again.
			e.role(org.ID, r.Name, false)
		}},
		{"Roles/DeleteUnknown", func(e *env) {
			org := e.newOrg()
			r := e.newRole(org.ID)
			notFound(e.t, e.db.Roles().Delete(e.ctx, org.ID, repo.NewID()))
			same(e.t, "List", e.roles(org.ID), []repo.Role{r})
		}},
		{"Roles/DeleteBuiltin", func(e *env) {
			org := e.newOrg()
			r := e.role(org.ID, "viewer", true, "projects.read")
			wantKind(e.t, e.db.Roles().Delete(e.ctx, org.ID, r.ID), repo.ErrConflict)
			same(e.t, "List", e.roles(org.ID), []repo.Role{r})
		}},
		{"Roles/DeleteStillBound", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			p := e.newProject(org.ID)
			orgWide, onProject := e.newRole(org.ID), e.newRole(org.ID)
			b1 := e.bind(org.ID, u.ID, orgWide.ID, nil)
			b2 := e.bind(org.ID, u.ID, onProject.ID, &p.ID)
			for _, r := range []repo.Role{orgWide, onProject} {
				wantKind(e.t, e.db.Roles().Delete(e.ctx, org.ID, r.ID), repo.ErrConflict)
				same(e.t, "Get", must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t), r)
			}
			same(e.t, "bindings", e.bindings(org.ID), []repo.RoleBinding{b1, b2})
			ok(e.t, e.db.RoleBindings().Delete(e.ctx, org.ID, b1.ID))
			ok(e.t, e.db.RoleBindings().Delete(e.ctx, org.ID, b2.ID))
			for _, r := range []repo.Role{orgWide, onProject} {
				ok(e.t, e.db.Roles().Delete(e.ctx, org.ID, r.ID))
			}
			same(e.t, "List", e.roles(org.ID), []repo.Role{})
		}},
	}
}
