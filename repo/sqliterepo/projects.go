package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// projects implements repo.Projects.
type projects struct{ s *store }

func (r projects) Create(ctx context.Context, orgID uuid.UUID, in repo.NewProject) (repo.Project, error) {
	if err := repo.ValidateNewProject(in); err != nil {
		return repo.Project{}, err
	}
	now := formatTime(repo.Now())
	row, err := r.s.write.CreateProject(ctx, sqlitedb.CreateProjectParams{
		ID: repo.NewID(), OrgID: orgID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now,
	})
	return one(row, err, "project", toProject)
}

func (r projects) Get(ctx context.Context, orgID, id uuid.UUID) (repo.Project, error) {
	row, err := r.s.read.GetProject(ctx, sqlitedb.GetProjectParams{OrgID: orgID, ID: id})
	return one(row, err, "project", toProject)
}

func (r projects) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Project], error) {
	return listByID("projects", page, func(after uuid.UUID, limit int64) ([]sqlitedb.Project, error) {
		return r.s.read.ListProjects(ctx, sqlitedb.ListProjectsParams{OrgID: orgID, After: after, Lim: limit})
	}, toProject, func(p repo.Project) uuid.UUID { return p.ID })
}

func (r projects) Update(ctx context.Context, orgID, id uuid.UUID, in repo.ProjectUpdate) (repo.Project, error) {
	if err := repo.ValidateProjectUpdate(in); err != nil {
		return repo.Project{}, err
	}
	row, err := r.s.write.UpdateProject(ctx, sqlitedb.UpdateProjectParams{
		Name: in.Name, Description: in.Description, UpdatedAt: formatTime(repo.Now()), OrgID: orgID, ID: id,
	})
	return one(row, err, "project", toProject)
}

func (r projects) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.write.DeleteProject(ctx, sqlitedb.DeleteProjectParams{OrgID: orgID, ID: id})
	return deleted(n, err, "project")
}
