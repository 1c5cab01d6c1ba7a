package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// Every row of each list, walked through all its pages.

func (e *env) orgs() []repo.Org {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.Org], error) { return e.db.Orgs().List(e.ctx, p) })
}

func (e *env) orgsOf(user uuid.UUID) []repo.Org {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.Org], error) { return e.db.Orgs().ListForUser(e.ctx, user, p) })
}

func (e *env) members(org uuid.UUID) []repo.Member {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.Member], error) {
		return e.db.Memberships().List(e.ctx, org, p)
	})
}

func (e *env) roles(org uuid.UUID) []repo.Role {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.Role], error) { return e.db.Roles().List(e.ctx, org, p) })
}

func (e *env) bindings(org uuid.UUID) []repo.RoleBinding {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.RoleBinding], error) {
		return e.db.RoleBindings().List(e.ctx, org, p)
	})
}

func (e *env) projects(org uuid.UUID) []repo.Project {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.Project], error) { return e.db.Projects().List(e.ctx, org, p) })
}

func (e *env) keys(org uuid.UUID) []repo.APIKey {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.APIKey], error) { return e.db.APIKeys().List(e.ctx, org, p) })
}

func (e *env) events(org uuid.UUID, filter repo.AuditFilter) []repo.AuditEvent {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
		return e.db.AuditEvents().List(e.ctx, org, filter, p)
	})
}
