package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

// Environments returns the environment repository.
func (s *Store) Environments() repo.Environments { return environments{s} }

type environments struct{ s *Store }

// setEnvironment sets dst from the row e, times in UTC (see setProject).
func setEnvironment(dst *repo.Environment, e *pgdb.Environment) {
	*dst = repo.Environment(*e)
	dst.CreatedAt = dst.CreatedAt.UTC()
	dst.UpdatedAt = dst.UpdatedAt.UTC()
}

func toEnvironment(e pgdb.Environment) (out repo.Environment) {
	setEnvironment(&out, &e)
	return out
}

func (r environments) Create(ctx context.Context, orgID, projectID uuid.UUID, in repo.NewEnvironment) (repo.Environment, error) {
	if err := repo.ValidateNewEnvironment(in); err != nil {
		return repo.Environment{}, err
	}
	now := repo.Now()
	e, err := r.s.w.CreateEnvironment(ctx, pgdb.CreateEnvironmentParams{
		ID: repo.NewID(), OrgID: orgID, ProjectID: projectID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now,
	})
	return one(e, err, "environment", toEnvironment)
}

func (r environments) Get(ctx context.Context, orgID, projectID, id uuid.UUID) (repo.Environment, error) {
	e, err := r.s.r.GetEnvironment(ctx, pgdb.GetEnvironmentParams{OrgID: orgID, ProjectID: projectID, ID: id})
	return one(e, err, "environment", toEnvironment)
}

func (r environments) List(ctx context.Context, orgID, projectID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Environment], error) {
	return fillByID(ctx, "environments", page, func(after uuid.UUID, lim int32) ([]pgdb.Environment, error) {
		return r.s.r.ListEnvironments(ctx, pgdb.ListEnvironmentsParams{OrgID: orgID, ProjectID: projectID, After: after, Lim: lim})
	}, setEnvironment, func(e repo.Environment) uuid.UUID { return e.ID })
}

func (r environments) Update(ctx context.Context, orgID, projectID, id uuid.UUID, in repo.EnvironmentUpdate) (repo.Environment, error) {
	if err := repo.ValidateEnvironmentUpdate(in); err != nil {
		return repo.Environment{}, err
	}
	e, err := r.s.w.UpdateEnvironment(ctx, pgdb.UpdateEnvironmentParams{
		Name: in.Name, Description: in.Description, UpdatedAt: repo.Now(), OrgID: orgID, ProjectID: projectID, ID: id,
	})
	return one(e, err, "environment", toEnvironment)
}

func (r environments) Delete(ctx context.Context, orgID, projectID, id uuid.UUID) error {
	n, err := r.s.w.DeleteEnvironment(ctx, pgdb.DeleteEnvironmentParams{OrgID: orgID, ProjectID: projectID, ID: id})
	return affected(n, err, "environment")
}
