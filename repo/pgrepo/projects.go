package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type projects struct{ s *Store }

// setProject sets dst from the row p: a struct conversion (the two have the
// same fields), and the times in UTC, as the repository returns them (pgx
// reads a timestamptz in time.Local). It does not truncate them to the
// microsecond as repo.Timestamp does: a timestamptz holds whole
// microseconds, and the two Truncate calls cost more than the rest of the
// conversion (2.2 µs of 3.3 µs for 100 rows; 0.6 µs without them).
func setProject(dst *repo.Project, p *pgdb.Project) {
	*dst = repo.Project(*p)
	dst.CreatedAt = dst.CreatedAt.UTC()
	dst.UpdatedAt = dst.UpdatedAt.UTC()
}

// toProject returns the domain value of the row p.
func toProject(p pgdb.Project) (out repo.Project) {
	setProject(&out, &p)
	return out
}

func (r projects) Create(ctx context.Context, orgID uuid.UUID, in repo.NewProject) (repo.Project, error) {
	if err := repo.ValidateNewProject(in); err != nil {
		return repo.Project{}, err
	}
	now := repo.Now()
	p, err := r.s.w.CreateProject(ctx, pgdb.CreateProjectParams{
		ID: repo.NewID(), OrgID: orgID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now,
	})
	return one(p, err, "project", toProject)
}

func (r projects) Get(ctx context.Context, orgID, id uuid.UUID) (repo.Project, error) {
	p, err := r.s.r.GetProject(ctx, pgdb.GetProjectParams{OrgID: orgID, ID: id})
	return one(p, err, "project", toProject)
}

func (r projects) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Project], error) {
	return fillByID(ctx, "projects", page, func(after uuid.UUID, lim int32) ([]pgdb.Project, error) {
		return r.s.r.ListProjects(ctx, pgdb.ListProjectsParams{OrgID: orgID, After: after, Lim: lim})
	}, setProject, func(p repo.Project) uuid.UUID { return p.ID })
}

func (r projects) Update(ctx context.Context, orgID, id uuid.UUID, in repo.ProjectUpdate) (repo.Project, error) {
	if err := repo.ValidateProjectUpdate(in); err != nil {
		return repo.Project{}, err
	}
	p, err := r.s.w.UpdateProject(ctx, pgdb.UpdateProjectParams{
		Name: in.Name, Description: in.Description, UpdatedAt: repo.Now(), OrgID: orgID, ID: id,
	})
	return one(p, err, "project", toProject)
}

func (r projects) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.w.DeleteProject(ctx, pgdb.DeleteProjectParams{OrgID: orgID, ID: id})
	return affected(n, err, "project")
}
