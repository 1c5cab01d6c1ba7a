package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// roleBindings implements repo.RoleBindings.
type roleBindings struct{ s *store }

func (r roleBindings) Create(ctx context.Context, orgID uuid.UUID, in repo.NewRoleBinding) (repo.RoleBinding, error) {
	row, err := r.s.write.CreateRoleBinding(ctx, sqlitedb.CreateRoleBindingParams{
		ID: repo.NewID(), OrgID: orgID, UserID: in.UserID, RoleID: in.RoleID,
		ProjectID: nullUUID(in.ProjectID), CreatedAt: formatTime(repo.Now()),
	})
	return one(row, err, "role binding", toRoleBinding)
}

func (r roleBindings) Get(ctx context.Context, orgID, id uuid.UUID) (repo.RoleBinding, error) {
	row, err := r.s.read.GetRoleBinding(ctx, sqlitedb.GetRoleBindingParams{OrgID: orgID, ID: id})
	return one(row, err, "role binding", toRoleBinding)
}

func (r roleBindings) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.RoleBinding], error) {
	return listByID("role_bindings", page, func(after uuid.UUID, limit int64) ([]sqlitedb.RoleBinding, error) {
		return r.s.read.ListRoleBindings(ctx, sqlitedb.ListRoleBindingsParams{OrgID: orgID, After: after, Lim: limit})
	}, toRoleBinding, func(b repo.RoleBinding) uuid.UUID { return b.ID })
}

func (r roleBindings) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.write.DeleteRoleBinding(ctx, sqlitedb.DeleteRoleBindingParams{OrgID: orgID, ID: id})
	return deleted(n, err, "role binding")
}

func (r roleBindings) CountOrgWide(ctx context.Context, orgID, roleID uuid.UUID) (int64, error) {
	n, err := r.s.read.CountOrgWideBindings(ctx, sqlitedb.CountOrgWideBindingsParams{OrgID: orgID, RoleID: roleID})
	return n, mapErr(err, "role binding")
}

func (r roleBindings) Grants(ctx context.Context, orgID, userID uuid.UUID) ([]repo.Grant, error) {
	rows, err := r.s.read.ListGrants(ctx, sqlitedb.ListGrantsParams{OrgID: orgID, UserID: userID})
	if err != nil {
		return nil, mapErr(err, "grant")
	}
	return convertAll(rows, toGrant)
}
