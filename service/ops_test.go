package service_test

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// op is one use case as the authorization and audit tests see it.
type op struct {
	name       string
	action     string // the audit action
	perm       string // the permission it needs
	onProject  bool   // checked on f.project rather than org-wide
	targetType string
	target     func(f *fixture) string // the target known before the change: what a denial names
	call       func(f *fixture) error

	// Mutations: policy says the change bumps the policy version, and body
	// expects the transaction's calls, with the change's own write failing
	// with fail when it is set.
	policy bool
	body   func(f *fixture, fail error) change
	// Reads: read expects the read itself, on the database's Store (or
	// the authorizer), failing with fail when it is set; nil for none.
	read func(f *fixture, fail error)
}

// change is what a mutation's body did: its write, the success event's
// target when the action did not know it beforehand (what it created), and
// the fields before and after it.
type change struct {
	write         *gomock.Call
	target        string
	before, after map[string]any
}

func (m op) scope(f *fixture) *uuid.UUID {
	if m.onProject {
		return &f.project
	}
	return nil
}

func noTarget(*fixture) string            { return "" }
func userTarget(f *fixture) string        { return f.user.String() }
func projectTarget(f *fixture) string     { return f.project.String() }
func roleTarget(*fixture) string          { return "deployer" }
func bindingTarget(f *fixture) string     { return f.binding.String() }
func keyTarget(f *fixture) string         { return f.key.String() }
func errOnly[T any](_ T, err error) error { return err }

// ret makes c return v, or fail when it is set.
func ret[T any](c *gomock.Call, v T, fail error) *gomock.Call {
	if fail != nil {
		var zero T
		return c.Return(zero, fail)
	}
	return c.Return(v, nil)
}

const day = 24 * time.Hour

var (
	anything     = gomock.Any()
	deployer     = []string{rbac.ProjectsRead, rbac.ProjectsUpdate}
	apollo       = repo.NewProject{Name: "apollo", Description: "to the moon"}
	apolloFields = map[string]any{"name": "apollo", "description": "to the moon"}
)

// mutations lists every mutating use case with the calls its transaction makes.
var mutations = []op{{
	name: "UpdateOrg", action: "org.update", perm: rbac.OrgUpdate, targetType: "org", target: noTarget, policy: true,
	call: func(f *fixture) error {
		return errOnly(f.svc.UpdateOrg(f.ctx, f.p, f.org.Slug, repo.OrgUpdate{Name: ptr("Acme Inc")}))
	},
	body: func(f *fixture, fail error) change {
		updated := f.org
		updated.Name = "Acme Inc"
		w := ret(f.tx.orgs.EXPECT().Update(anything, f.org.ID, repo.OrgUpdate{Name: ptr("Acme Inc")}), updated, fail)
		// The org as the transaction sees it, locked by the version bump.
		w.After(f.tx.orgs.EXPECT().Get(anything, f.org.ID).Return(f.org, nil))
		return change{write: w, target: f.org.ID.String(),
			before: map[string]any{"name": "Acme", "region": "local"},
			after:  map[string]any{"name": "Acme Inc", "region": "local"}}
	},
}, {
	name: "AddMember", action: "member.add", perm: rbac.MembersManage, targetType: "user", target: noTarget, policy: true,
	call: func(f *fixture) error {
		return errOnly(f.svc.AddMember(f.ctx, f.p, f.org.Slug, service.NewMember{Email: "ann@example.com", Name: "Ann", Role: rbac.Viewer}))
	},
	body: func(f *fixture, fail error) change {
		viewer := f.builtin(rbac.Viewer)
		user := repo.User{ID: f.user, Email: "ann@example.com", Name: "Ann", Status: repo.UserActive}
		w := ret(f.tx.bindings.EXPECT().Create(anything, f.org.ID, repo.NewRoleBinding{UserID: f.user, RoleID: viewer.ID}),
			repo.RoleBinding{ID: f.binding, OrgID: f.org.ID, UserID: f.user, RoleID: viewer.ID}, fail)
		gomock.InOrder(
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(viewer, nil),
			f.ownerGrants(f.p.UserID),
			f.tx.users.EXPECT().GetByEmail(anything, "ann@example.com").Return(repo.User{}, repo.NotFound("user")),
			f.tx.users.EXPECT().Create(anything, repo.NewUser{Email: "ann@example.com", Name: "Ann"}).Return(user, nil),
			f.tx.members.EXPECT().Add(anything, f.org.ID, f.user).Return(repo.Member{OrgID: f.org.ID, User: user}, nil),
			w,
		)
		return change{write: w, target: f.user.String(), after: map[string]any{"email": "ann@example.com", "role": "viewer"}}
	},
}, {
	name: "RemoveMember", action: "member.remove", perm: rbac.MembersManage, targetType: "user", target: userTarget, policy: true,
	call: func(f *fixture) error { return f.svc.RemoveMember(f.ctx, f.p, f.org.Slug, f.user) },
	body: func(f *fixture, fail error) change {
		w := f.tx.members.EXPECT().Remove(anything, f.org.ID, f.user).Return(fail)
		gomock.InOrder(
			f.expectMember(),
			f.grantsOf(f.user, f.builtin(rbac.Viewer)), // the caller holds all the member holds
			f.ownerGrants(f.p.UserID),
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Owner).Return(f.builtin(rbac.Owner), nil),
			f.grantsOf(f.user, f.builtin(rbac.Viewer)), // the member is not an owner
			w,
		)
		return change{write: w, before: map[string]any{"email": "ann@example.com"}}
	},
}, {
	name: "CreateRole", action: "role.create", perm: rbac.RolesManage, targetType: "role", target: roleTarget, policy: true,
	call: func(f *fixture) error { return errOnly(f.svc.CreateRole(f.ctx, f.p, f.org.Slug, "deployer", deployer)) },
	body: func(f *fixture, fail error) change {
		w := ret(f.tx.roles.EXPECT().Create(anything, f.org.ID, repo.NewRole{Name: "deployer", Permissions: deployer}),
			repo.Role{ID: f.role, OrgID: f.org.ID, Name: "deployer", Permissions: deployer}, fail)
		gomock.InOrder(f.ownerGrants(f.p.UserID), w)
		return change{write: w, after: map[string]any{"permissions": deployer}}
	},
}, {
	name: "UpdateRole", action: "role.update", perm: rbac.RolesManage, targetType: "role", target: roleTarget, policy: true,
	call: func(f *fixture) error {
		return errOnly(f.svc.UpdateRole(f.ctx, f.p, f.org.Slug, "deployer", []string{rbac.ProjectsRead}))
	},
	body: func(f *fixture, fail error) change {
		old := repo.Role{ID: f.role, OrgID: f.org.ID, Name: "deployer", Permissions: deployer}
		updated := old
		updated.Permissions = []string{rbac.ProjectsRead}
		w := ret(f.tx.roles.EXPECT().UpdatePermissions(anything, f.org.ID, f.role, []string{rbac.ProjectsRead}), updated, fail)
		// CanGrant reads the caller's grants twice: for the permissions taken
		// away, then for those given.
		gomock.InOrder(f.tx.roles.EXPECT().GetByName(anything, f.org.ID, "deployer").Return(old, nil),
			f.ownerGrants(f.p.UserID), f.ownerGrants(f.p.UserID), w)
		return change{write: w, before: map[string]any{"permissions": deployer}, after: map[string]any{"permissions": []string{rbac.ProjectsRead}}}
	},
}, {
	name: "DeleteRole", action: "role.delete", perm: rbac.RolesManage, targetType: "role", target: roleTarget, policy: true,
	call: func(f *fixture) error { return f.svc.DeleteRole(f.ctx, f.p, f.org.Slug, "deployer") },
	body: func(f *fixture, fail error) change {
		role := repo.Role{ID: f.role, OrgID: f.org.ID, Name: "deployer", Permissions: deployer}
		w := f.tx.roles.EXPECT().Delete(anything, f.org.ID, f.role).Return(fail)
		gomock.InOrder(
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, "deployer").Return(role, nil),
			f.tx.roles.EXPECT().Get(anything, f.org.ID, f.role).Return(role, nil),
			w,
		)
		return change{write: w, before: map[string]any{"permissions": deployer}}
	},
}, {
	name: "CreateRoleBinding", action: "role_binding.create", perm: rbac.RolesManage, targetType: "role_binding", target: noTarget, policy: true,
	call: func(f *fixture) error {
		in := service.NewBinding{UserID: f.user, Role: rbac.Viewer, ProjectID: &f.project}
		return errOnly(f.svc.CreateRoleBinding(f.ctx, f.p, f.org.Slug, in))
	},
	body: func(f *fixture, fail error) change {
		viewer := f.builtin(rbac.Viewer)
		w := ret(f.tx.bindings.EXPECT().Create(anything, f.org.ID, repo.NewRoleBinding{UserID: f.user, RoleID: viewer.ID, ProjectID: &f.project}),
			repo.RoleBinding{ID: f.binding, OrgID: f.org.ID, UserID: f.user, RoleID: viewer.ID, ProjectID: &f.project}, fail)
		gomock.InOrder(f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Viewer).Return(viewer, nil), f.ownerGrants(f.p.UserID), w)
		return change{write: w, target: f.binding.String(),
			after: map[string]any{"user_id": f.user, "role": "viewer", "project_id": f.project}}
	},
}, {
	name: "DeleteRoleBinding", action: "role_binding.delete", perm: rbac.RolesManage, targetType: "role_binding", target: bindingTarget, policy: true,
	call: func(f *fixture) error { return f.svc.DeleteRoleBinding(f.ctx, f.p, f.org.Slug, f.binding) },
	body: func(f *fixture, fail error) change {
		viewer := f.builtin(rbac.Viewer)
		b := repo.RoleBinding{ID: f.binding, OrgID: f.org.ID, UserID: f.user, RoleID: viewer.ID}
		w := f.tx.bindings.EXPECT().Delete(anything, f.org.ID, f.binding).Return(fail)
		gomock.InOrder(
			f.tx.bindings.EXPECT().Get(anything, f.org.ID, f.binding).Return(b, nil),
			f.tx.roles.EXPECT().Get(anything, f.org.ID, viewer.ID).Return(viewer, nil),
			f.ownerGrants(f.p.UserID),
			f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Owner).Return(f.builtin(rbac.Owner), nil),
			f.tx.bindings.EXPECT().Get(anything, f.org.ID, f.binding).Return(b, nil),
			w,
		)
		return change{write: w, before: map[string]any{"user_id": f.user, "role": "viewer", "project_id": nil}}
	},
}, {
	name: "CreateProject", action: "project.create", perm: rbac.ProjectsCreate, targetType: "project", target: noTarget,
	call: func(f *fixture) error { return errOnly(f.svc.CreateProject(f.ctx, f.p, f.org.Slug, apollo)) },
	body: func(f *fixture, fail error) change {
		w := ret(f.tx.projects.EXPECT().Create(anything, f.org.ID, apollo),
			repo.Project{ID: f.project, OrgID: f.org.ID, Name: apollo.Name, Description: apollo.Description}, fail)
		return change{write: w, target: f.project.String(), after: apolloFields}
	},
}, {
	name: "UpdateProject", action: "project.update", perm: rbac.ProjectsUpdate, onProject: true, targetType: "project", target: projectTarget,
	call: func(f *fixture) error {
		return errOnly(f.svc.UpdateProject(f.ctx, f.p, f.org.Slug, f.project, repo.ProjectUpdate{Name: ptr("artemis")}))
	},
	body: func(f *fixture, fail error) change {
		before := repo.Project{ID: f.project, OrgID: f.org.ID, Name: apollo.Name, Description: apollo.Description}
		after := before
		after.Name = "artemis"
		w := ret(f.tx.projects.EXPECT().Update(anything, f.org.ID, f.project, repo.ProjectUpdate{Name: ptr("artemis")}), after, fail)
		gomock.InOrder(f.tx.projects.EXPECT().Get(anything, f.org.ID, f.project).Return(before, nil), w)
		return change{write: w, before: apolloFields, after: map[string]any{"name": "artemis", "description": "to the moon"}}
	},
}, {
	name: "DeleteProject", action: "project.delete", perm: rbac.ProjectsDelete, onProject: true, targetType: "project", target: projectTarget, policy: true,
	call: func(f *fixture) error { return f.svc.DeleteProject(f.ctx, f.p, f.org.Slug, f.project) },
	body: func(f *fixture, fail error) change {
		w := f.tx.projects.EXPECT().Delete(anything, f.org.ID, f.project).Return(fail)
		gomock.InOrder(f.tx.projects.EXPECT().Get(anything, f.org.ID, f.project).
			Return(repo.Project{ID: f.project, OrgID: f.org.ID, Name: apollo.Name, Description: apollo.Description}, nil), w)
		return change{write: w, before: apolloFields}
	},
}, {
	name: "CreateAPIKey", action: "api_key.create", perm: rbac.APIKeysManage, targetType: "api_key", target: noTarget,
	call: createKey(false), body: createKeyBody(false),
}, {
	name: "CreateAPIKeyForMember", action: "api_key.create", perm: rbac.APIKeysManage, targetType: "api_key", target: noTarget,
	call: createKey(true), body: createKeyBody(true),
}, {
	name: "RevokeAPIKey", action: "api_key.revoke", perm: rbac.APIKeysManage, targetType: "api_key", target: keyTarget, policy: true,
	call: func(f *fixture) error { return f.svc.RevokeAPIKey(f.ctx, f.p, f.org.Slug, f.key) },
	body: func(f *fixture, fail error) change {
		w := f.tx.keys.EXPECT().Revoke(anything, f.org.ID, f.key).Return(fail)
		gomock.InOrder(
			f.tx.keys.EXPECT().Lookup(anything, f.key).Return(repo.APIKey{ID: f.key, OrgID: f.org.ID, UserID: f.user, Name: "ci"}, nil),
			f.grantsOf(f.user, f.builtin(rbac.Viewer)), // the caller holds all the key's user holds
			f.ownerGrants(f.p.UserID),
			w,
		)
		return change{write: w, before: map[string]any{"name": "ci", "user_id": f.user}}
	},
}}

// listCall is the recorder of a repository's List.
type listCall = func(ctx, orgID, page any) *gomock.Call

// listRead is a read of one page of a list.
func listRead[T any](name, action, perm string,
	list func(*service.Service, context.Context, service.Principal, string, repo.PageRequest) (repo.Page[T], error),
	expect func(f *fixture) listCall) op {
	page := repo.PageRequest{Limit: 5}
	return op{name: name, action: action, perm: perm, target: noTarget,
		call: func(f *fixture) error { return errOnly(list(f.svc, f.ctx, f.p, f.org.Slug, page)) },
		read: func(f *fixture, fail error) { ret(expect(f)(anything, f.org.ID, page), repo.Page[T]{}, fail) },
	}
}

// createKey calls CreateAPIKey for the caller, or for member f.user.
func createKey(forMember bool) func(f *fixture) error {
	return func(f *fixture) error {
		in := service.NewAPIKey{Name: "ci", ExpiresAt: ptr(f.now.Add(day))}
		if forMember {
			in.UserID = f.user
		}
		return errOnly(f.svc.CreateAPIKey(f.ctx, f.p, f.org.Slug, in))
	}
}

// createKeyBody expects CreateAPIKey's transaction: for a member, the
// check that the caller holds all they hold, then the key.
func createKeyBody(forMember bool) func(f *fixture, fail error) change {
	return func(f *fixture, fail error) change {
		exp, user := f.now.Add(day), f.p.UserID
		w := f.tx.keys.EXPECT().Create(anything, f.org.ID, anything).DoAndReturn(
			func(_ context.Context, _ uuid.UUID, in repo.NewAPIKey) (repo.APIKey, error) {
				if in.UserID != user || in.Name != "ci" || in.ExpiresAt == nil || !in.ExpiresAt.Equal(exp) || len(in.SecretHash) != 32 {
					f.t.Errorf("APIKeys.Create(%+v)", in)
				}
				if fail != nil {
					return repo.APIKey{}, fail
				}
				return repo.APIKey{ID: f.key, OrgID: f.org.ID, UserID: in.UserID, Name: in.Name,
					SecretHash: bytes.Clone(in.SecretHash), ExpiresAt: in.ExpiresAt, CreatedAt: f.now}, nil
			})
		if forMember {
			user = f.user
			gomock.InOrder(
				f.expectMember(),
				f.grantsOf(f.user, f.builtin(rbac.Viewer)),
				f.ownerGrants(f.p.UserID),
				w,
			)
		}
		return change{write: w, target: f.key.String(), after: map[string]any{"name": "ci", "user_id": user, "expires_at": exp}}
	}
}

// reads lists every reading use case with the read it makes.
var reads = []op{
	listRead("ListMembers", "member.list", rbac.MembersRead, (*service.Service).ListMembers,
		func(f *fixture) listCall { return f.db.members.EXPECT().List }),
	listRead("ListRoles", "role.list", rbac.RolesRead, (*service.Service).ListRoles,
		func(f *fixture) listCall { return f.db.roles.EXPECT().List }),
	listRead("ListRoleBindings", "role_binding.list", rbac.RolesRead, (*service.Service).ListRoleBindings,
		func(f *fixture) listCall { return f.db.bindings.EXPECT().List }),
	listRead("ListProjects", "project.list", rbac.ProjectsRead, (*service.Service).ListProjects,
		func(f *fixture) listCall { return f.db.projects.EXPECT().List }),
	listRead("ListAPIKeys", "api_key.list", rbac.APIKeysManage, (*service.Service).ListAPIKeys,
		func(f *fixture) listCall { return f.db.keys.EXPECT().List }),
	{
		name: "GetOrg", action: "org.read", perm: rbac.OrgRead, target: noTarget,
		call: func(f *fixture) error { return errOnly(f.svc.GetOrg(f.ctx, f.p, f.org.Slug)) },
		read: func(f *fixture, fail error) { ret(f.db.orgs.EXPECT().Get(anything, f.org.ID), f.org, fail) },
	},
	{
		name: "GetProject", action: "project.read", perm: rbac.ProjectsRead, onProject: true, target: noTarget,
		call: func(f *fixture) error { return errOnly(f.svc.GetProject(f.ctx, f.p, f.org.Slug, f.project)) },
		read: func(f *fixture, fail error) {
			ret(f.db.projects.EXPECT().Get(anything, f.org.ID, f.project), repo.Project{ID: f.project, OrgID: f.org.ID}, fail)
		},
	},
	{
		name: "CheckAccess", action: "access.check", perm: rbac.MembersRead, target: noTarget,
		call: func(f *fixture) error {
			d, err := f.svc.CheckAccess(f.ctx, f.p, f.org.Slug, f.user, rbac.ProjectsUpdate, &f.project)
			if err == nil && (!d.Allowed || d.RoleName != "deployer") {
				f.t.Errorf("CheckAccess = %+v, want the authorizer's decision", d)
			}
			return err
		},
		read: func(f *fixture, fail error) {
			ret(f.authz.EXPECT().Check(anything, f.org.ID, f.user, rbac.ProjectsUpdate, &f.project),
				rbac.Decision{Allowed: true, RoleName: "deployer"}, fail)
		},
	},
	{
		name: "ListAuditEvents", action: "audit.list", perm: rbac.AuditRead, target: noTarget,
		call: func(f *fixture) error {
			return errOnly(f.svc.ListAuditEvents(f.ctx, f.p, f.org.Slug, repo.AuditFilter{Action: "project.create"}, repo.PageRequest{}))
		},
		read: func(f *fixture, fail error) {
			// The read seals what is pending first; that failing does not
			// fail the read (TestAuditReadsSealFirst).
			f.db.audit.EXPECT().SealPending(anything, anything).Return(repo.SealReport{}, fail)
			ret(f.db.audit.EXPECT().List(anything, f.org.ID, repo.AuditFilter{Action: "project.create"}, repo.PageRequest{}),
				repo.Page[repo.AuditEvent]{}, fail)
		},
	},
	{
		name: "VerifyAudit", action: "audit.verify", perm: rbac.AuditRead, target: noTarget,
		call: func(f *fixture) error {
			r, err := f.svc.VerifyAudit(f.ctx, f.p, f.org.Slug)
			if err == nil && !r.OK {
				f.t.Errorf("VerifyAudit of an empty chain = %+v", r)
			}
			return err
		},
		read: func(f *fixture, fail error) {
			if fail != nil {
				f.db.audit.EXPECT().Head(anything, f.org.ID).Return(int64(0), nil, fail)
				return
			}
			f.db.audit.EXPECT().Head(anything, f.org.ID).Return(int64(0), make([]byte, 32), nil)
			f.db.audit.EXPECT().List(anything, f.org.ID, anything, anything).Return(repo.Page[repo.AuditEvent]{}, nil)
			f.db.audit.EXPECT().Backlog(anything, f.org.ID).Return(repo.AuditBacklog{}, nil)
		},
	},
	{
		name: "ExportAudit", action: "audit.export", perm: rbac.AuditRead, target: noTarget,
		call: func(f *fixture) error {
			var buf bytes.Buffer
			return errOnly(f.svc.ExportAudit(f.ctx, f.p, f.org.Slug, service.CSV, repo.AuditFilter{}, &buf))
		},
		read: func(f *fixture, fail error) {
			f.db.audit.EXPECT().SealPending(anything, anything).Return(repo.SealReport{}, fail)
			ret(f.db.audit.EXPECT().List(anything, f.org.ID, anything, anything), repo.Page[repo.AuditEvent]{}, fail)
		},
	},
}

// allOps is every use case that acts in an org on behalf of a caller.
var allOps = append(append([]op(nil), mutations...), reads...)
