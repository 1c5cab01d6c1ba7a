package service

import (
	"context"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// ListRoles lists the org's roles, built-in ones included, with the
// permissions the code gives them (rbac.Resolve) (roles.read).
func (s *Service) ListRoles(ctx context.Context, p Principal, slug string, page repo.PageRequest) (repo.Page[repo.Role], error) {
	org, err := s.read(ctx, p, slug, action{name: "role.list", perm: rbac.RolesRead})
	if err != nil {
		return repo.Page[repo.Role]{}, err
	}
	roles, err := s.store.Roles().List(ctx, org.ID, page)
	for i, r := range roles.Items {
		roles.Items[i] = rbac.Resolve(r) // built-in roles grant what the code says
	}
	return roles, err
}

// CreateRole adds a custom role (roles.manage; the caller must hold every
// permission the role grants).
func (s *Service) CreateRole(ctx context.Context, p Principal, slug, name string, perms []string) (repo.Role, error) {
	if err := checkRole(name, perms); err != nil {
		return repo.Role{}, err
	}
	var out repo.Role
	err := s.mutate(ctx, p, slug, action{name: "role.create", policy: true, perm: rbac.RolesManage, targetType: "role", targetID: name}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			if err := rbac.CanGrant(ctx, tx, org.ID, p.UserID, repo.Role{Name: name, Permissions: perms}, nil); err != nil {
				return change{}, err
			}
			r, err := tx.Roles().Create(ctx, org.ID, repo.NewRole{Name: name, Permissions: perms})
			out = r
			return change{after: map[string]any{"permissions": perms}}, err
		})
	return out, err
}

// UpdateRole replaces a custom role's permissions (roles.manage; the caller
// must hold every permission the role grants, before and after the change:
// no one strips others of what they cannot grant). Built-in roles are a
// conflict.
func (s *Service) UpdateRole(ctx context.Context, p Principal, slug, name string, perms []string) (repo.Role, error) {
	if err := checkRole(name, perms); err != nil {
		return repo.Role{}, err
	}
	var out repo.Role
	err := s.mutate(ctx, p, slug, action{name: "role.update", policy: true, perm: rbac.RolesManage, targetType: "role", targetID: name}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			r, err := tx.Roles().GetByName(ctx, org.ID, name)
			if err != nil {
				return change{}, err
			}
			if r.Builtin {
				return change{}, repo.BuiltinRoleConflict(name)
			}
			// Editing a role gives its new permissions to everyone it is
			// bound to and takes its old ones away: the caller must hold both.
			if err := rbac.CanGrant(ctx, tx, org.ID, p.UserID, r, nil); err != nil {
				return change{}, err
			}
			if err := rbac.CanGrant(ctx, tx, org.ID, p.UserID, repo.Role{Name: name, Permissions: perms}, nil); err != nil {
				return change{}, err
			}
			out, err = tx.Roles().UpdatePermissions(ctx, org.ID, r.ID, perms)
			return change{before: map[string]any{"permissions": r.Permissions},
				after: map[string]any{"permissions": perms}}, err
		})
	return out, err
}

// DeleteRole deletes a custom role that is no longer bound (roles.manage).
func (s *Service) DeleteRole(ctx context.Context, p Principal, slug, name string) error {
	return s.mutate(ctx, p, slug, action{name: "role.delete", policy: true, perm: rbac.RolesManage, targetType: "role", targetID: name}, nil,
		func(tx repo.Store, org repo.Org) (change, error) {
			r, err := tx.Roles().GetByName(ctx, org.ID, name)
			if err != nil {
				return change{}, err
			}
			return change{before: map[string]any{"permissions": r.Permissions}},
				rbac.DeleteRole(ctx, tx, org.ID, r.ID)
		})
}

func checkRole(name string, perms []string) error {
	if err := repo.ValidateRoleName(name); err != nil {
		return err
	}
	if len(perms) == 0 {
		return repo.Invalid("permissions", "must name at least one permission")
	}
	return rbac.ValidatePermissions(perms)
}
