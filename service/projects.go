package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// ListProjects lists the org's projects (projects.read org-wide).
func (s *Service) ListProjects(ctx context.Context, p Principal, slug string, page repo.PageRequest) (repo.Page[repo.Project], error) {
	org, err := s.read(ctx, p, slug, action{name: "project.list", perm: rbac.ProjectsRead})
	if err != nil {
		return repo.Page[repo.Project]{}, err
	}
	return s.store.Projects().List(ctx, org.ID, page)
}

// GetProject returns one project (projects.read on it).
func (s *Service) GetProject(ctx context.Context, p Principal, slug string, id uuid.UUID) (repo.Project, error) {
	org, err := s.read(ctx, p, slug, action{name: "project.read", perm: rbac.ProjectsRead, project: &id})
	if err != nil {
		return repo.Project{}, err
	}
	return s.store.Projects().Get(ctx, org.ID, id)
}

// CreateProject creates a project (projects.create).
func (s *Service) CreateProject(ctx context.Context, p Principal, slug string, in repo.NewProject) (repo.Project, error) {
	if err := repo.ValidateNewProject(in); err != nil {
		return repo.Project{}, err
	}
	var out repo.Project
	err := s.mutate(ctx, p, slug, action{name: "project.create", perm: rbac.ProjectsCreate, targetType: "project"}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			pr, err := tx.Projects().Create(ctx, org.ID, in)
			out = pr
			return change{targetID: pr.ID.String(), after: projectFields(pr)}, err
		})
	return out, err
}

// UpdateProject changes a project's name or description (projects.update on it).
func (s *Service) UpdateProject(ctx context.Context, p Principal, slug string, id uuid.UUID, in repo.ProjectUpdate) (repo.Project, error) {
	if err := repo.ValidateProjectUpdate(in); err != nil {
		return repo.Project{}, err
	}
	var out repo.Project
	err := s.mutate(ctx, p, slug, action{name: "project.update", perm: rbac.ProjectsUpdate, project: &id, targetType: "project", targetID: id.String()}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			before, err := tx.Projects().Get(ctx, org.ID, id)
			if err != nil {
				return change{}, err
			}
			out, err = tx.Projects().Update(ctx, org.ID, id, in)
			return change{before: projectFields(before), after: projectFields(out)}, err
		})
	return out, err
}

// DeleteProject deletes a project and its project-scoped bindings
// (projects.delete on it).
func (s *Service) DeleteProject(ctx context.Context, p Principal, slug string, id uuid.UUID) error {
	return s.mutate(ctx, p, slug, action{name: "project.delete", policy: true, perm: rbac.ProjectsDelete, project: &id, targetType: "project", targetID: id.String()}, nil,
		func(tx repo.Store, org repo.Org) (change, error) {
			before, err := tx.Projects().Get(ctx, org.ID, id)
			if err != nil {
				return change{}, err
			}
			// Its project-scoped bindings go with it: a policy change.
			return change{before: projectFields(before)}, tx.Projects().Delete(ctx, org.ID, id)
		})
}

func projectFields(p repo.Project) map[string]any {
	return map[string]any{"name": p.Name, "description": p.Description}
}
