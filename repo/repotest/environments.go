package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// envs lists every environment of the project.
func (e *env) envs(org, project uuid.UUID) []repo.Environment {
	e.t.Helper()
	return all(e.t, func(p repo.PageRequest) (repo.Page[repo.Environment], error) {
		return e.db.Environments().List(e.ctx, org, project, p)
	})
}

func environmentCases() []testCase {
	return []testCase{
		{"Environments/CreateGetList", func(e *env) {
			org := e.newOrg()
			p := e.newProject(org.ID)
			c := clock()
			prod := must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "production", Description: "live ✓"})).of(e.t)
			if prod.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", prod.ID)
			}
			c.check(e.t, "CreatedAt", prod.CreatedAt)
			same(e.t, "Create", prod, repo.Environment{ID: prod.ID, OrgID: org.ID, ProjectID: p.ID, Name: "production",
				Description: "live ✓", CreatedAt: prod.CreatedAt, UpdatedAt: prod.CreatedAt})
			staging := must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "staging"})).of(e.t)
			same(e.t, "Get", must(e.db.Environments().Get(e.ctx, org.ID, p.ID, prod.ID)).of(e.t), prod)
			same(e.t, "List", e.envs(org.ID, p.ID), []repo.Environment{prod, staging})
			same(e.t, "List of another project", e.envs(org.ID, e.newProject(org.ID).ID), []repo.Environment{})
		}},
		{"Environments/NameUniquePerProject", func(e *env) {
			org := e.newOrg()
			p, q := e.newProject(org.ID), e.newProject(org.ID)
			must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "production"})).of(e.t)
			wantConflict(e.t, second(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "production"})), "name")
			s := must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "staging"})).of(e.t)
			wantConflict(e.t, second(e.db.Environments().Update(e.ctx, org.ID, p.ID, s.ID, repo.EnvironmentUpdate{Name: ptr("production")})), "name")
			// The same name in another project is fine.
			must(e.db.Environments().Create(e.ctx, org.ID, q.ID, repo.NewEnvironment{Name: "production"})).of(e.t)
		}},
		{"Environments/Invalid", func(e *env) {
			org := e.newOrg()
			p := e.newProject(org.ID)
			wantInvalid(e.t, second(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: " "})), "name")
			wantInvalid(e.t, second(e.db.Environments().Update(e.ctx, org.ID, p.ID, repo.NewID(), repo.EnvironmentUpdate{Name: ptr("")})), "name")
		}},
		{"Environments/UpdateDelete", func(e *env) {
			org := e.newOrg()
			p := e.newProject(org.ID)
			env := must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "qa", Description: "d"})).of(e.t)
			got := must(e.db.Environments().Update(e.ctx, org.ID, p.ID, env.ID, repo.EnvironmentUpdate{Name: ptr("staging")})).of(e.t)
			want := env
			want.Name, want.UpdatedAt = "staging", got.UpdatedAt
			same(e.t, "Update", got, want)
			ok(e.t, e.db.Environments().Delete(e.ctx, org.ID, p.ID, env.ID))
			notFound(e.t, second(e.db.Environments().Get(e.ctx, org.ID, p.ID, env.ID)),
				e.db.Environments().Delete(e.ctx, org.ID, p.ID, env.ID),
				second(e.db.Environments().Update(e.ctx, org.ID, p.ID, env.ID, repo.EnvironmentUpdate{Name: ptr("x")})))
		}},
		{"Environments/OtherOrgOrProject", func(e *env) {
			org, other := e.newOrg(), e.newOrg()
			p := e.newProject(org.ID)
			env := must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "production"})).of(e.t)
			// Another org cannot see, change or make environments in p.
			notFound(e.t, second(e.db.Environments().Get(e.ctx, other.ID, p.ID, env.ID)),
				second(e.db.Environments().Update(e.ctx, other.ID, p.ID, env.ID, repo.EnvironmentUpdate{Name: ptr("x")})),
				e.db.Environments().Delete(e.ctx, other.ID, p.ID, env.ID),
				second(e.db.Environments().Create(e.ctx, other.ID, p.ID, repo.NewEnvironment{Name: "sneaky"})),
				second(e.db.Environments().Create(e.ctx, org.ID, repo.NewID(), repo.NewEnvironment{Name: "orphan"})))
			// Nor can another project of the same org.
			q := e.newProject(org.ID).ID
			notFound(e.t, second(e.db.Environments().Get(e.ctx, org.ID, q, env.ID)),
				second(e.db.Environments().Update(e.ctx, org.ID, q, env.ID, repo.EnvironmentUpdate{Name: ptr("x")})),
				e.db.Environments().Delete(e.ctx, org.ID, q, env.ID))
			same(e.t, "List from another org", e.envs(other.ID, p.ID), []repo.Environment{})
			same(e.t, "List", e.envs(org.ID, p.ID), []repo.Environment{env})
		}},
		{"Environments/GoWithTheirProject", func(e *env) {
			org := e.newOrg()
			p := e.newProject(org.ID)
			env := must(e.db.Environments().Create(e.ctx, org.ID, p.ID, repo.NewEnvironment{Name: "production"})).of(e.t)
			ok(e.t, e.db.Projects().Delete(e.ctx, org.ID, p.ID))
			notFound(e.t, second(e.db.Environments().Get(e.ctx, org.ID, p.ID, env.ID)))
		}},
	}
}
