package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// bindingFixture is an org with a member, a custom role and a project.
type bindingFixture struct {
	org     repo.Org
	user    repo.User
	role    repo.Role
	project repo.Project
}

func (e *env) bindingFixture() bindingFixture {
	e.t.Helper()
	org := e.newOrg()
	return bindingFixture{org: org, user: e.newMember(org.ID), role: e.newRole(org.ID, "projects.read"), project: e.newProject(org.ID)}
}

// createBinding tries to create a binding in f's org.
func (e *env) createBinding(f bindingFixture, in repo.NewRoleBinding) error {
	_, err := e.db.RoleBindings().Create(e.ctx, f.org.ID, in)
	return err
}

func bindingCases() []testCase {
	cs := []testCase{
		{"RoleBindings/CreateOrgWide", func(e *env) {
			f := e.bindingFixture()
			c := clock()
			b := e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
			if b.ID == uuid.Nil || b.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", b.ID)
			}
			c.check(e.t, "CreatedAt", b.CreatedAt)
			same(e.t, "Create", b, repo.RoleBinding{ID: b.ID, OrgID: f.org.ID, UserID: f.user.ID, RoleID: f.role.ID, CreatedAt: b.CreatedAt})
			same(e.t, "Get", must(e.db.RoleBindings().Get(e.ctx, f.org.ID, b.ID)).of(e.t), b)
			same(e.t, "List", e.bindings(f.org.ID), []repo.RoleBinding{b})
		}},
		{"RoleBindings/CreateProjectScoped", func(e *env) {
			f := e.bindingFixture()
			b := e.bind(f.org.ID, f.user.ID, f.role.ID, ptr(f.project.ID))
			same(e.t, "Create", b, repo.RoleBinding{ID: b.ID, OrgID: f.org.ID, UserID: f.user.ID, RoleID: f.role.ID,
				ProjectID: ptr(f.project.ID), CreatedAt: b.CreatedAt})
			same(e.t, "Get", must(e.db.RoleBindings().Get(e.ctx, f.org.ID, b.ID)).of(e.t), b)
			same(e.t, "List", e.bindings(f.org.ID), []repo.RoleBinding{b})
		}},
		{"RoleBindings/SameRoleOnDifferentScopes", func(e *env) {
			f := e.bindingFixture()
			p2 := e.newProject(f.org.ID)
			want := []repo.RoleBinding{
				e.bind(f.org.ID, f.user.ID, f.role.ID, nil),
				e.bind(f.org.ID, f.user.ID, f.role.ID, &f.project.ID),
				e.bind(f.org.ID, f.user.ID, f.role.ID, &p2.ID),
				e.bind(f.org.ID, e.newMember(f.org.ID).ID, f.role.ID, nil),
			}
			same(e.t, "List", e.bindings(f.org.ID), want)
		}},
		{"RoleBindings/GetUnknown", func(e *env) {
			f := e.bindingFixture()
			e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
			notFound(e.t, second(e.db.RoleBindings().Get(e.ctx, f.org.ID, repo.NewID())))
		}},
		{"RoleBindings/Delete", func(e *env) {
			f := e.bindingFixture()
			b := e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
			keep := e.bind(f.org.ID, f.user.ID, f.role.ID, &f.project.ID)
			ok(e.t, e.db.RoleBindings().Delete(e.ctx, f.org.ID, b.ID))
			notFound(e.t, second(e.db.RoleBindings().Get(e.ctx, f.org.ID, b.ID)),
				e.db.RoleBindings().Delete(e.ctx, f.org.ID, b.ID))
			notFound(e.t, e.db.RoleBindings().Delete(e.ctx, f.org.ID, repo.NewID()))
			same(e.t, "List", e.bindings(f.org.ID), []repo.RoleBinding{keep})
			// The same grant may be made again.
			e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
		}},
		{"RoleBindings/CountOrgWide", func(e *env) {
			f := e.bindingFixture()
			other := e.newRole(f.org.ID)
			e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
			e.bind(f.org.ID, e.newMember(f.org.ID).ID, f.role.ID, nil)
			e.bind(f.org.ID, e.newMember(f.org.ID).ID, f.role.ID, &f.project.ID)
			e.bind(f.org.ID, f.user.ID, other.ID, nil)
			for _, c := range []struct {
				role uuid.UUID
				want int64
			}{{f.role.ID, 2}, {other.ID, 1}, {e.newRole(f.org.ID).ID, 0}} {
				if got := must(e.db.RoleBindings().CountOrgWide(e.ctx, f.org.ID, c.role)).of(e.t); got != c.want {
					e.t.Errorf("CountOrgWide(%v) = %d, want %d", c.role, got, c.want)
				}
			}
		}},
		{"RoleBindings/Grants", func(e *env) {
			f := e.bindingFixture()
			admin := e.role(f.org.ID, "admin", true, "projects.*", "members.read")
			b1 := e.bind(f.org.ID, f.user.ID, admin.ID, nil)
			b2 := e.bind(f.org.ID, f.user.ID, f.role.ID, &f.project.ID)
			e.bind(f.org.ID, e.newMember(f.org.ID).ID, admin.ID, nil) // someone else's
			want := []repo.Grant{
				{BindingID: b1.ID, RoleID: admin.ID, RoleName: "admin", Permissions: admin.Permissions, UserStatus: repo.UserActive},
				{BindingID: b2.ID, ProjectID: &f.project.ID, RoleID: f.role.ID, RoleName: f.role.Name, Permissions: f.role.Permissions, UserStatus: repo.UserActive},
			}
			same(e.t, "Grants", must(e.db.RoleBindings().Grants(e.ctx, f.org.ID, f.user.ID)).of(e.t), want)

			must(e.db.Users().Update(e.ctx, f.user.ID, repo.UserUpdate{Status: ptr(repo.UserSuspended)})).of(e.t)
			must(e.db.Roles().UpdatePermissions(e.ctx, f.org.ID, f.role.ID, []string{"projects.deploy"})).of(e.t)
			want[0].UserStatus, want[1].UserStatus = repo.UserSuspended, repo.UserSuspended
			want[1].Permissions = []string{"projects.deploy"}
			same(e.t, "Grants after changes", must(e.db.RoleBindings().Grants(e.ctx, f.org.ID, f.user.ID)).of(e.t), want)

			if g := must(e.db.RoleBindings().Grants(e.ctx, f.org.ID, e.newMember(f.org.ID).ID)).of(e.t); len(g) != 0 {
				e.t.Errorf("Grants of a member without bindings = %v, want none", g)
			}
		}},
		{"RoleBindings/ProjectDeleteRemovesBindings", func(e *env) {
			f := e.bindingFixture()
			other := e.newProject(f.org.ID)
			orgWide := e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
			gone := e.bind(f.org.ID, f.user.ID, f.role.ID, &f.project.ID)
			keep := e.bind(f.org.ID, f.user.ID, f.role.ID, &other.ID)
			ok(e.t, e.db.Projects().Delete(e.ctx, f.org.ID, f.project.ID))
			notFound(e.t, second(e.db.RoleBindings().Get(e.ctx, f.org.ID, gone.ID)))
			same(e.t, "List", e.bindings(f.org.ID), []repo.RoleBinding{orgWide, keep})
		}},
	}
	// Refusals: each leaves the org's bindings as they were, and names no
	// field: a duplicate grant is made of the user, the role and the
	// project together, none alone.
	for _, c := range []struct {
		name string
		kind error
		in   func(e *env, f bindingFixture) repo.NewRoleBinding
	}{
		{"DuplicateOrgWide", repo.ErrConflict, func(e *env, f bindingFixture) repo.NewRoleBinding {
			e.bind(f.org.ID, f.user.ID, f.role.ID, nil)
			return repo.NewRoleBinding{UserID: f.user.ID, RoleID: f.role.ID}
		}},
		{"DuplicateProjectScoped", repo.ErrConflict, func(e *env, f bindingFixture) repo.NewRoleBinding {
			e.bind(f.org.ID, f.user.ID, f.role.ID, &f.project.ID)
			return repo.NewRoleBinding{UserID: f.user.ID, RoleID: f.role.ID, ProjectID: ptr(f.project.ID)}
		}},
		{"UnknownRole", repo.ErrNotFound, func(e *env, f bindingFixture) repo.NewRoleBinding {
			return repo.NewRoleBinding{UserID: f.user.ID, RoleID: repo.NewID()}
		}},
		{"NonMember", repo.ErrNotFound, func(e *env, f bindingFixture) repo.NewRoleBinding {
			return repo.NewRoleBinding{UserID: e.newUser().ID, RoleID: f.role.ID}
		}},
		{"UnknownUser", repo.ErrNotFound, func(e *env, f bindingFixture) repo.NewRoleBinding {
			return repo.NewRoleBinding{UserID: repo.NewID(), RoleID: f.role.ID}
		}},
		{"UnknownProject", repo.ErrNotFound, func(e *env, f bindingFixture) repo.NewRoleBinding {
			return repo.NewRoleBinding{UserID: f.user.ID, RoleID: f.role.ID, ProjectID: ptr(repo.NewID())}
		}},
		{"DeletedProject", repo.ErrNotFound, func(e *env, f bindingFixture) repo.NewRoleBinding {
			p := e.newProject(f.org.ID)
			ok(e.t, e.db.Projects().Delete(e.ctx, f.org.ID, p.ID))
			return repo.NewRoleBinding{UserID: f.user.ID, RoleID: f.role.ID, ProjectID: &p.ID}
		}},
	} {
		cs = append(cs, testCase{"RoleBindings/Create" + c.name, func(e *env) {
			f := e.bindingFixture()
			in := c.in(e, f)
			before := e.bindings(f.org.ID)
			wantField(e.t, e.createBinding(f, in), c.kind, "")
			same(e.t, "List", e.bindings(f.org.ID), before)
		}})
	}
	return cs
}
