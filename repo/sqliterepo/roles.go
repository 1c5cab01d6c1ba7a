package sqliterepo

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// roles implements repo.Roles.
type roles struct{ s *store }

func (r roles) Create(ctx context.Context, orgID uuid.UUID, in repo.NewRole) (repo.Role, error) {
	if err := repo.ValidateNewRole(in); err != nil {
		return repo.Role{}, err
	}
	var builtin int64
	if in.Builtin {
		builtin = 1
	}
	now := formatTime(repo.Now())
	row, err := r.s.write.CreateRole(ctx, sqlitedb.CreateRoleParams{
		ID: repo.NewID(), OrgID: orgID, Name: in.Name, Builtin: builtin,
		Permissions: encodePermissions(in.Permissions), CreatedAt: now, UpdatedAt: now,
	})
	return one(row, err, "role", toRole)
}

func (r roles) Get(ctx context.Context, orgID, id uuid.UUID) (repo.Role, error) {
	row, err := r.s.read.GetRole(ctx, sqlitedb.GetRoleParams{OrgID: orgID, ID: id})
	return one(row, err, "role", toRole)
}

func (r roles) GetByName(ctx context.Context, orgID uuid.UUID, name string) (repo.Role, error) {
	row, err := r.s.read.GetRoleByName(ctx, sqlitedb.GetRoleByNameParams{OrgID: orgID, Name: name})
	return one(row, err, "role", toRole)
}

// List pages through the org's roles by name; the first page starts after
// "", which sorts first.
func (r roles) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Role], error) {
	size, err := page.PageSize()
	if err != nil {
		return repo.Page[repo.Role]{}, err
	}
	after, err := repo.DecodeCursor("roles", page.Cursor)
	if err != nil {
		return repo.Page[repo.Role]{}, err
	}
	rows, err := r.s.read.ListRoles(ctx, sqlitedb.ListRolesParams{OrgID: orgID, After: after, Lim: int64(size) + 1})
	return toPage("roles", size, rows, err, toRole, func(role repo.Role) string { return role.Name })
}

func (r roles) UpdatePermissions(ctx context.Context, orgID, id uuid.UUID, permissions []string) (repo.Role, error) {
	if err := repo.ValidatePermissionForm(permissions); err != nil {
		return repo.Role{}, err
	}
	row, err := r.s.write.UpdateRolePermissions(ctx, sqlitedb.UpdateRolePermissionsParams{
		Permissions: encodePermissions(permissions), UpdatedAt: formatTime(repo.Now()), OrgID: orgID, ID: id,
	})
	if errors.Is(err, sql.ErrNoRows) {
		return repo.Role{}, r.unchanged(ctx, orgID, id)
	}
	return one(row, err, "role", toRole)
}

func (r roles) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.write.DeleteRole(ctx, sqlitedb.DeleteRoleParams{OrgID: orgID, ID: id})
	if err == nil && n == 0 {
		return r.unchanged(ctx, orgID, id)
	}
	return deleted(n, err, "role")
}

// unchanged says why a statement that skips built-in roles changed no row:
// the role does not exist in the org, or it is built in.
func (r roles) unchanged(ctx context.Context, orgID, id uuid.UUID) error {
	role, err := r.s.write.GetRole(ctx, sqlitedb.GetRoleParams{OrgID: orgID, ID: id})
	if err != nil {
		return mapErr(err, "role")
	}
	return repo.Conflict("built-in role %q cannot be changed", role.Name)
}
