package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// NewBinding is the input of CreateRoleBinding.
type NewBinding struct {
	UserID    uuid.UUID
	Role      string     // role name
	ProjectID *uuid.UUID // nil: the whole org
}

// ListRoleBindings lists the org's role bindings (roles.read).
func (s *Service) ListRoleBindings(ctx context.Context, p Principal, slug string, page repo.PageRequest) (repo.Page[repo.RoleBinding], error) {
	org, err := s.read(ctx, p, slug, action{name: "role_binding.list", perm: rbac.RolesRead})
	if err != nil {
		return repo.Page[repo.RoleBinding]{}, err
	}
	return s.store.RoleBindings().List(ctx, org.ID, page)
}

// CreateRoleBinding grants a role to a member, org-wide or on one project
// (roles.manage; the caller must hold what the role grants at that scope).
func (s *Service) CreateRoleBinding(ctx context.Context, p Principal, slug string, in NewBinding) (repo.RoleBinding, error) {
	if in.UserID == uuid.Nil {
		return repo.RoleBinding{}, repo.Invalid("user_id", "is required")
	}
	if in.Role == "" {
		return repo.RoleBinding{}, repo.Invalid("role", "is required")
	}
	var out repo.RoleBinding
	err := s.mutate(ctx, p, slug, action{name: "role_binding.create", policy: true, perm: rbac.RolesManage, targetType: "role_binding"}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			role, err := tx.Roles().GetByName(ctx, org.ID, in.Role)
			if errIs(err, repo.ErrNotFound) {
				return change{}, repo.Invalid("role", "no role %q in this org", in.Role)
			}
			if err != nil {
				return change{}, err
			}
			if err := rbac.CanGrant(ctx, tx, org.ID, p.UserID, role, in.ProjectID); err != nil {
				return change{}, err
			}
			b, err := tx.RoleBindings().Create(ctx, org.ID, repo.NewRoleBinding{UserID: in.UserID, RoleID: role.ID, ProjectID: in.ProjectID})
			out = b
			return change{targetID: b.ID.String(),
				after: map[string]any{"user_id": in.UserID, "role": in.Role, "project_id": idString(in.ProjectID)}}, err
		})
	return out, err
}

// DeleteRoleBinding removes a binding (roles.manage; the caller must hold
// what the role grants, and the org keeps an owner).
func (s *Service) DeleteRoleBinding(ctx context.Context, p Principal, slug string, id uuid.UUID) error {
	return s.mutate(ctx, p, slug, action{name: "role_binding.delete", policy: true, perm: rbac.RolesManage, targetType: "role_binding", targetID: id.String()}, nil,
		func(tx repo.Store, org repo.Org) (change, error) {
			b, err := tx.RoleBindings().Get(ctx, org.ID, id)
			if err != nil {
				return change{}, err
			}
			role, err := tx.Roles().Get(ctx, org.ID, b.RoleID)
			if err != nil {
				return change{}, err
			}
			if err := rbac.CanGrant(ctx, tx, org.ID, p.UserID, role, b.ProjectID); err != nil {
				return change{}, err
			}
			if err := rbac.EnsureNotLastOwner(ctx, tx, org.ID, rbac.Removal{BindingID: id}); err != nil {
				return change{}, err
			}
			return change{before: map[string]any{"user_id": b.UserID, "role": role.Name, "project_id": idString(b.ProjectID)}},
				tx.RoleBindings().Delete(ctx, org.ID, id)
		})
}
