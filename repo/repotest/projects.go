package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

func projectCases() []testCase {
	return []testCase{
		{"Projects/Create", func(e *env) {
			org := e.newOrg()
			c := clock()
			p := must(e.db.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "Apollo 11", Description: "Lünar\nlanding ✓"})).of(e.t)
			if p.ID == uuid.Nil || p.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", p.ID)
			}
			c.check(e.t, "CreatedAt", p.CreatedAt)
			c.check(e.t, "UpdatedAt", p.UpdatedAt)
			same(e.t, "Create", p, repo.Project{ID: p.ID, OrgID: org.ID, Name: "Apollo 11", Description: "Lünar\nlanding ✓",
				CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt})
			same(e.t, "Get", must(e.db.Projects().Get(e.ctx, org.ID, p.ID)).of(e.t), p)
			same(e.t, "List", e.projects(org.ID), []repo.Project{p})
		}},
		{"Projects/CreateWithoutDescription", func(e *env) {
			org := e.newOrg()
			p := must(e.db.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "bare"})).of(e.t)
			if p.Description != "" {
				e.t.Errorf("Description = %q, want empty", p.Description)
			}
			same(e.t, "Get", must(e.db.Projects().Get(e.ctx, org.ID, p.ID)).of(e.t), p)
		}},
		{"Projects/CreateDuplicateName", func(e *env) {
			org, other := e.newOrg(), e.newOrg()
			p := must(e.db.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "apollo"})).of(e.t)
			_, err := e.db.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "apollo", Description: "again"})
			wantConflict(e.t, err, "name")
			same(e.t, "List", e.projects(org.ID), []repo.Project{p})
			// The same name in another org is fine.
			o := must(e.db.Projects().Create(e.ctx, other.ID, repo.NewProject{Name: "apollo"})).of(e.t)
			same(e.t, "other org", e.projects(other.ID), []repo.Project{o})
		}},
		{"Projects/CreateUnknownOrg", func(e *env) {
			notFound(e.t, second(e.db.Projects().Create(e.ctx, repo.NewID(), repo.NewProject{Name: "orphan"})))
		}},
		{"Projects/GetUnknown", func(e *env) {
			org := e.newOrg()
			e.newProject(org.ID)
			notFound(e.t, second(e.db.Projects().Get(e.ctx, org.ID, repo.NewID())))
		}},
		{"Projects/Update", func(e *env) {
			org := e.newOrg()
			p, other := e.newProject(org.ID), e.newProject(org.ID)
			c := clock()
			got := must(e.db.Projects().Update(e.ctx, org.ID, p.ID, repo.ProjectUpdate{Name: ptr("Renamed")})).of(e.t)
			c.check(e.t, "UpdatedAt", got.UpdatedAt)
			want := p
			want.Name, want.UpdatedAt = "Renamed", got.UpdatedAt
			same(e.t, "Update name", got, want)
			got = must(e.db.Projects().Update(e.ctx, org.ID, p.ID, repo.ProjectUpdate{Description: ptr("")})).of(e.t)
			want.Description, want.UpdatedAt = "", got.UpdatedAt
			same(e.t, "Update description", got, want)
			got = must(e.db.Projects().Update(e.ctx, org.ID, p.ID, repo.ProjectUpdate{Name: ptr("Renamed"), Description: ptr("both")})).of(e.t)
			want.Description, want.UpdatedAt = "both", got.UpdatedAt
			same(e.t, "Update both, same name", got, want)
			got = must(e.db.Projects().Update(e.ctx, org.ID, p.ID, repo.ProjectUpdate{})).of(e.t)
			want.UpdatedAt = got.UpdatedAt
			same(e.t, "Update nothing", got, want)
			same(e.t, "Get", must(e.db.Projects().Get(e.ctx, org.ID, p.ID)).of(e.t), want)
			same(e.t, "other project", must(e.db.Projects().Get(e.ctx, org.ID, other.ID)).of(e.t), other)
		}},
		{"Projects/UpdateDuplicateName", func(e *env) {
			org := e.newOrg()
			p, other := e.newProject(org.ID), e.newProject(org.ID)
			_, err := e.db.Projects().Update(e.ctx, org.ID, p.ID, repo.ProjectUpdate{Name: ptr(other.Name)})
			wantConflict(e.t, err, "name")
			same(e.t, "List", e.projects(org.ID), []repo.Project{p, other})
		}},
		{"Projects/UpdateUnknown", func(e *env) {
			org := e.newOrg()
			p := e.newProject(org.ID)
			notFound(e.t, second(e.db.Projects().Update(e.ctx, org.ID, repo.NewID(), repo.ProjectUpdate{Name: ptr("x")})))
			same(e.t, "List", e.projects(org.ID), []repo.Project{p})
		}},
		{"Projects/Delete", func(e *env) {
			org := e.newOrg()
			p, keep := e.newProject(org.ID), e.newProject(org.ID)
			ok(e.t, e.db.Projects().Delete(e.ctx, org.ID, p.ID))
			notFound(e.t, second(e.db.Projects().Get(e.ctx, org.ID, p.ID)),
				e.db.Projects().Delete(e.ctx, org.ID, p.ID))
			notFound(e.t, second(e.db.Projects().Update(e.ctx, org.ID, p.ID, repo.ProjectUpdate{Name: ptr("x")})))
			same(e.t, "List", e.projects(org.ID), []repo.Project{keep})
			// The name is free again.
			must(e.db.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: p.Name})).of(e.t)
		}},
		{"Projects/DeleteUnknown", func(e *env) {
			org := e.newOrg()
			p := e.newProject(org.ID)
			notFound(e.t, e.db.Projects().Delete(e.ctx, org.ID, repo.NewID()))
			same(e.t, "List", e.projects(org.ID), []repo.Project{p})
		}},
	}
}
