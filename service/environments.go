package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// Environments are part of their project: seeing them takes projects.read
// on the project, changing them projects.update on it. No permission of
// their own, so every role that may change a project may change its
// environments, and a binding on a project covers them.

// ListEnvironments lists a project's environments (projects.read on it);
// an unknown project is ErrNotFound.
func (s *Service) ListEnvironments(ctx context.Context, p Principal, slug string, project uuid.UUID, page repo.PageRequest) (repo.Page[repo.Environment], error) {
	org, err := s.read(ctx, p, slug, action{name: "environment.list", perm: rbac.ProjectsRead, project: &project})
	if err != nil {
		return repo.Page[repo.Environment]{}, err
	}
	// An unknown project is not found, rather than a project without
	// environments.
	if _, err := s.store.Projects().Get(ctx, org.ID, project); err != nil {
		return repo.Page[repo.Environment]{}, err
	}
	return s.store.Environments().List(ctx, org.ID, project, page)
}

// GetEnvironment returns one environment of a project (projects.read on it).
func (s *Service) GetEnvironment(ctx context.Context, p Principal, slug string, project, id uuid.UUID) (repo.Environment, error) {
	org, err := s.read(ctx, p, slug, action{name: "environment.read", perm: rbac.ProjectsRead, project: &project})
	if err != nil {
		return repo.Environment{}, err
	}
	return s.store.Environments().Get(ctx, org.ID, project, id)
}

// CreateEnvironment adds an environment to a project (projects.update on it).
func (s *Service) CreateEnvironment(ctx context.Context, p Principal, slug string, project uuid.UUID, in repo.NewEnvironment) (repo.Environment, error) {
	if err := repo.ValidateNewEnvironment(in); err != nil {
		return repo.Environment{}, err
	}
	var out repo.Environment
	err := s.mutate(ctx, p, slug, action{name: "environment.create", perm: rbac.ProjectsUpdate, project: &project, targetType: "environment"}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			e, err := tx.Environments().Create(ctx, org.ID, project, in)
			out = e
			return change{targetID: e.ID.String(), after: environmentFields(e)}, err
		})
	return out, err
}

// UpdateEnvironment changes an environment's name or description
// (projects.update on its project).
func (s *Service) UpdateEnvironment(ctx context.Context, p Principal, slug string, project, id uuid.UUID, in repo.EnvironmentUpdate) (repo.Environment, error) {
	if err := repo.ValidateEnvironmentUpdate(in); err != nil {
		return repo.Environment{}, err
	}
	var out repo.Environment
	err := s.mutate(ctx, p, slug, action{name: "environment.update", perm: rbac.ProjectsUpdate, project: &project, targetType: "environment", targetID: id.String()}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			before, err := tx.Environments().Get(ctx, org.ID, project, id)
			if err != nil {
				return change{}, err
			}
			out, err = tx.Environments().Update(ctx, org.ID, project, id, in)
			return change{before: environmentFields(before), after: environmentFields(out)}, err
		})
	return out, err
}

// DeleteEnvironment deletes an environment (projects.update on its project).
func (s *Service) DeleteEnvironment(ctx context.Context, p Principal, slug string, project, id uuid.UUID) error {
	return s.mutate(ctx, p, slug, action{name: "environment.delete", perm: rbac.ProjectsUpdate, project: &project, targetType: "environment", targetID: id.String()}, nil,
		func(tx repo.Store, org repo.Org) (change, error) {
			before, err := tx.Environments().Get(ctx, org.ID, project, id)
			if err != nil {
				return change{}, err
			}
			return change{before: environmentFields(before)}, tx.Environments().Delete(ctx, org.ID, project, id)
		})
}

func environmentFields(e repo.Environment) map[string]any {
	return map[string]any{"project_id": e.ProjectID.String(), "name": e.Name, "description": e.Description}
}
