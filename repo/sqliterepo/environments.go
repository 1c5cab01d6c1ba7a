package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

func (s *store) Environments() repo.Environments { return environments{s} }

// environments implements repo.Environments.
type environments struct{ s *store }

func toEnvironment(r sqlitedb.Environment) (repo.Environment, error) {
	var d decoder
	e := repo.Environment{
		ID: r.ID, OrgID: r.OrgID, ProjectID: r.ProjectID, Name: r.Name, Description: r.Description,
		CreatedAt: d.time(r.CreatedAt), UpdatedAt: d.time(r.UpdatedAt),
	}
	return e, d.err
}

func (r environments) Create(ctx context.Context, orgID, projectID uuid.UUID, in repo.NewEnvironment) (repo.Environment, error) {
	if err := repo.ValidateNewEnvironment(in); err != nil {
		return repo.Environment{}, err
	}
	now := formatTime(repo.Now())
	row, err := r.s.write.CreateEnvironment(ctx, sqlitedb.CreateEnvironmentParams{
		ID: repo.NewID(), OrgID: orgID, ProjectID: projectID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now,
	})
	return one(row, err, "environment", toEnvironment)
}

func (r environments) Get(ctx context.Context, orgID, projectID, id uuid.UUID) (repo.Environment, error) {
	row, err := r.s.read.GetEnvironment(ctx, sqlitedb.GetEnvironmentParams{OrgID: orgID, ProjectID: projectID, ID: id})
	return one(row, err, "environment", toEnvironment)
}

func (r environments) List(ctx context.Context, orgID, projectID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Environment], error) {
	return listByID("environments", page, func(after uuid.UUID, limit int64) ([]sqlitedb.Environment, error) {
		return r.s.read.ListEnvironments(ctx, sqlitedb.ListEnvironmentsParams{OrgID: orgID, ProjectID: projectID, After: after, Lim: limit})
	}, toEnvironment, func(e repo.Environment) uuid.UUID { return e.ID })
}

func (r environments) Update(ctx context.Context, orgID, projectID, id uuid.UUID, in repo.EnvironmentUpdate) (repo.Environment, error) {
	if err := repo.ValidateEnvironmentUpdate(in); err != nil {
		return repo.Environment{}, err
	}
	row, err := r.s.write.UpdateEnvironment(ctx, sqlitedb.UpdateEnvironmentParams{
		Name: in.Name, Description: in.Description, UpdatedAt: formatTime(repo.Now()), OrgID: orgID, ProjectID: projectID, ID: id,
	})
	return one(row, err, "environment", toEnvironment)
}

func (r environments) Delete(ctx context.Context, orgID, projectID, id uuid.UUID) error {
	n, err := r.s.write.DeleteEnvironment(ctx, sqlitedb.DeleteEnvironmentParams{OrgID: orgID, ProjectID: projectID, ID: id})
	return deleted(n, err, "environment")
}
