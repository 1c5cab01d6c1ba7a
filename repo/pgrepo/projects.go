package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type projects struct{ s *Store }

func toProject(p pgdb.Project) repo.Project {
	return repo.Project{
		ID: p.ID, OrgID: p.OrgID, Name: p.Name, Description: p.Description,
		CreatedAt: repo.Timestamp(p.CreatedAt), UpdatedAt: repo.Timestamp(p.UpdatedAt),
	}
}

func (r projects) Create(ctx context.Context, orgID uuid.UUID, in repo.NewProject) (repo.Project, error) {
	if err := repo.ValidateNewProject(in); err != nil {
		return repo.Project{}, err
	}
	now := repo.Now()
	p, err := r.s.w.CreateProject(ctx, pgdb.CreateProjectParams{
		ID: repo.NewID(), OrgID: orgID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return repo.Project{}, mapErr(err, "project")
	}
	return toProject(p), nil
}

func (r projects) Get(ctx context.Context, orgID, id uuid.UUID) (repo.Project, error) {
	p, err := r.s.r.GetProject(ctx, pgdb.GetProjectParams{OrgID: orgID, ID: id})
	if err != nil {
		return repo.Project{}, notFoundOr(err, "project")
	}
	return toProject(p), nil
}

func (r projects) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Project], error) {
	return listByID(ctx, "projects", page, func(after uuid.UUID, lim int32) ([]pgdb.Project, error) {
		return r.s.r.ListProjects(ctx, pgdb.ListProjectsParams{OrgID: orgID, After: after, Lim: lim})
	}, toProject, func(p repo.Project) uuid.UUID { return p.ID })
}

func (r projects) Update(ctx context.Context, orgID, id uuid.UUID, in repo.ProjectUpdate) (repo.Project, error) {
	if err := repo.ValidateProjectUpdate(in); err != nil {
		return repo.Project{}, err
	}
	p, err := r.s.w.UpdateProject(ctx, pgdb.UpdateProjectParams{
		Name: in.Name, Description: in.Description, UpdatedAt: repo.Now(), OrgID: orgID, ID: id,
	})
	if err != nil {
		return repo.Project{}, notFoundOr(err, "project")
	}
	return toProject(p), nil
}

func (r projects) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.w.DeleteProject(ctx, pgdb.DeleteProjectParams{OrgID: orgID, ID: id})
	return affected(n, err, "project")
}
