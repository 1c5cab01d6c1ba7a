package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type roles struct{ s *Store }

func toRole(r pgdb.Role) repo.Role {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return repo.Role{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, Builtin: r.Builtin, Permissions: perms,
		CreatedAt: repo.Timestamp(r.CreatedAt), UpdatedAt: repo.Timestamp(r.UpdatedAt),
	}
}

func nonNil(perms []string) []string {
	if perms == nil {
		return []string{}
	}
	return perms
}

func (r roles) Create(ctx context.Context, orgID uuid.UUID, in repo.NewRole) (repo.Role, error) {
	if err := repo.ValidateNewRole(in); err != nil {
		return repo.Role{}, err
	}
	now := repo.Now()
	row, err := r.s.w.CreateRole(ctx, pgdb.CreateRoleParams{
		ID: repo.NewID(), OrgID: orgID, Name: in.Name, Builtin: in.Builtin, Permissions: nonNil(in.Permissions),
		CreatedAt: now, UpdatedAt: now,
	})
	return one(row, err, "role", toRole)
}

func (r roles) Get(ctx context.Context, orgID, id uuid.UUID) (repo.Role, error) {
	row, err := r.s.r.GetRole(ctx, pgdb.GetRoleParams{OrgID: orgID, ID: id})
	return one(row, err, "role", toRole)
}

func (r roles) GetByName(ctx context.Context, orgID uuid.UUID, name string) (repo.Role, error) {
	row, err := r.s.r.GetRoleByName(ctx, pgdb.GetRoleByNameParams{OrgID: orgID, Name: name})
	return one(row, err, "role", toRole)
}

func (r roles) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Role], error) {
	size, err := page.PageSize()
	if err != nil {
		return repo.Page[repo.Role]{}, err
	}
	after, err := repo.DecodeCursor("roles", page.Cursor)
	if err != nil {
		return repo.Page[repo.Role]{}, err
	}
	rows, err := r.s.r.ListRoles(ctx, pgdb.ListRolesParams{OrgID: orgID, After: after, Lim: int32(size + 1)})
	if err != nil {
		return repo.Page[repo.Role]{}, mapErr(err, "roles")
	}
	return repo.MakePage("roles", convertAll(rows, toRole), size, func(r repo.Role) string { return r.Name }), nil
}

func (r roles) UpdatePermissions(ctx context.Context, orgID, id uuid.UUID, permissions []string) (repo.Role, error) {
	if err := repo.ValidatePermissionForm(permissions); err != nil {
		return repo.Role{}, err
	}
	row, err := r.s.w.UpdateRolePermissions(ctx, pgdb.UpdateRolePermissionsParams{
		Permissions: nonNil(permissions), UpdatedAt: repo.Now(), OrgID: orgID, ID: id,
	})
	if errNoRows(err) {
		return repo.Role{}, r.builtinOrMissing(ctx, orgID, id)
	}
	if err != nil {
		return repo.Role{}, mapErr(err, "role")
	}
	return toRole(row), nil
}

func (r roles) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.w.DeleteRole(ctx, pgdb.DeleteRoleParams{OrgID: orgID, ID: id})
	if err == nil && n == 0 {
		return r.builtinOrMissing(ctx, orgID, id)
	}
	return affected(n, err, "role")
}

// builtinOrMissing explains why a change to a custom role matched no row.
func (r roles) builtinOrMissing(ctx context.Context, orgID, id uuid.UUID) error {
	role, err := r.s.w.GetRole(ctx, pgdb.GetRoleParams{OrgID: orgID, ID: id})
	if err != nil {
		return notFoundOr(err, "role")
	}
	return repo.BuiltinRoleConflict(role.Name)
}
